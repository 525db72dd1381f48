"""Pre-warming from the schedule, the campus's side (hub/campus/prewarm.py): which meetings are
due, who comes first, the memory budget, withdrawn students and misconfigured schedules. On
SQLite and PostgreSQL; the Hub's side is tests/test_prewarm_hub.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import transaction
from nbcampus.hub.campus import classes, prewarm
from nbcampus.hub.campus.attendance import Mark, take_attendance
from nbcampus.hub.campus.orm import Account, Base, CampusClass
from nbcampus.settings import Settings, SettingsError

# Thursday 2026-12-10, 08:52 UTC: a class meeting Thursdays 09:00-10:30 is 8 minutes away.
NOW = datetime(2026, 12, 10, 8, 52, tzinfo=UTC)
LEAD = timedelta(minutes=10)
MB = 2**20


def make_class(factory: sessionmaker[Session], name: str, **fields: object) -> int:
    with transaction(factory) as s:
        klass = classes.create_class(
            s, name=name, course_slug="python-intro", type="group", total_meetings=4,
            max_capacity=12, instructor="ines", created_by="sara", status="enrollment_open",
            schedule={"days": ["thu"], "time": "09:00-10:30"},
        )  # fmt: skip
        for student in ("s00", "s01", "s02", "s03", "s04"):
            classes.enroll(s, klass.id, student, "sara")
        klass.status = "active"
        for key, value in fields.items():
            setattr(klass, key, value)
        return klass.id


def test_due_meetings_order_budget_and_withdrawn(campus_db: sessionmaker[Session]) -> None:
    cid = make_class(campus_db, "Thursday morning")
    with transaction(campus_db) as s:
        # Earlier meetings: s03 always on time, s01 late once, s02 absent; s00 and s04 never marked.
        marks = [Mark("s03", "present"), Mark("s01", "late"), Mark("s02", "absent")]
        marks += [Mark("s00", "present"), Mark("s04", "present")]
        take_attendance(s, cid, 1, date(2026, 12, 3), marks, "ines")
    with transaction(campus_db) as s:
        marks = [Mark("s03", "present"), Mark("s01", "present"), Mark("s02", "absent")]
        marks += [Mark("s00", "absent"), Mark("s04", "late")]
        take_attendance(s, cid, 2, date(2026, 12, 4), marks, "ines")
        classes.withdraw(s, cid, "s04")
        s.scalars(sa.select(Account).filter_by(name="s02")).one().active = False

    with campus_db() as s:
        found = prewarm.scan(s, NOW, "UTC", LEAD)
        meeting = next(m for m in found.due if m.class_id == cid)
        assert meeting.start == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
        assert meeting.end == datetime(2026, 12, 10, 10, 30, tzinfo=UTC)
        assert meeting.number == 3
        # Not due 11 minutes before; a meeting that has begun is not pre-warmed either.
        assert cid not in [
            m.class_id for m in prewarm.scan(s, NOW - timedelta(minutes=3), "UTC", LEAD).due
        ]  # noqa: E501
        later = prewarm.scan(s, NOW + timedelta(minutes=9), "UTC", LEAD).due
        assert cid not in [m.class_id for m in later]
        # In Berlin the same class meets at 08:00 UTC: already begun at NOW.
        assert cid not in [m.class_id for m in prewarm.scan(s, NOW, "Europe/Berlin", LEAD).due]
        todo = prewarm.candidates(s, meeting)
    # On time most first (s03 1.0, s01 0.75, s00 0.5 by attendance), then the skips.
    assert [(c.student, c.start) for c in todo] == [
        ("s03", True), ("s01", True), ("s00", True),
        ("s02", False), ("s04", False),
    ]  # fmt: skip
    assert "withdrawn" in todo[-1].reason and "disabled" in todo[-2].reason

    # A budget of two servers: the third claim is recorded as skipped, nothing over budget.
    budget = 2 * 512 * MB
    got = []
    for c in todo[:3]:
        with transaction(campus_db) as s:
            got.append(prewarm.claim(s, meeting, c.student, 512 * MB, budget, NOW))
    for c in todo[3:]:
        with transaction(campus_db) as s:
            prewarm.record(s, meeting, c.student, "skipped", c.reason)
    assert got == [True, True, False]
    with campus_db() as s:
        assert prewarm.reserved(s, NOW) == budget
        assert prewarm.reserved(s, meeting.end) == 0  # released once the meeting is over
        # Each student is considered once, except one skipped for the budget: again each check.
        assert [(c.student, c.start) for c in prewarm.candidates(s, meeting)] == [("s00", True)]
        rows = prewarm.listing(s, cid)
        with s.connection() as conn:  # the migration matches the ORM's table
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if "prewarms" in repr(d)] == []
    by_student = {r["student"]: r for r in rows}
    assert by_student["s00"]["outcome"] == "skipped"
    assert by_student["s00"]["reason"] == "over the memory budget"
    assert by_student["s04"]["outcome"] == "skipped" and by_student["s04"]["memory_bytes"] == 0
    [summary] = prewarm.meetings_summary(rows)
    assert (summary["started"], summary["skipped"], summary["failed"]) == (2, 3, 0)
    assert summary["memory_bytes"] == budget


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"schedule": None}, "no schedule"),
        ({"end_date": date(2026, 12, 1)}, "its meetings are past"),
        ({"meetings_completed": 4, "lessons_unlocked": 0}, "no meeting left"),
        ({"end_date": date(2026, 12, 9), "start_date": date(2026, 11, 1)}, "its meetings are past"),
    ],
)
def test_misconfigured_schedules_pre_warm_nothing(
    campus_db: sessionmaker[Session], fields: dict[str, object], reason: str
) -> None:
    cid = make_class(campus_db, "Misconfigured", **fields)
    with campus_db() as s:
        found = prewarm.scan(s, NOW, "UTC", LEAD)
    assert cid not in [m.class_id for m in found.due]
    [bad] = [b for b in found.misconfigured if b.class_id == cid]
    assert reason in bad.reason


def test_classes_not_active_are_not_pre_warmed(campus_db: sessionmaker[Session]) -> None:
    cid = make_class(campus_db, "Still enrolling")
    with transaction(campus_db) as s:
        s.get(CampusClass, cid).status = "enrollment_open"
    with campus_db() as s:
        found = prewarm.scan(s, NOW, "UTC", LEAD)
    assert cid not in [m.class_id for m in found.due]
    assert (cid, "enrollment_open") in found.inactive


def test_the_check_interval_is_a_setting() -> None:
    assert Settings.from_env({}).prewarm_interval_seconds == 60.0
    got = Settings.from_env({"NBCAMPUS_PREWARM_INTERVAL": "2.5"})
    assert got.prewarm_interval_seconds == 2.5
    for bad in ("0", "-3", "soon", "7200"):
        with pytest.raises(SettingsError, match="NBCAMPUS_PREWARM_INTERVAL"):
            Settings.from_env({"NBCAMPUS_PREWARM_INTERVAL": bad})


def hub_user(started: datetime, server_activity: datetime, user_activity: datetime) -> dict:
    """The Hub's REST API user model (GET /hub/api/users/<name>) of a running, ready server."""
    iso = lambda when: when.isoformat().replace("+00:00", "Z")  # noqa: E731 - the Hub's format
    return {
        "last_activity": iso(user_activity),
        "servers": {
            "": {"ready": True, "started": iso(started), "last_activity": iso(server_activity)}
        },
    }


def test_used_or_unused_from_the_hubs_activity(campus_db: sessionmaker[Session]) -> None:
    cid = make_class(campus_db, "Used or not")
    with campus_db() as s:
        meeting = next(m for m in prewarm.scan(s, NOW, "UTC", LEAD).due if m.class_id == cid)
    spawned = NOW + timedelta(seconds=3)
    ready = NOW + timedelta(seconds=20)
    with transaction(campus_db) as s:
        for student in ("s00", "s01", "s02", "s03"):
            assert prewarm.claim(s, meeting, student, 512 * MB, 8 * 512 * MB, NOW)
        # s00-s02 seen ready by the pass that started them; s03's start outlived that pass.
        for student in ("s00", "s01", "s02"):
            prewarm.mark_ready(s, meeting, student, spawned, ready)
    with campus_db() as s:
        ids = dict((student, rid) for rid, student in prewarm.watched(s, NOW))
        assert set(ids) == {"s00", "s01", "s02", "s03"}
        assert prewarm.watched(s, meeting.end) == []  # the meeting is over: no more checks
    later = ready + timedelta(minutes=2)
    with transaction(campus_db) as s:
        # s00 logged in a minute after it was ready: used.
        login = ready + timedelta(minutes=1)
        prewarm.observe(s, ids["s00"], hub_user(spawned, spawned, login), later)
        # s01's only activity is the server's own start: unused.
        own = hub_user(spawned, ready - timedelta(seconds=2), spawned)
        prewarm.observe(s, ids["s01"], own, later)
        # s02's pre-warmed server went; the one running now is another: not counted as used,
        # and its reservation is freed.
        other = ready + timedelta(minutes=1)
        prewarm.observe(s, ids["s02"], hub_user(other, later, later), later)
        # s03: first seen ready now; the start's own activity does not count.
        prewarm.observe(s, ids["s03"], hub_user(spawned, spawned, spawned), later)
    with campus_db() as s:
        rows = {r["student"]: r for r in prewarm.listing(s, cid)}
        assert {k for k, r in rows.items() if r["used"]} == {"s00"}
        assert rows["s00"]["used_at"] == (ready + timedelta(minutes=1)).isoformat()
        assert rows["s03"]["ready_at"] == later.isoformat()
        assert rows["s02"]["released_at"] == later.isoformat() and not rows["s02"]["used"]
        # Still watched (used or not) until gone or the meeting's end; s02's is gone.
        assert {student for _, student in prewarm.watched(s, NOW)} == {"s00", "s01", "s03"}
        assert prewarm.reserved(s, later) == 3 * 512 * MB
    [summary] = prewarm.meetings_summary(list(rows.values()))
    assert (summary["started"], summary["used"]) == (4, 1)
    assert prewarm.totals([summary]) == {"started": 4, "used": 1, "memory_bytes": 4 * 512 * MB}


def test_a_freed_reservation_goes_to_a_student_skipped_for_the_budget(
    campus_db: sessionmaker[Session],
) -> None:
    cid = make_class(campus_db, "Freed memory")
    with campus_db() as s:
        meeting = next(m for m in prewarm.scan(s, NOW, "UTC", LEAD).due if m.class_id == cid)
        order = [c.student for c in prewarm.candidates(s, meeting)]
    budget = 2 * 512 * MB
    with transaction(campus_db) as s:
        got = [prewarm.claim(s, meeting, who, 512 * MB, budget, NOW) for who in order[:3]]
    assert got == [True, True, False]
    first, skipped = order[0], order[2]
    with transaction(campus_db) as s:  # the next check: still no room, the skip stands
        assert not prewarm.claim(s, meeting, skipped, 512 * MB, budget, NOW)
        rid = next(r for r, who in prewarm.watched(s, NOW) if who == first)
        prewarm.mark_ready(s, meeting, first, NOW, NOW)
    later = NOW + timedelta(minutes=2)
    with transaction(campus_db) as s:  # the first student's server was culled: no server
        prewarm.observe(s, rid, {"last_activity": None, "servers": {}}, later)
    with campus_db() as s:
        assert prewarm.reserved(s, later) == 512 * MB
        # Again in the order (the two students never reached come after).
        assert [c.student for c in prewarm.candidates(s, meeting)] == [skipped, *order[3:]]
    with transaction(campus_db) as s:
        assert prewarm.claim(s, meeting, skipped, 512 * MB, budget, later)
    with campus_db() as s:
        rows = {r["student"]: r for r in prewarm.listing(s, cid)}
        assert prewarm.reserved(s, later) == budget
        assert [c.student for c in prewarm.candidates(s, meeting)] == order[3:]
    assert rows[skipped]["outcome"] == "started" and rows[skipped]["reason"] == ""
    assert rows[first]["released_at"] == later.isoformat()
    assert len(rows) == 3  # one row per student and meeting, updated in place
    [summary] = prewarm.meetings_summary(list(rows.values()))
    assert (summary["started"], summary["skipped"]) == (3, 0)
    assert (summary["memory_bytes"], summary["freed_bytes"]) == (3 * 512 * MB, 512 * MB)
