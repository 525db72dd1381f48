"""Reading the campus, grader and Hub APIs as the viewer: every call carries the viewer's own
OAuth token (never the dashboards service's), so the services' permission checks apply."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

TIMEOUT = 30


class Refused(Exception):
    """A service said no (401/403/404) or could not answer: shown to the viewer, no data."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Viewer:
    """The person looking at a dashboard, and where the services answer."""

    name: str
    role: str
    token: str
    campus_url: str = field(default_factory=lambda: os.environ.get("NBCAMPUS_CAMPUS_URL", ""))
    grader_url: str = field(default_factory=lambda: os.environ.get("NBCAMPUS_GRADER_URL", ""))
    hub_api_url: str = field(default_factory=lambda: os.environ.get("JUPYTERHUB_API_URL", ""))
    # Links the viewer follows in the browser (public paths under the Hub's base URL).
    public_base: str = field(default_factory=lambda: os.environ.get("NBCAMPUS_PUBLIC_BASE", "/"))
    teaches: list[dict[str, Any]] = field(default_factory=list)
    _session: requests.Session | None = None

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
            self._session.headers["Authorization"] = f"token {self.token}"
        return self._session

    def get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        try:
            r = self.session.get(url, params=params, timeout=TIMEOUT)
        except requests.RequestException as err:
            raise Refused(503, f"the service did not answer: {err}") from None
        if r.status_code >= 400:
            try:
                message = r.json().get("message") or r.reason
            except ValueError:
                message = r.reason
            raise Refused(r.status_code, message)
        return r.json()

    def campus(self, path: str, **params: Any) -> Any:
        return self.get(self.campus_url.rstrip("/") + "/api/v1/" + path, params or None)

    def grader(self, path: str, **params: Any) -> Any:
        return self.get(self.grader_url.rstrip("/") + "/api/v1/" + path, params or None)

    def hub(self, path: str, **params: Any) -> Any:
        return self.get(self.hub_api_url.rstrip("/") + "/" + path, params or None)

    def hub_page(self, path: str, **params: Any) -> Any:
        """A JSON endpoint of the Hub outside /hub/api (e.g. the LTI outbox)."""
        base = self.hub_api_url.rstrip("/").removesuffix("/api")
        return self.get(base + "/" + path, params or None)

    def link(self, path: str) -> str:
        return self.public_base.rstrip("/") + "/" + path.lstrip("/")


def q(value: str) -> str:
    return quote(str(value), safe="")


def parallel(calls: dict[str, Any]) -> dict[str, Any]:
    """Run {name: zero-argument callable} at once (each is an HTTP call); an exception is
    returned in place of its result, so one refusal does not hide the other figures."""
    out: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {name: pool.submit(fn) for name, fn in calls.items()}
        for name, fut in futures.items():
            try:
                out[name] = fut.result()
            except Exception as err:  # noqa: BLE001 - shown beside the figure it concerns
                out[name] = err
    return out


def request_viewer() -> tuple[Viewer | Refused, dict[str, str]]:
    """In a dashboard's kernel: wait for the page request (a warm kernel starts before it),
    then trade its one-time ticket for the viewer. Returns the viewer (or why not) and the
    page's own arguments (e.g. `class`)."""
    from urllib.parse import parse_qs

    from voila.utils import wait_for_request

    wait_for_request()
    query = {k: v[-1] for k, v in parse_qs(os.environ.get("QUERY_STRING", "")).items()}
    ticket = query.pop("nbcampus_ticket", "")
    try:
        r = requests.post(
            os.environ["NBCAMPUS_DASHBOARDS_TICKETS"], json={"ticket": ticket}, timeout=TIMEOUT
        )
    except (KeyError, requests.RequestException) as err:
        return Refused(503, f"the dashboards service did not answer: {err}"), query
    if r.status_code != 200:
        return Refused(403, "this page has expired: reload it"), query
    return Viewer(**r.json()), query
