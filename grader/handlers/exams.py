"""Notebook exams over HTTP: a student's exam (start, state), the work their Lab saves while
it runs, their one submission, and the sittings for the course's teachers. The rules live
in grader/exam.py; every time is the server's."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nbcampus import schemas as S
from nbcampus.db import transaction
from nbcampus.web import APIError, body_schema

from .. import exam as rules
from ..orm import Exam, Submission, utcnow
from ..uploads import UploadRefused, check_submission
from ..visibility import student_submissions
from .base import MAX_SUBMISSION_BYTES, GraderHandler, slug
from .submissions import MAX_FILES, decoded_files, submission_dict


async def is_exam(handler: GraderHandler, course: str, assignment: str) -> bool:
    def read() -> bool:
        with handler.app.db() as s:
            return rules.exam_of(s, course, assignment) is not None

    return await handler.blocking(read)


def _wake(handler: GraderHandler, closed: bool) -> None:
    """A submission made here is graded at once (the workers wait on this event)."""
    pool = getattr(handler.app, "pool", None)
    if closed and pool is not None:
        pool.wake.set()


async def _close_if_due(handler: GraderHandler, course: str, assignment: str) -> None:
    """Submit the caller's sitting with its saved work if its deadline (+ grace) has passed,
    in a transaction of its own: the refusal of what came too late must not undo it."""
    student, grace = handler.actor.name, handler.app.exam_grace_seconds

    def work() -> bool:
        with transaction(handler.app.db) as s:
            sitting = rules.sitting_of(s, course, assignment, student)
            if sitting is None:
                return False
            return rules.close_if_due(s, sitting, utcnow(), grace) is not None

    _wake(handler, await handler.blocking(work))


async def submit_exam(
    handler: GraderHandler, course: str, assignment: str, files: dict[str, bytes]
) -> None:
    """The student's own submission of an exam lesson (checked files): once, in time."""
    student, grace = handler.actor.name, handler.app.exam_grace_seconds

    def work() -> tuple[dict[str, Any], bool, dict[str, Any]]:
        with transaction(handler.app.db) as s:
            sitting = _own_sitting(s, course, assignment, student)
            stored = {name: handler.app.queue.blobs.put(data, s) for name, data in files.items()}
            uid, new = rules.submit(s, sitting, stored, utcnow(), grace)
            sub = s.scalar(sa.select(Submission).filter_by(uid=uid))
            return submission_dict(sub), new, rules.sitting_dict(sitting, utcnow())

    await _close_if_due(handler, course, assignment)
    body, new, sitting = await handler.blocking(work)
    _wake(handler, new)
    # A repeat after grading must not tell a hidden score (grader/visibility.py).
    body = (await student_submissions(handler.app, course, assignment, [body]))[0]
    body["exam"] = sitting
    body["already_submitted"] = not new
    handler.write_json(body, status=202 if new else 200)


def _own_sitting(s: Any, course: str, assignment: str, student: str) -> Any:
    sitting = rules.sitting_of(s, course, assignment, student)
    if sitting is None:
        raise APIError(
            409, "start the exam first: its time counts from then", code="EXAM_NOT_STARTED"
        )  # fmt: skip
    return sitting


async def release_allowed(handler: GraderHandler, course: str, assignment: str) -> None:
    """An exam's notebook reaches a student only once they started it (their clock runs)."""
    if await handler.is_teacher(course):
        return
    student = handler.actor.name

    def read() -> bool:
        with handler.app.db() as s:
            exam = rules.exam_of(s, course, assignment)
            return exam is None or rules.sitting_of(s, course, assignment, student) is not None

    if not await handler.blocking(read):
        raise APIError(
            409, f"{assignment} is a timed exam: start it first (its time counts from then)",
            code="EXAM_NOT_STARTED",
        )  # fmt: skip


class _ExamHandler(GraderHandler):
    async def _exam(self, course: str, assignment: str) -> Exam:
        def read() -> Exam | None:
            with self.app.db() as s:
                exam = rules.exam_of(s, course, assignment)
                if exam is not None:
                    s.expunge(exam)
                return exam

        exam = await self.blocking(read)
        if exam is None:
            raise APIError(404, f"{assignment!r} of {course!r} is not a timed exam")
        return exam


class ExamHandler(_ExamHandler):
    async def get(self, course: str, assignment: str) -> None:
        """My exam: window, time limit, state, and my sitting with the seconds left by the
        server's clock (closed and submitted with my saved work once its deadline passed)."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_unlocked(course, assignment, self.actor.name)
        exam = await self._exam(course, assignment)
        student, grace = self.actor.name, self.app.exam_grace_seconds

        def work() -> tuple[dict[str, Any], bool]:
            with transaction(self.app.db) as s:
                sitting = rules.sitting_of(s, course, assignment, student)
                closed = sitting is not None and rules.close_if_due(s, sitting, utcnow(), grace)
                title = rules.title_of(s, exam)
                return rules.exam_dict(exam, sitting, utcnow(), grace, title), bool(closed)

        body, closed = await self.blocking(work)
        _wake(self, closed)
        self.write_json(body)

    @body_schema(None)
    async def post(self, course: str, assignment: str) -> None:
        """Start my exam now (201), or find it started (200): one sitting, whose deadline is
        min(closes, now + time limit x my extra-time multiplier)."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student, grace = self.actor.name, self.app.exam_grace_seconds
        await self.require_unlocked(course, assignment, student)
        exam = await self._exam(course, assignment)
        # The campus keeps the accommodations (one multiplier for quizzes and notebooks).
        factor = float((await self.course_roles(course)).get("exam_multiplier") or 1.0)

        def work() -> tuple[dict[str, Any], bool]:
            with transaction(self.app.db) as s:
                sitting, created = rules.start(s, exam, student, utcnow(), factor)
                title = rules.title_of(s, exam)
                return rules.exam_dict(exam, sitting, utcnow(), grace, title), created

        body, created = await self.blocking(work)
        self.write_json(body, status=201 if created else 200)


class ExamSavedHandler(_ExamHandler):
    @body_schema(
        S.obj(
            ["files"],
            files=S.base64_files(MAX_FILES, "file name (relative path) -> base64 content"),
        )
    )
    async def put(self, course: str, assignment: str) -> None:
        """My Lab saved the exam's notebooks: kept (stamped with the server's time) as what
        the deadline submits; refused once the deadline (+ grace) has passed."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student, grace = self.actor.name, self.app.exam_grace_seconds
        await self.require_unlocked(course, assignment, student)
        exam = await self._exam(course, assignment)
        raw = self.json_body(max_bytes=MAX_SUBMISSION_BYTES).get("files")
        if not isinstance(raw, dict) or not raw:
            raise APIError(400, "'files' must be an object of name: base64 content", field="files")
        files = decoded_files(raw)
        try:
            limits = self.app.upload_limits()
            notebooks = [exam.exercise]
            await self.blocking(lambda: check_submission(files, notebooks, limits))
        except UploadRefused as err:
            raise APIError(err.status, str(err), field="files", file=err.file) from None

        def work() -> dict[str, Any]:
            with transaction(self.app.db) as s:
                sitting = _own_sitting(s, course, assignment, student)
                stored = {n: self.app.queue.blobs.put(data, s) for n, data in files.items()}
                rules.save(s, sitting, stored, utcnow(), grace)
                return rules.sitting_dict(sitting, utcnow())

        await _close_if_due(self, course, assignment)
        self.write_json(await self.blocking(work))


class ExamSittingsHandler(_ExamHandler):
    async def get(self, course: str, assignment: str) -> None:
        """Every sitting of the exam (the students of the classes one teaches; staff and
        admins all): start, deadline, extra time, saved and submitted work, receipts."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_teacher(course)
        exam = await self._exam(course, assignment)
        taught, grace = await self.taught_students(course), self.app.exam_grace_seconds

        def work() -> list[dict[str, Any]]:
            with transaction(self.app.db) as s:
                return rules.sittings(s, exam, taught, utcnow(), grace)

        found = await self.blocking(work)
        self.write_json({**rules.exam_dict(exam, None, utcnow(), grace), "sittings": found})


class CourseExamsHandler(GraderHandler):
    async def get(self, course: str) -> None:
        """The course's notebook exams, each with its sittings (the students of the classes
        one teaches; staff and admins all): the teachers' screen in the Lab."""
        course = slug(course, "course")
        await self.require_teacher(course)
        taught, grace = await self.taught_students(course), self.app.exam_grace_seconds

        def work() -> list[dict[str, Any]]:
            with transaction(self.app.db) as s:
                out = []
                query = sa.select(Exam).filter_by(course=course).order_by(Exam.assignment)
                for exam in s.scalars(query).all():
                    title = rules.title_of(s, exam)
                    out.append(
                        {
                            **rules.exam_dict(exam, None, utcnow(), grace, title),
                            "sittings": rules.sittings(s, exam, taught, utcnow(), grace),
                        }
                    )
                return out

        self.write_json({"course": course, "exams": await self.blocking(work)})


default_handlers = [
    (r"api/v1/courses/([^/]+)/exams", CourseExamsHandler),
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/exam", ExamHandler),
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/exam/saved", ExamSavedHandler),
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/exam/sittings", ExamSittingsHandler),
]
