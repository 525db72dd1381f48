"""The campus service: courses, classes, enrollment, credits, attendance, unlocks, engagement."""

from __future__ import annotations

from typing import Any

from nbcampus.service import ServiceApp

from .handlers import default_handlers
from .orm import MIGRATIONS


class CampusService(ServiceApp):
    name = "nbcampus-campus"
    description = "The campus Hub service (started by the Hub)."
    service_name = "campus"
    migrations = MIGRATIONS

    def handlers(self) -> list[Any]:
        return list(default_handlers)


main = CampusService.launch
