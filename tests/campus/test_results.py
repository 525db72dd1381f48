"""Grading results from the grader: repeats change nothing, a new grade of the same submission
(a teacher's manual grade, a regrade) counts, a stale one does not, and XP is awarded once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from test_rules import make_class, take

from nbcampus.db import transaction
from nbcampus.hub.campus import classes
from nbcampus.hub.campus.orm import (
    ExerciseProgress,
    GradingResult,
    Notification,
    XpTransaction,
)
from nbcampus.hub.campus.results import Recorded, ResultPayload, record_result
from nbcampus.web import APIError

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def unlocked(campus_db):
    """s01 in a class that held its first meeting and unlocked the first lesson."""
    class_id = make_class(campus_db, ["s01"])
    take(campus_db, class_id, 1, {"s01": "present"})
    with transaction(campus_db) as s:
        classes.unlock_lesson(s, class_id, None, "ines")
    return campus_db


def record(factory, payload: ResultPayload) -> Recorded:
    with transaction(factory) as s:
        return record_result(s, payload)


def progress(factory) -> tuple[float | None, bool]:
    with factory() as s:
        row = s.scalars(sa.select(ExerciseProgress).filter_by(user="s01")).one()
        return row.score, row.completed


def passes(factory) -> int:
    with factory() as s:
        return s.scalar(
            sa.select(sa.func.count())
            .select_from(XpTransaction)
            .where(XpTransaction.user == "s01", XpTransaction.reason == "autograde_passed")
        )


def test_a_new_grade_of_the_same_submission_counts_once(unlocked) -> None:
    first = ResultPayload("sub-1", "s01", "python-intro", "01-values", "values", 1.0, 3.0, T0)
    assert record(unlocked, first).created
    assert progress(unlocked) == (1.0, False) and passes(unlocked) == 0

    # the same result again (a retry): nothing changes
    again = record(unlocked, first)
    assert not again.created and not again.updated and not again.events.exercise_completed

    # a teacher raises the score: the exercise passes now, with its XP and a notification
    raised = replace(first, score=3.0, graded_at=T0 + timedelta(minutes=5))
    out = record(unlocked, raised)
    assert out.updated and not out.created and out.events.exercise_completed
    assert out.as_dict()["exercise_progress"]["score"] == 3.0
    assert progress(unlocked) == (3.0, True) and passes(unlocked) == 1
    with unlocked() as s:
        (row,) = s.scalars(sa.select(GradingResult).filter_by(submission_id="sub-1")).all()
        assert row.score == 3.0
        titles = s.scalars(
            sa.select(Notification.title).where(
                Notification.user == "s01", Notification.type == "assignment_graded"
            )
        ).all()
    title = "Temperatures and greetings"
    assert sorted(titles) == [f"Grade changed: {title}", f"Graded: {title}"]

    # the raise delivered again, and the original grade arriving late: both change nothing
    assert not record(unlocked, raised).updated
    stale = record(unlocked, first)
    assert not stale.updated and stale.events.exercise_progress["score"] == 3.0
    assert progress(unlocked) == (3.0, True) and passes(unlocked) == 1

    # lowered again, then raised again: progress follows, completion and XP stay single
    lowered = replace(first, score=2.0, graded_at=T0 + timedelta(minutes=10))
    assert record(unlocked, lowered).updated
    assert progress(unlocked) == (2.0, True)
    back = replace(first, score=3.0, graded_at=T0 + timedelta(minutes=15))
    out = record(unlocked, back)
    assert out.updated and not out.events.exercise_completed
    assert progress(unlocked) == (3.0, True) and passes(unlocked) == 1


def test_progress_keeps_the_best_of_the_users_submissions(unlocked) -> None:
    good = ResultPayload("sub-a", "s01", "python-intro", "01-values", "values", 2.0, 3.0, T0)
    worse = replace(good, submission_id="sub-b", score=1.0, graded_at=T0 + timedelta(hours=1))
    record(unlocked, good)
    record(unlocked, worse)
    assert progress(unlocked) == (2.0, False)
    # the better submission is graded down below the other: the other one is the best now
    record(unlocked, replace(good, score=0.5, graded_at=T0 + timedelta(hours=2)))
    assert progress(unlocked) == (1.0, False)
    # a grade with another time zone is ordered by its instant, not by its wall clock
    later = (T0 + timedelta(hours=3)).astimezone(timezone(timedelta(hours=5)))
    out = record(unlocked, replace(worse, score=3.0, graded_at=later))
    assert out.updated and progress(unlocked) == (3.0, True)


def test_another_users_submission_id_is_refused(unlocked) -> None:
    first = ResultPayload("sub-x", "s01", "python-intro", "01-values", "values", 1.0, 3.0, T0)
    record(unlocked, first)
    with pytest.raises(APIError) as err:
        record(unlocked, replace(first, user="s02", score=3.0, graded_at=T0 + timedelta(hours=1)))
    assert err.value.status_code == 409 and err.value.code == "CONFLICT"
    assert progress(unlocked) == (1.0, False)


def test_a_submission_tells_the_xp_its_result_earned(unlocked) -> None:
    # The Lab's "+N XP" on a result card: the exercise's XP for the submission that passed
    # it (never the lesson's or a badge's that came with it), none for a later one.
    from nbcampus.hub.campus.engagement import submission_xp
    from nbcampus.hub.campus.orm import Exercise

    with unlocked() as s:
        worth = s.scalar(sa.select(Exercise.xp).where(Exercise.slug == "values"))
    assert worth == 20
    failed = ResultPayload("sub-x", "s01", "python-intro", "01-values", "values", 1.0, 3.0, T0)
    record(unlocked, failed)
    passed = replace(failed, submission_id="sub-y", score=3.0, graded_at=T0 + timedelta(1))
    record(unlocked, passed)
    again = replace(passed, submission_id="sub-z", graded_at=T0 + timedelta(2))
    record(unlocked, again)
    with unlocked() as s:
        total = s.scalar(
            sa.select(sa.func.sum(XpTransaction.amount)).where(XpTransaction.user == "s01")
        )
        got = {sid: submission_xp(s, "s01", sid) for sid in ("sub-x", "sub-y", "sub-z")}
        assert submission_xp(s, "someone-else", "sub-y") == 0
    assert got == {"sub-x": 0, "sub-y": 20, "sub-z": 0}
    assert total >= 20

    # a teacher's manual grade that makes an earlier submission pass: its XP is that one's
    second = ResultPayload("sub-m", "s01", "python-intro", "01-values", "values", 1.0, 3.0, T0)
    with unlocked() as s:
        s.execute(sa.delete(XpTransaction).where(XpTransaction.user == "s01"))
        s.execute(sa.delete(GradingResult).where(GradingResult.user == "s01"))
        s.execute(sa.delete(ExerciseProgress).where(ExerciseProgress.user == "s01"))
        s.commit()
    record(unlocked, second)
    record(unlocked, replace(second, score=3.0, graded_at=T0 + timedelta(3)))
    with unlocked() as s:
        assert submission_xp(s, "s01", "sub-m") == 20


def test_the_course_grade_policy_decides_what_counts(unlocked, tmp_path, monkeypatch) -> None:
    """One policy per course (course.yaml `grade_policy`, default best), the same one the LTI
    passback follows (tests/lti/test_lti_lms_courses.py)."""
    from pathlib import Path

    base = ResultPayload("pol-1", "s01", "python-intro", "01-values", "values", 3.0, 3.0, T0)
    record(unlocked, base)
    record(unlocked, replace(base, submission_id="pol-2", score=1.0, graded_at=T0 + timedelta(1)))
    assert progress(unlocked) == (3.0, True)  # best

    courses = tmp_path / "courses"
    (courses / "python-intro").mkdir(parents=True)
    repo = Path(__file__).resolve().parents[2]
    manifest = (repo / "courses" / "python-intro" / "course.yaml").read_text()
    (courses / "python-intro" / "course.yaml").write_text(manifest + "\ngrade_policy: latest\n")
    monkeypatch.setenv("NBCAMPUS_COURSES_DIR", str(courses))
    later = replace(base, submission_id="pol-3", score=2.0, graded_at=T0 + timedelta(2))
    record(unlocked, later)
    assert progress(unlocked) == (2.0, True)  # the latest; completion is never taken back
    # a result delivered late (graded before the latest) does not displace the latest
    record(unlocked, replace(base, submission_id="pol-0", score=3.0, graded_at=T0 - timedelta(1)))
    assert progress(unlocked) == (2.0, True)
