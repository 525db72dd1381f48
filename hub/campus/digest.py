"""The daily email digest's contents: what reached a person since their last digest.

Pure reads of the campus database (the Hub process mails it, see hub/digest_mail.py): the
announcements sent to their classes and courses, their other notifications (badges, levels;
an announcement's own notification is the announcement, listed once) and their new grades.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.hub.campus import visibility
from nbcampus.hub.campus.announcements import visible_to_student
from nbcampus.hub.campus.orm import (
    Account,
    Announcement,
    Exercise,
    GradingResult,
    MailDigest,
    Notification,
    utcnow,
)

EVERY = timedelta(days=1)


@dataclass
class Digest:
    user: str
    since: datetime
    announcements: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    grades: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.announcements or self.notifications or self.grades)

    def text(self, school: str) -> str:
        lines = [f"Your daily digest from {school}.", ""]
        if self.announcements:
            lines.append("Announcements")
            for a in self.announcements:
                lines += [f"* {a['title']}", *("  " + ln for ln in a["body"].splitlines()), ""]
        if self.grades:
            lines.append("New grades")
            for g in self.grades:
                lines.append(f"* {g['exercise']}: {g['score']:g} / {g['max_score']:g}")
            lines.append("")
        if self.notifications:
            lines.append("Notifications")
            lines += [f"* {n['title']}" for n in self.notifications]
            lines.append("")
        lines.append("You get this mail because you switched on the daily digest on your profile.")
        return "\n".join(lines)


def preference(session: Session, user: str) -> bool:
    row = session.get(MailDigest, user)
    return bool(row and row.enabled)


def set_preference(session: Session, user: str, enabled: bool, now: datetime | None = None) -> bool:
    """Switch a person's digest on or off; switched on, it starts from now (not from history)."""
    row = session.get(MailDigest, user)
    if row is None:
        row = MailDigest(user=user, enabled=False, since=now or utcnow())
        session.add(row)
    if enabled and not row.enabled:
        row.since = now or utcnow()
    row.enabled = enabled
    session.flush()
    return enabled


def build(session: Session, user: str, since: datetime, until: datetime) -> Digest:
    """What reached `user` in (since, until]."""
    digest = Digest(user=user, since=since)
    announcements = session.scalars(
        sa.select(Announcement)
        .where(visible_to_student(session, user))
        .where(Announcement.sent_at > since, Announcement.sent_at <= until)
        .order_by(Announcement.sent_at, Announcement.id)
    )
    digest.announcements = [{"title": a.title, "body": a.body} for a in announcements]
    notes = session.scalars(
        sa.select(Notification)
        .where(Notification.user == user, Notification.type != "announcement")
        .where(Notification.created_at > since, Notification.created_at <= until)
        .order_by(Notification.id)
    )
    digest.notifications = [{"type": n.type, "title": n.title} for n in notes]
    grades = session.execute(
        sa.select(GradingResult, Exercise.title)
        .join(Exercise, Exercise.id == GradingResult.exercise_id)
        .where(GradingResult.user == user)
        .where(GradingResult.received_at > since, GradingResult.received_at <= until)
        .order_by(GradingResult.received_at, GradingResult.id)
    )
    grades = list(grades)
    # a score not released yet is not mailed either (visibility.py)
    hidden = visibility.hidden_exercise_ids(session, sorted({g.exercise_id for g, _ in grades}))
    digest.grades = [
        {"exercise": title, "score": g.score, "max_score": g.max_score}
        for g, title in grades
        if g.exercise_id not in hidden
    ]
    return digest


def due(session: Session, now: datetime) -> list[tuple[str, str]]:
    """(user, email) of the active, opted-in people whose last digest is a day old or more."""
    rows = session.execute(
        sa.select(MailDigest.user, Account.email)
        .join(Account, Account.name == MailDigest.user)
        .where(MailDigest.enabled.is_(True), Account.active.is_(True), Account.email != "")
        .where(sa.or_(MailDigest.sent_at.is_(None), MailDigest.sent_at <= now - EVERY))
        .order_by(MailDigest.user)
    )
    return [(u, e) for u, e in rows]


def claim(session: Session, user: str, now: datetime) -> Digest | None:
    """Take the person's digest up to `now` and record it as sent, once: a second caller (a
    restarted Hub, the same day) finds `sent_at` fresh and gets None. The caller's transaction
    commits only after the mail went out, so a failed send leaves the claim undone."""
    claimed = session.execute(
        sa.update(MailDigest)
        .where(MailDigest.user == user, MailDigest.enabled.is_(True))
        .where(sa.or_(MailDigest.sent_at.is_(None), MailDigest.sent_at <= now - EVERY))
        .values(sent_at=now)
    ).rowcount
    if not claimed:
        return None
    row = session.get(MailDigest, user, populate_existing=True)
    assert row is not None
    digest = build(session, user, row.since, now)
    row.since = now
    session.flush()
    return digest
