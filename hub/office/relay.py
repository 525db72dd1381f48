"""`/hub/office/api/<path>`: the office pages' way to the campus API.

The campus service takes Hub API tokens, not the Hub's login cookie (docs/api.md), so the Hub
relays a page's request with a short-lived token of the person's own (scope: the campus
service only), kept in the Hub's memory and never sent to the browser. The campus API then
decides with its own permission table, exactly as for any other client.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from jupyterhub.handlers import BaseHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse

from .access import office_role

TOKEN_LIFETIME = 3600
_tokens: dict[str, tuple[str, float]] = {}
FORWARD_HEADERS = ("Content-Type", "Content-Disposition")


def _token(handler: BaseHandler) -> str:
    """The person's relay token for the campus service, minted when missing or near its end."""
    user = handler.current_user
    cached = _tokens.get(user.name)
    if cached and cached[1] - time.time() > 600:
        return cached[0]
    token = user.new_api_token(
        note="office pages (relay)",
        expires_in=TOKEN_LIFETIME,
        scopes=["access:services!service=campus"],
    )
    handler.db.commit()
    _tokens[user.name] = (token, time.time() + TOKEN_LIFETIME)
    return token


async def campus_fetch(
    handler: BaseHandler,
    method: str,
    path: str,
    body: bytes | None = None,
    content_type: str | None = None,
) -> HTTPResponse:
    """Call the campus API (`api/v1/<path>`) as the handler's logged-in person."""
    service = handler.services.get("campus")
    if service is None or not service.url:
        raise web.HTTPError(503, "the campus service is not running")
    # The proxy keeps the service's prefix: the campus serves under it.
    parts = urlsplit(service.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    for attempt in (1, 2):
        headers = {"Authorization": f"token {_token(handler)}"}
        if content_type:
            headers["Content-Type"] = content_type
        request = HTTPRequest(
            origin + service.prefix + "api/v1/" + path,
            method=method,
            headers=headers,
            body=body,
            request_timeout=60,
            allow_nonstandard_methods=True,
        )
        try:
            resp = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (HTTPClientError, OSError) as err:
            raise web.HTTPError(502, f"the campus service did not answer: {err}") from None
        if resp.code != 401 or attempt == 2:
            return resp
        # A token revoked since it was minted (e.g. by an admin): mint a new one, once.
        _tokens.pop(handler.current_user.name, None)
    raise AssertionError("unreachable")


class OfficeAPIRelay(BaseHandler):
    _accept_token_auth = False  # for the office pages, with the Hub's cookie and XSRF token

    def check_xsrf_cookie(self) -> None:
        try:
            super().check_xsrf_cookie()
        except web.HTTPError as err:
            self.refuse(403, err.log_message or "XSRF check failed")

    def refuse(self, status: int, message: str) -> None:
        raise web.HTTPError(status, message)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or "the request failed"
        self.set_header("Content-Type", "application/json")
        self.finish(
            json.dumps({"code": "FORBIDDEN" if status_code == 403 else "ERROR", "message": message})
        )

    async def relay(self, path: str) -> None:
        user = self.current_user
        if user is None:
            self.refuse(401, "log in first")
        if await office_role(self, user) is None:
            self.refuse(403, "the office is for staff, admins and instructors")
        method = self.request.method
        resp = await campus_fetch(
            self,
            method,
            path + ("?" + self.request.query if self.request.query else ""),
            body=self.request.body if method in ("POST", "PUT", "PATCH") else None,
            content_type=self.request.headers.get("Content-Type"),
        )
        self.set_status(resp.code)
        for name in FORWARD_HEADERS:
            if name in resp.headers:
                self.set_header(name, resp.headers[name])
        self.finish(resp.body or b"")

    @web.authenticated
    async def get(self, path: str) -> None:
        await self.relay(path)

    @web.authenticated
    async def post(self, path: str) -> None:
        await self.relay(path)

    @web.authenticated
    async def put(self, path: str) -> None:
        await self.relay(path)

    @web.authenticated
    async def patch(self, path: str) -> None:
        await self.relay(path)

    @web.authenticated
    async def delete(self, path: str) -> None:
        await self.relay(path)
