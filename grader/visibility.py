"""Score visibility in the grader: what a student may see of their own graded work.

The rule is the campus's (hub/campus/visibility.py: visible, after_due, hidden until
released); the grader asks it (`GET .../courses/{course}/score-visibility`) each time it is
about to show a student a score, per-test results or feedback, so a release shows at once.
A notebook submission is a lesson's notebooks: hidden when any of them is. When the campus
cannot answer, scores stay hidden (a grade shown too early cannot be taken back); a grader
run without a campus (post_to_campus off) has no rule and hides nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from .orm import Assignment

HIDDEN_MESSAGE = "your score shows once your instructor releases it"


async def hidden_exercises(app: Any, course: str) -> set[tuple[str, str]] | None:
    """The course's (lesson, exercise) pairs whose scores students may not see now; None
    when the campus could not say (treat everything as hidden)."""
    if not app.post_to_campus:
        return set()
    try:
        data = await app.campus.score_visibility(course)
    except Exception as err:
        app.log.warning("score visibility of %s unknown, scores kept hidden: %s", course, err)
        return None
    return {(e["lesson"], e["exercise"]) for e in data.get("exercises", []) if not e["visible"]}


async def is_hidden(app: Any, course: str, lesson: str, exercises: Iterable[str]) -> bool:
    """Is the score of any of these exercises of the lesson hidden from its students now?"""
    hidden = await hidden_exercises(app, course)
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


async def notebook_scores_hidden(app: Any, course: str, assignment: str) -> bool:
    """Is a notebook submission's score of this lesson hidden from its student now?"""

    def notebooks() -> list[str]:
        with app.db() as s:
            query = sa.select(Assignment.notebooks).filter_by(course=course, name=assignment)
            return list(s.scalar(query) or [])

    names = await asyncio.get_running_loop().run_in_executor(None, notebooks)
    return bool(names) and await is_hidden(app, course, assignment, names)


async def student_submissions(
    app: Any, course: str, assignment: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Notebook submission dicts for their student: masked while the score is hidden."""
    if items and await notebook_scores_hidden(app, course, assignment):
        return [masked_submission(i) for i in items]
    return items
