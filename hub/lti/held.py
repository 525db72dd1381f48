"""Grades the LMS does not get yet: scores hidden from their students.

A score the campus hides from its student (hub/campus/visibility.py: `hidden` until an
instructor releases it, `after_due` until the due date) must not reach Moodle's or Canvas's
gradebook either, where the student would read it. The outbox keeps such an item `held`
(hub/lti/passback.py); each drain (the Hub's retry loop, the grader's hook, the command line)
first asks again and lets the released ones go as pending, so a release reaches the LMS
within one retry interval.

`CampusVisibility` answers from the campus's own database (the LTI code runs in the Hub and in
the grader, both of which have it): an exercise link follows its exercise, a lesson link (the
lesson's total) is visible once every graded exercise of the lesson is. An exercise the campus
does not know, or a campus without a database yet, holds nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("nbcampus.lti.held")

_factories: dict[str, sessionmaker[Session]] = {}


def _campus_factory() -> sessionmaker[Session] | None:
    from nbcampus.db import make_engine, session_factory
    from nbcampus.settings import Settings

    url = Settings.from_env().database_url("campus")
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None  # no campus here (a bare LTI set-up): nothing is hidden
    if url not in _factories:
        _factories[url] = session_factory(make_engine(url))
    return _factories[url]


class CampusVisibility:
    """visible(course, lesson, exercise) -> may the student's LMS get this score now?"""

    def __init__(self, factory: sessionmaker[Session] | None = None) -> None:
        self._factory = factory

    def __call__(self, course: str, lesson: str, exercise: str) -> bool:
        from nbcampus.hub.campus import visibility
        from nbcampus.hub.campus.orm import Course, Exercise, Lesson

        factory = self._factory or _campus_factory()
        if factory is None:
            return True
        query: Any = (
            sa.select(Exercise)
            .join(Lesson, Lesson.id == Exercise.lesson_id)
            .join(Course, Course.id == Lesson.course_id)
            .where(Course.slug == course, Lesson.slug == lesson, ~Exercise.retired)
            .where(Exercise.type.in_(("coding", "assignment", "quiz")))
        )
        if exercise:
            query = query.where(Exercise.slug == exercise.removesuffix(".ipynb"))
        try:
            with factory() as session:
                rows = list(session.scalars(query))
                return all(visibility.scores_visible(session, row) for row in rows)
        except SQLAlchemyError as err:
            missing = "no such table" in str(err) or "does not exist" in str(err)
            # No campus tables (a bare LTI set-up): nothing is hidden. Any other failure
            # holds the grade; the next drain asks again.
            log.warning("score visibility of %s/%s unknown: %s", course, lesson, err)
            return missing
