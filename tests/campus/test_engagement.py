"""XP ledger, levels, streaks, badges, leaderboards, notifications and announcements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from test_rules import make_class, take

from nbcampus.db import transaction
from nbcampus.hub.campus import announcements as an
from nbcampus.hub.campus import attendance as att
from nbcampus.hub.campus import classes
from nbcampus.hub.campus import engagement as en
from nbcampus.hub.campus import leaderboard as lb
from nbcampus.hub.campus.orm import (
    Course,
    Notification,
    UserBadge,
    UserLevel,
    XpTotal,
    XpTransaction,
)
from nbcampus.hub.campus.results import ResultPayload, record_result
from nbcampus.web import APIError


@pytest.fixture(autouse=True)
def default_config():
    en.configure(en.EngagementConfig())
    yield
    en.configure(en.EngagementConfig())


@pytest.fixture
def engaged(campus_db):
    with transaction(campus_db) as s:
        en.sync_badges(s, en.DEFAULT_BADGES, None)
    return campus_db


def ledger(factory, user: str) -> list[tuple[int, str]]:
    with factory() as s:
        rows = s.execute(
            sa.select(XpTransaction.amount, XpTransaction.reason)
            .where(XpTransaction.user == user)
            .order_by(XpTransaction.id)
        )
        return [tuple(r) for r in rows]


def notifications(factory, user: str) -> list[str]:
    with factory() as s:
        return list(
            s.scalars(sa.select(Notification.type).filter_by(user=user).order_by(Notification.id))
        )


def test_level_curve() -> None:
    assert [en.level_for(x) for x in (0, 99, 100, 399, 400, 900, 1600)] == [1, 1, 2, 2, 3, 4, 5]
    assert [en.xp_for_level(n) for n in (1, 2, 3, 4)] == [0, 100, 400, 900]


def test_award_is_idempotent_and_revocation_is_a_negative_row(engaged) -> None:
    with transaction(engaged) as s:
        first = en.award(s, "s00", 150, "manual", "grant-1", by="sara", note="hackathon")
        assert first is not None and first.level_up
        assert en.award(s, "s00", 150, "manual", "grant-1", by="sara") is None  # same event
        en.award(s, "s00", -150, "manual", f"revoke:{first.transaction.id}", by="sara")
    assert ledger(engaged, "s00") == [(150, "manual"), (-150, "manual")]
    with engaged() as s:
        level = s.get(UserLevel, "s00")
        assert (level.total_xp, level.level) == (0, 1)
        assert (
            s.scalar(sa.select(XpTotal.total).filter_by(user="s00", course_id=0, period="all")) == 0
        )
    assert notifications(engaged, "s00") == ["level_up"]
    with transaction(engaged) as s, pytest.raises(APIError) as err:
        en.award(s, "s00", 5, "because", "x")
    assert err.value.code == "VALIDATION_ERROR" and "reason" in err.value.message


def test_streak_counts_days_in_school_timezone_and_breaks(engaged) -> None:
    en.configure(en.EngagementConfig(timezone="Asia/Jakarta"))  # UTC+7
    day1 = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # already 21 Nov in Jakarta
    with transaction(engaged) as s:
        en.award(s, "s01", 10, "exercise_complete", "e1", now=day1)
        en.award(s, "s01", 10, "exercise_complete", "e2", now=day1 + timedelta(hours=2))
        en.award(s, "s01", 10, "exercise_complete", "e3", now=day1 + timedelta(days=1))
        en.award(s, "s01", 10, "manual", "m1", now=day1 + timedelta(days=2))  # not learning
    with engaged() as s:
        level = s.get(UserLevel, "s01")
        assert (level.current_streak, level.longest_streak) == (2, 2)
        assert str(level.last_active_date) == "2026-11-22"
    assert ledger(engaged, "s01").count((5, "streak")) == 1
    with transaction(engaged) as s:  # a missed day starts again at 1
        en.award(s, "s01", 10, "exercise_complete", "e4", now=day1 + timedelta(days=4))
    with engaged() as s:
        assert s.get(UserLevel, "s01").current_streak == 1


def test_autograde_pass_gives_xp_badge_notification_once(engaged) -> None:
    class_id = make_class(engaged, ["s02"])
    take(engaged, class_id, 1, {"s02": "present"})
    with transaction(engaged) as s:
        classes.unlock_lesson(s, class_id, None, "ines")
    payload = ResultPayload(
        "sub-9", "s02", "python-intro", "01-values", "values", 3.0, 3.0, datetime.now(UTC)
    )
    for _ in range(2):
        with transaction(engaged) as s:
            record_result(s, payload)
    reasons = [r for _, r in ledger(engaged, "s02")]
    assert reasons.count("autograde_passed") == 1 and reasons.count("attendance") == 1
    assert reasons.count("badge") == 1  # first-pass, once
    with engaged() as s:
        badges = s.scalars(sa.select(UserBadge.badge_id).filter_by(user="s02")).all()
        assert len(badges) == 1
    kinds = notifications(engaged, "s02")
    assert kinds.count("assignment_graded") == 1 and kinds.count("badge_earned") == 1
    assert "lesson_unlocked" in kinds


def test_attendance_xp_follows_edits_in_the_ledger(engaged) -> None:
    class_id = make_class(engaged, ["s03", "s04"])
    take(engaged, class_id, 1, {"s03": "present", "s04": "absent"})
    with transaction(engaged) as s:
        att.edit_attendance(s, class_id, 1, [att.Mark("s03", "absent")], "ines", "")
    assert ledger(engaged, "s03") == [(10, "attendance"), (-10, "attendance")]
    assert ledger(engaged, "s04") == []


def test_leaderboards_rank_and_anonymise_opted_out(engaged) -> None:
    class_id = make_class(engaged, ["s05", "s06", "s07"])
    with engaged() as s:
        course_id = s.scalar(sa.select(Course.id).where(Course.slug == "python-intro"))
    with transaction(engaged) as s:
        en.award(s, "s05", 30, "exercise_complete", "a", course_id=course_id)
        en.award(s, "s06", 70, "exercise_complete", "b", course_id=course_id)
        en.award(s, "s06", 500, "manual", "other-course")  # not in this course
    with transaction(engaged) as s:
        en.award(s, "s07", 70, "exercise_complete", "c", course_id=course_id)
        s.get(UserLevel, "s07").leaderboard_opt_out = True
    with engaged() as s:
        # A student sees ranks and their own name; classmates' names are for teachers only.
        board = lb.class_board(s, class_id, course_id, "all", "s05", show_names=False)
        assert [(r["rank"], r["display"], r["xp"]) for r in board] == [
            (1, "anonymous", 70),
            (1, "anonymous", 70),
            (3, "s05", 30),
        ]
        assert [r["user"] for r in board] == [None, None, "s05"]
        # A teacher sees names, never an opted-out student's.
        teacher = lb.class_board(s, class_id, course_id, "week", "ines", show_names=True)
        assert sorted(r["display"] for r in teacher) == ["anonymous", "s05", "s06"]
        course = lb.course_board(s, course_id, "all", "s07", show_names=False, limit=1)
        assert course[0]["xp"] == 70 and course[-1]["me"] and course[-1]["user"] == "s07"


def test_announcement_is_safe_and_scheduled_delivery_happens_once(engaged) -> None:
    class_id = make_class(engaged, ["s08", "s09"])
    later = datetime.now(UTC) + timedelta(minutes=1)
    with transaction(engaged) as s:
        a = an.create(
            s,
            author="ines",
            class_id=class_id,
            course_id=None,
            title="Quiz",
            body="**Bring** laptops <script>alert(1)</script> [x](javascript:alert(1))",
            publish_at=later,
        )
        a_id = a.id
        assert "<script" not in a.body_html and "javascript:" not in a.body_html
        assert "<strong>Bring</strong>" in a.body_html
        assert an.deliver(s, a_id) == 0  # not due yet
    with engaged() as s:
        assert an.due_ids(s) == [] and an.due_ids(s, later) == [a_id]
    with transaction(engaged) as s:
        assert an.deliver(s, a_id, later) == 2
    with transaction(engaged) as s:
        assert an.deliver(s, a_id, later + timedelta(minutes=1)) == 0  # once only
    assert notifications(engaged, "s08") == ["announcement"]
    with transaction(engaged) as s:
        an.mark_read(s, a_id, "s08")
        an.mark_read(s, a_id, "s08")
        with pytest.raises(APIError) as err:
            an.mark_read(s, a_id, "s10")  # not in the class
        assert err.value.code == "NOT_FOUND"


def test_concurrent_duplicate_awards_count_once(engaged) -> None:
    import threading

    errors: list[Exception] = []

    def worker() -> None:
        try:
            with transaction(engaged) as s:
                en.award(s, "s11", 20, "exercise_complete", "same-event")
        except Exception as err:  # a serialization failure would be a bug here
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert ledger(engaged, "s11") == [(20, "exercise_complete")]
    with engaged() as s:
        assert s.get(UserLevel, "s11").total_xp == 20


def test_perfect_attendance_badge_after_five_meetings_present(engaged) -> None:
    class_id = make_class(engaged, ["s00", "s01"], total_meetings=6)
    for meeting in range(1, 6):
        take(
            engaged,
            class_id,
            meeting,
            {"s00": "present", "s01": "late" if meeting == 3 else "present"},
        )
        with engaged() as s:
            held = set(s.scalars(sa.select(UserBadge.user)))
        assert ("s00" in held) is (meeting == 5) and "s01" not in held
    assert notifications(engaged, "s00").count("badge_earned") == 1
