"""Pre-warming from the class schedule: which meetings are due, whose servers to start first,
what the memory budget still allows, and the record of each decision.

Before an active class's meeting starts (the lead, 10 minutes by default) the campus asks the
Hub to start its enrolled students' servers (prewarm_hub.py), most punctual first, while the
servers started for meetings not yet over fit in the operator's memory budget. Every student
considered gets one row in `prewarms` per meeting: started (memory reserved until the
meeting ends, or until the server is found gone), skipped or failed, with the reason. A
student skipped for the budget is considered again at each check until the meeting starts:
a reservation freed by a culled server goes to them. This module only reads and writes the
campus database; it never talks to the Hub.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .classes import WEEKDAYS
from .orm import Account, Attendance, CampusClass, Enrollment, Prewarm

log = logging.getLogger("nbcampus.campus.prewarm")


@dataclass(frozen=True)
class Meeting:
    class_id: int
    number: int
    start: datetime  # aware, UTC
    end: datetime


@dataclass(frozen=True)
class Misconfigured:
    """An active class whose schedule gives no meeting to pre-warm for."""

    class_id: int
    reason: str


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # SQLite gives naive UTC back


def next_meeting(klass: CampusClass, now: datetime, tz: str) -> Meeting | Misconfigured:
    """The class's next meeting that has not started yet, from its weekly schedule (in the
    school's time zone) within its start and end dates; or why there is none."""
    if not klass.schedule:
        return Misconfigured(klass.id, "the class has no schedule")
    try:
        schedule = json.loads(klass.schedule)
        days = {WEEKDAYS.index(d) for d in schedule["days"]}
        start_s, end_s = schedule["time"].split("-")
        starts, ends = time.fromisoformat(start_s), time.fromisoformat(end_s)
    except (ValueError, KeyError, TypeError, AttributeError):
        return Misconfigured(klass.id, f"the schedule {klass.schedule!r} cannot be read")
    if klass.meetings_completed >= klass.total_meetings:
        return Misconfigured(
            klass.id, f"all {klass.total_meetings} meetings are held: no meeting left"
        )
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    if klass.end_date and klass.end_date < today:
        return Misconfigured(
            klass.id, f"the schedule ended on {klass.end_date.isoformat()}: its meetings are past"
        )
    if klass.start_date and klass.end_date and klass.end_date < klass.start_date:
        return Misconfigured(klass.id, "the class ends before it starts")
    first: date = max(today, klass.start_date or today)
    for offset in range(8):
        day = first + timedelta(days=offset)
        if klass.end_date and day > klass.end_date:
            break
        if day.weekday() not in days:
            continue
        begin = datetime.combine(day, starts, zone)
        if begin <= now:
            continue  # today's meeting has begun: pre-warming is for before it
        end = datetime.combine(day, ends, zone)
        return Meeting(
            klass.id, klass.meetings_completed + 1, begin.astimezone(UTC), end.astimezone(UTC)
        )
    return Misconfigured(
        klass.id,
        f"no meeting left before the class's end date ({klass.end_date}): its meetings are past",
    )


@dataclass(frozen=True)
class DueScan:
    due: list[Meeting]
    misconfigured: list[Misconfigured]
    inactive: list[tuple[int, str]]  # (class id, status) of classes not active with a meeting due


def scan(session: Session, now: datetime, tz: str, lead: timedelta) -> DueScan:
    """Meetings of active classes starting within the lead; active classes whose schedule is
    unusable; other classes (not active) that would have a meeting within the lead."""
    due: list[Meeting] = []
    bad: list[Misconfigured] = []
    inactive: list[tuple[int, str]] = []
    for klass in session.scalars(
        sa.select(CampusClass).where(CampusClass.status.not_in(("completed", "cancelled")))
    ):
        found = next_meeting(klass, now, tz)
        if klass.status != "active":
            if isinstance(found, Meeting) and found.start - lead <= now:
                inactive.append((klass.id, klass.status))
            continue
        if isinstance(found, Misconfigured):
            bad.append(found)
        elif found.start - lead <= now:
            due.append(found)
    return DueScan(due, bad, inactive)


def punctuality(session: Session, class_id: int) -> dict[str, float]:
    """Each enrolled student's share of earlier meetings they came to on time (present 1,
    late ½, absent 0), from the class's attendance: who usually logs in first."""
    rows = session.execute(
        sa.select(Enrollment.student, Attendance.status, sa.func.count())
        .join(Attendance, Attendance.enrollment_id == Enrollment.id)
        .where(Enrollment.class_id == class_id)
        .group_by(Enrollment.student, Attendance.status)
    ).all()
    weights = {"present": 1.0, "late": 0.5}
    totals: dict[str, list[float]] = {}
    for student, status, count in rows:
        got = totals.setdefault(student, [0.0, 0.0])
        got[0] += weights.get(status, 0.0) * count
        got[1] += count
    return {s: on_time / marked for s, (on_time, marked) in totals.items() if marked}


@dataclass(frozen=True)
class Candidate:
    student: str
    start: bool  # False: recorded as skipped with `reason`
    reason: str = ""


def candidates(session: Session, meeting: Meeting) -> list[Candidate]:
    """The class's students not yet considered for this meeting, in pre-warm order: enrolled
    ones with an active account, most punctual first (no attendance yet: in the middle), then
    those to record as skipped (withdrawn, account disabled). A student skipped for the
    budget is considered again (memory may have been freed since)."""
    done = set(
        session.scalars(
            sa.select(Prewarm.student).where(
                Prewarm.class_id == meeting.class_id,
                Prewarm.meeting_start == meeting.start,
                sa.or_(Prewarm.outcome != "skipped", Prewarm.reason != OVER_BUDGET),
            )
        )
    )
    rows = session.execute(
        sa.select(Enrollment.student, Enrollment.status, Account.active)
        .outerjoin(Account, Account.name == Enrollment.student)
        .where(Enrollment.class_id == meeting.class_id)
        .order_by(Enrollment.student)
    ).all()
    score = punctuality(session, meeting.class_id)
    start: list[Candidate] = []
    skip: list[Candidate] = []
    seen: set[str] = set()
    for student, status, active in rows:
        if student in done or student in seen:
            continue
        seen.add(student)
        if status != "active":
            skip.append(Candidate(student, False, f"enrollment is {status}"))
        elif not active:
            skip.append(Candidate(student, False, "account disabled or missing"))
        else:
            start.append(Candidate(student, True))
    start.sort(key=lambda c: (-score.get(c.student, 0.5), c.student))
    return start + skip


OVER_BUDGET = "over the memory budget"


def reserved(session: Session, now: datetime) -> int:
    """Memory of the servers pre-started for meetings not over yet and not found gone: what
    the budget holds."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Prewarm.memory_bytes), 0)).where(
            Prewarm.outcome == "started",
            Prewarm.meeting_end > now,
            Prewarm.released_at.is_(None),
        )
    )
    return int(total or 0)


def _row(session: Session, meeting: Meeting, student: str) -> tuple[Prewarm, bool]:
    """The student's pre-warm row for `meeting`, and whether it was just made."""
    row = session.scalars(
        sa.select(Prewarm).where(
            Prewarm.class_id == meeting.class_id,
            Prewarm.meeting_start == meeting.start,
            Prewarm.student == student,
        )
    ).one_or_none()
    if row is not None:
        return row, False
    row = Prewarm(
        class_id=meeting.class_id,
        meeting_number=meeting.number,
        meeting_start=meeting.start,
        meeting_end=meeting.end,
        student=student,
    )
    session.add(row)
    return row, True


def claim(
    session: Session, meeting: Meeting, student: str, memory: int, budget: int, now: datetime
) -> bool:
    """Record `student`'s server as started for `meeting` with `memory` reserved, if that fits
    in the budget; otherwise record the skip. Called in a transaction before the Hub is asked,
    so the budget holds even if the start is slow or the service stops half-way. A student
    skipped for the budget before keeps that row until it fits."""
    fits = reserved(session, now) + memory <= budget
    row, new = _row(session, meeting, student)
    if not new and not fits:
        return False  # still over: the skip recorded before stands
    row.outcome = "started" if fits else "skipped"
    row.reason = "" if fits else OVER_BUDGET
    row.memory_bytes = memory if fits else 0
    row.at = now
    return fits


def record(session: Session, meeting: Meeting, student: str, outcome: str, reason: str) -> None:
    """Record a student considered and not started (skipped, failed) with no memory reserved;
    a row claimed as started is updated in place (the Hub refused, or it already ran)."""
    row, _ = _row(session, meeting, student)
    row.outcome, row.reason, row.memory_bytes = outcome, reason[:2000], 0


# The Hub's clock and the campus's may differ a little (separate machines on Kubernetes).
USE_SLACK = timedelta(seconds=5)


def hub_time(value: str | None) -> datetime | None:
    """A timestamp of the Hub's REST API (ISO 8601, "Z" or an offset) as an aware datetime."""
    if not value:
        return None
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def mark_ready(
    session: Session, meeting: Meeting, student: str, server_started: datetime | None, now: datetime
) -> None:
    """Note which server the Hub started (its start time) and when the campus saw it ready:
    activity after that is the student's, not the server's own start."""
    row = session.scalars(
        sa.select(Prewarm).where(
            Prewarm.class_id == meeting.class_id,
            Prewarm.meeting_start == meeting.start,
            Prewarm.student == student,
        )
    ).one_or_none()
    if row is not None and row.ready_at is None:
        row.server_started, row.ready_at = server_started, now


def watched(session: Session, now: datetime) -> list[tuple[int, str]]:
    """(row id, student) of started servers still there as far as the campus knows, whose
    meeting is not over."""
    rows = session.execute(
        sa.select(Prewarm.id, Prewarm.student).where(
            Prewarm.outcome == "started",
            Prewarm.released_at.is_(None),
            Prewarm.meeting_end > now,
        )
    )
    return [(row_id, student) for row_id, student in rows]


def observe(session: Session, row_id: int, user: dict[str, Any] | None, now: datetime) -> None:
    """Record what the Hub's user model says of a pre-warmed server: seen ready (if the start
    outlived the pass that asked for it), or used: activity of the user or the server later
    than when it was ready; or gone: no server, or another than the one pre-started (culled,
    and the student started a new one), which frees its reservation before the meeting ends."""
    row = session.get(Prewarm, row_id)
    if row is None or row.released_at is not None:
        return
    server = ((user or {}).get("servers") or {}).get("")
    started = hub_time((server or {}).get("started"))
    if not server or (row.server_started is not None and started != _aware(row.server_started)):
        row.released_at = now
        return
    if row.used_at is not None or not server.get("ready"):
        return
    if row.ready_at is None:
        row.server_started, row.ready_at = started, now
        return
    seen = [hub_time(server.get("last_activity")), hub_time((user or {}).get("last_activity"))]
    last = max((s for s in seen if s is not None), default=None)
    if last is not None and last > _aware(row.ready_at) + USE_SLACK:
        row.used_at = last


def as_dict(row: Prewarm, class_name: str = "") -> dict[str, Any]:
    return {
        "id": row.id,
        "class_id": row.class_id,
        "class_name": class_name,
        "meeting_number": row.meeting_number,
        "meeting_start": _aware(row.meeting_start).isoformat(),
        "meeting_end": _aware(row.meeting_end).isoformat(),
        "student": row.student,
        "outcome": row.outcome,
        "reason": row.reason,
        "memory_bytes": row.memory_bytes,
        "at": _aware(row.at).isoformat(),
        "ready_at": _aware(row.ready_at).isoformat() if row.ready_at else None,
        "used_at": _aware(row.used_at).isoformat() if row.used_at else None,
        "used": row.used_at is not None,
        "released_at": _aware(row.released_at).isoformat() if row.released_at else None,
    }


# Started servers first, then failures, then the students skipped.
_OUTCOME_ORDER = sa.case({"started": 0, "failed": 1}, value=Prewarm.outcome, else_=2)


def listing(
    session: Session, class_id: int | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """The newest pre-warm records (of one class, or all), newest meeting first."""
    query = (
        sa.select(Prewarm, CampusClass.name)
        .join(CampusClass, CampusClass.id == Prewarm.class_id)
        .order_by(Prewarm.meeting_start.desc(), _OUTCOME_ORDER, Prewarm.id)
        .limit(limit)
    )
    if class_id is not None:
        query = query.where(Prewarm.class_id == class_id)
    return [as_dict(row, name) for row, name in session.execute(query)]


def meetings_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows grouped by class and meeting: how many started (of them used), skipped, failed,
    memory reserved, and of it freed before the meeting's end (the server was gone)."""
    groups: dict[tuple[int, str], dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(
            (r["class_id"], r["meeting_start"]),
            {
                "class_id": r["class_id"],
                "class_name": r["class_name"],
                "meeting_number": r["meeting_number"],
                "meeting_start": r["meeting_start"],
                "started": 0,
                "skipped": 0,
                "failed": 0,
                "used": 0,
                "memory_bytes": 0,
                "freed_bytes": 0,
            },
        )
        g[r["outcome"]] += 1
        g["used"] += bool(r.get("used"))
        g["freed_bytes"] += r["memory_bytes"] if r.get("released_at") else 0
        g["memory_bytes"] += r["memory_bytes"]
    return list(groups.values())


def totals(meetings: list[dict[str, Any]]) -> dict[str, int]:
    """Over the meetings listed: servers started, of them used, memory reserved."""
    return {
        "started": sum(m["started"] for m in meetings),
        "used": sum(m["used"] for m in meetings),
        "memory_bytes": sum(m["memory_bytes"] for m in meetings),
    }
