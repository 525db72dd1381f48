"""The JSON API conventions every nbcampus service follows.

Errors are always JSON `{"code": ..., "message": ...}` with a stable code and the right
status; tracebacks never reach a client. Request bodies are parsed and size-checked here so
that each handler sees a dict or a clear 4xx.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

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

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 4xx that says what is wrong with it."""
        request = self.request  # type: ignore[attr-defined]
        raw = request.body or b""
        if len(raw) > MAX_JSON_BODY:
            raise APIError(413, f"request body is larger than {MAX_JSON_BODY} bytes")
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise APIError(400, f"request body is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise APIError(400, "request body must be a JSON object")
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
