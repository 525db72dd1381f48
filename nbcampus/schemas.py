"""Building blocks of the request-body JSON Schemas that handlers declare with `body_schema`.

The same rules as the checks in code (`nbcampus.web`, `nbcampus.hub.campus.validate`): ids
are integers from 1 to MAX_ID, dates and times are ISO-8601 strings, short text is one line.
Schemas are JSON Schema as in OpenAPI 3.1 (a nullable field is `"type": [..., "null"]`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nbcampus.web import MAX_ID

ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
DATE: dict[str, Any] = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
DATETIME: dict[str, Any] = {"type": "string", "format": "date-time", "maxLength": 40}
BOOL: dict[str, Any] = {"type": "boolean"}


def text(max_length: int = 255, *, min_length: int = 1, multiline: bool = False) -> dict:
    """A string; one line unless `multiline` (no control characters but tab and newline)."""
    out: dict[str, Any] = {"type": "string", "minLength": min_length, "maxLength": max_length}
    if multiline:
        out["description"] = "text; tabs and newlines allowed, no other control characters"
    else:
        out["description"] = "one line, no control characters"
    return out


def integer(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


def number(low: float = 0, high: float = 1e9) -> dict[str, Any]:
    return {"type": "number", "minimum": low, "maximum": high}


def one_of(options: Iterable[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(options)}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` or null."""
    out = dict(schema)
    kind = out.get("type")
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    out["type"] = [*(kind if isinstance(kind, list) else [kind]), "null"]
    return out


def base64_files(max_files: int, description: str) -> dict[str, Any]:
    """An upload's files: relative path -> base64 content, at least one, at most `max_files`."""
    return {
        "type": "object",
        "minProperties": 1,
        "maxProperties": max_files,
        "additionalProperties": {"type": "string", "contentEncoding": "base64"},
        "description": description,
    }


def obj(
    required: Iterable[str] = (), *, closed: bool = False, min_properties: int = 0, **props: Any
) -> dict[str, Any]:
    """An object with these properties; `closed` refuses unknown ones."""
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required := list(required):
        out["required"] = required
    if closed:
        out["additionalProperties"] = False
    if min_properties:
        out["minProperties"] = min_properties
    return out
