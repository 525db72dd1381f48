"""Assignments of a course: list (nbgrader `list`) and the released files (nbgrader `fetch`)."""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa

from nbcampus.web import APIError

from ..courses import ensure_generated
from ..orm import Assignment
from ..worker import course_root
from .base import GraderHandler, slug


class AssignmentsHandler(GraderHandler):
    async def get(self, course: str) -> None:
        """The course's assignments; a student sees those unlocked for their class."""
        course = slug(course, "course")

        def rows() -> list[dict[str, Any]]:
            with self.app.db() as s:
                return [
                    {"name": a.name, "title": a.title, "notebooks": a.notebooks}
                    for a in s.scalars(
                        sa.select(Assignment)
                        .where(Assignment.course == course, Assignment.released.is_(True))
                        .order_by(Assignment.name)
                    )
                ]

        items = await self.blocking(rows)
        if not await self.is_teacher(course):
            visible = []
            for item in items:
                try:
                    await self.require_unlocked(course, item["name"], self.actor.name)
                except APIError as err:
                    if err.status_code == 503:
                        raise
                    continue
                visible.append(item)
            items = visible
        self.write_json({"course": course, "assignments": items})


class ReleaseFilesHandler(GraderHandler):
    async def get(self, course: str, assignment: str) -> None:
        """The student version of an assignment (no solutions, no hidden tests), base64."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_unlocked(course, assignment, self.actor.name)
        root = course_root(self.app.data_dir, course)

        def read() -> dict[str, str]:
            ensure_generated(root, course, assignment)
            release = root / "release" / assignment
            if not release.is_dir():
                raise APIError(404, f"no assignment {assignment!r} in course {course!r}")
            return {
                str(p.relative_to(release)): base64.b64encode(p.read_bytes()).decode()
                for p in sorted(release.rglob("*"))
                if p.is_file() and ".ipynb_checkpoints" not in p.parts
            }

        files = await self.blocking(read)
        self.write_json({"course": course, "assignment": assignment, "files": files})


default_handlers = [
    (r"api/v1/courses/([^/]+)/assignments", AssignmentsHandler),
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/files", ReleaseFilesHandler),
]
