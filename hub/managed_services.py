"""The Hub's managed services (campus, grader, dashboards, idle culler): started all at once,
each checked every 0.1 s, and stopped all at once.

Stock JupyterHub starts the services one after another and waits for each to answer with an
exponential back-off (tries at about 0.1, 0.3, 0.7, 1.5, 3 s...) before it starts the next.
The campus, grader and dashboards services then cost their start-ups in a row, plus for each
up to a second or more between answering and the Hub's next try: about half of a demo
campus's start (9 s on a quiet machine, 13-16 s under load).

Here the Hub's own start launches every managed service at once (they do not need each other
to start: each calls the others only for requests), and each service's start returns as soon
as it answers, checked every `service_ready_check_interval` (hub/readiness.py does the same
for student servers). What follows is JupyterHub's own code: its first check finds the service
answering, a service that exits or never answers stops the Hub as before, and the services
are still awaited in their configured order. A service added later through the Hub's API
starts as in stock JupyterHub.

At shutdown stock JupyterHub stops the services one after another, each given its time to
finish (the grader ends its current nbgrader step first); here they are all asked at once and
awaited together before JupyterHub's own clean-up (which finds them stopped), so the Hub's stop
takes the slowest service's time instead of the sum.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

from jupyterhub.app import JupyterHub
from jupyterhub.services.service import Service
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from traitlets import Float


class CampusJupyterHub(JupyterHub):
    service_ready_check_interval = Float(
        0.1,
        config=True,
        help="""Seconds between two checks whether a starting managed service answers yet (one
        small local HTTP request each). 0 leaves the waiting to JupyterHub's back-off alone.""",
    )

    # While the Hub itself starts: the services' start tasks, made at the first request for one.
    _service_starts: dict[str, asyncio.Future[bool]] | None = None
    _starting_up = False

    async def start(self) -> None:
        self._starting_up = True
        try:
            await super().start()
        finally:
            self._starting_up = False
            self._service_starts = None

    async def cleanup(self) -> None:
        managed = [s for s in self._service_map.values() if s.managed]
        if managed:
            # Errors are JupyterHub's to report: its own clean-up stops each one again.
            await asyncio.gather(*(s.stop() for s in managed), return_exceptions=True)
        await super().cleanup()

    async def start_service(
        self,
        service_name: str,
        service: Service,
        ssl_context: ssl.SSLContext | None = None,
    ) -> bool:
        if not self._starting_up:  # added later through the API: one at a time, as stock
            return await self._start_one(service_name, service, ssl_context)
        if self._service_starts is None:
            self._service_starts = {
                name: asyncio.ensure_future(self._start_one(name, each, ssl_context))
                for name, each in self._service_map.items()
            }
        task = self._service_starts.pop(service_name, None)
        if task is None:
            return await self._start_one(service_name, service, ssl_context)
        return await task

    async def _start_one(
        self, service_name: str, service: Service, ssl_context: ssl.SSLContext | None
    ) -> bool:
        quick = self.service_ready_check_interval > 0 and not self.internal_ssl
        if service.managed and service.url and quick:
            service.start = _answering_soon(service, self.service_ready_check_interval)
        return await super().start_service(service_name, service, ssl_context)


def _answering_soon(service: Service, interval: float) -> Any:
    """`service.start`, returning once the service answers HTTP as the Hub's own check wants
    (any status below 500 at its URL), once its process has exited, or after its timeout:
    JupyterHub's check that follows then reports as it would have."""
    start = service.start

    async def start_and_wait() -> None:
        await start()
        client = AsyncHTTPClient()
        url = service.server.url  # type: ignore[union-attr] - managed services with a URL
        deadline = time.monotonic() + float(service.timeout)
        tries = 0
        while time.monotonic() < deadline:
            tries += 1
            if tries % 10 == 0 and await service.spawner.poll() is not None:
                return  # exited while starting: the Hub's check reports it
            request = HTTPRequest(url, request_timeout=10, follow_redirects=False)
            try:
                code = (await client.fetch(request, raise_error=False)).code
            except Exception:  # refused while the service starts: try again
                code = 599
            if code < 500:
                return
            await asyncio.sleep(interval)

    return start_and_wait
