"""Figures for the dashboards: a course's submissions with their per-test outcomes (for its
teachers), and the grading queue's throughput and latency (for admins)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from nbcampus.grader.orm import QUEUED, RUNNING, Submission
from nbcampus.web import APIError

from .base import GraderHandler, slug

MAX_DAYS = 366


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes: they are UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def test_outcomes(result: dict[str, Any] | None) -> dict[str, bool]:
    """{notebook/test: passed} for the autograded tests of a result (manual cells left out)."""
    out: dict[str, bool] = {}
    for nb in (result or {}).get("notebooks") or []:
        for test in nb.get("tests") or []:
            if test.get("kind") == "test" and test.get("passed") is not None and test.get("name"):
                out[f"{nb.get('name')}/{test['name']}"] = bool(test["passed"])
    return out


class CourseStatsHandler(GraderHandler):
    async def get(self, course: str) -> None:
        """Every submission of the course by the caller's students (all for overseers):
        student, assignment, times, status, score and each autograded test's outcome."""
        course = slug(course, "course")
        await self.require_teacher(course)
        taught = await self.taught_students(course)

        def build() -> list[dict[str, Any]]:
            cols = (
                Submission.uid,
                Submission.student,
                Submission.assignment,
                Submission.submitted_at,
                Submission.graded_at,
                Submission.status,
                Submission.score,
                Submission.max_score,
                Submission.result,
            )
            query = sa.select(*cols).where(Submission.course == course)
            rows = []
            with self.app.db() as s:
                for row in s.execute(query.order_by(Submission.submitted_at, Submission.id)):
                    if taught is not None and row.student not in taught:
                        continue
                    rows.append(
                        {
                            "uid": row.uid,
                            "student": row.student,
                            "assignment": row.assignment,
                            "submitted_at": _iso(row.submitted_at),
                            "graded_at": _iso(row.graded_at),
                            "status": row.status,
                            "score": row.score,
                            "max_score": row.max_score,
                            "tests": test_outcomes(row.result),
                        }
                    )
            return rows

        self.write_json({"course": course, "submissions": await self.blocking(build)})


class QueueStatsHandler(GraderHandler):
    async def get(self) -> None:
        """Per day over the last `days` (default 14): submissions, how many students
        submitted, the grading latency (submitted to graded) median and worst; plus what
        waits in the queue now. Admins."""
        if self.actor.role not in ("admin", "service"):
            raise APIError(403, "admins only")
        raw = self.get_query_argument("days", "14")
        # ASCII digits only: str.isdigit() accepts "²", which int() refuses
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_DAYS:
            raise APIError(400, f"days must be a whole number from 1 to {MAX_DAYS}", field="days")
        since = datetime.now(UTC) - timedelta(days=int(raw))

        def build() -> dict[str, Any]:
            days: dict[str, dict[str, Any]] = {}
            waiting = 0
            with self.app.db() as s:
                query = sa.select(
                    Submission.submitted_at, Submission.graded_at, Submission.student
                ).where(Submission.submitted_at >= since)
                for submitted, graded, student in s.execute(query):
                    day = days.setdefault(
                        submitted.date().isoformat(), {"n": 0, "lat": [], "who": set()}
                    )
                    day["n"] += 1
                    day["who"].add(student)
                    if graded is not None:
                        day["lat"].append((graded - submitted).total_seconds())
                waiting = s.scalar(
                    sa.select(sa.func.count())
                    .select_from(Submission)
                    .where(Submission.status.in_((QUEUED, RUNNING)))
                )
            out = []
            for day in sorted(days):
                lat = sorted(days[day]["lat"])
                out.append(
                    {
                        "day": day,
                        "submissions": days[day]["n"],
                        "students": len(days[day]["who"]),
                        "latency_median_s": lat[len(lat) // 2] if lat else None,
                        "latency_max_s": lat[-1] if lat else None,
                    }
                )
            return {"days": out, "waiting": waiting}

        self.write_json(await self.blocking(build))


default_handlers: list[Any] = [
    (r"api/v1/courses/([^/]+)/stats", CourseStatsHandler),
    (r"api/v1/stats", QueueStatsHandler),
]
