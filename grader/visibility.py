"""Score visibility in the grader: what a student may see of their own graded work.

The rule is the campus's (hub/campus/visibility.py: visible, after_due, hidden until
released); the grader asks it (`GET .../courses/{course}/score-visibility`) each time it is
about to show a student a score, per-test results or feedback, so a release shows at once.
A notebook submission is a lesson's notebooks: hidden when any of them is. When the campus
cannot answer, scores stay hidden (a grade shown too early cannot be taken back); a grader
run without a campus (post_to_campus off) has no rule and hides nothing.

`after_due` is the class's due date for the class; a student with an extension of the lesson
(grader/rubric.py) is still before *their* due date, so their own score and feedback stay
hidden from them until it passes (or the instructor releases the scores).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from .orm import Assignment, Extension

HIDDEN_MESSAGE = "your score shows once your instructor releases it"


def _extended_lessons(app: Any, course: str, student: str, lessons: set[str]) -> set[str]:
    """Of these lessons, those whose extension gives the student a due date still ahead."""
    now = datetime.now(UTC)
    with app.db() as s:
        rows = s.scalars(
            sa.select(Extension).where(
                Extension.course == course,
                Extension.student == student,
                Extension.assignment.in_(sorted(lessons)),
            )
        )
        # SQLite hands back naive times: they are UTC
        return {r.assignment for r in rows if r.due_at.replace(tzinfo=r.due_at.tzinfo or UTC) > now}


async def hidden_exercises(
    app: Any, course: str, student: str | None = None
) -> set[tuple[str, str]] | None:
    """The course's (lesson, exercise) pairs whose scores students (this `student`, when
    named) may not see now; None when the campus could not say (treat all as hidden)."""
    if not app.post_to_campus:
        return set()
    try:
        data = await app.campus.score_visibility(course)
    except Exception as err:
        app.log.warning("score visibility of %s unknown, scores kept hidden: %s", course, err)
        return None
    exercises = data.get("exercises", [])
    hidden = {(e["lesson"], e["exercise"]) for e in exercises if not e["visible"]}
    # visible because the class's due date passed, not because an instructor released it
    waiting = {
        (e["lesson"], e["exercise"])
        for e in exercises
        if e["visible"] and e.get("scores") == "after_due" and not e.get("released_at")
    }
    if student is not None and waiting:
        extended = await asyncio.get_running_loop().run_in_executor(
            None, _extended_lessons, app, course, student, {lesson for lesson, _ in waiting}
        )
        hidden |= {pair for pair in waiting if pair[0] in extended}
    return hidden


async def is_hidden(
    app: Any, course: str, lesson: str, exercises: Iterable[str], student: str | None = None
) -> bool:
    """Is the score of any of these exercises of the lesson hidden from its students (from
    this `student`, their extension counted) now?"""
    hidden = await hidden_exercises(app, course, student)
    if hidden is None:
        return True
    return any((lesson, name) in hidden for name in exercises)


def masked_submission(out: dict[str, Any]) -> dict[str, Any]:
    """A notebook submission's dict as its student sees it while the score is hidden: no
    score, no per-test results, no feedback."""
    return {
        **out,
        "score": None,
        "max_score": None,
        "late_penalty": None,
        "result": None,
        "score_hidden": True,
        "message": HIDDEN_MESSAGE,
    }


async def notebook_scores_hidden(
    app: Any, course: str, assignment: str, student: str | None = None
) -> bool:
    """Is a notebook submission's score of this lesson hidden from its student now?"""

    def notebooks() -> list[str]:
        with app.db() as s:
            query = sa.select(Assignment.notebooks).filter_by(course=course, name=assignment)
            return list(s.scalar(query) or [])

    names = await asyncio.get_running_loop().run_in_executor(None, notebooks)
    return bool(names) and await is_hidden(app, course, assignment, names, student)


async def student_submissions(
    app: Any, course: str, assignment: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Notebook submission dicts for their student (one student's): masked while the score
    is hidden from them."""
    student = items[0].get("student") if items else None
    if items and await notebook_scores_hidden(app, course, assignment, student):
        return [masked_submission(i) for i in items]
    return items
