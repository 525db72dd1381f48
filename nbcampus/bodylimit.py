"""A JSON 413 for request bodies over a service's limit, answered by the service itself.

tornado refuses a body over `max_body_size` by dropping the connection; the Hub's proxy
(configurable-http-proxy) then answers the client with its own 503 HTML page. This delegate
sits in front of the application instead: a request whose Content-Length is over the limit
never reaches a handler; its body is read and thrown away (up to `discard_max`, so the proxy
can deliver the answer) and it is answered with the same JSON error every API error has.
"""

from __future__ import annotations

import json
from typing import Any

from tornado import httputil

from .web import CSP, ERROR_CODES


class BodyLimit(httputil.HTTPServerConnectionDelegate):
    """Wraps an application (an HTTPServerConnectionDelegate) for the HTTPServer."""

    def __init__(self, app: Any, max_body_size: int, discard_max: int = 1024**3) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.discard_max = discard_max

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        inner = self.app.start_request(server_conn, request_conn)
        return _Request(self, inner, request_conn)

    def on_close(self, server_conn: object) -> None:
        self.app.on_close(server_conn)


class _Request(httputil.HTTPMessageDelegate):
    def __init__(
        self, limit: BodyLimit, inner: httputil.HTTPMessageDelegate, conn: httputil.HTTPConnection
    ) -> None:
        self.limit = limit
        self.inner = inner
        self.conn = conn
        self.refused = 0  # the refused body's length

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Any:
        length = headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.limit.max_body_size:
            self.refused = int(length)
            if self.refused <= self.limit.discard_max:
                # read it (and drop it) so that the answer is not a reset connection
                self.conn.set_max_body_size(self.refused)  # type: ignore[attr-defined]
            else:
                self._answer()  # far too large: answer now and close
            return None
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        if self.refused:
            return None
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        if self.refused:
            if self.refused <= self.limit.discard_max:
                self._answer()
            return
        self.inner.finish()

    def on_connection_close(self) -> None:
        if not self.refused:
            self.inner.on_connection_close()

    def _answer(self) -> None:
        body = json.dumps(
            {
                "code": ERROR_CODES[413],
                "message": f"request body is larger than {self.limit.max_body_size} bytes "
                f"({self.refused})",
            }
        ).encode()
        headers = httputil.HTTPHeaders(
            {
                "Content-Type": "application/json; charset=UTF-8",
                "Content-Length": str(len(body)),
                "Content-Security-Policy": CSP,
                "X-Content-Type-Options": "nosniff",
                "Connection": "close",
            }
        )
        self.conn.write_headers(
            httputil.ResponseStartLine("HTTP/1.1", 413, "Payload Too Large"), headers, body
        )
        self.conn.finish()
