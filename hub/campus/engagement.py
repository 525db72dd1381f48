"""XP, levels, streaks, badges and notifications: the campus's motivation layer.

XP is an append-only ledger: every award is a row with a reason and a reference, unique per
(user, reason, ref), so an event delivered twice awards once; a revocation is a negative row.
Running totals per user, course and ISO week (`xp_totals`) are kept with each award, so
leaderboards read a small table instead of summing the ledger.

Levels follow one curve: level = floor(sqrt(total_xp / 100)) + 1, i.e. level L starts at
100 * (L - 1)^2 XP (level 2 at 100, level 3 at 400, level 4 at 900, level 5 at 1,600).
A daily streak counts consecutive days with learning activity in the school's time zone;
a missed day starts it again at 1.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from .manifest import BadgeSpec
from .orm import (
    Attendance,
    Badge,
    Course,
    Enrollment,
    Lesson,
    LessonProgress,
    Notification,
    UserBadge,
    UserLevel,
    XpTotal,
    XpTransaction,
    utcnow,
)

XP_REASONS = (
    "lesson_complete",
    "exercise_complete",
    "autograde_passed",
    "attendance",
    "streak",
    "badge",
    "manual",
)
# Awards that count as a day of learning for the streak.
ACTIVITY = frozenset({"lesson_complete", "exercise_complete", "autograde_passed", "attendance"})
NOTIFICATION_TYPES = (
    "lesson_unlocked",
    "announcement",
    "assignment_graded",
    "badge_earned",
    "level_up",
)
BADGE_XP = {"common": 10, "rare": 25, "epic": 50, "legendary": 100}
ALL_COURSES = 0

DEFAULT_BADGES = (
    BadgeSpec("first-pass", "First pass", "Passed an autograded exercise.", "common", "",
              {"kind": "first_autograde_pass"}),
    BadgeSpec("streak-3", "On a roll", "Learned three days in a row.", "common", "",
              {"kind": "streak", "days": 3}),
    BadgeSpec("streak-10", "Ten-day streak", "Learned ten days in a row.", "epic", "",
              {"kind": "streak", "days": 10}),
    BadgeSpec("perfect-attendance", "Perfect attendance",
              "Present at every meeting of a class (at least five).", "rare", "",
              {"kind": "perfect_attendance", "meetings": 5}),
    BadgeSpec("xp-1000", "Thousand", "Earned 1,000 XP.", "rare", "",
              {"kind": "xp_total", "xp": 1000}),
)  # fmt: skip


@dataclass(frozen=True)
class EngagementConfig:
    timezone: str = "UTC"
    lesson_xp: int = 50
    attendance_xp: int = 10
    streak_xp: int = 5
    badges: tuple[BadgeSpec, ...] = field(default=DEFAULT_BADGES)

    def today(self, now: datetime | None = None) -> date:
        return (now or utcnow()).astimezone(ZoneInfo(self.timezone)).date()


CONFIG = EngagementConfig()


def configure(config: EngagementConfig) -> None:
    """Set the service-wide engagement settings (called once at start)."""
    global CONFIG
    ZoneInfo(config.timezone)  # fails early on an unknown zone
    CONFIG = config


def level_for(total_xp: int) -> int:
    return math.isqrt(max(total_xp, 0) // 100) + 1


def xp_for_level(level: int) -> int:
    return 100 * (level - 1) ** 2


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# --- notifications ----------------------------------------------------------------------------
def notify(
    session: Session, user: str, type: str, title: str, body: str = "", ref: str = ""
) -> bool:
    """Add a notification once per (user, type, ref); returns whether it is new."""
    # One round trip and no savepoint: the unique (user, type, ref) decides, even under races.
    stmt = _insert(session, Notification).values(
        user=user, type=type, title=title[:300], body=body, ref=ref[:200], created_at=utcnow()
    )
    stmt = stmt.on_conflict_do_nothing(index_elements=["user", "type", "ref"])
    return session.execute(stmt.returning(Notification.id)).scalar() is not None


def notify_many(
    session: Session, users: list[str], type: str, title: str, body: str, ref: str
) -> int:
    if not users:
        return 0
    have = set(
        session.scalars(
            sa.select(Notification.user).where(
                Notification.user.in_(users), Notification.type == type, Notification.ref == ref
            )
        )
    )
    new = [u for u in dict.fromkeys(users) if u not in have]
    session.add_all(
        Notification(user=u, type=type, title=title[:300], body=body, ref=ref[:200]) for u in new
    )
    session.flush()
    return len(new)


def notification_dict(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "type": n.type,
        "title": n.title,
        "body": n.body,
        "ref": n.ref,
        "read": n.read_at is not None,
        "created_at": n.created_at.isoformat(),
    }


# --- the ledger ----------------------------------------------------------------------------------
def _insert(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _bump_totals(session: Session, rows: list[tuple[str, int | None, int]], week: str) -> None:
    """Add amounts to the running totals: all courses and the course, all time and the week."""
    values = []
    for user, course_id, amount in rows:
        for cid in {ALL_COURSES, course_id or ALL_COURSES}:
            for period in ("all", week):
                values.append({"user": user, "course_id": cid, "period": period, "total": amount})
    merged: dict[tuple[str, int, str], int] = {}
    for v in values:
        key = (v["user"], v["course_id"], v["period"])
        merged[key] = merged.get(key, 0) + v["total"]
    # One cached statement run with many parameter sets (a multi-row VALUES literal would be
    # compiled anew on every call).
    stmt = _insert(session, XpTotal)
    stmt = stmt.on_conflict_do_update(
        index_elements=["user", "course_id", "period"],
        set_={"total": XpTotal.total + stmt.excluded.total},
    )
    session.connection().execute(
        stmt,
        [{"user": u, "course_id": c, "period": p, "total": t} for (u, c, p), t in merged.items()],
    )


def _levels(session: Session, users: list[str]) -> dict[str, UserLevel]:
    """The users' level rows, created when missing, locked for this transaction."""
    # One statement creates missing rows, locks them all and returns them: a no-op update
    # on conflict takes the row lock like SELECT ... FOR UPDATE would.
    stmt = _insert(session, UserLevel)
    stmt = stmt.on_conflict_do_update(
        index_elements=["user"], set_={"user": stmt.excluded.user}
    ).returning(UserLevel)
    rows = session.scalars(
        stmt,
        [{"user": u} for u in sorted(set(users))],
        execution_options={"populate_existing": True},
    ).all()
    return {r.user: r for r in rows}


@dataclass
class Award:
    transaction: XpTransaction
    level_up: bool = False
    badges: list[str] = field(default_factory=list)


def award(
    session: Session,
    user: str,
    amount: int,
    reason: str,
    ref: str,
    *,
    course_id: int | None = None,
    by: str = "system",
    note: str = "",
    now: datetime | None = None,
    _level: UserLevel | None = None,
) -> Award | None:
    """Award (or with a negative amount, revoke) XP once per (user, reason, ref).

    `_level` is the user's level row when a nested award (streak, badge) already holds it."""
    if reason not in XP_REASONS:
        raise APIError(400, f"'reason' must be one of: {', '.join(XP_REASONS)}", field="reason")
    now = now or utcnow()
    values = {
        "user": user,
        "amount": amount,
        "reason": reason,
        "ref": ref[:200],
        "course_id": course_id,
        "note": note,
        "created_by": by,
        "created_at": now,
    }
    # One round trip, no savepoint: the unique (user, reason, ref) decides, even under races.
    stmt = _insert(session, XpTransaction).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=["user", "reason", "ref"])
    new_id = session.execute(stmt.returning(XpTransaction.id)).scalar()
    if new_id is None:
        return None  # this event was awarded before
    tx = XpTransaction(id=new_id, **values)  # a record of what was written, not re-read
    today = CONFIG.today(now)
    _bump_totals(session, [(user, course_id, amount)], week_of(today))
    level = _level if _level is not None else _levels(session, [user])[user]
    result = Award(tx)
    result.level_up = _apply(session, level, amount, now)
    if amount > 0 and reason in ACTIVITY:
        _streak(session, level, today, course_id, now)
    result.badges = evaluate_badges(session, user, reason, course_id, level)
    return result


def _apply(session: Session, level: UserLevel, amount: int, now: datetime) -> bool:
    before = level.level
    level.total_xp += amount
    level.level = level_for(level.total_xp)
    level.updated_at = now
    if level.level > before:
        notify(
            session,
            level.user,
            "level_up",
            f"Level {level.level}!",
            f"You reached level {level.level} with {level.total_xp} XP.",
            f"level:{level.level}",
        )
        return True
    return False


def _streak(session: Session, level: UserLevel, today: date, course_id: int | None, now) -> None:
    last = level.last_active_date
    if last == today:
        return
    level.current_streak = level.current_streak + 1 if last and (today - last).days == 1 else 1
    level.longest_streak = max(level.longest_streak, level.current_streak)
    level.last_active_date = today
    if level.current_streak >= 2 and CONFIG.streak_xp:
        award(
            session,
            level.user,
            CONFIG.streak_xp,
            "streak",
            f"streak:{today.isoformat()}",
            note=f"{level.current_streak}-day streak",
            now=now,
            _level=level,
        )


def award_attendance(
    session: Session, marks: list[tuple[str, int, int]], course_id: int, now: datetime | None = None
) -> None:
    """XP for a whole meeting at once: (user, attendance id, amount) rows, all new events.

    Bulk statements keep a 50-student meeting within one round trip per table."""
    if not marks:
        return
    now = now or utcnow()
    today = CONFIG.today(now)
    session.add_all(
        XpTransaction(
            user=u,
            amount=a,
            reason="attendance",
            ref=f"attendance:{ref}",
            course_id=course_id,
            created_at=now,
        )
        for u, ref, a in marks
    )
    session.flush()
    _bump_totals(session, [(u, course_id, a) for u, _, a in marks], week_of(today))
    levels = _levels(session, [u for u, _, _ in marks])
    for user, _, amount in marks:
        _apply(session, levels[user], amount, now)
        if amount > 0:
            _streak(session, levels[user], today, course_id, now)
    _attendance_badges(session, sorted(levels), levels)


def _attendance_badges(session: Session, users: list[str], levels: dict[str, UserLevel]) -> None:
    """The badges a meeting may earn, for the whole meeting in three queries."""
    badges = [
        (b, b.criteria)
        for b in badge_defs(session)
        if b.course_id is None and b.criteria.get("kind") in ("perfect_attendance", "xp_total")
    ]
    if not badges:
        return
    held = set(
        session.execute(
            sa.select(UserBadge.user, UserBadge.badge_id).where(
                UserBadge.user.in_(users), UserBadge.badge_id.in_([b.id for b, _ in badges])
            )
        ).all()
    )
    runs: dict[str, list[tuple[int, int]]] = {}
    if any(c["kind"] == "perfect_attendance" for _, c in badges):
        present = sa.func.sum(sa.case((Attendance.status == "present", 1), else_=0))
        for student, total, p in session.execute(
            sa.select(Enrollment.student, sa.func.count(), present)
            .select_from(Attendance)
            .join(Enrollment, Enrollment.id == Attendance.enrollment_id)
            .where(Enrollment.student.in_(users))
            .group_by(Attendance.enrollment_id, Enrollment.student)
        ):
            runs.setdefault(student, []).append((int(total), int(p or 0)))
    for user in users:
        for badge, criteria in badges:
            if (user, badge.id) in held:
                continue
            if criteria["kind"] == "xp_total":
                met = levels[user].total_xp >= int(criteria.get("xp", 0))
            else:
                need = int(criteria.get("meetings", 5))
                met = any(t >= need and p == t for t, p in runs.get(user, []))
            if met:
                grant_badge(session, user, badge, levels[user])


# --- badges --------------------------------------------------------------------------------------
def sync_badges(session: Session, specs: tuple[BadgeSpec, ...], course_id: int | None) -> None:
    for spec in specs:
        badge = session.scalar(sa.select(Badge).where(Badge.slug == spec.slug))
        if badge is None:
            badge = Badge(slug=spec.slug)
            session.add(badge)
        badge.name, badge.description, badge.image = spec.name, spec.description, spec.image
        badge.rarity, badge.criteria = spec.rarity, json.dumps(spec.criteria)
        badge.course_id = course_id
    session.flush()
    forget_badge_defs()


def badge_dict(b: Badge) -> dict[str, Any]:
    return {
        "slug": b.slug,
        "name": b.name,
        "description": b.description,
        "image": b.image,
        "rarity": b.rarity,
        "criteria": json.loads(b.criteria or "{}"),
    }


# Which criteria an event may newly satisfy (the others need not be checked).
RELEVANT = {
    "autograde_passed": {"first_autograde_pass"},
    "lesson_complete": {"course_complete", "lessons_completed"},
    "attendance": {"perfect_attendance"},
    "streak": {"streak"},
}


def course_completed(session: Session, user: str, course_id: int) -> bool:
    """Every active lesson of the course completed by the user (a course with none: never);
    the "course_complete" badge and the course's certificate both ask this."""
    total = session.scalar(
        sa.select(sa.func.count())
        .select_from(Lesson)
        .where(Lesson.course_id == course_id, Lesson.retired.is_(False))
    )
    done = session.scalar(
        sa.select(sa.func.count())
        .select_from(LessonProgress)
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(
            LessonProgress.user == user,
            LessonProgress.completed.is_(True),
            Lesson.course_id == course_id,
            Lesson.retired.is_(False),
        )
    )
    return bool(total) and int(done or 0) >= int(total or 0)


def _met(session: Session, user: str, criteria: dict[str, Any], level: UserLevel | None) -> bool:
    kind = criteria.get("kind")
    if kind == "xp_total":
        return bool(level and level.total_xp >= int(criteria.get("xp", 0)))
    if kind == "streak":
        return bool(level and level.current_streak >= int(criteria.get("days", 1)))
    if kind == "first_autograde_pass":
        return bool(
            session.scalar(
                sa.select(XpTransaction.id)
                .where(XpTransaction.user == user, XpTransaction.reason == "autograde_passed")
                .limit(1)
            )
        )
    if kind == "lessons_completed":
        done = session.scalar(
            sa.select(sa.func.count())
            .select_from(LessonProgress)
            .where(LessonProgress.user == user, LessonProgress.completed.is_(True))
        )
        return int(done or 0) >= int(criteria.get("count", 1))
    if kind == "course_complete":
        course_id = session.scalar(
            sa.select(Course.id).where(Course.slug == criteria.get("course"))
        )
        if course_id is None:
            return False
        return course_completed(session, user, course_id)
    if kind == "perfect_attendance":
        need = int(criteria.get("meetings", 5))
        present = sa.func.sum(sa.case((Attendance.status == "present", 1), else_=0))
        rows = session.execute(
            sa.select(sa.func.count(), present)
            .select_from(Attendance)
            .join(Enrollment, Enrollment.id == Attendance.enrollment_id)
            .where(Enrollment.student == user)
            .group_by(Attendance.enrollment_id)
        ).all()
        return any(total >= need and int(p or 0) == total for total, p in rows)
    return False


@dataclass(frozen=True)
class BadgeDef:
    """A badge as the evaluator needs it, read once and kept (see `badge_defs`)."""

    id: int
    slug: str
    name: str
    description: str
    rarity: str
    course_id: int | None
    criteria: dict[str, Any]


# Badge definitions change only on start-up and course import, but are read on every award:
# keep them per database for a short while instead of a query (and JSON parsing) per award.
BADGE_CACHE_SECONDS = 30.0
_badge_cache: dict[str, tuple[float, tuple[BadgeDef, ...]]] = {}


def badge_defs(session: Session) -> tuple[BadgeDef, ...]:
    key = str(session.get_bind().url)
    hit = _badge_cache.get(key)
    if hit and time.monotonic() - hit[0] < BADGE_CACHE_SECONDS:
        return hit[1]
    defs = tuple(
        BadgeDef(b.id, b.slug, b.name, b.description, b.rarity, b.course_id,
                 json.loads(b.criteria or "{}"))
        for b in session.scalars(sa.select(Badge).order_by(Badge.id))
    )  # fmt: skip
    _badge_cache[key] = (time.monotonic(), defs)
    return defs


def forget_badge_defs() -> None:
    _badge_cache.clear()


# Criteria decided by the level row alone, checked before asking the database anything.
LEVEL_CRITERIA = frozenset({"xp_total", "streak"})


def evaluate_badges(
    session: Session,
    user: str,
    reason: str,
    course_id: int | None = None,
    level: UserLevel | None = None,
) -> list[str]:
    """Award every badge whose criteria the user now meets; each badge once.

    Only the criteria the event can change are checked, and a course's own badges only for
    events of that course. The common award (no threshold crossed) costs no query at all."""
    kinds = RELEVANT.get(reason, set()) | {"xp_total"}
    if level is None:
        level = session.get(UserLevel, user)
    candidates = [
        b
        for b in badge_defs(session)
        if b.criteria.get("kind") in kinds
        and (b.course_id is None or b.course_id == course_id)
        and (b.criteria["kind"] not in LEVEL_CRITERIA or _met(session, user, b.criteria, level))
    ]
    if not candidates:
        return []
    held = set(
        session.scalars(
            sa.select(UserBadge.badge_id).where(
                UserBadge.user == user, UserBadge.badge_id.in_([b.id for b in candidates])
            )
        )
    )
    won = []
    for badge in candidates:
        if badge.id in held:
            continue
        if badge.criteria["kind"] in LEVEL_CRITERIA or _met(session, user, badge.criteria, level):
            if grant_badge(session, user, badge, level):
                won.append(badge.slug)
    return won


def grant_badge(
    session: Session, user: str, badge: Badge | BadgeDef, level: UserLevel | None = None
) -> bool:
    """Give a badge once (its notification and XP with it); False when already held."""
    stmt = _insert(session, UserBadge).values(user=user, badge_id=badge.id, awarded_at=utcnow())
    stmt = stmt.on_conflict_do_nothing(index_elements=["user", "badge_id"])
    if session.execute(stmt.returning(UserBadge.id)).scalar() is None:
        return False
    notify(
        session,
        user,
        "badge_earned",
        f"Badge: {badge.name}",
        badge.description,
        f"badge:{badge.slug}",
    )
    award(
        session, user, BADGE_XP.get(badge.rarity, 10), "badge", f"badge:{badge.slug}",
        _level=level,
    )  # fmt: skip
    return True


def level_dict(session: Session, user: str) -> dict[str, Any]:
    row = session.get(UserLevel, user)
    xp = row.total_xp if row else 0
    level = level_for(xp)
    streak = row.current_streak if row else 0
    if row and row.last_active_date and (CONFIG.today() - row.last_active_date).days > 1:
        streak = 0  # a missed day broke it
    return {
        "user": user,
        "total_xp": xp,
        "level": level,
        "level_start_xp": xp_for_level(level),
        "next_level_xp": xp_for_level(level + 1),
        "current_streak": streak,
        "longest_streak": row.longest_streak if row else 0,
        "last_active_date": row.last_active_date.isoformat()
        if row and row.last_active_date
        else None,
        "leaderboard_opt_out": bool(row and row.leaderboard_opt_out),
    }


EXERCISE_REASONS = ("autograde_passed", "exercise_complete")


def submission_note(submission_id: str) -> str:
    """The note of the XP award a grading result earned: how its XP is found again."""
    return f"submission:{submission_id}"[:200]


def submission_xp(session: Session, user: str, submission_id: str) -> int:
    """The XP a submission's results earned for their exercises (lesson, course, streak and
    badge awards that followed are not the submission's)."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(XpTransaction.amount), 0)).where(
            XpTransaction.user == user,
            XpTransaction.reason.in_(EXERCISE_REASONS),
            XpTransaction.note == submission_note(submission_id),
        )
    )
    return int(total or 0)


def on_progress(
    session: Session,
    user: str,
    exercise_id: int,
    exercise_xp: int,
    lesson_id: int,
    course_id: int,
    *,
    exercise_completed: bool,
    lesson_completed: bool,
    autograde: bool,
    note: str = "",
) -> None:
    """XP (and through it badges, levels, streaks) for newly completed work; `note` marks the
    exercise's award (the submission whose result completed it)."""
    if exercise_completed:
        reason = "autograde_passed" if autograde else "exercise_complete"
        award(session, user, exercise_xp, reason, f"exercise:{exercise_id}", course_id=course_id,
              note=note)  # fmt: skip
    if lesson_completed:
        award(session, user, CONFIG.lesson_xp, "lesson_complete", f"lesson:{lesson_id}",
              course_id=course_id)  # fmt: skip
