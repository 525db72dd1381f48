"""Who am I, and is the service up."""

from __future__ import annotations

from nbcampus import __version__
from nbcampus.hub.campus.permissions import needs_permission

from .base import CampusHandler


class InfoHandler(CampusHandler):
    @needs_permission("campus:read")
    def get(self) -> None:
        self.write_json({"service": "campus", "version": __version__})


class MeHandler(CampusHandler):
    @needs_permission("campus:read")
    def get(self) -> None:
        actor = self.actor
        self.write_json({"name": actor.name, "role": actor.role, "kind": actor.kind})


default_handlers = [
    (r"api/v1/?", InfoHandler),
    (r"api/v1/me", MeHandler),
]
