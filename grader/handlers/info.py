"""GET api/v1/: the service, its version and the caller as the grader sees them."""

from __future__ import annotations

from nbcampus import __version__

from .base import GraderHandler


class InfoHandler(GraderHandler):
    def get(self) -> None:
        actor = self.actor
        self.write_json(
            {
                "service": "grader",
                "version": __version__,
                "user": actor.name,
                "role": actor.role,
                "queue": self.app.queue.pending() if self.app.queue else None,
            }
        )


default_handlers = [(r"api/v1/?", InfoHandler)]
