"""Assignments of a course: list (nbgrader `list`) and the released files (nbgrader `fetch`)."""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa

from nbcampus import schemas as S
from nbcampus.web import APIError, body_schema, parse_datetime

from ..courses import ensure_generated
from ..orm import Assignment
from ..worker import course_root
from .base import INSTRUCTING, GraderHandler, slug
from .exams import release_allowed


class AssignmentsHandler(GraderHandler):
    async def get(self, course: str) -> None:
        """The course's assignments; a student sees those unlocked for their class. With
        ?all=1 (an instructor's `nbgrader list --inbound`) the caller must teach the course."""
        course = slug(course, "course")
        if self.get_query_argument("all", "") not in ("", "0"):
            await self.require_teacher(course)

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
            await self.require_member(course)
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
        await release_allowed(self, course, assignment)
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


class AssignmentPolicyHandler(GraderHandler):
    async def get(self, course: str, assignment: str) -> None:
        """An assignment's grading policy: due date, late penalty, which submission counts."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_member(course)
        self.write_json(await self.blocking(lambda: self._policy(course, assignment)))

    def _policy(self, course: str, assignment: str, update: dict | None = None) -> dict:
        with self.app.db() as s, s.begin():
            row = s.scalar(
                sa.select(Assignment).where(
                    Assignment.course == course, Assignment.name == assignment
                )
            )
            if row is None:
                raise APIError(404, f"no assignment {assignment!r} in course {course!r}")
            for key, value in (update or {}).items():
                setattr(row, key, value)
            return {
                "course": course,
                "assignment": assignment,
                "title": row.title,
                "notebooks": row.notebooks,
                "due_at": row.due_at.isoformat() if row.due_at else None,
                "late_penalty_per_hour": row.late_penalty_per_hour,
                "late_penalty_max_fraction": row.late_penalty_max_fraction,
                "counts": row.counts,
            }

    @body_schema(
        S.obj(
            closed=True,
            due_at=S.nullable(S.DATETIME),
            late_penalty_per_hour=S.number(0, 1e6),
            late_penalty_max_fraction=S.number(0, 1),
            counts=S.one_of(("newest", "best")),
        )
    )
    async def put(self, course: str, assignment: str) -> None:
        """Teachers set the policy; fields left out keep their value."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_teacher(course, INSTRUCTING)
        body = self.json_body()
        update: dict[str, Any] = {}
        if "due_at" in body:
            value = body["due_at"]
            update["due_at"] = None if value is None else parse_datetime(value, "due_at")
        for key, lo, hi in (
            ("late_penalty_per_hour", 0.0, 1e6),
            ("late_penalty_max_fraction", 0.0, 1.0),
        ):
            if key in body:
                value = body[key]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise APIError(400, f"{key} must be a number", field=key)
                if not lo <= value <= hi:
                    raise APIError(400, f"{key} must be between {lo} and {hi}", field=key)
                update[key] = float(value)
        if "counts" in body:
            if body["counts"] not in ("newest", "best"):
                raise APIError(400, "counts must be 'newest' or 'best'", field="counts")
            update["counts"] = body["counts"]
        unknown = set(body) - {
            "due_at",
            "late_penalty_per_hour",
            "late_penalty_max_fraction",
            "counts",
        }
        if unknown:
            raise APIError(400, f"unknown fields: {', '.join(sorted(unknown))}")
        self.write_json(await self.blocking(lambda: self._policy(course, assignment, update)))


default_handlers = [
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)", AssignmentPolicyHandler),
    (r"api/v1/courses/([^/]+)/assignments", AssignmentsHandler),
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/files", ReleaseFilesHandler),
]
