"""The grading view's pages for written assignments (text, link or file), for the course's
teachers: one row per student with their newest submission, and a page to grade one with
points and a comment (a plain form: it works without script).

/services/grader/courses/<course>/grading/<lesson>/written/<exercise>
/services/grader/courses/<course>/grading/<lesson>/written/<exercise>/<student>
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import sqlalchemy as sa

from nbcampus.web import APIError, clean_text

from .. import rubric
from .. import written as W
from ..orm import WrittenExercise, WrittenSubmission
from .base import slug
from .grading import GradingPage
from .written import post_written, written_result


def _aware(when: Any) -> Any:
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def written_exercises(app: Any, course: str) -> list[WrittenExercise]:
    """The course's written assignments (the course page lists them beside the notebooks)."""
    with app.db() as s:
        rows = list(
            s.scalars(
                sa.select(WrittenExercise)
                .filter_by(course=course)
                .order_by(WrittenExercise.lesson, WrittenExercise.exercise)
            )
        )
        s.expunge_all()
    return rows


def written_counts(app: Any, course: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(lesson, exercise) -> (students who submitted, of whom the newest is not graded)."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    with app.db() as s:
        newest: dict[tuple[str, str, str], WrittenSubmission] = {}
        for sub in s.scalars(
            sa.select(WrittenSubmission).filter_by(course=course).order_by(WrittenSubmission.id)
        ):
            newest[(sub.lesson, sub.exercise, sub.student)] = sub
    for (lesson, exercise, _), sub in newest.items():
        done, todo = out.get((lesson, exercise), (0, 0))
        out[(lesson, exercise)] = (done + 1, todo + (sub.graded_at is None))
    return out


class WrittenListPage(GradingPage):
    async def get(self, course: str, lesson: str, exercise: str) -> None:
        """One row per student: newest submission, how many, graded or not."""
        course, lesson = slug(course, "course"), slug(lesson, "assignment")
        exercise = slug(exercise, "exercise")
        await self.require_teacher(course)
        taught = await self.taught_students(course)
        me = self.actor.name

        def load() -> tuple[WrittenExercise, list[dict[str, Any]]]:
            with self.app.db() as s:
                ex = W.find_exercise(s, course, lesson, exercise)
                rows: dict[str, dict[str, Any]] = {}
                for sub in s.scalars(
                    sa.select(WrittenSubmission)
                    .filter_by(course=course, lesson=lesson, exercise=exercise)
                    .order_by(WrittenSubmission.id)
                ):
                    if sub.student == me or (taught is not None and sub.student not in taught):
                        continue
                    row = rows.setdefault(sub.student, {"count": 0})
                    row.update(
                        student=sub.student,
                        count=row["count"] + 1,
                        submitted_at=_aware(sub.submitted_at),
                        kind=sub.kind,
                        score=sub.score,
                        graded=sub.graded_at is not None,
                        late=(due := W.due_for(s, ex, sub.student)) is not None
                        and _aware(sub.submitted_at) > due,
                    )
            return ex, sorted(rows.values(), key=lambda r: r["student"])

        try:
            ex, students = await self.blocking(load)
        except W.WrittenRefused as err:
            raise APIError(err.status, err.message) from None
        self.render("grading/written.html", course=course, ex=ex, students=students)


class WrittenGradePage(GradingPage):
    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        # The comment and the rubric are text areas: line breaks are theirs to keep.
        if name in ("comment", "rubric"):
            return clean_text(value.decode("utf-8", "replace"), name, multiline=True)
        return super().decode_argument(value, name)

    async def _load(
        self, course: str, lesson: str, exercise: str, student: str
    ) -> tuple[WrittenExercise, WrittenSubmission, int]:
        await self.require_grader_of(course, student)

        def load() -> tuple[WrittenExercise, WrittenSubmission | None, int]:
            with self.app.db() as s:
                ex = W.find_exercise(s, course, lesson, exercise)
                subs = list(
                    s.scalars(
                        sa.select(WrittenSubmission)
                        .filter_by(course=course, lesson=lesson, exercise=exercise, student=student)
                        .order_by(WrittenSubmission.id)
                    )
                )
                s.expunge_all()
            return ex, (subs[-1] if subs else None), len(subs)

        try:
            ex, sub, count = await self.blocking(load)
        except W.WrittenRefused as err:
            raise APIError(err.status, err.message) from None
        if sub is None:
            raise APIError(404, f"{student} has not submitted {exercise}")
        return ex, sub, count

    async def _render(
        self,
        ex: WrittenExercise,
        sub: WrittenSubmission,
        count: int,
        errors: dict[str, str] | None = None,
        saved: bool | None = None,
        form: dict[str, str] | None = None,
    ) -> None:
        def load() -> tuple[list[rubric.ItemView], set[int]]:
            with self.app.db() as s:
                items = rubric_of(s, ex)
                return items, rubric.marks_of(s, sub.student, [i.id for i in items])

        items, marked = await self.blocking(load)
        prefix = self.settings["service_prefix"].rstrip("/")
        self.render(
            "grading/written_submission.html",
            course=ex.course,
            ex=ex,
            sub=sub,
            count=count,
            errors=errors or {},
            saved=saved,
            form=form or {},
            items=items,
            marked=marked,
            file_url=f"{prefix}/api/v1/written-submissions/{sub.uid}/file",
            xsrf=self.xsrf_token.decode()
            if isinstance(self.xsrf_token, bytes)
            else self.xsrf_token,
        )

    async def get(self, course: str, lesson: str, exercise: str, student: str) -> None:
        """The student's newest submission (text, link or file) and the grade form."""
        course, lesson = slug(course, "course"), slug(lesson, "assignment")
        ex, sub, count = await self._load(course, lesson, slug(exercise, "exercise"), student)
        await self._render(ex, sub, count)

    async def post(self, course: str, lesson: str, exercise: str, student: str) -> None:
        """Save points and a comment (form fields score, comment, and the submission's id so
        a newer submission is never graded unseen); a bad value is shown beside its field."""
        course, lesson = slug(course, "course"), slug(lesson, "assignment")
        ex, sub, count = await self._load(course, lesson, slug(exercise, "exercise"), student)
        form = {
            "score": self.get_body_argument("score", ""),
            "comment": self.get_body_argument("comment", ""),
        }
        if self.get_body_argument("action", "") == "rubric":
            await self._save_rubric(ex, sub, count)
            return
        ticked = self.get_body_arguments("item")
        if self.get_body_argument("submission", "") != sub.uid:
            self.set_status(409)
            msg = "a newer submission arrived; it is shown now, grade that one"
            await self._render(ex, sub, count, errors={"score": msg}, form=form)
            return
        try:
            score = float(form["score"]) if form["score"].strip() else None
            item_ids = [int(x) for x in ticked]
        except ValueError:
            self.set_status(400)
            await self._render(
                ex, sub, count, errors={"score": "points must be a number"}, form=form
            )
            return

        def save() -> tuple[WrittenSubmission, Any]:
            with self.app.db() as s, s.begin():
                row = s.scalar(sa.select(WrittenSubmission).filter_by(uid=sub.uid))
                points = score
                if rubric_of(s, ex):  # with a rubric, the ticked items are the points
                    try:
                        points = rubric.set_marks(
                            s, *_rubric_key(ex), sub.student, item_ids, self.actor.name
                        )
                    except rubric.RubricError as err:
                        raise W.WrittenRefused(400, "items", str(err)) from None
                if points is None:
                    raise W.WrittenRefused(400, "score", "points must be a number")
                W.grade(s, row, points, form["comment"], self.actor.name)
                s.flush()
                result = written_result(row)
                s.expunge(row)
                return row, result

        try:
            row, result = await self.blocking(save)
        except W.WrittenRefused as err:
            self.set_status(400)
            await self._render(ex, sub, count, errors={err.field: err.message}, form=form)
            return
        posted = await post_written(self.app, row.id, result)
        await self._render(ex, row, count, saved=posted)

    async def _save_rubric(self, ex: WrittenExercise, sub: WrittenSubmission, count: int) -> None:
        """The exercise's rubric from the form's lines "points | label" (an empty text removes
        it); the items may add up to the exercise's points at most."""
        text = self.get_body_argument("rubric", "")
        try:
            items = _rubric_lines(text)
        except rubric.RubricError as err:
            self.set_status(400)
            await self._render(ex, sub, count, errors={"rubric": str(err)}, form={"rubric": text})
            return

        def save() -> None:
            with self.app.db() as s, s.begin():
                rubric.replace_rubric(s, *_rubric_key(ex), items, ex.points)

        try:
            await self.blocking(save)
        except rubric.RubricError as err:
            self.set_status(400)
            await self._render(ex, sub, count, errors={"rubric": str(err)}, form={"rubric": text})
            return
        await self._render(ex, sub, count)


def _rubric_lines(text: str) -> list[dict[str, Any]]:
    """Rubric items from lines "points | label"."""
    items: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        points, sep, label = line.partition("|")
        try:
            value = float(points)
        except ValueError:
            value = None
        if not sep or value is None or value != value:  # NaN is not a number of points
            raise rubric.RubricError(f'write each item as "points | label": {line.strip()!r}')
        items.append({"label": label.strip()[:500], "points": value})
    return items


def _rubric_key(ex: WrittenExercise) -> tuple[str, str, str, str]:
    """A written assignment's rubric in the grading view's rubric tables (rubric.py): the
    lesson as the assignment, "written:<exercise>" as the notebook, one "answer" cell."""
    return ex.course, ex.lesson, f"written:{ex.exercise}", "answer"


def rubric_of(session: Any, ex: WrittenExercise) -> list[rubric.ItemView]:
    course, lesson, notebook, cell = _rubric_key(ex)
    return rubric.rubric_items(session, course, lesson, notebook).get((notebook, cell), [])


P = r"courses/([^/]+)/grading/([^/]+)/written/([^/]+)"
default_handlers: list[Any] = [
    (P + "/?", WrittenListPage),
    (P + "/([^/]+)/?", WrittenGradePage),
]
