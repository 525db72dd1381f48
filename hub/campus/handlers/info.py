"""Who am I, and is the service up."""

from __future__ import annotations

from nbcampus import __version__
from nbcampus.hub.campus import teaching
from nbcampus.hub.campus.permissions import needs_permission

from .base import CampusHandler


class InfoHandler(CampusHandler):
    @needs_permission("campus:read")
    def get(self) -> None:
        self.write_json({"service": "campus", "version": __version__})


class MeHandler(CampusHandler):
    @needs_permission("campus:read")
    async def get(self) -> None:
        """Who I am: my school-wide role and the classes I teach (with my role in each)."""
        actor = self.actor
        teaches = (
            await self.read(lambda s: teaching.teaches_any(s, actor.name))
            if actor.kind == "user"
            else []
        )
        self.write_json(
            {"name": actor.name, "role": actor.role, "kind": actor.kind, "teaches": teaches}
        )


default_handlers = [
    (r"api/v1/?", InfoHandler),
    (r"api/v1/me", MeHandler),
]
