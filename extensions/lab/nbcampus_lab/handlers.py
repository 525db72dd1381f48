"""Tornado handlers of the server part: a forwarding proxy to the campus and grader services.

Requests keep their method, query, JSON body and the headers that matter; answers keep their
status, content type and body. An event stream (`text/event-stream`, the campus
notifications) is passed through chunk by chunk so that pushes reach the Lab at once.
Every error this part produces itself is JSON `{"code": ..., "message": ...}` like the
services' own.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import HTTPHeaders

from .services import SERVICES, ServiceConfigError, ServiceTarget, safe_path, target_for

MAX_BODY = 32 * 1024 * 1024  # a lesson's notebooks on submit; the services check their own limits
REQUEST_TIMEOUT = 60.0
STREAM_TIMEOUT = 300.0  # an event stream ends after this; EventSource reconnects by itself
REQUEST_HEADERS = ("Content-Type", "Accept", "Last-Event-ID")
RESPONSE_HEADERS = ("Content-Type", "Content-Disposition", "Cache-Control", "Retry-After")


class ProxyError(web.HTTPError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, reason=HTTPStatus(status).phrase)
        self.code = code
        self.message = message


class _ClientGone(Exception):
    """The browser closed the connection; stop reading the upstream stream."""


class _QuietClientGone(logging.Filter):
    """tornado logs whatever a streaming callback raises as an uncaught exception (then ends
    the fetch with a closed-stream error); _ClientGone is how a closed tab stops the upstream
    read, not an error, so its record is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _ClientGone)


class ServiceProxyHandler(APIHandler):
    _client_gone = False

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ProxyError):
            body = {"code": exc.code, "message": exc.message}
        elif isinstance(exc, web.HTTPError) and exc.log_message and status_code < 500:
            body = {"code": _code(status_code), "message": exc.log_message}
        else:
            body = {"code": _code(status_code), "message": HTTPStatus(status_code).phrase}
        self.finish(json.dumps(body))

    def on_connection_close(self) -> None:
        self._client_gone = True

    def _target(self, service: str, path: str) -> tuple[ServiceTarget, str]:
        if service not in SERVICES:
            raise ProxyError(404, "NOT_FOUND", f"no campus service called {service!r}")
        upstream = safe_path(path)
        if upstream is None:
            raise ProxyError(404, "NOT_FOUND", "only the services' api/v1/ paths are forwarded")
        try:
            return target_for(service), upstream
        except ServiceConfigError as err:
            raise ProxyError(503, "UNAVAILABLE", str(err)) from None

    async def _forward(self, service: str, path: str) -> None:
        # tornado hands us the path unquoted; check and forward the raw, still-encoded one.
        marker = f"/nbcampus/{service}/"
        raw = self.request.path
        if marker in raw:
            path = raw[raw.index(marker) + len(marker) :]
        target, upstream = self._target(service, path)
        body = self.request.body if self.request.method in ("POST", "PUT", "PATCH") else None
        if body is not None and len(body) > MAX_BODY:
            raise ProxyError(413, "PAYLOAD_TOO_LARGE", f"request body over {MAX_BODY} bytes")
        headers = {"Authorization": f"token {target.token}"}
        for name in REQUEST_HEADERS:
            if name in self.request.headers:
                headers[name] = self.request.headers[name]
        streaming = "text/event-stream" in self.request.headers.get("Accept", "")
        status: dict[str, Any] = {"code": 502, "headers": HTTPHeaders(), "started": False}
        chunks: list[bytes] = []

        def on_header(line: str) -> None:
            if line.startswith("HTTP/"):
                status["code"] = int(line.split()[1])
                status["headers"] = HTTPHeaders()
            elif line.strip():
                status["headers"].parse_line(line)

        def on_chunk(chunk: bytes) -> None:
            if self._client_gone:
                raise _ClientGone()
            is_stream = "text/event-stream" in status["headers"].get("Content-Type", "")
            if not is_stream:
                chunks.append(chunk)
                return
            if not status["started"]:
                status["started"] = True
                self._start(status["code"], status["headers"])
                self.set_header("X-Accel-Buffering", "no")
            self.write(chunk)
            self.flush()

        # The Lab's XSRF token (sent as a query argument by EventSource) stays here.
        query = urlencode(
            [
                (k, v)
                for k, v in parse_qsl(self.request.query, keep_blank_values=True)
                if k != "_xsrf"
            ]
        )
        request = HTTPRequest(
            target.url(upstream, query),
            method=self.request.method,
            headers=headers,
            body=body if body is not None else (b"" if self.request.method == "POST" else None),
            allow_nonstandard_methods=True,
            follow_redirects=False,
            request_timeout=STREAM_TIMEOUT if streaming else REQUEST_TIMEOUT,
            header_callback=on_header,
            streaming_callback=on_chunk,
        )
        try:
            await _client().fetch(request, raise_error=False)
        except _ClientGone:
            return
        except HTTPClientError as err:  # timeouts, and the stream we stopped (_ClientGone)
            if self._client_gone:
                return
            if status["started"]:
                self.finish()
                return
            raise ProxyError(
                504, "SERVICE_TIMEOUT", f"the {service} service did not answer in time"
            ) from err
        except OSError as err:
            raise ProxyError(
                502,
                "SERVICE_UNREACHABLE",
                f"the {service} service is not reachable right now ({err})",
            ) from None
        if self._client_gone:
            return
        if status["started"]:
            self.finish()
            return
        self._finish_buffered(service, status["code"], status["headers"], b"".join(chunks))

    def _start(self, code: int, headers: HTTPHeaders) -> None:
        self.set_status(code)
        for name in RESPONSE_HEADERS:
            if name in headers:
                self.set_header(name, headers[name])

    def _finish_buffered(self, service: str, code: int, headers: HTTPHeaders, body: bytes) -> None:
        content_type = headers.get("Content-Type", "application/json")
        if code >= 400 and "json" not in content_type:
            # A proxy or crash page instead of the service's JSON: say what happened, as JSON.
            raise ProxyError(
                502 if code >= 500 else code,
                "SERVICE_ERROR" if code >= 500 else _code(code),
                f"the {service} service answered {code} {HTTPStatus(code).phrase}",
            )
        if code >= 500:
            self.log.warning("nbcampus.lab: %s answered %s: %s", service, code, body[:500])
        self._start(code, headers)
        if code in (204, 304):
            self.finish(set_content_type=content_type)
            return
        self.finish(body, set_content_type=content_type)

    @web.authenticated
    async def get(self, service: str, path: str) -> None:
        await self._forward(service, path)

    @web.authenticated
    async def post(self, service: str, path: str) -> None:
        await self._forward(service, path)

    @web.authenticated
    async def put(self, service: str, path: str) -> None:
        await self._forward(service, path)

    @web.authenticated
    async def patch(self, service: str, path: str) -> None:
        await self._forward(service, path)

    @web.authenticated
    async def delete(self, service: str, path: str) -> None:
        await self._forward(service, path)


_CLIENT: AsyncHTTPClient | None = None


def _client() -> AsyncHTTPClient:
    """One client of our own: event streams hold connections, so allow more than tornado's 10."""
    global _CLIENT
    if _CLIENT is None:
        _CLIENT = AsyncHTTPClient(force_instance=True, max_clients=64)
    return _CLIENT


def _code(status: int) -> str:
    return {
        400: "VALIDATION_ERROR",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        409: "CONFLICT",
        413: "PAYLOAD_TOO_LARGE",
        502: "SERVICE_ERROR",
        503: "UNAVAILABLE",
        504: "SERVICE_TIMEOUT",
    }.get(status, "ERROR")


def setup_handlers(web_app: Any) -> None:
    app_log = logging.getLogger("tornado.application")
    if not any(isinstance(f, _QuietClientGone) for f in app_log.filters):
        app_log.addFilter(_QuietClientGone())
    base = web_app.settings.get("base_url", "/")
    route = url_path_join(base, "nbcampus", r"(campus|grader|[^/]+)", r"(.*)")
    from .open import handlers as open_handlers

    # the launch landing page first: the proxy's route would take `open` for a service
    web_app.add_handlers(".*$", [*open_handlers(base), (route, ServiceProxyHandler)])
