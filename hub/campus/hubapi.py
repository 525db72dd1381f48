"""The campus service's client of the Hub's REST API: its address and the service's own token
(both given by the Hub in the service's environment), shared by the group sync and the
pre-warm."""

from __future__ import annotations

import os

from tornado.httpclient import HTTPRequest


class HubAPI:
    def __init__(self, api_url: str | None = None, token: str | None = None) -> None:
        self.api_url = (api_url or os.environ.get("JUPYTERHUB_API_URL", "")).rstrip("/")
        self.token = token or os.environ.get("JUPYTERHUB_API_TOKEN", "")

    @property
    def enabled(self) -> bool:
        return bool(self.api_url and self.token)

    def request(
        self, method: str, path: str, body: str | None, timeout: float, **options: object
    ) -> HTTPRequest:
        """A JSON request to `path` under the Hub's API, as the campus service."""
        return HTTPRequest(
            f"{self.api_url}/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
            body=body,
            request_timeout=timeout,
            **options,
        )
