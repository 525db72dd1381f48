"""Autograde results from the grader: a strict parser, then an idempotent record.

The parser is a plain class apart from the handler (as an LTI validator would be): every
field is checked for type, range and length, so a malformed or hostile payload is a clear
400 and never a half-written row. Recording is idempotent on (submission_id, exercise): the
same result again changes nothing, and a new grade of the same submission (a teacher's manual
grade, a regrade) replaces the old one, unless it is older than the one recorded (deliveries
may cross). Progress keeps the best grade of the user's submissions; completing an exercise,
and its XP, happen once and are never taken back by a lower grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from . import engagement, validate, visibility
from .grade_policy import grade_policy
from .orm import Course, Exercise, ExerciseProgress, GradingResult, Lesson, LessonProgress
from .progress import (
    ProgressEvents,
    complete_exercise,
    exercise_progress_dict,
    lesson_progress_dict,
)


@dataclass(frozen=True)
class ResultPayload:
    submission_id: str
    user: str
    course: str
    lesson: str
    exercise: str
    score: float
    max_score: float
    graded_at: datetime

    @classmethod
    def parse(cls, body: dict[str, Any]) -> ResultPayload:
        fields = {
            key: validate.string(body, key, max_length=100)
            for key in ("submission_id", "user", "course", "lesson", "exercise")
        }
        score = validate.number(body, "score")
        max_score = validate.number(body, "max_score")
        if score > max_score:
            raise APIError(400, "'score' is larger than 'max_score'", field="score")
        graded_at = validate.moment(body, "graded_at")
        return cls(score=score, max_score=max_score, graded_at=graded_at, **fields)

    def __post_init__(self) -> None:
        # In UTC (no offset means UTC): SQLite keeps no offset, and grades are ordered by it.
        at = self.graded_at
        object.__setattr__(self, "graded_at", _aware(at).astimezone(UTC))


@dataclass
class Recorded:
    created: bool
    result_id: int
    events: ProgressEvents
    updated: bool = False  # an existing result took a new grade

    def as_dict(self) -> dict[str, Any]:
        return {
            "recorded": self.created,
            "updated": self.updated,
            "result_id": self.result_id,
            "exercise_progress": self.events.exercise_progress,
            "lesson_progress": self.events.lesson_progress,
            "exercise_completed": self.events.exercise_completed,
            "lesson_completed": self.events.lesson_completed,
        }


def find_exercise(session: Session, course: str, lesson: str, exercise: str) -> Exercise:
    found = session.scalar(
        sa.select(Exercise)
        .join(Lesson, Lesson.id == Exercise.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .where(Course.slug == course, Lesson.slug == lesson, Exercise.slug == exercise)
    )
    if found is None:
        raise APIError(404, f"no exercise {course}/{lesson}/{exercise}")
    return found


def record_result(session: Session, payload: ResultPayload) -> Recorded:
    exercise = find_exercise(session, payload.course, payload.lesson, payload.exercise)
    keys = {"submission_id": payload.submission_id, "exercise_id": exercise.id}
    existing = session.scalar(sa.select(GradingResult).filter_by(**keys))
    if existing is not None:
        if existing.user != payload.user:
            raise APIError(409, "this submission id belongs to another user")
        return _regrade(session, existing, exercise, payload)
    try:
        with session.begin_nested():
            row = GradingResult(
                **keys,
                user=payload.user,
                score=payload.score,
                max_score=payload.max_score,
                graded_at=payload.graded_at,
            )
            session.add(row)
            session.flush()
    except IntegrityError:  # a result for this submission delivered at the same time
        row = session.scalars(sa.select(GradingResult).filter_by(**keys)).one()
        if row.user != payload.user:
            raise APIError(409, "this submission id belongs to another user") from None
        return _regrade(session, row, exercise, payload)
    latest = grade_policy(payload.course) == "latest"
    counted = _counted(session, payload.user, exercise, latest)
    visible = visibility.scores_visible(session, exercise)
    events = complete_exercise(
        session,
        payload.user,
        exercise,
        score=counted.score,
        max_score=counted.max_score,
        at=payload.graded_at,
        autograde=True,
        note=engagement.submission_note(payload.submission_id),
        latest=latest,
        hold=not visible,
    )
    engagement.notify(
        session,
        payload.user,
        "assignment_graded",
        f"Graded: {exercise.title}",
        _points(payload, visible),
        f"result:{row.id}",
    )
    return Recorded(True, row.id, events)


def _points(payload: ResultPayload, visible: bool) -> str:
    if not visible:  # a hidden score is not told in a notification either
        return "Your score shows once your instructor releases it."
    return f"{payload.score:g} of {payload.max_score:g} points"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _regrade(
    session: Session, row: GradingResult, exercise: Exercise, payload: ResultPayload
) -> Recorded:
    """A result for a submission recorded before: a repeat, a stale one, or a new grade."""
    same = (row.score, row.max_score) == (payload.score, payload.max_score)
    if same or payload.graded_at < _aware(row.graded_at):
        return Recorded(False, row.id, _replay(session, row, exercise))
    # One conditional statement: of two new grades arriving at once, the later-graded stays.
    changed = session.execute(
        sa.update(GradingResult)
        .where(GradingResult.id == row.id, GradingResult.graded_at <= payload.graded_at)
        .values(score=payload.score, max_score=payload.max_score, graded_at=payload.graded_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(row)
    if changed != 1:
        return Recorded(False, row.id, _replay(session, row, exercise))
    # The grade the course's policy counts (the best of the user's submissions, or the
    # latest), so a lowered one may lower progress.
    latest = grade_policy(payload.course) == "latest"
    best = _counted(session, row.user, exercise, latest)
    progress = session.scalar(
        sa.select(ExerciseProgress).filter_by(user=row.user, exercise_id=exercise.id)
    )
    if progress is not None:
        progress.score, progress.max_score = best.score, best.max_score
    # Completion (and its XP) when the new grade passes; awarded once per user and exercise.
    visible = visibility.scores_visible(session, exercise)
    events = complete_exercise(
        session,
        row.user,
        exercise,
        score=best.score,
        max_score=best.max_score,
        at=payload.graded_at,
        autograde=True,
        note=engagement.submission_note(payload.submission_id),
        latest=latest,
        hold=not visible,
    )
    engagement.notify(
        session,
        row.user,
        "assignment_graded",
        f"Grade changed: {exercise.title}",
        _points(payload, visible),
        f"result:{row.id}:{payload.graded_at.isoformat()}",
    )
    return Recorded(False, row.id, events, updated=True)


def _counted(session: Session, user: str, exercise: Exercise, latest: bool) -> Any:
    """The (score, max_score) that counts: the best grade of the user's submissions, or under
    the `latest` policy the last graded one (grade_policy.py, shared with the LMS passback)."""
    order = (
        (GradingResult.graded_at.desc(), GradingResult.id.desc())
        if latest
        else (GradingResult.score.desc(), GradingResult.graded_at.desc())
    )
    return session.execute(
        sa.select(GradingResult.score, GradingResult.max_score)
        .where(GradingResult.user == user, GradingResult.exercise_id == exercise.id)
        .order_by(*order)
        .limit(1)
    ).one()


def _replay(session: Session, row: GradingResult, exercise: Exercise) -> ProgressEvents:
    """The current progress for a duplicate delivery: read only, no new events."""
    progress = session.scalar(
        sa.select(ExerciseProgress).filter_by(user=row.user, exercise_id=exercise.id)
    )
    lesson = session.scalar(
        sa.select(LessonProgress).filter_by(user=row.user, lesson_id=exercise.lesson_id)
    )
    return ProgressEvents(
        exercise_progress=exercise_progress_dict(progress, exercise) if progress else None,
        lesson_progress=lesson_progress_dict(lesson) if lesson else None,
    )
