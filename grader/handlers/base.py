"""The grader's handler base: Hub authentication, the caller's roles (from the campus),
course checks."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

from nbcampus.grader.campus import CampusNotFound
from nbcampus.web import APIError, JSONErrorMixin

T = TypeVar("T")
OVERSEERS = frozenset({"admin", "service"})
# Class roles (from the campus) that may grade, and those that may see a course's lessons.
GRADING = frozenset({"instructor", "ta"})
INSTRUCTING = frozenset({"instructor"})
ALL_TEACHING = GRADING
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_SUBMISSION_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Actor:
    name: str
    role: str  # admin (a Hub admin), service, or user: the campus says the rest


def slug(value: str, what: str) -> str:
    if not SLUG.fullmatch(value or ""):
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
        # Only the Hub's own facts here (a service, a Hub admin); everything else about a
        # person (staff, who teaches what, who studies where) is asked of the campus.
        model = self.current_user
        if model.get("kind") == "service":
            return Actor(model["name"], "service")
        if model.get("admin"):
            return Actor(model["name"], "admin")
        return Actor(model["name"], "user")

    async def blocking(self, work: Callable[[], T]) -> T:
        """Database and file work off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, work)

    async def course_roles(self, course: str) -> dict[str, Any]:
        """The campus's word on the caller and a course (asked once per request)."""
        cache: dict[str, dict[str, Any]] = self.__dict__.setdefault("_course_roles", {})
        if course not in cache:
            try:
                cache[course] = await self.app.campus.course_roles(course, self.actor.name)
            except CampusNotFound:
                raise APIError(404, f"no course {course!r}") from None
            except Exception as err:
                raise APIError(503, f"the campus could not confirm your role: {err}") from None
        return cache[course]

    async def is_overseer(self, course: str) -> bool:
        """Admins, services and the school's staff act on every course."""
        if self.actor.role in OVERSEERS:
            return True
        roles = await self.course_roles(course)
        return roles.get("school_role") in ("staff", "admin")

    async def is_teacher(self, course: str, roles: frozenset[str] = GRADING) -> bool:
        """Overseers, or a teacher of a class of this course in one of `roles`."""
        if await self.is_overseer(course):
            return True
        return bool(set((await self.course_roles(course)).get("class_roles") or []) & roles)

    async def require_teacher(self, course: str, roles: frozenset[str] = GRADING) -> None:
        if not await self.is_teacher(course, roles):
            raise APIError(403, f"you do not teach course {course!r}")

    async def taught_students(self, course: str) -> set[str] | None:
        """The students whose work the caller may see in this course: None for all."""
        if await self.is_overseer(course):
            return None
        return set((await self.course_roles(course)).get("taught_students") or [])

    async def require_sees_work_of(self, course: str, student: str, missing: str) -> None:
        """A student's own work, or the work of a student one teaches in the course (or an
        overseer's); for anyone else it does not exist (404 with `missing`, no hint)."""
        if student == self.actor.name:
            return
        taught = await self.taught_students(course) if await self.is_teacher(course) else set()
        if taught is not None and student not in taught:
            raise APIError(404, missing)

    async def require_grader_of(self, course: str, student: str) -> None:
        """Grading a student's work: their teacher (or an overseer), and never oneself."""
        await self.require_teacher(course)
        if student == self.actor.name:
            raise APIError(403, "nobody grades their own submission", code="OWN_SUBMISSION")
        taught = await self.taught_students(course)
        if taught is not None and student not in taught:
            raise APIError(403, f"{student!r} is not in a class you teach")

    async def require_member(self, course: str) -> None:
        """Release files, policies and submissions are for those who study or teach in a
        class of the course (and overseers); for anyone else the course does not exist."""
        if await self.is_teacher(course, ALL_TEACHING):
            return
        if not (await self.course_roles(course)).get("enrolled"):
            raise APIError(403, f"you are not in a class of course {course!r}")

    async def require_unlocked(self, course: str, assignment: str, user: str) -> None:
        """Release follows the campus unlock of the lesson for the student's class."""
        if await self.is_teacher(course, ALL_TEACHING):
            return
        await self.require_member(course)
        if not self.app.require_unlock:
            return
        try:
            access = await self.app.campus.access(course, assignment, user)
        except Exception as err:
            raise APIError(503, f"the campus could not confirm access: {err}") from None
        if not access.get("unlocked"):
            raise APIError(
                403, f"{assignment} is locked: {access.get('reason', '')}", code="LOCKED"
            )
