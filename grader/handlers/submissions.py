"""Submissions: submit (queued for autograde at once), list/collect, one result, files."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import sqlalchemy as sa

from nbcampus import schemas as S
from nbcampus.web import APIError, body_schema, clean_text

from ..orm import Assignment, Submission
from ..storage import UnsafePath, safe_relpath
from ..uploads import UploadRefused, check_submission
from ..visibility import student_submissions
from .base import MAX_SUBMISSION_BYTES, GraderHandler, slug

MAX_FILES = 100


def submission_dict(sub: Submission, *, files: bool = False) -> dict[str, Any]:
    out = {
        "id": sub.uid,
        "course": sub.course,
        "assignment": sub.assignment,
        "student": sub.student,
        "submitted_at": sub.submitted_at.isoformat(),
        "status": sub.status,
        "score": sub.score,
        "max_score": sub.max_score,
        "late_penalty": sub.late_penalty,
        "graded_at": sub.graded_at.isoformat() if sub.graded_at else None,
        "result": sub.result,
        "error": "grading failed; an instructor can regrade" if sub.error else None,
        "files": sorted(sub.files),
    }
    return out


def decoded_files(raw: dict[str, Any]) -> dict[str, bytes]:
    """{relative path: base64} -> {safe relative path: bytes}, or a 400 naming the file."""
    files: dict[str, bytes] = {}
    for name, content in raw.items():
        try:
            clean_text(name, "files")
            files[safe_relpath(name)] = base64.b64decode(content, validate=True)
        except UnsafePath as err:
            raise APIError(400, str(err), field="files") from None
        except (binascii.Error, TypeError, ValueError):
            raise APIError(400, f"file {name!r} is not base64", field="files") from None
    return files


class SubmissionsHandler(GraderHandler):
    @body_schema(
        S.obj(
            ["files"],
            files=S.base64_files(MAX_FILES, "file name (relative path) -> base64 content"),
        )
    )
    async def post(self, course: str, assignment: str) -> None:
        """Submit files ({"files": {name: base64}}); answered only once stored durably."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student = self.actor.name
        await self.require_unlocked(course, assignment, student)
        body = self.json_body(max_bytes=MAX_SUBMISSION_BYTES)
        raw = body.get("files")
        if not isinstance(raw, dict) or not raw:
            raise APIError(400, "'files' must be an object of name: base64 content", field="files")
        if len(raw) > MAX_FILES:
            raise APIError(400, f"at most {MAX_FILES} files per submission", field="files")
        files = decoded_files(raw)

        def known() -> list[str] | None:
            with self.app.db() as s:
                row = s.scalar(
                    sa.select(Assignment).where(
                        Assignment.course == course, Assignment.name == assignment
                    )
                )
                return None if row is None else list(row.notebooks or [])

        notebooks = await self.blocking(known)
        if notebooks is None:
            raise APIError(404, f"no assignment {assignment!r} in course {course!r}")
        # Limits and validity of every file, before anything is stored: a refused submission
        # leaves the student's counted one as it was.
        try:
            limits = self.app.upload_limits()
            await self.blocking(lambda: check_submission(files, notebooks, limits))
        except UploadRefused as err:
            raise APIError(err.status, str(err), field="files", file=err.file) from None
        from . import exams  # (exams.py builds on this module)

        if await exams.is_exam(self, course, assignment):
            # One attempt within the student's deadline (grader/exam.py).
            await exams.submit_exam(self, course, assignment, files)
            return
        uid = await self.blocking(lambda: self.app.queue.accept(course, assignment, student, files))
        self.app.pool.wake.set()
        sub = await self.blocking(lambda: self.app.queue.get(uid))
        self.write_json(submission_dict(sub), status=202)

    async def get(self, course: str, assignment: str) -> None:
        """Submissions of an assignment: a student's own; a teacher's all (or ?student=).
        With ?all=1 (nbgrader `collect` and `list --inbound`) the caller must teach the course."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student = self.get_query_argument("student", None)
        taught: set[str] | None = None
        if self.get_query_argument("all", "") not in ("", "0"):
            await self.require_teacher(course)
        if student == self.actor.name:
            await self.require_member(course)
        elif await self.is_teacher(course):
            taught = await self.taught_students(course)
            if student is not None and taught is not None and student not in taught:
                raise APIError(403, f"{student!r} is not in a class you teach")
        else:
            if student not in (None, self.actor.name):
                raise APIError(403, "you may list only your own submissions")
            await self.require_member(course)
            student = self.actor.name

        def rows() -> list[dict[str, Any]]:
            with self.app.db() as s:
                q = sa.select(Submission).where(
                    Submission.course == course, Submission.assignment == assignment
                )
                if student:
                    q = q.where(Submission.student == student)
                elif taught is not None:
                    q = q.where(Submission.student.in_(sorted(taught)))
                return [submission_dict(x) for x in s.scalars(q.order_by(Submission.id))]

        subs = await self.blocking(rows)
        if student == self.actor.name:  # one's own: no score while it is hidden
            subs = await student_submissions(self.app, course, assignment, subs)
        self.write_json({"submissions": subs})


class SubmissionHandler(GraderHandler):
    async def _load(self, uid: str) -> Submission:
        sub = await self.blocking(lambda: self.app.queue.get(uid[:36]))
        if sub is None:
            raise APIError(404, f"no submission {uid!r}")
        await self.require_sees_work_of(sub.course, sub.student, f"no submission {uid!r}")
        return sub

    async def get(self, uid: str) -> None:
        """One submission with its status, score, per-test results and feedback (to its
        student, not while the score is hidden: score_hidden)."""
        sub = await self._load(uid)
        out = [submission_dict(sub)]
        if sub.student == self.actor.name:
            out = await student_submissions(self.app, sub.course, sub.assignment, out)
        self.write_json(out[0])


class SubmissionFilesHandler(SubmissionHandler):
    async def get(self, uid: str) -> None:
        """The files as submitted (nbgrader `collect`), base64."""
        sub = await self._load(uid)
        blobs = self.app.queue.blobs
        files = await self.blocking(
            lambda: {n: base64.b64encode(blobs.get(h)).decode() for n, h in sub.files.items()}
        )
        self.write_json({"id": sub.uid, "student": sub.student, "files": files})


default_handlers = [
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/submissions", SubmissionsHandler),
    (r"api/v1/submissions/([^/]+)", SubmissionHandler),
    (r"api/v1/submissions/([^/]+)/files", SubmissionFilesHandler),
]
