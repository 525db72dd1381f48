"""A written assignment is complete once a teacher graded it, at any score (as an LMS's
"receive a grade" completion), while autograded work completes at full points; the lesson,
the course badge and the certificate follow, and the score still counts in the course total.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from test_rules import make_class, take

from nbcampus.db import transaction
from nbcampus.hub.campus import classes, progress, scores
from nbcampus.hub.campus.orm import (
    Badge,
    Course,
    Exercise,
    ExerciseProgress,
    Lesson,
    LessonProgress,
    UserBadge,
)
from nbcampus.hub.campus.results import ResultPayload, record_result

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
COURSE = "python-intro"
WRITTEN = ("02-control-flow", "explain-fizzbuzz")


@pytest.fixture
def course_open(campus_db):
    """s01 and s02 in a class that held three meetings and unlocked all three lessons."""
    class_id = make_class(campus_db, ["s01", "s02"])
    for meeting in (1, 2, 3):
        take(campus_db, class_id, meeting, {"s01": "present", "s02": "present"})
        with transaction(campus_db) as s:
            classes.unlock_lesson(s, class_id, None, "ines")
    return campus_db


def _exercises(factory) -> list[tuple[str, Exercise]]:
    with factory() as s:
        rows = s.execute(
            sa.select(Lesson.slug, Exercise)
            .join(Exercise, Exercise.lesson_id == Lesson.id)
            .join(Course, Course.id == Lesson.course_id)
            .where(Course.slug == COURSE, Exercise.retired.is_(False))
            .order_by(Lesson.order_index, Exercise.order_index)
        ).all()
        s.expunge_all()
        return [(lesson, ex) for lesson, ex in rows]


def _grade(factory, user: str, lesson: str, ex: Exercise, score: float, n: int) -> dict:
    payload = ResultPayload(
        f"{user}-{ex.slug}-{n}", user, COURSE, lesson, ex.slug, score, ex.points,
        T0 + timedelta(minutes=n),
    )  # fmt: skip
    with transaction(factory) as s:
        return record_result(s, payload).as_dict()


def _finish_all_but_written(factory, user: str) -> None:
    """Every exercise but the written one done: notebooks at full points (the grader's
    results), pages, quizzes and videos marked done as their own endpoints do."""
    for lesson, ex in _exercises(factory):
        if (lesson, ex.slug) == WRITTEN:
            continue
        if ex.type == "coding":
            assert _grade(factory, user, lesson, ex, ex.points, 0)["exercise_completed"]
        else:
            with transaction(factory) as s:
                progress.complete_exercise(s, user, s.get(Exercise, ex.id))


def _lessons_done(factory, user: str) -> dict[str, bool]:
    with factory() as s:
        rows = s.execute(
            sa.select(Lesson.slug, LessonProgress.completed)
            .join(LessonProgress, LessonProgress.lesson_id == Lesson.id)
            .where(LessonProgress.user == user)
        ).all()
    return dict(rows)


def _badge(factory, user: str) -> bool:
    with factory() as s:
        return bool(
            s.scalar(
                sa.select(sa.func.count())
                .select_from(UserBadge)
                .join(Badge, Badge.id == UserBadge.badge_id)
                .where(UserBadge.user == user, Badge.slug == "python-intro-finisher")
            )
        )


def test_a_graded_written_assignment_completes_at_any_score(course_open) -> None:
    factory = course_open
    (written,) = [ex for lesson, ex in _exercises(factory) if (lesson, ex.slug) == WRITTEN]
    assert progress.written(written) and written.points == 4
    for user in ("s01", "s02"):
        _finish_all_but_written(factory, user)
        assert _lessons_done(factory, user)["02-control-flow"] is False  # not graded yet
        assert not _badge(factory, user)

    # 3 of 4 points: graded, so done; the lesson, then the course and its badge follow.
    out = _grade(factory, "s01", WRITTEN[0], written, 3.0, 1)
    assert out["exercise_completed"] and out["lesson_completed"]
    assert out["exercise_progress"]["score"] == 3.0
    assert all(_lessons_done(factory, "s01").values()) and _badge(factory, "s01")

    # Full points for s02: done as well; the points, not the completion, tell them apart.
    assert _grade(factory, "s02", WRITTEN[0], written, 4.0, 1)["lesson_completed"]
    assert _badge(factory, "s02")
    with factory() as s:
        course = s.scalar(sa.select(Course).filter_by(slug=COURSE))
        totals = scores.course_totals(s, course, ["s01", "s02"])
    assert totals["s01"]["total"] < totals["s02"]["total"] <= 100

    # A regrade down to 0 keeps the exercise done (completion is never taken back) and
    # lowers the score the course total counts.
    with factory() as s:
        ex = s.get(Exercise, written.id)
    lowered = ResultPayload(
        "s01-explain-fizzbuzz-1", "s01", COURSE, *WRITTEN, 0.0, 4.0, T0 + timedelta(hours=1)
    )
    with transaction(factory) as s:
        assert record_result(s, lowered).updated
    with factory() as s:
        row = s.scalar(sa.select(ExerciseProgress).filter_by(user="s01", exercise_id=ex.id))
        course = s.scalar(sa.select(Course).filter_by(slug=COURSE))
        after = scores.course_totals(s, course, ["s01"])["s01"]["total"]
    assert (row.completed, row.score) == (True, 0.0)
    assert after < totals["s01"]["total"]


def test_autograded_work_still_completes_only_at_full_points(course_open) -> None:
    factory = course_open
    (lesson, coding) = next((lsn, ex) for lsn, ex in _exercises(factory) if ex.type == "coding")
    assert not progress.written(coding)
    out = _grade(factory, "s01", lesson, coding, coding.points - 1, 1)
    assert not out["exercise_completed"]
    assert _grade(factory, "s01", lesson, coding, coding.points, 2)["exercise_completed"]
