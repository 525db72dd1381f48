"""One-time tickets: how a dashboard's kernel receives its viewer's token.

Kernels are started ahead of requests (a warm pool, so a dashboard paints without waiting
for Python to start and import its chart library), so the token cannot be in a kernel's
environment. The page handler puts a random ticket in the request information Voila hands
the kernel (never sent to the browser); the kernel trades it, once and within two minutes,
for the viewer's name, role and token at this service's own address.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from tornado import web

TTL = 120.0


class Tickets:
    def __init__(self) -> None:
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}

    def mint(self, viewer: dict[str, Any]) -> str:
        now = time.monotonic()
        for key in [k for k, (t, _) in self._items.items() if now - t > TTL]:
            del self._items[key]  # abandoned tickets do not pile up
        ticket = secrets.token_urlsafe(32)
        self._items[ticket] = (now, viewer)
        return ticket

    def redeem(self, ticket: str) -> dict[str, Any] | None:
        minted, viewer = self._items.pop(ticket, (0.0, None))
        if viewer is None or time.monotonic() - minted > TTL:
            return None
        return viewer


TICKETS = Tickets()


class RedeemHandler(web.RequestHandler):
    """POST {"ticket": ...} -> the viewer, once. No cookie is involved: the ticket is the
    credential, so there is no cross-site request to guard against."""

    def check_xsrf_cookie(self) -> None:
        return None

    def post(self) -> None:
        try:
            ticket = json.loads(self.request.body or b"{}").get("ticket")
        except (ValueError, AttributeError):
            ticket = None
        viewer = TICKETS.redeem(ticket) if isinstance(ticket, str) else None
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        if viewer is None:
            self.set_status(404)
            self.finish(json.dumps({"code": "NO_TICKET", "message": "no such ticket"}))
            return
        self.finish(json.dumps(viewer))
