"""The JSON API conventions every nbcampus service follows.

Errors are always JSON `{"code": ..., "message": ...}` with a stable code and the right
status; tracebacks never reach a client. Request bodies are parsed and size-checked here so
that each handler sees a dict or a clear 4xx.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import quote

import fastjsonschema
from tornado import web

# One stable code per kind of failure; clients may switch on these.
ERROR_CODES: dict[int, str] = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "UNAVAILABLE",
}

MAX_JSON_BODY = 256 * 1024  # no JSON request of ours needs more; larger ones are refused early

CSP = "default-src 'none'; frame-ancestors 'self'"

# --- input hygiene: one set of rules for every service ------------------------------------------
# Ids and counts are ASCII digits: `str.isdigit()` and `re`'s `\d` also take "²" or "٣", which
# int() then refuses (or reads as another number). Ids are database integers: at most 2**31-1.
MAX_ID = 2**31 - 1
_ASCII_NUMBER = re.compile(r"[0-9]{1,10}")
# Control characters (C0, DEL, C1); long text may keep tabs and newlines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Every date the campus stores or schedules falls in this range.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def attachment(filename: str) -> str:
    """A Content-Disposition for a download named after user data (RFC 6266): an ASCII
    fallback and the UTF-8 name, since a header carries Latin-1 at most."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def parse_id(raw: str | None, field: str, *, high: int = MAX_ID) -> int:
    """An id or count from a URL or a query argument: ASCII digits 0-9 only, else a 400."""
    if raw is None or not _ASCII_NUMBER.fullmatch(raw):
        raise APIError(400, f"'{field}' must be a whole number (digits 0-9)", field=field)
    value = int(raw)
    if value > high:
        raise APIError(400, f"'{field}' must be at most {high}", field=field)
    return value


def clean_text(value: str, field: str, *, multiline: bool = False) -> str:
    """Refuse control characters (NUL included); long text keeps tabs and newlines (CRLF
    becomes LF). Returns the text to store."""
    if multiline:
        value = value.replace("\r\n", "\n")
    bad = (_CONTROL_MULTILINE if multiline else _CONTROL).search(value)
    if bad:
        raise APIError(
            400,
            f"'{field}' contains a control character (U+{ord(bad.group()):04X})",
            field=field,
        )
    return value


def check_date_range(value: date, field: str) -> date:
    """A date (or the date of a datetime) between EARLIEST_DATE and LATEST_DATE, else a 400."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise APIError(
            400,
            f"'{field}' must be between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}",
            field=field,
        )
    return value


def parse_date(raw: Any, field: str) -> date:
    """A date `YYYY-MM-DD` (ASCII) in the sane range, else a 400 naming the field."""
    if not isinstance(raw, str) or len(raw) != 10 or not raw.isascii():
        raise APIError(400, f"'{field}' must be a date YYYY-MM-DD", field=field)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise APIError(400, f"'{field}' must be a date YYYY-MM-DD", field=field) from None
    return check_date_range(day, field)


def parse_datetime(raw: Any, field: str) -> datetime:
    """An ISO-8601 time (ASCII; no offset means UTC) in the sane range, else a 400."""
    if not isinstance(raw, str) or not raw.isascii() or not 10 <= len(raw) <= 40:
        raise APIError(400, f"'{field}' must be an ISO-8601 time", field=field)
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise APIError(400, f"'{field}' must be an ISO-8601 time", field=field) from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return check_date_range(when, field)


# --- request-body schemas, declared next to each handler method ---------------------------------
F = TypeVar("F", bound=Callable[..., Any])
NO_BODY: dict[str, Any] = {"type": "object", "maxProperties": 0}


def body_schema(schema: dict[str, Any] | None) -> Callable[[F], F]:
    """Declare the JSON Schema of a method's request body (None: the method reads no body).

    `json_body()` checks each request against it (a 400 naming the field), and the OpenAPI
    documents publish it as the operation's `requestBody`: one source of truth. Put it below
    `needs_permission` so that the permission wrapper carries it.
    """
    # Dates and times are checked (format, range) by parse_date/parse_datetime, which also
    # take times without seconds or offset; the schema's formats document them.
    formats = {"date": _any_string, "date-time": _any_string}
    check = fastjsonschema.compile(schema, formats=formats) if schema is not None else None

    def decorator(method: F) -> F:
        method.__nbcampus_body__ = schema  # type: ignore[attr-defined]
        method.__nbcampus_body_check__ = check  # type: ignore[attr-defined]
        return method

    return decorator


def _any_string(value: str) -> bool:
    return True


def check_body(method: Any, data: dict[str, Any]) -> None:
    """Validate `data` against the schema declared on `method` (if any), as a 400."""
    check = getattr(method, "__nbcampus_body_check__", None)
    if check is None:
        return
    try:
        check(data)
    except fastjsonschema.JsonSchemaValueException as err:
        path = (err.name or "data").removeprefix("data").lstrip(".")
        message = err.message.replace("data.", "", 1).replace("data ", "body ", 1)
        if err.rule == "required" and isinstance(err.value, dict):
            missing = [k for k in err.rule_definition or () if k not in err.value]
            if missing:
                path = f"{path}.{missing[0]}" if path else missing[0]
                message = f"'{path}' is required"
        field = re.split(r"[.\[]", path, maxsplit=1)[0] or None
        raise APIError(400, message, **({"field": field} if field else {})) from None


class APIError(web.HTTPError):
    """An error a client should see: a status, a stable code and a human message."""

    def __init__(self, status: int, message: str, code: str | None = None, **details: Any) -> None:
        super().__init__(status, reason=HTTPStatus(status).phrase)
        self.code = code or ERROR_CODES.get(status, "ERROR")
        self.message = message
        self.details = details


class JSONErrorMixin:
    """Render every error of a tornado handler as JSON, with the CSP header set."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)  # type: ignore[attr-defined]
        self.set_header("X-Content-Type-Options", "nosniff")  # type: ignore[attr-defined]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, APIError):
            body: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.details:
                body["details"] = exc.details
        else:
            message = _phrase(status_code)
            if isinstance(exc, web.HTTPError) and exc.log_message and status_code < 500:
                message = exc.log_message % exc.args if exc.args else exc.log_message
            body = {"code": ERROR_CODES.get(status_code, "ERROR"), "message": message}
        self.set_header("Content-Type", "application/json; charset=utf-8")  # type: ignore[attr-defined]
        self.finish(json.dumps(body))  # type: ignore[attr-defined]

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)  # type: ignore[attr-defined]
        self.set_header("Content-Type", "application/json; charset=utf-8")  # type: ignore[attr-defined]
        self.finish(json.dumps(data, default=str))  # type: ignore[attr-defined]

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """Path and query arguments: UTF-8 without control characters, else a JSON 400."""
        decoded = web.RequestHandler.decode_argument(self, value, name)  # type: ignore[arg-type]
        return clean_text(decoded, name or "path")

    def json_body(self, max_bytes: int = MAX_JSON_BODY) -> dict[str, Any]:
        """The request body as a JSON object that matches the method's declared schema
        (`body_schema`), or a 4xx that says what is wrong with it."""
        request = self.request  # type: ignore[attr-defined]
        raw = request.body or b""
        if len(raw) > max_bytes:
            raise APIError(413, f"request body is larger than {max_bytes} bytes")
        data: Any = {}
        if raw.strip():
            try:
                data = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
                raise APIError(400, f"request body is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise APIError(400, "request body must be a JSON object")
        check_body(getattr(self, request.method.lower(), None), data)
        return data


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class NotFoundHandler(JSONErrorMixin, web.RequestHandler):
    """Catch-all so unknown paths get a JSON 404 instead of tornado's HTML page."""

    def prepare(self) -> None:
        raise APIError(404, f"no such endpoint: {self.request.path}")
