"""The manual grading view: server-rendered pages for a course's teachers.

/services/grader/courses/<course>/grading                         assignments
/services/grader/courses/<course>/grading/<assignment>            students' submissions
/services/grader/courses/<course>/grading/<assignment>/<student>  one graded submission

Same Hub login and the same rule as the gradebook API (instructors of a class of the course,
staff and admins). Saving a score or a comment goes through the gradebook API from
static/grading.js; the pages themselves run no inline script (CSP below).
"""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from nbgrader.api import MissingEntry

from nbcampus.web import APIError

from ..orm import Assignment, Submission
from ..review import assignment_counts, gradebook_rows, submission_view
from ..rubric import due_for
from ..worker import course_root
from .base import GraderHandler, slug
from .rubric import page_aids

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)


class GradingPage(GraderHandler):
    """A page: redirects to the Hub login, shows errors to a browser as a readable page."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", PAGE_CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        if self.current_user is None:
            if "text/html" in self.request.headers.get("Accept", ""):
                self.redirect(self.get_login_url())  # the Hub's login, then back here
                return
            raise APIError(401, "log in through the Hub, or send a Hub API token")

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(user=(self.current_user or {}).get("name", ""), link=self.page_url)
        return namespace

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # A browser gets a readable page; scripts and API clients the usual JSON error.
        if "text/html" not in self.request.headers.get("Accept", ""):
            super().write_error(status_code, **kwargs)
            return
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.message if isinstance(exc, APIError) else _phrase(status_code)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.render(
            "grading/error.html", status=status_code, phrase=_phrase(status_code), message=message
        )

    def api_base(self, course: str, assignment: str) -> str:
        prefix = self.settings["service_prefix"].rstrip("/")
        return f"{prefix}/api/v1/courses/{_q(course)}/assignments/{_q(assignment)}/"

    def page_url(self, *parts: str) -> str:
        prefix = self.settings["service_prefix"].rstrip("/")
        return prefix + "/courses/" + "/".join(_q(p) for p in parts)


class CourseGradingPage(GradingPage):
    async def get(self, course: str) -> None:
        """The course's assignments with how many were graded and need a person."""
        course = slug(course, "course")
        await self.require_teacher(course)

        def load() -> tuple[list[Assignment], dict[str, tuple[int, int]]]:
            with self.app.db() as s:
                rows = list(
                    s.scalars(
                        sa.select(Assignment)
                        .where(Assignment.course == course)
                        .order_by(Assignment.name)
                    )
                )
                s.expunge_all()
            return rows, assignment_counts(course_root(self.app.data_dir, course), course)

        from .score_release import course_visibility
        from .written_pages import written_counts, written_exercises

        assignments, counts = await self.blocking(load)
        written = await self.blocking(lambda: written_exercises(self.app, course))
        if not assignments and not written:
            raise APIError(404, f"no course {course!r} in the grader")
        self.render(
            "grading/course.html",
            course=course,
            assignments=assignments,
            counts=counts,
            written=written,
            written_counts=await self.blocking(lambda: written_counts(self.app, course)),
            totals=await self.course_totals(course),
            visibility=await course_visibility(self.app, course),  # score_release.py
            xsrf=_text(self.xsrf_token),
        )

    async def course_totals(self, course: str) -> list[dict[str, Any]] | None:
        """The students' course totals out of 100 (the campus's), those the caller teaches;
        None when the campus cannot say (the page shows the rest)."""
        try:
            rows = (await self.app.campus.course_scores(course)).get("students", [])
        except Exception:
            return None
        taught = await self.taught_students(course)
        return [r for r in rows if taught is None or r["user"] in taught]


class AssignmentGradingPage(GradingPage):
    async def get(self, course: str, assignment: str) -> None:
        """One row per student: newest submission, status, scores, needs-manual-grade."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_teacher(course)
        taught = await self.taught_students(course)
        me = self.actor.name
        # Every enrolled student of the teacher's classes is listed, submitted or not.
        roster = set((await self.course_roles(course)).get("enrolled_students") or [])
        if taught is not None:
            roster &= taught
        roster.discard(me)

        def load() -> tuple[list[dict[str, Any]], dict]:
            with self.app.db() as s:
                subs = list(
                    s.scalars(
                        sa.select(Submission)
                        .where(Submission.course == course, Submission.assignment == assignment)
                        .order_by(Submission.submitted_at, Submission.id)
                    )
                )
            # A teacher's own students, never the teacher's own work.
            subs = [x for x in subs if x.student != me and (taught is None or x.student in taught)]
            latest: dict[str, dict[str, Any]] = {}
            for sub in subs:
                row = latest.setdefault(sub.student, {"count": 0})
                row.update(
                    student=sub.student,
                    submitted_at=sub.submitted_at,
                    status=sub.status,
                    count=row["count"] + 1,
                    # Tests the grader caught tampered with (guard.py), newest submission's.
                    tampering=bool((sub.result or {}).get("tampering")),
                )
            rows = gradebook_rows(course_root(self.app.data_dir, course), course, assignment)
            with self.app.db() as s:  # late: after the due date that counts for the student
                for who, row in latest.items():
                    due = due_for(s, course, assignment, who)
                    row["late"] = due is not None and _aware(row["submitted_at"]) > _aware(due)
            for who in roster - set(latest):
                latest[who] = {"student": who, "count": 0, "status": "not submitted"}
            return sorted(latest.values(), key=lambda r: r["student"]), rows

        students, grades = await self.blocking(load)
        self.render(
            "grading/assignment.html",
            course=course,
            assignment=assignment,
            students=students,
            grades=grades,
        )


class SubmissionGradingPage(GradingPage):
    async def get(self, course: str, assignment: str, student: str) -> None:
        """A student's graded notebooks, a score field per graded cell, a comment per answer."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_grader_of(course, student)
        root = course_root(self.app.data_dir, course)
        taught = await self.taught_students(course)
        me = self.actor.name

        def load() -> tuple[str | None, list, Submission | None, list[str]]:
            try:
                uid, notebooks = submission_view(root, course, assignment, student)
            except MissingEntry:
                raise APIError(404, f"{student} has no graded submission of {assignment}") from None
            with self.app.db() as s:
                sub = s.scalar(sa.select(Submission).where(Submission.uid == uid)) if uid else None
                if sub is not None:
                    s.expunge(sub)
            # The students one may step through: graded, theirs to grade, in the list's order.
            graded = gradebook_rows(root, course, assignment)
            order = sorted(x for x in graded if x != me and (taught is None or x in taught))
            return uid, notebooks, sub, order

        uid, notebooks, sub, order = await self.blocking(load)
        # Rubrics, comment bank, line comments and the extension (handlers/rubric.py).
        aids = await self.blocking(
            lambda: page_aids(self.app, course, assignment, student, notebooks)
        )
        at = order.index(student) if student in order else -1
        prev = order[at - 1] if at > 0 else None
        nxt = order[at + 1] if 0 <= at < len(order) - 1 else None
        self.render(
            "grading/submission.html",
            course=course,
            assignment=assignment,
            student=student,
            uid=uid,
            submission=sub,
            notebooks=notebooks,
            prev_student=prev,
            next_student=nxt,
            total=sum(nb.score for nb in notebooks),
            max_total=sum(nb.max_score for nb in notebooks),
            api=self.api_base(course, assignment),
            aids=aids,
            xsrf=self.xsrf_token.decode()
            if isinstance(self.xsrf_token, bytes)
            else self.xsrf_token,
        )


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _q(part: str) -> str:
    return quote(part, safe="")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


default_handlers: list[Any] = [
    (r"courses/([^/]+)/grading/?", CourseGradingPage),
    (r"courses/([^/]+)/grading/([^/]+)/?", AssignmentGradingPage),
    (r"courses/([^/]+)/grading/([^/]+)/([^/]+)/?", SubmissionGradingPage),
]
