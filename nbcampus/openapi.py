"""OpenAPI 3.1 documents generated from a service's tornado handlers: one builder for both.

Paths come from the `default_handlers` patterns, summaries from the handler methods'
docstrings, query parameters from the names the method reads (`query_arg("x")`,
`get_query_argument("x")`), request bodies from the JSON Schema each method declares with
`nbcampus.web.body_schema`, and anything service-specific (who may call it) from `annotate`.
Nothing is written twice, so the document cannot drift from the code.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from tornado import web

from nbcampus import __version__

METHODS = ("get", "post", "put", "patch", "delete")
BODY_METHODS = ("post", "put", "patch")
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "example": "VALIDATION_ERROR"},
        "message": {"type": "string"},
        "details": {"type": "object"},
    },
}
# Ids in paths are ASCII digits (nbcampus.web.parse_id); names are plain strings.
ID_PARAM: dict[str, Any] = {"type": "string", "pattern": "^[0-9]{1,10}$"}
_QUERY_ARG = re.compile(r"""(?:query_arg|get_query_argument|get_argument)\(\s*["'](\w+)["']""")

Namer = Callable[[list[str], int], str]


def openapi_path(pattern: str, namer: Namer) -> tuple[str, list[str]]:
    """`api/v1/classes/([^/]+)/attendance` -> `/classes/{class_id}/attendance` with the
    parameter names `namer(parts, index)` gives each capture group."""
    flat = re.sub(r"\([^)]*\)", "(", pattern)  # each capture group -> "(" before splitting
    flat = flat.replace("\\.", ".")
    parts = flat.removeprefix("api/v1").rstrip("?").strip("/").split("/")
    names: list[str] = []
    out = []
    for i, part in enumerate(parts):
        if not part.startswith("("):
            out.append(part)
            continue
        name = namer(parts, i)
        names.append(name)
        out.append("{" + name + "}")
    return "/" + "/".join(p for p in out if p), names


def declared_methods(handler: type) -> list[tuple[str, Any]]:
    """The HTTP methods a handler class implements itself (not tornado's 405 defaults)."""
    found = []
    for method in METHODS:
        fn = getattr(handler, method, None)
        if fn is not None and fn is not getattr(web.RequestHandler, method):
            found.append((method, fn))
    return found


def body_of(fn: Any) -> tuple[bool, dict[str, Any] | None]:
    """(declared?, schema) of a method's request body."""
    if not hasattr(fn, "__nbcampus_body__"):
        return False, None
    return True, fn.__nbcampus_body__


def _query_params(fn: Any) -> list[str]:
    try:
        source = inspect.getsource(inspect.unwrap(fn))
    except (OSError, TypeError):
        return []
    return sorted(set(_QUERY_ARG.findall(source)))


def build_openapi(
    handlers: list[Any],
    server_url: str,
    *,
    title: str,
    description: str,
    namer: Namer,
    annotate: Callable[[str, Any], dict[str, Any] | None] = lambda method, fn: {},
) -> dict[str, Any]:
    """The document. `annotate(method, fn)` adds fields to an operation, or returns None to
    leave the operation out."""
    paths: dict[str, Any] = {}
    for route in handlers:
        pattern, handler = route[0], route[1]
        if not pattern.startswith("api/"):
            continue  # HTML pages are not part of the API
        path, params = openapi_path(pattern, namer)
        item: dict[str, Any] = {}
        for method, fn in declared_methods(handler):
            extra = annotate(method, fn)
            if extra is None:
                continue
            doc = inspect.getdoc(fn) or ""
            summary = doc.splitlines()[0] if doc else f"{method.upper()} {path}"
            parameters = [
                {
                    "name": n,
                    "in": "path",
                    "required": True,
                    "schema": ID_PARAM if n.endswith(("_id", "_number")) else {"type": "string"},
                }
                for n in params
            ]
            parameters += [
                {"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
                for q in _query_params(fn)
            ]
            op: dict[str, Any] = {
                "summary": summary,
                "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
                "tags": [path.strip("/").split("/")[0] or "service"],
                **extra,
                "parameters": parameters,
                "responses": {
                    "200": {"description": "OK (201 or 202 when something was created or queued)"},
                    "default": {
                        "description": "An error",
                        "content": {"application/json": {"schema": ERROR_SCHEMA}},
                    },
                },
            }
            declared, schema = body_of(fn)
            if method in BODY_METHODS and declared and schema is not None:
                op["requestBody"] = {
                    "required": bool(schema.get("required") or schema.get("minProperties")),
                    "content": {"application/json": {"schema": schema}},
                }
            item[method] = op
        if item:
            paths[path] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__, "description": description},
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {
                "hubToken": {"type": "apiKey", "in": "header", "name": "Authorization"}
            },
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "security": [{"hubToken": []}],
        "paths": paths,
    }
