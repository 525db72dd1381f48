"""Course review: draft -> in review -> published, or returned to draft with a reason; archive
as a soft delete that restores the course's earlier status. Students see published courses
only (every student read path checks `status == "published"`).

Who may do what: a course's instructors (those teaching one of its classes) send it for review
and withdraw it; admins publish, return, unpublish, archive and restore.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import audit
from .orm import Course, utcnow

STATUSES = ("draft", "in_review", "published", "archived")


class ReviewError(ValueError):
    def __init__(self, message: str, status: int = 409, field: str = "action") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class Move:
    sources: tuple[str, ...]
    target: str  # "" for restore: the status the course had when archived
    by: str  # "teacher" (the course's instructors, and admins) or "admin"
    needs_note: bool = False


MOVES: dict[str, Move] = {
    "submit": Move(("draft",), "in_review", "teacher"),
    "withdraw": Move(("in_review",), "draft", "teacher"),
    "publish": Move(("in_review",), "published", "admin"),
    "return": Move(("in_review",), "draft", "admin", needs_note=True),
    "unpublish": Move(("published",), "draft", "admin", needs_note=True),
    "archive": Move(("draft", "in_review", "published"), "archived", "admin"),
    "restore": Move(("archived",), "", "admin"),
}
ACTIONS = tuple(MOVES)
DONE = {
    "submit": "sent for review",
    "withdraw": "withdrawn",
    "publish": "published",
    "return": "returned",
    "unpublish": "unpublished",
    "archive": "archived",
    "restore": "restored",
}


def action_for_status(current: str, wanted: str, is_admin: bool) -> str | None:
    """The action that takes a course from `current` to `wanted` (for PATCH {status}); None
    when it is there already."""
    if current == wanted:
        return None
    if current == "archived":
        return "restore"
    if wanted == "draft":
        if current == "in_review":
            return "return" if is_admin else "withdraw"
        return "unpublish"
    return {"in_review": "submit", "published": "publish", "archived": "archive"}.get(wanted, "")


def review_state(course: Course) -> dict[str, Any]:
    return {
        "status": course.status,
        "review_note": course.review_note or "",
        "archived_from": course.archived_from,
    }


def apply(
    session: Session,
    course: Course,
    action: str,
    actor: str,
    *,
    is_admin: bool,
    teaches: bool,
    note: str = "",
) -> dict[str, Any]:
    """Move `course` by `action` in the caller's transaction, audited; returns its new state."""
    move = MOVES.get(action)
    if move is None:
        raise ReviewError(f"action must be one of {', '.join(ACTIONS)}", 400)
    if move.by == "admin" and not is_admin:
        raise ReviewError(f"only an admin may {action} a course", 403)
    if move.by == "teacher" and not (is_admin or teaches):
        raise ReviewError(f"only the course's instructors may {action} it", 403)
    if course.status not in move.sources:
        raise ReviewError(
            f"a course that is {course.status.replace('_', ' ')} cannot be {DONE[action]}"
            f" (only from {' or '.join(s.replace('_', ' ') for s in move.sources)})"
        )
    note = note.strip()
    if move.needs_note and not note:
        raise ReviewError(f"say why the course is {DONE[action]}", 400, "note")
    before = review_state(course)
    now = utcnow()
    if action == "restore":
        course.status = course.archived_from or "draft"
        course.archived_from = None
    elif action == "archive":
        course.archived_from = course.status
        course.status = "archived"
    else:
        course.status = move.target
    if action in ("return", "unpublish"):
        course.review_note = note
    elif action in ("submit", "publish"):
        course.review_note = note if action == "submit" else ""
    if course.status == "published" and course.published_at is None:
        course.published_at = now
    course.updated_at = now
    after = review_state(course)
    audit.record(session, actor, f"course.{action}", "course", course.slug, before, after)
    return after


def review_list(session: Session, status: str | None = None) -> list[dict[str, Any]]:
    """Courses for the review screen: those waiting for review first."""
    order = sa.case(
        {"in_review": 0, "draft": 1, "published": 2, "archived": 3}, value=Course.status
    )
    query = sa.select(Course).order_by(order, Course.title)
    if status:
        query = query.where(Course.status == status)
    return [
        {
            "slug": c.slug,
            "title": c.title,
            "status": c.status,
            "review_note": c.review_note or "",
            "archived_from": c.archived_from,
            "updated_at": c.updated_at.isoformat() if c.updated_at else None,
            "published_at": c.published_at.isoformat() if c.published_at else None,
        }
        for c in session.scalars(query)
    ]
