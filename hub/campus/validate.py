"""Checking request fields: each helper returns a clean value or raises a 400 naming the field.

Handlers pass the parsed JSON body (a dict) and a field name; wrong types, missing values,
out-of-range numbers and over-long strings all become VALIDATION_ERROR, never a 500.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from nbcampus.web import APIError, clean_text, parse_date, parse_datetime, parse_id

_MISSING = object()


def _get(body: dict[str, Any], key: str, default: Any) -> Any:
    value = body.get(key, default)
    if value is _MISSING:
        raise APIError(400, f"'{key}' is required", field=key)
    return value


def integer(
    body: dict[str, Any],
    key: str,
    default: Any = _MISSING,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    value = _get(body, key, default)
    if value is None and default is None:
        return None  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, int):
        raise APIError(400, f"'{key}' must be an integer", field=key)
    if (low is not None and value < low) or (high is not None and value > high):
        raise APIError(400, f"'{key}' must be between {low} and {high}", field=key)
    return value


def number(body: dict[str, Any], key: str, default: Any = _MISSING, *, low: float = 0) -> float:
    value = _get(body, key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise APIError(400, f"'{key}' must be a number", field=key)
    if value < low or value > 1e9:
        raise APIError(400, f"'{key}' is out of range", field=key)
    return float(value)


def string(
    body: dict[str, Any],
    key: str,
    default: Any = _MISSING,
    *,
    max_length: int = 255,
    allow_empty: bool = False,
    multiline: bool = False,
) -> str:
    """A string without control characters (`multiline` long text keeps tabs and newlines)."""
    value = _get(body, key, default)
    if value is None and default is None:
        return None  # type: ignore[return-value]
    if not isinstance(value, str):
        raise APIError(400, f"'{key}' must be a string", field=key)
    if len(value) > max_length:
        raise APIError(400, f"'{key}' is longer than {max_length} characters", field=key)
    if not allow_empty and not value.strip():
        raise APIError(400, f"'{key}' must not be empty", field=key)
    return clean_text(value, key, multiline=multiline)


def choice(
    body: dict[str, Any], key: str, options: tuple[str, ...], default: Any = _MISSING
) -> str:
    value = _get(body, key, default)
    if value not in options:
        raise APIError(400, f"'{key}' must be one of: {', '.join(options)}", field=key)
    return value


def day(body: dict[str, Any], key: str, default: Any = _MISSING) -> date | None:
    """A date YYYY-MM-DD between 2000-01-01 and 2100-12-31."""
    value = _get(body, key, default)
    if value is None and default is None:
        return None
    return parse_date(value, key)


def moment(body: dict[str, Any], key: str, default: Any = _MISSING) -> datetime | None:
    """An ISO-8601 time (no offset means UTC) between 2000-01-01 and 2100-12-31."""
    value = _get(body, key, default)
    if value is None and default is None:
        return None
    return parse_datetime(value, key)


def object_list(body: dict[str, Any], key: str, *, max_items: int = 1000) -> list[dict[str, Any]]:
    value = _get(body, key, _MISSING)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise APIError(400, f"'{key}' must be a list of objects", field=key)
    if len(value) > max_items:
        raise APIError(400, f"'{key}' has more than {max_items} items", field=key)
    return value


def path_id(raw: str, what: str) -> int:
    """An id from the URL or a query argument: ASCII digits only (a 400 naming it otherwise)."""
    return parse_id(raw, what)
