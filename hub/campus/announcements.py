"""Announcements per class or course: Markdown rendered safely, optionally scheduled.

The body is rendered once, on write: Markdown with raw HTML escaped (mistune), then cleaned
by an allow-list (bleach) so no script, event handler or javascript: link survives. A
scheduled announcement waits in the database with `sent_at` empty; `deliver_due` sends every
due one exactly once (a conditional UPDATE claims it), so delivery survives a restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import bleach
import mistune
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from .engagement import notify_many
from .orm import Announcement, AnnouncementRead, CampusClass, Course, Enrollment, utcnow

ALLOWED_TAGS = [
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
]  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}
_markdown = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])


def render(body: str) -> str:
    html = str(_markdown(body))
    return bleach.clean(
        html,
        tags=ALLOWED_TAGS + ["del"],
        attributes=ALLOWED_ATTRIBUTES,
        protocols=["http", "https", "mailto"],
        strip=True,
    )


def recipients(session: Session, a: Announcement) -> list[str]:
    query = sa.select(Enrollment.student).where(Enrollment.status == "active")
    if a.class_id is not None:
        query = query.where(Enrollment.class_id == a.class_id)
    else:
        query = query.join(CampusClass, CampusClass.id == Enrollment.class_id).where(
            CampusClass.course_id == a.course_id, CampusClass.status != "cancelled"
        )
    return sorted(set(session.scalars(query)))


def create(
    session: Session,
    *,
    author: str,
    class_id: int | None,
    course_id: int | None,
    title: str,
    body: str,
    publish_at: datetime | None,
) -> Announcement:
    now = utcnow()
    if publish_at is not None and publish_at < now:
        publish_at = now
    a = Announcement(
        class_id=class_id,
        course_id=course_id,
        author=author,
        title=title,
        body=body,
        body_html=render(body),
        publish_at=publish_at or now,
    )
    session.add(a)
    session.flush()
    return a


def deliver(session: Session, a_id: int, now: datetime | None = None) -> int:
    """Send one due announcement if no one has; returns the notifications created."""
    now = now or utcnow()
    claimed = session.execute(
        sa.update(Announcement)
        .where(
            Announcement.id == a_id,
            Announcement.sent_at.is_(None),
            Announcement.publish_at <= now,
        )
        .values(sent_at=now)
    ).rowcount
    if not claimed:
        return 0
    a = session.get(Announcement, a_id, populate_existing=True)  # sent_at was set in SQL
    assert a is not None
    return notify_many(
        session, recipients(session, a), "announcement", a.title, a.body, f"announcement:{a.id}"
    )


def due_ids(session: Session, now: datetime | None = None) -> list[int]:
    return list(
        session.scalars(
            sa.select(Announcement.id).where(
                Announcement.sent_at.is_(None), Announcement.publish_at <= (now or utcnow())
            )
        )
    )


def visible_to_student(session: Session, user: str) -> Any:
    """A filter: sent announcements of the student's classes and their classes' courses."""
    classes = sa.select(Enrollment.class_id).where(
        Enrollment.student == user, Enrollment.status != "withdrawn"
    )
    courses = sa.select(CampusClass.course_id).where(CampusClass.id.in_(classes))
    return sa.and_(
        Announcement.sent_at.is_not(None),
        sa.or_(Announcement.class_id.in_(classes), Announcement.course_id.in_(courses)),
    )


def announcement_dict(
    a: Announcement,
    *,
    read: bool | None = None,
    reads: int | None = None,
    recipients_count: int | None = None,
    course: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": a.id,
        "class_id": a.class_id,
        "course": course,
        "author": a.author,
        "title": a.title,
        "body": a.body,
        "body_html": a.body_html,
        "publish_at": a.publish_at.isoformat(),
        "sent": a.sent_at is not None,
        "sent_at": a.sent_at.isoformat() if a.sent_at else None,
    }
    if read is not None:
        data["read"] = read
    if reads is not None:
        data["read_count"] = reads
        data["recipient_count"] = recipients_count
    return data


def mark_read(session: Session, a_id: int, user: str) -> None:
    a = session.get(Announcement, a_id)
    if a is None or a.sent_at is None:
        raise APIError(404, f"no announcement {a_id}")
    allowed = session.scalar(
        sa.select(Announcement.id).where(Announcement.id == a_id, visible_to_student(session, user))
    )
    if allowed is None:
        raise APIError(404, f"no announcement {a_id}")
    exists = session.scalar(
        sa.select(AnnouncementRead.id).filter_by(announcement_id=a_id, user=user)
    )
    if exists is None:
        session.add(AnnouncementRead(announcement_id=a_id, user=user))
        session.flush()


def course_slug(session: Session, course_id: int | None) -> str | None:
    if course_id is None:
        return None
    return session.scalar(sa.select(Course.slug).where(Course.id == course_id))
