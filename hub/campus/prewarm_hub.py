"""The pre-warm's side that talks to the Hub: start servers through the Hub's REST API with the
campus service's own token, as an admin would, so that local processes, containers and
Kubernetes pods all start the one way the Hub starts them (its spawner, its limits, its
proxy routes), and the idle culler later stops the ones nobody used.

The campus service's role (hub/services.py, `campus-services`) grants `admin:servers`
(start, stop and read servers) and `admin:users` (create the Hub user of a student who never
logged in yet).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from nbcampus.db import transaction

from . import prewarm
from .hubapi import HubAPI
from .prewarm import Meeting

log = logging.getLogger("nbcampus.campus.prewarm")


class HubServers(HubAPI):
    """Start and read student servers through the Hub's API."""

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        req = self.request(
            method,
            path,
            None if body is None and method == "GET" else json.dumps(body or {}),
            timeout=60,
        )
        resp = await AsyncHTTPClient().fetch(req, raise_error=False)
        if resp.code == 599:
            raise HTTPClientError(599, str(resp.error))
        try:
            data = json.loads(resp.body) if resp.body else None
        except ValueError:
            data = None
        return resp.code, data

    async def user(self, user: str) -> dict[str, Any] | None:
        """The Hub's user model (servers and last activity); None: no such user."""
        code, data = await self._call("GET", f"users/{quote(user, safe='')}")
        return data if code == 200 and isinstance(data, dict) else None

    async def server(self, user: str) -> dict[str, Any] | None:
        """The user's default server as the Hub reports it (None: not running, or no user)."""
        return ((await self.user(user) or {}).get("servers") or {}).get("")

    async def start(self, user: str) -> str | None:
        """Ask the Hub to start the user's server; None when it took the request, otherwise
        the Hub's reason."""
        name = quote(user, safe="")
        code, data = await self._call("POST", f"users/{name}")
        if code not in (201, 409):  # 409: the Hub knows the user already
            return f"the Hub did not create the user ({code})"
        code, data = await self._call("POST", f"users/{name}/server")
        if code in (201, 202):
            return None
        message = data.get("message") if isinstance(data, dict) else None
        return f"the Hub refused ({code}): {message or 'no reason given'}"

    async def wait_ready(self, user: str, within: float) -> str | None:
        """Wait for the server to answer; None when ready, otherwise why not."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            server = await self.server(user)
            if server is None:
                return "the server stopped while starting"
            if server.get("ready"):
                return None
            await asyncio.sleep(1.0)
        return f"not ready after {within:.0f} s"


class Prewarmer:
    """One pass: every due meeting's students, within the budget, a few starts at a time."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        budget: int,
        server_memory: int,
        lead: timedelta,
        timezone: str,
        parallel: int = 2,
        ready_timeout: float = 300,
        hub: HubServers | None = None,
    ) -> None:
        self.factory = factory
        self.budget = budget
        self.server_memory = server_memory
        self.lead = lead
        self.timezone = timezone
        self.parallel = max(1, parallel)
        self.ready_timeout = ready_timeout
        self.hub = hub or HubServers()
        self._claiming = asyncio.Lock()
        self._said: set[tuple[int, str]] = set()  # log each misconfiguration once per run

    def _say_once(self, class_id: int, text: str, level: int = logging.WARNING) -> None:
        if (class_id, text) not in self._said:
            self._said.add((class_id, text))
            log.log(level, text)

    async def run_once(self, now: datetime | None = None) -> int:
        """Pre-warm every meeting due now; returns the number of servers started."""
        now = now or datetime.now(UTC)
        with self.factory() as session:
            found = prewarm.scan(session, now, self.timezone, self.lead)
        for bad in found.misconfigured:
            self._say_once(
                bad.class_id,
                f"pre-warm: class {bad.class_id} is active but {bad.reason}; nothing pre-warmed",
            )
        for class_id, status in found.inactive:
            self._say_once(
                class_id,
                f"pre-warm: class {class_id} meets soon but is {status}, not active; "
                "nothing pre-warmed",
                logging.INFO,
            )
        started = 0
        for meeting in found.due:
            started += await self.warm(meeting, now)
        await self.watch()
        return started

    async def watch(self) -> None:
        """Look at every pre-warmed server of a meeting not over through the Hub's API: was it
        used (activity after it was ready), is it gone (its memory no longer reserved)?"""
        with self.factory() as session:
            rows = prewarm.watched(session, datetime.now(UTC))
        for row_id, student in rows:
            try:
                user = await self.hub.user(student)
            except (HTTPClientError, OSError) as err:
                log.warning("pre-warm: the Hub did not answer about %s: %s", student, err)
                return
            await asyncio.to_thread(
                self._write,
                lambda s, r=row_id, u=user: prewarm.observe(s, r, u, datetime.now(UTC)),
            )

    async def warm(self, meeting: Meeting, now: datetime) -> int:
        with self.factory() as session:
            todo = prewarm.candidates(session, meeting)
        if not todo:
            return 0
        log.info(
            "pre-warm: class %s meeting %s at %s: %d students to consider",
            meeting.class_id, meeting.number, meeting.start.isoformat(), len(todo),
        )  # fmt: skip
        gate = asyncio.Semaphore(self.parallel)
        results = await asyncio.gather(*(self._one(meeting, c, now, gate) for c in todo))
        return sum(results)

    def _write(self, work: Any) -> Any:
        with transaction(self.factory) as session:
            return work(session)

    @staticmethod
    def _skip(session: Session, meeting: Meeting, who: prewarm.Candidate) -> None:
        prewarm.record(session, meeting, who.student, "skipped", who.reason)

    async def _one(
        self, meeting: Meeting, who: prewarm.Candidate, now: datetime, gate: asyncio.Semaphore
    ) -> int:
        if not who.start:
            await asyncio.to_thread(
                self._write,
                lambda s: prewarm.record(s, meeting, who.student, "skipped", who.reason),
            )
            return 0
        async with gate:
            try:
                if await self.hub.server(who.student) is not None:
                    reason = "a server was already running"
                    await asyncio.to_thread(
                        self._write,
                        lambda s: prewarm.record(s, meeting, who.student, "skipped", reason),
                    )
                    return 0
                # Claimed (memory reserved) before the Hub is asked: the budget never overflows.
                # One claim at a time: two reading the same reservations could both fit.
                async with self._claiming:
                    fits = await asyncio.to_thread(
                        self._write,
                        lambda s: prewarm.claim(
                            s, meeting, who.student, self.server_memory, self.budget, now
                        ),
                    )
                if not fits:  # tried again at the next check, until the meeting starts
                    log.debug("pre-warm: %s skipped: over the memory budget", who.student)
                    return 0
                refused = await self.hub.start(who.student)
                if refused is None and (
                    late := await self.hub.wait_ready(who.student, self.ready_timeout)
                ):
                    if late.startswith("not ready"):  # still starting: its memory stays reserved
                        log.warning("pre-warm: %s's server is %s", who.student, late)
                        return 1
                    refused = late
            except (HTTPClientError, OSError) as err:
                refused = f"the Hub did not answer: {err}"
            if refused is not None:
                log.warning("pre-warm: %s's server not started: %s", who.student, refused)
                await asyncio.to_thread(
                    self._write,
                    lambda s: prewarm.record(s, meeting, who.student, "failed", refused),
                )
                return 0
            log.info("pre-warm: %s's server started", who.student)
            try:
                ready = await self.hub.server(who.student) or {}
            except (HTTPClientError, OSError):  # the next watch() notes it ready instead
                return 1
            await asyncio.to_thread(
                self._write,
                lambda s: prewarm.mark_ready(
                    s, meeting, who.student, prewarm.hub_time(ready.get("started")),
                    datetime.now(UTC),
                ),
            )  # fmt: skip
            return 1
