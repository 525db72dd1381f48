"""An HTTP client for the campus that checks, on every call, what every response must keep:
JSON bodies are JSON (errors included, with a code and a message) and carry a CSP header and,
from the Hub and its services, `X-Content-Type-Options: nosniff`."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import requests


class ResponseInvariantError(AssertionError):
    pass


def check_response(resp: requests.Response) -> requests.Response:
    """Assert the invariants of an nbcampus/Hub API response; returns it for chaining."""
    where = f"{resp.request.method} {resp.url} -> {resp.status_code}"
    if resp.status_code >= 500:
        raise ResponseInvariantError(f"{where}: server error: {resp.text[:500]}")
    if "Content-Security-Policy" not in resp.headers:
        raise ResponseInvariantError(f"{where}: no Content-Security-Policy header")
    path = urlsplit(resp.url).path
    if ("/hub/" in path or "/services/" in path) and "/user/" not in path:
        if resp.headers.get("X-Content-Type-Options") != "nosniff":
            raise ResponseInvariantError(f"{where}: no X-Content-Type-Options: nosniff")
    ctype = resp.headers.get("Content-Type", "")
    if resp.content and "json" in ctype:
        try:
            body = resp.json()
        except json.JSONDecodeError:
            raise ResponseInvariantError(f"{where}: body is not JSON: {resp.text[:200]}") from None
        if resp.status_code >= 400 and isinstance(body, dict) and "/services/" in resp.url:
            if not isinstance(body.get("code"), str) or not isinstance(body.get("message"), str):
                raise ResponseInvariantError(f"{where}: error without code/message: {body}")
    elif resp.content and resp.status_code >= 400 and "/services/" in resp.url:
        raise ResponseInvariantError(f"{where}: error is not JSON ({ctype}): {resp.text[:200]}")
    return resp


class APIClient:
    """Requests against one campus, as one token's owner. Paths are relative to the base URL."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"token {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        resp = self.session.request(method, self.base_url + path.lstrip("/"), **kwargs)
        return check_response(resp)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)
