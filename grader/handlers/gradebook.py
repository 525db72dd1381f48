"""A course's gradebook for its teachers: CSV export, manual grades, regrade."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.web import APIError, body_schema, clean_text

from ..orm import Assignment, Submission, WrittenExercise, WrittenSubmission
from ..policy import counted
from ..rescore import apply_scores, read_scores
from ..worker import course_root
from .base import GraderHandler, slug

MAX_COMMENT = 10_000


def gradebook_url(app: Any, course: str) -> str:
    """The course's nbgrader gradebook; a 404 when the course has none yet (nbgrader would
    otherwise create one, or fail on a course folder that does not exist)."""
    path = course_root(app.data_dir, course) / "gradebook.db"
    if not path.is_file():
        raise APIError(404, f"course {course!r} has no gradebook yet", code="NO_GRADEBOOK")
    return f"sqlite:///{path}"


class GradebookCSVHandler(GraderHandler):
    async def get(self, course: str) -> None:
        """One row per student and assignment: score, max score, late penalty, status. Every
        enrolled student is listed, those who never submitted with the status "missing".
        A written assignment is a row of its own (assignment "lesson/exercise"), and every
        row ends with the student's course total out of 100 (the manifest's weights)."""
        course = slug(course, "course")
        await self.require_teacher(course)
        taught = await self.taught_students(course)
        roster = set((await self.course_roles(course)).get("enrolled_students") or [])
        if taught is not None:
            roster &= taught
        try:
            scores = await self.app.campus.course_scores(course)
        except Exception as err:
            raise APIError(503, f"the campus could not give the course totals: {err}") from None
        totals = {row["user"]: row["total"] for row in scores.get("students", [])}

        def build() -> str:
            with self.app.db() as s:
                subs = list(
                    s.scalars(
                        sa.select(Submission)
                        .where(Submission.course == course)
                        .order_by(Submission.submitted_at, Submission.id)
                    )
                )
            with self.app.db() as s:
                assignments = list(
                    s.scalars(sa.select(Assignment).where(Assignment.course == course))
                )
            rules = {a.name: a.counts for a in assignments}
            if taught is not None:  # a teacher's own students only
                subs = [x for x in subs if x.student in taught]
            groups: dict[tuple[str, str], list[Submission]] = {}
            for sub in subs:
                groups.setdefault((sub.student, sub.assignment), []).append(sub)
            # The submission that counts: the newest by default, or the best if so set.
            newest = {
                key: counted(
                    items,
                    rules.get(key[1], "newest"),
                    key_time=lambda x: (x.submitted_at, x.id),
                    key_score=lambda x: x.score,
                )
                for key, items in groups.items()
            }
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow(
                [
                    "student",
                    "assignment",
                    "score",
                    "max_score",
                    "late_penalty",
                    "status",
                    "submitted_at",
                    "submissions",
                    "course_total",
                ]
            )
            counts: dict[tuple[str, str], int] = {}
            for sub in subs:
                counts[(sub.student, sub.assignment)] = (
                    counts.get((sub.student, sub.assignment), 0) + 1
                )
            # The max score of an assignment, as its graded submissions show it.
            top = {key[1]: sub.max_score for key, sub in newest.items() if sub.max_score}
            released = [a.name for a in assignments if a.released]
            missing = {(who, a) for who in roster for a in released} - set(newest)
            for key in sorted(set(newest) | missing):
                sub = newest.get(key)
                total = totals.get(key[0], "")
                if sub is None:
                    w.writerow(
                        [key[0], key[1], "", top.get(key[1], ""), "", "missing", "", 0, total]
                    )
                    continue
                w.writerow(
                    [
                        sub.student,
                        sub.assignment,
                        sub.score,
                        sub.max_score,
                        sub.late_penalty,
                        sub.status,
                        sub.submitted_at.isoformat(),
                        counts[key],
                        total,
                    ]
                )
            for row in written_rows(self.app, course, roster, taught):
                w.writerow([*row, totals.get(row[0], "")])
            return buf.getvalue()

        data = await self.blocking(build)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="{course}-grades.csv"')
        self.finish(data)


def written_rows(app: Any, course: str, roster: set[str], taught: set[str] | None) -> list[list]:
    """The gradebook's rows of written assignments: the newest submission of each student
    (score once graded), and "missing" for an enrolled student who handed in nothing."""
    with app.db() as s:
        exercises = list(s.scalars(sa.select(WrittenExercise).filter_by(course=course)))
        newest: dict[tuple[str, str, str], WrittenSubmission] = {}
        counts: dict[tuple[str, str, str], int] = {}
        for sub in s.scalars(
            sa.select(WrittenSubmission).filter_by(course=course).order_by(WrittenSubmission.id)
        ):
            if taught is not None and sub.student not in taught:
                continue
            key = (sub.student, sub.lesson, sub.exercise)
            newest[key] = sub
            counts[key] = counts.get(key, 0) + 1
    rows = []
    for ex in sorted(exercises, key=lambda e: (e.lesson, e.exercise)):
        name = f"{ex.lesson}/{ex.exercise}"
        students = roster | {k[0] for k in newest if k[1:] == (ex.lesson, ex.exercise)}
        for who in sorted(students):
            sub = newest.get((who, ex.lesson, ex.exercise))
            if sub is None:
                rows.append([who, name, "", ex.points, "", "missing", "", 0])
                continue
            status = "graded" if sub.graded_at is not None else "needs_grading"
            when = sub.submitted_at.isoformat()
            key = (who, ex.lesson, ex.exercise)
            rows.append([who, name, sub.score, sub.max_score, 0.0, status, when, counts[key]])
    return rows


class GradesHandler(GraderHandler):
    async def get(self, course: str, assignment: str, student: str) -> None:
        """Every graded cell of a student's graded submission (the manual grading view)."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_grader_of(course, student)
        url = gradebook_url(self.app, course)

        def read() -> dict[str, Any]:
            try:
                with Gradebook(url, course) as gb:
                    sub = gb.find_submission(assignment, student)
                    grades = [
                        {
                            "notebook": nb.name,
                            "cell": g.name,
                            "auto_score": g.auto_score,
                            "manual_score": g.manual_score,
                            "score": g.score,
                            "max_score": g.max_score,
                            "needs_manual_grade": bool(g.needs_manual_grade),
                        }
                        for nb in sub.notebooks
                        for g in nb.grades
                    ]
                    comments = [
                        {
                            "notebook": nb.name,
                            "cell": c.name,
                            "auto_comment": c.auto_comment,
                            "manual_comment": c.manual_comment,
                        }
                        for nb in sub.notebooks
                        for c in nb.comments
                    ]
                    return {"grades": grades, "comments": comments, "score": float(sub.score)}
            except MissingEntry:
                raise APIError(404, f"{student} has no graded submission of {assignment}") from None

        self.write_json({"student": student, **await self.blocking(read)})


class GradeHandler(GraderHandler):
    @body_schema(S.obj(["manual_score"], manual_score=S.nullable(S.number())))
    async def put(
        self, course: str, assignment: str, student: str, notebook: str, cell: str
    ) -> None:
        """Set a manual score ({"manual_score": float|null}); the total follows, and the new
        grade goes to the campus and the result hooks as an autograde's does."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_grader_of(course, student)
        body = self.json_body()
        score = body.get("manual_score")
        if score is not None and (
            isinstance(score, bool) or not isinstance(score, int | float) or score < 0
        ):
            raise APIError(400, "manual_score must be a number >= 0 or null", field="manual_score")
        out, sub_id = await self.blocking(
            lambda: write_manual_score(self.app, course, assignment, student, notebook, cell, score)
        )
        if sub_id is not None:
            # The new score goes to the campus and the result hooks as an autograde's does,
            # in the background: the teacher's answer does not wait for them.
            self.app.result_changed(sub_id)
        self.write_json(out)


def write_manual_score(
    app: Any,
    course: str,
    assignment: str,
    student: str,
    notebook: str,
    cell: str,
    score: float | None,
    also: Callable[[Session], None] | None = None,
) -> tuple[dict[str, Any], int | None]:
    """A cell's manual score into nbgrader's gradebook (its Grade row), then the gradebook's
    scores onto the student's submission; `also` runs in that transaction (rubric marks).
    Returns the answer and the id of the submission to send on."""
    url = gradebook_url(app, course)
    try:
        with Gradebook(url, course) as gb:
            grade = gb.find_grade(cell, notebook, assignment, student)
            if score is not None and score > grade.max_score:
                raise APIError(
                    400,
                    f"manual_score is above the cell's {grade.max_score} points",
                    field="manual_score",
                )
            grade.manual_score = score
            grade.needs_manual_grade = False
            gb.db.commit()
            scores = read_scores(gb, assignment, student)
            out = {
                "cell": cell,
                "manual_score": grade.manual_score,
                "score": grade.score,
                "total": scores.score,
            }
    except MissingEntry:
        raise APIError(404, f"no graded cell {cell!r} in {notebook!r}") from None
    with app.db() as s, s.begin():
        if also is not None:
            also(s)
        return out, apply_scores(s, course, assignment, student, scores)


class CommentHandler(GraderHandler):
    @body_schema(
        S.obj(["comment"], comment=S.nullable(S.text(MAX_COMMENT, min_length=0, multiline=True)))
    )
    async def put(
        self, course: str, assignment: str, student: str, notebook: str, cell: str
    ) -> None:
        """Set the comment a student sees on an answer ({"comment": str|null})."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_grader_of(course, student)
        comment = self.json_body().get("comment")
        if comment is not None and not isinstance(comment, str):
            raise APIError(400, "comment must be a string or null", field="comment")
        if comment is not None and len(comment) > MAX_COMMENT:
            raise APIError(400, f"comment is longer than {MAX_COMMENT} characters", field="comment")
        if comment is not None:
            comment = clean_text(comment, "comment", multiline=True)
        url = gradebook_url(self.app, course)

        def write() -> dict[str, Any]:
            try:
                with Gradebook(url, course) as gb:
                    row = gb.find_comment(cell, notebook, assignment, student)
                    row.manual_comment = comment or None
                    gb.db.commit()
                    return {"cell": cell, "manual_comment": row.manual_comment}
            except MissingEntry:
                raise APIError(404, f"no commented cell {cell!r} in {notebook!r}") from None

        self.write_json(await self.blocking(write))


class RegradeHandler(GraderHandler):
    @body_schema(S.obj(assignment=S.nullable(S.text(100)), student=S.nullable(S.text(64))))
    async def post(self, course: str) -> None:
        """Queue the counted submissions again: {"assignment": ..., "student": ...} (optional)."""
        course = slug(course, "course")
        await self.require_teacher(course)
        body = self.json_body()
        assignment = body.get("assignment")
        student = body.get("student")
        for key, value in (("assignment", assignment), ("student", student)):
            if value is not None and not isinstance(value, str):
                raise APIError(400, f"{key} must be a string", field=key)
            if value is not None:
                clean_text(value, key)
        if student is not None:
            await self.require_grader_of(course, student)
            whom: list[str | None] = [student]
        else:
            taught = await self.taught_students(course)
            # A teacher regrades the students of their own classes; overseers everyone.
            whom = [None] if taught is None else sorted(taught - {self.actor.name})

        def requeue() -> list[str]:
            return [uid for who in whom for uid in self.app.queue.requeue(course, assignment, who)]

        uids = await self.blocking(requeue)
        self.app.pool.wake.set()
        self.write_json({"queued": uids}, status=202)


default_handlers = [
    (r"api/v1/courses/([^/]+)/gradebook\.csv", GradebookCSVHandler),
    (r"api/v1/courses/([^/]+)/regrade", RegradeHandler),
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/grades/([^/]+)", GradesHandler),
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/grades/([^/]+)/([^/]+)/([^/]+)", GradeHandler),
    (
        r"api/v1/courses/([^/]+)/assignments/([^/]+)/comments/([^/]+)/([^/]+)/([^/]+)",
        CommentHandler,
    ),
]
