"""A quick readiness check for student servers, shared by the campus spawners.

After a spawner's start() the Hub waits for the server with an exponential back-off: tries at
about 0.1, 0.3, 0.7, 1.5, 3 s... and then every few seconds. A Lab that comes up just after a
try waits for the next one: on average a second or more, per login, for nothing. The campus
spawners check every `ready_check_interval` themselves before returning from start(), so the
Hub's first try already finds the server answering.
"""

from __future__ import annotations

import asyncio
import time

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from traitlets import Float
from traitlets.config import LoggingConfigurable

from .isolation import IsolatedLocalSpawner


class QuickReadiness(LoggingConfigurable):
    """Mixin for spawners: `await self.until_answering(ip, port)` at the end of start()."""

    ready_check_interval = Float(
        0.1,
        config=True,
        help="""Seconds between two checks whether a starting server answers yet (a check is
        one small local HTTP request). 0 leaves the waiting to the Hub alone.""",
    )

    async def until_answering(self, ip: str, port: int) -> None:
        """Return once the server answers HTTP as the Hub's check wants (any status below
        500 at its API URL), or after `http_timeout` (the Hub's check then reports)."""
        if self.ready_check_interval <= 0:
            return
        host = ip or "127.0.0.1"
        url = f"http://{host}:{port}{self.server.base_url}api"  # type: ignore[attr-defined]
        client = AsyncHTTPClient()
        started = time.monotonic()
        deadline = started + float(self.http_timeout)  # type: ignore[attr-defined]
        tries = 0
        while time.monotonic() < deadline:
            tries += 1
            # A server that died while starting never answers: every 50 tries, ask (not more
            # often: for a container, a poll is a call to the engine).
            if tries % 50 == 0 and await self.poll() is not None:  # type: ignore[attr-defined]
                return
            request = HTTPRequest(url, request_timeout=10, follow_redirects=False)
            try:
                code = (await client.fetch(request, raise_error=False)).code
            except Exception:  # refused or reset while the server starts: try again
                code = 599
            if code < 500:
                self.log.debug(
                    "Server at %s answered after %.2f s", url, time.monotonic() - started
                )
                return
            await asyncio.sleep(self.ready_check_interval)


class CampusLocalSpawner(QuickReadiness, IsolatedLocalSpawner):
    """The local profile's spawner: SimpleLocalProcessSpawner with a system user per student
    (hub/isolation.py) and the quick readiness check."""

    async def start(self) -> tuple[str, int]:
        ip, port = await super().start()
        await self.until_answering(ip, port)
        return ip, port
