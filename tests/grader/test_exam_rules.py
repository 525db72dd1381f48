"""Notebook exams on the grader's records, on SQLite and PostgreSQL: the deadline from the
server's clock and the student's multiplier within the window, the saved work submitted at
the deadline (grace included, nothing later), one attempt, a double submission counted once
(also when both arrive at once), the receipt, and the migration matching the ORM."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nbcampus.db import make_engine, session_factory, transaction, upgrade
from nbcampus.grader import exam as rules
from nbcampus.grader.orm import MIGRATIONS, Base, Exam, ExamSitting, Submission
from nbcampus.hub.campus import exam as ex
from nbcampus.web import APIError

T0 = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
GRACE = 10.0
SAVED = {"exam.ipynb": "a" * 64}
OTHER = {"exam.ipynb": "b" * 64}


@pytest.fixture
def db(db_url: str):
    upgrade(db_url, MIGRATIONS)
    engine = make_engine(db_url)
    factory = session_factory(engine)
    with transaction(factory) as s:
        window = {"opens_at": T0 - timedelta(hours=1), "closes_at": T0 + timedelta(hours=2)}
        s.add(Exam(course="c", assignment="final", exercise="exam", time_limit_seconds=60,
                   **window))  # fmt: skip
    yield factory
    engine.dispose()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def exam(s) -> Exam:
    return rules.exam_of(s, "c", "final")


def sitting(s, student: str) -> ExamSitting:
    return rules.sitting_of(s, "c", "final", student)


def expect(code: str, fn, *args) -> None:
    with pytest.raises(APIError) as info:
        fn(*args)
    assert info.value.code == code, info.value.message


def test_the_migration_matches_the_models(db_url: str, db) -> None:
    with make_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "exam" in repr(d)] == []


def test_deadline_is_the_servers_start_times_the_multiplier_within_the_window(db) -> None:
    with transaction(db) as s:
        first, created = rules.start(s, exam(s), "ann", at(0), 1.5)
        assert created and ex.aware(first.deadline_at) == at(90)
        again, created = rules.start(s, exam(s), "ann", at(30), 1.5)
        assert not created and again.id == first.id  # one sitting; its clock never restarts
        # near the closing time the window wins over the limit
        late, _ = rules.start(s, exam(s), "bob", at(7200 - 20), 1.0)
        assert ex.aware(late.deadline_at) == at(7200)
        view = rules.exam_dict(exam(s), first, at(30), GRACE)
        assert view["state"] == "in_progress" and view["sitting"]["remaining_seconds"] == 60
    with transaction(db) as s:
        expect("EXAM_NOT_OPEN", rules.start, s, exam(s), "cid", at(-3601), 1.0)
        expect("EXAM_CLOSED", rules.start, s, exam(s), "cid", at(7200), 1.0)
        assert sitting(s, "cid") is None


def test_saved_work_is_submitted_at_the_deadline_and_later_work_refused(db) -> None:
    with transaction(db) as s:
        ann, _ = rules.start(s, exam(s), "ann", at(0), 1.0)
        rules.save(s, ann, SAVED, at(20), GRACE)
        rules.save(s, ann, SAVED, at(65), GRACE)  # on its way at the deadline: the grace
        # a save after the grace closes the sitting with what was saved, and is refused
        expect("TIME_UP", rules.save, s, ann, OTHER, at(60 + GRACE + 1), GRACE)
    with transaction(db) as s:
        ann = sitting(s, "ann")
        assert (ann.status, ann.auto_submitted) == ("submitted", True)
        assert ex.aware(ann.submitted_at) == at(60)  # submitted as of its deadline
        sub = s.scalar(sa.select(Submission).filter_by(uid=ann.submission_uid))
        assert sub.files == SAVED and sub.status == "queued"
        assert ann.receipt == rules.receipt_for(ann, SAVED) and len(ann.receipt) == 64
        expect("TIME_UP", rules.submit, s, ann, SAVED, at(200), GRACE)
        assert s.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1


def test_the_sweep_closes_sittings_past_their_deadline_saved_or_not(db) -> None:
    with transaction(db) as s:
        ann, _ = rules.start(s, exam(s), "ann", at(0), 1.0)
        rules.save(s, ann, SAVED, at(10), GRACE)
        rules.start(s, exam(s), "bob", at(0), 1.0)
        rules.start(s, exam(s), "cid", at(0), 3.0)  # extra time: still open
    with transaction(db) as s:
        assert rules.close_expired(s, at(60 + GRACE - 1), GRACE) == []  # within the grace
        closed = rules.close_expired(s, at(60 + GRACE), GRACE)
        assert len(closed) == 2
    with transaction(db) as s:
        by = {x.student: x for x in s.scalars(sa.select(ExamSitting))}
        assert by["ann"].submission_uid and by["bob"].submission_uid is None  # nothing saved
        assert by["bob"].receipt == rules.receipt_for(by["bob"], {})
        assert by["cid"].status == "open"
        assert rules.close_expired(s, at(60 + GRACE), GRACE) == []  # closed once


def test_one_attempt_and_a_double_submission_counts_once(db) -> None:
    with transaction(db) as s:
        ann, _ = rules.start(s, exam(s), "ann", at(0), 1.0)
        uid, new = rules.submit(s, ann, SAVED, at(30), GRACE)
        assert new
        again, new = rules.submit(s, ann, SAVED, at(31), GRACE)
        assert (again, new) == (uid, False)  # the same files: the same submission
        expect("ATTEMPT_FINISHED", rules.submit, s, ann, OTHER, at(32), GRACE)
        expect("ATTEMPT_FINISHED", rules.save, s, ann, OTHER, at(33), GRACE)
        assert ann.receipt == rules.receipt_for(ann, SAVED)
        assert rules.close_expired(s, at(3600), GRACE) == []  # submitted: nothing to close
    with transaction(db) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1


def test_two_submits_at_once_make_one_submission(db) -> None:
    with transaction(db) as s:
        rules.start(s, exam(s), "ann", at(0), 1.0)

    def submit_once() -> tuple[str | None, bool]:
        with transaction(db) as s:
            return rules.submit(s, sitting(s, "ann"), SAVED, at(30), GRACE)

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: submit_once(), range(2)))
    assert sorted(new for _, new in outcomes) == [False, True]
    assert len({uid for uid, _ in outcomes}) == 1
    with transaction(db) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1
