"""The campus service: courses, classes, enrollment, credits, attendance, unlocks, engagement."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from nbcampus.service import ServiceApp

from .handlers import default_handlers
from .hubsync import sync_all
from .orm import MIGRATIONS


class CampusService(ServiceApp):
    name = "nbcampus-campus"
    description = "The campus Hub service (started by the Hub)."
    service_name = "campus"
    migrations = MIGRATIONS

    _tasks: set[asyncio.Task[Any]]

    def handlers(self) -> list[Any]:
        return list(default_handlers)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run background work (Hub group sync) without losing the task to the GC."""
        if not hasattr(self, "_tasks"):
            self._tasks = set()
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def on_start(self) -> None:
        # Heal the Hub's class groups from the campus database (calls may have failed before).
        self.spawn(self._sync_groups())

    async def _sync_groups(self) -> None:
        count = await sync_all(self.db)
        self.log.info("campus: %d class groups synced to the Hub", count)


main = CampusService.launch
