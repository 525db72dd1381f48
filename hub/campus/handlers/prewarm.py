"""What the schedule's pre-warm did: per class (its teachers and the office) and school-wide
(the office, for the Hub's admin page), with the budget it works within."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy.orm import Session

from nbcampus.hub.campus import classes as cl
from nbcampus.hub.campus import prewarm, validate
from nbcampus.hub.campus.orm import utcnow
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.settings import Settings, SettingsError
from nbcampus.web import APIError

from .base import CampusHandler

LIMIT_MAX = 1000


def budget() -> dict[str, Any]:
    """The operator's settings as the campus service runs with them."""
    try:
        settings = Settings.from_env()
        memory, lead = settings.prewarm_memory, settings.prewarm_lead_minutes
    except SettingsError:  # the scheduler logs it; the screens show pre-warming off
        memory, lead = 0, 10.0
    server = int(os.environ.get("NBCAMPUS_SERVER_MEMORY") or 512 * 2**20)
    return {"enabled": memory > 0, "budget_bytes": memory, "server_bytes": server,
            "lead_minutes": lead}  # fmt: skip


class PrewarmHandlerBase(CampusHandler):
    def limit(self) -> int:
        raw = self.query_arg("limit", 8) or "200"
        # ASCII digits only: "²".isdigit() is true and int() refuses it; int() reads "١٢" as 12
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= LIMIT_MAX:
            raise APIError(400, f"limit is a number from 1 to {LIMIT_MAX}", field="limit")
        return int(raw)

    def answer(self, rows: list[dict[str, Any]], reserved: int) -> None:
        meetings = prewarm.meetings_summary(rows)
        self.write_json(
            {
                **budget(),
                "reserved_bytes": reserved,
                "totals": prewarm.totals(meetings),
                "meetings": meetings,
                "prewarms": rows,
            }
        )


class PrewarmsHandler(PrewarmHandlerBase):
    @needs_permission("prewarm:list")
    async def get(self) -> None:
        """Servers pre-started before class meetings, every class (newest meeting first, up
        to ?limit=): who, started or skipped and why, memory reserved, and the budget."""
        limit = self.limit()

        def work(s: Session) -> tuple[list[dict[str, Any]], int]:
            return prewarm.listing(s, None, limit), prewarm.reserved(s, utcnow())

        self.answer(*await self.read(work))


class ClassPrewarmsHandler(PrewarmHandlerBase):
    @needs_permission("prewarm:read")
    async def get(self, class_id: str) -> None:
        """Servers pre-started before this class's meetings (newest first, up to ?limit=)."""
        cid = validate.path_id(class_id, "class")
        limit = self.limit()

        def work(s: Session) -> tuple[list[dict[str, Any]], int]:
            self.check_class(s, cl.get_class(s, cid), teach=True)
            return prewarm.listing(s, cid, limit), prewarm.reserved(s, utcnow())

        self.answer(*await self.read(work))


default_handlers = [
    (r"api/v1/prewarms", PrewarmsHandler),
    (r"api/v1/classes/([^/]+)/prewarms", ClassPrewarmsHandler),
]
