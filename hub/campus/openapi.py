"""The campus API's OpenAPI document, generated from the handlers themselves.

Paths come from each resource module's `default_handlers`, summaries from the handler
methods' docstrings, and who may call what from the PERMISSIONS table (as `x-permission` and
`x-actors`), so the document cannot drift from the code.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from nbcampus import __version__

from .permissions import PERMISSIONS

METHODS = ("get", "post", "put", "patch", "delete")
PARAM_NAMES = {
    "courses": "course",
    "classes": "class_id",
    "lessons": "lesson_id",
    "exercises": "exercise_id",
    "enrollments": "enrollment_id",
    "users": "user",
    "attendance": "meeting_number",
    "access": "course",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "example": "VALIDATION_ERROR"},
        "message": {"type": "string"},
        "details": {"type": "object"},
    },
}


def _openapi_path(pattern: str) -> tuple[str, list[str]]:
    """`api/v1/classes/([^/]+)/attendance` -> `/classes/{class_id}/attendance`."""
    flat = re.sub(r"\([^)]*\)", "(", pattern)  # each capture group -> "(" before splitting
    parts = flat.removeprefix("api/v1").rstrip("?").strip("/").split("/")
    names: list[str] = []
    out = []
    for i, part in enumerate(parts):
        if not part.startswith("("):
            out.append(part)
            continue
        prev = parts[i - 1] if i else ""
        if prev.startswith("("):
            name = "lesson"  # access/{course}/{lesson}
        elif prev == "enrollments" and parts[0] == "classes":
            name = "student"
        else:
            name = PARAM_NAMES.get(prev, "id")
        names.append(name)
        out.append("{" + name + "}")
    return "/" + "/".join(p for p in out if p), names


def build_openapi(handlers: list[Any], server_url: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in handlers:
        pattern, handler = route[0], route[1]
        path, params = _openapi_path(pattern)
        item: dict[str, Any] = {}
        for method in METHODS:
            fn = getattr(handler, method, None)
            permission = getattr(fn, "__nbcampus_permission__", None)
            if fn is None or permission is None:
                continue
            doc = inspect.getdoc(fn) or ""
            summary = doc.splitlines()[0] if doc else f"{method.upper()} {path}"
            item[method] = {
                "summary": summary,
                "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
                "tags": [path.strip("/").split("/")[0] or "service"],
                "x-permission": permission,
                "x-actors": sorted(PERMISSIONS[permission]),
                "parameters": [
                    {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                    for n in params
                ],
                "responses": {
                    "200": {"description": "OK (201 when something was created)"},
                    "default": {
                        "description": "An error",
                        "content": {"application/json": {"schema": ERROR_SCHEMA}},
                    },
                },
            }
        if item:
            paths[path] = item
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "nbcampus campus API",
            "version": __version__,
            "description": "Courses, classes, enrollment, credits, attendance, unlocks and "
            "progress. Authenticate with a Hub API token (Authorization: token ...); the Hub's login "
            "cookie is not accepted (docs/api.md). Every error is JSON {code, message}.",
        },
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
