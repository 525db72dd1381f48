"""The grader's handler base: Hub authentication, the caller's campus role, course checks."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

from nbcampus.hub.roles import role_from_groups
from nbcampus.web import APIError, JSONErrorMixin

T = TypeVar("T")
OVERSEERS = frozenset({"staff", "admin", "service"})
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_SUBMISSION_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Actor:
    name: str
    role: str  # student, instructor, staff, admin, or service


def slug(value: str, what: str) -> str:
    if not SLUG.match(value or ""):
        raise APIError(400, f"{what} {value!r} is not a valid name", field=what)
    return value


class GraderHandler(JSONErrorMixin, HubOAuthenticated, web.RequestHandler):
    @property
    def app(self) -> Any:
        return self.settings["app"]

    def prepare(self) -> None:
        if self.current_user is None:
            raise APIError(401, "log in through the Hub, or send a Hub API token")

    @property
    def actor(self) -> Actor:
        model = self.current_user
        if model.get("kind") == "service":
            return Actor(model["name"], "service")
        if model.get("admin"):
            return Actor(model["name"], "admin")
        return Actor(model["name"], role_from_groups(list(model.get("groups") or [])))

    async def blocking(self, work: Callable[[], T]) -> T:
        """Database and file work off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, work)

    async def is_teacher(self, course: str) -> bool:
        actor = self.actor
        if actor.role in OVERSEERS:
            return True
        if actor.role != "instructor":
            return False
        return await self.app.campus.teaches(actor.name, course)

    async def require_teacher(self, course: str) -> None:
        if not await self.is_teacher(course):
            raise APIError(403, f"you do not teach course {course!r}")

    async def require_unlocked(self, course: str, assignment: str, user: str) -> None:
        """Release follows the campus unlock of the lesson for the student's class."""
        if not self.app.require_unlock or await self.is_teacher(course):
            return
        try:
            access = await self.app.campus.access(course, assignment, user)
        except Exception as err:
            raise APIError(503, f"the campus could not confirm access: {err}") from None
        if not access.get("unlocked"):
            raise APIError(
                403, f"{assignment} is locked: {access.get('reason', '')}", code="LOCKED"
            )

    def large_json_body(self) -> dict[str, Any]:
        raw = self.request.body or b""
        if len(raw) > MAX_SUBMISSION_BYTES:
            raise APIError(413, f"request body is larger than {MAX_SUBMISSION_BYTES} bytes")
        try:
            data = json.loads(raw or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise APIError(400, f"request body is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise APIError(400, "request body must be a JSON object")
        return data
