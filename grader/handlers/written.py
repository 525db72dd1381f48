"""Written assignments over HTTP: a student submits text, a link or a file; a teacher grades.

The file upload is a raw PUT body (`?name=essay.pdf`), read as a stream: its name, type,
Content-Length and the due date are checked before a byte of it is read, and a body that goes
over the limit while streaming (no or a false Content-Length) is dropped, never stored.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from tornado import web

from nbcampus import schemas as S
from nbcampus.web import APIError, body_schema

from .. import written as W
from ..hooks import GradedResult, run_hooks
from ..orm import Assignment, WrittenExercise, WrittenSubmission
from ..visibility import HIDDEN_MESSAGE, is_hidden
from .base import GraderHandler, slug


def _refused(err: W.WrittenRefused) -> APIError:
    extra = {"code": err.code} if err.code else {}
    return APIError(err.status, err.message, field=err.field, **extra)


class WrittenBase(GraderHandler):
    async def exercise(self, course: str, lesson: str, exercise: str) -> WrittenExercise:
        def load() -> WrittenExercise:
            with self.app.db() as s:
                return W.find_exercise(s, course, lesson, exercise)

        try:
            return await self.blocking(load)
        except W.WrittenRefused as err:
            raise _refused(err) from None

    async def open_for(self, ex: WrittenExercise) -> None:
        """The caller may submit now: the lesson is unlocked for them and not past due."""
        await self.require_unlocked(ex.course, ex.lesson, self.actor.name)

        def check() -> None:
            with self.app.db() as s:
                W.check_open(s, ex, self.actor.name, datetime.now(UTC))

        try:
            await self.blocking(check)
        except W.WrittenRefused as err:
            raise _refused(err) from None

    async def store(self, ex: WrittenExercise, content: W.Content, data: bytes = b"") -> None:
        """Record the submission (and its file) in one transaction; 201, or 200 for a repeat."""

        def save() -> tuple[dict[str, Any], bool]:
            with self.app.db() as s, s.begin():
                # A second check inside the transaction: the due date may pass meanwhile.
                W.check_open(s, ex, self.actor.name, datetime.now(UTC))
                if data:
                    self.app.queue.blobs.put(data, s)
                sub, created = W.record(s, ex, self.actor.name, content)
                return W.submission_dict(sub), created

        try:
            out, created = await self.blocking(save)
        except W.WrittenRefused as err:
            raise _refused(err) from None
        self.write_json(out, status=201 if created else 200)


class WrittenHandler(WrittenBase):
    async def get(self, course: str, lesson: str, exercise: str) -> None:
        """The assignment's limits and due date, and the caller's submissions (newest last);
        a teacher may ask for a student's (?student=)."""
        course, lesson = slug(course, "course"), slug(lesson, "assignment")
        exercise = slug(exercise, "exercise")
        student = self.get_query_argument("student", None) or self.actor.name
        if student != self.actor.name:
            await self.require_grader_of(course, student)
        else:
            await self.require_member(course)
        ex = await self.exercise(course, lesson, exercise)
        hidden = student == self.actor.name and await is_hidden(
            self.app, course, lesson, [exercise], student
        )

        def load() -> dict[str, Any]:
            with self.app.db() as s:
                rows = s.scalars(
                    sa.select(WrittenSubmission)
                    .filter_by(course=course, lesson=lesson, exercise=exercise, student=student)
                    .order_by(WrittenSubmission.id)
                )
                subs = [_for_student(x, hidden) for x in rows]
                return {**W.exercise_dict(ex, W.due_for(s, ex, student)), "submissions": subs}

        self.write_json(await self.blocking(load))

    @body_schema(
        S.obj(
            [],
            text=S.text(1_000_000, multiline=True),
            link=S.text(W.MAX_LINK),
        )
    )
    async def post(self, course: str, lesson: str, exercise: str) -> None:
        """Submit text ({"text": ...}) or a link ({"link": ...}); a file goes to .../file."""
        course, lesson = slug(course, "course"), slug(lesson, "assignment")
        exercise = slug(exercise, "exercise")
        ex = await self.exercise(course, lesson, exercise)
        await self.open_for(ex)
        body = self.json_body()
        if ("text" in body) == ("link" in body):
            raise APIError(400, "send one of 'text' or 'link'", field="text")
        try:
            content = (
                W.text_content(ex, body["text"])
                if "text" in body
                else W.link_content(ex, body["link"])
            )
        except W.WrittenRefused as err:
            raise _refused(err) from None
        await self.store(ex, content)


@web.stream_request_body
class WrittenFileHandler(WrittenBase):
    _ex: WrittenExercise | None = None
    _name = ""
    _size = 0
    _over = False

    async def prepare(self) -> None:
        """Every check that needs no body, before any of it is read."""
        super().prepare()
        if self.request.method != "PUT":
            return
        course, lesson, exercise = self.path_args
        course, lesson = slug(course, "course"), slug(lesson, "assignment")
        ex = await self.exercise(course, lesson, slug(exercise, "exercise"))
        await self.open_for(ex)
        try:
            self._name = W.check_file_name(ex, self.get_query_argument("name", ""))
            length = self.request.headers.get("Content-Length")
            if length is not None:
                if not length.isascii() or not length.isdigit():
                    raise APIError(400, "Content-Length is not a number")
                W.check_file_size(ex, int(length), self._name)
        except W.WrittenRefused as err:
            raise _refused(err) from None
        self._ex = ex
        self._buffer = io.BytesIO()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if self._ex is None:
            # Refused before its body was read: tornado closes the connection rather than read
            # it, so tell the proxy in front not to reuse this one.
            self.set_header("Connection", "close")
        super().write_error(status_code, **kwargs)

    def data_received(self, chunk: bytes) -> None:
        if self._ex is None or self._over:
            return
        self._size += len(chunk)
        if self._size > self._ex.limits["max_bytes"]:
            # Keep nothing more and read the rest away (up to the server's own body cap), so
            # the client gets its JSON 413 rather than a reset connection.
            self._over = True
            self._buffer = io.BytesIO()
            return
        self._buffer.write(chunk)

    # No JSON body: the file itself is the body, streamed through data_received.
    @body_schema(None)
    async def put(self, course: str, lesson: str, exercise: str) -> None:
        """Upload the file as the raw body (?name=essay.pdf); limits from the course manifest."""
        ex = self._ex
        assert ex is not None  # set by prepare for every PUT
        try:
            W.check_file_size(
                ex, ex.limits["max_bytes"] + 1 if self._over else self._size, self._name
            )
        except W.WrittenRefused as err:
            raise _refused(err) from None
        data = self._buffer.getvalue()
        await self.store(ex, W.file_content(self._name, data), data)


class WrittenSubmissionHandler(GraderHandler):
    async def _load(self, uid: str) -> WrittenSubmission:
        def load() -> WrittenSubmission | None:
            with self.app.db() as s:
                sub = s.scalar(sa.select(WrittenSubmission).filter_by(uid=uid[:36]))
                if sub is not None:
                    s.expunge(sub)
                return sub

        sub = await self.blocking(load)
        if sub is None:
            raise APIError(404, f"no written submission {uid!r}")
        await self.require_sees_work_of(sub.course, sub.student, f"no written submission {uid!r}")
        return sub

    async def get(self, uid: str) -> None:
        """One written submission, with its grade and comment once graded (to its student,
        once the score is visible: score_hidden until then)."""
        sub = await self._load(uid)
        hidden = sub.student == self.actor.name and await is_hidden(
            self.app, sub.course, sub.lesson, [sub.exercise], sub.student
        )
        self.write_json(_for_student(sub, hidden))


class WrittenSubmissionFileHandler(WrittenSubmissionHandler):
    async def get(self, uid: str) -> None:
        """The submitted file, as a download (never shown inline: it is the student's file)."""
        sub = await self._load(uid)
        if sub.kind != "file" or not sub.file_sha256:
            raise APIError(404, "this submission has no file")
        data = await self.blocking(lambda: self.app.queue.blobs.get(sub.file_sha256))
        name = (sub.file_name or "file").encode("ascii", "replace").decode().replace('"', "_")
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(data)


class WrittenGradeHandler(WrittenSubmissionHandler):
    @body_schema(
        S.obj(
            ["score"],
            score=S.number(0, 1e6),
            comment=S.text(W.MAX_COMMENT, min_length=0, multiline=True),
        )
    )
    async def post(self, uid: str) -> None:
        """Grade a written submission: {"score": points, "comment": feedback}; the grade goes
        to the campus (progress, XP) and the LMS passback as an autograded one does."""
        sub = await self._load(uid)
        await self.require_grader_of(sub.course, sub.student)
        body = self.json_body()

        def save() -> tuple[dict[str, Any], GradedResult]:
            with self.app.db() as s, s.begin():
                row = s.scalar(sa.select(WrittenSubmission).filter_by(uid=sub.uid))
                W.grade(s, row, body.get("score"), body.get("comment"), self.actor.name)
                return W.submission_dict(row), written_result(row)

        try:
            out, result = await self.blocking(save)
        except W.WrittenRefused as err:
            raise _refused(err) from None
        out["posted"] = await post_written(self.app, sub.id, result)
        self.write_json(out)


def _for_student(sub: WrittenSubmission, hidden: bool) -> dict[str, Any]:
    """A written submission as shown: while its score is hidden, no grade and no comment."""
    if not hidden:
        return W.submission_dict(sub)
    out = W.submission_dict(sub, with_grade=False)
    if sub.graded_at is not None:
        out.update(score_hidden=True, message=HIDDEN_MESSAGE)
    return out


def written_result(sub: WrittenSubmission) -> GradedResult:
    graded_at = sub.graded_at or datetime.now(UTC)
    graded_at = graded_at if graded_at.tzinfo else graded_at.replace(tzinfo=UTC)
    return GradedResult(
        submission_id=sub.uid,
        user=sub.student,
        course=sub.course,
        assignment=sub.lesson,
        score=sub.score or 0.0,
        max_score=sub.max_score,
        graded_at=graded_at.isoformat(),
        notebooks=({"name": sub.exercise, "score": sub.score or 0.0, "max_score": sub.max_score},),
    )


async def post_written(app: Any, sub_id: int, result: GradedResult) -> bool:
    """Send a written grade on: to the campus (progress, XP), then to the result hooks (the
    LMS passback), as an autograded one goes. True once every one took it; until then it
    stays unposted and the resend loop (or the teacher's next save) sends it again. The
    hooks must be idempotent (the LTI outbox skips a score it has for the same submission),
    so the LMS gets each change once."""
    if not app.post_to_campus and not app.hooks:
        return False
    if app.post_to_campus:
        try:
            await app.campus.post_result(result)
        except Exception as err:
            app.log.warning("could not post %s to the campus: %s", result.submission_id, err)
            return False
    loop = asyncio.get_running_loop()
    if app.hooks:
        # The lesson's own LMS link gets this score only when the lesson has no notebooks:
        # otherwise that link holds the notebooks' total, which this grade is not.
        alone = not await loop.run_in_executor(None, _lesson_has_notebooks, app, result)
        if not await run_hooks(app.hooks, replace(result, lesson_total=alone)):
            return False

    def mark() -> None:
        with app.db() as s, s.begin():
            s.execute(
                sa.update(WrittenSubmission)
                .where(WrittenSubmission.id == sub_id, WrittenSubmission.score == result.score)
                .values(posted=True)
            )

    await loop.run_in_executor(None, mark)
    return True


def _lesson_has_notebooks(app: Any, result: GradedResult) -> bool:
    with app.db() as s:
        found = s.scalar(
            sa.select(Assignment.id).filter_by(course=result.course, name=result.assignment)
        )
        return found is not None


async def resend_written(app: Any, limit: int = 100) -> int:
    """Send on the written grades the campus or the hooks have not taken yet (away when the
    teacher saved them); the grader's resend loop calls this each round. Returns how many
    went through."""
    if not app.post_to_campus and not app.hooks:
        return 0

    def load() -> list[tuple[int, GradedResult]]:
        with app.db() as s:
            rows = s.scalars(
                sa.select(WrittenSubmission)
                .where(WrittenSubmission.graded_at.is_not(None))
                .where(WrittenSubmission.posted.is_(False))
                .order_by(WrittenSubmission.id)
                .limit(limit)
            )
            return [(row.id, written_result(row)) for row in rows]

    taken = 0
    for sub_id, result in await asyncio.get_running_loop().run_in_executor(None, load):
        taken += await post_written(app, sub_id, result)
    return taken


W_PATH = r"api/v1/courses/([^/]+)/assignments/([^/]+)/written/([^/]+)"
default_handlers = [
    (W_PATH, WrittenHandler),
    (W_PATH + "/file", WrittenFileHandler),
    (r"api/v1/written-submissions/([^/]+)", WrittenSubmissionHandler),
    (r"api/v1/written-submissions/([^/]+)/file", WrittenSubmissionFileHandler),
    (r"api/v1/written-submissions/([^/]+)/grade", WrittenGradeHandler),
]
