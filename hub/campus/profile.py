"""A person's profile, their data export, and their requests to have their data deleted.

Shared by the campus API (`handlers/profile.py`) and the Hub's profile page, so both show the
same thing. The export is everything the campus keeps about one person, except secrets (the
password hash).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from . import certificates, engagement, visibility
from .orm import (
    Account,
    Attendance,
    Badge,
    CreditAdjustment,
    DeletionRequest,
    Enrollment,
    ExerciseProgress,
    GradingResult,
    LessonProgress,
    Notification,
    QuizAttempt,
    UserBadge,
    UserLevel,
    XpTransaction,
    utcnow,
)

MAX_REASON = 2000
XP_HISTORY = 100


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def account_dict(session: Session, user: str) -> dict[str, Any]:
    account = session.scalar(sa.select(Account).where(Account.name == user))
    if account is None:  # a Hub user without a campus account (an LMS-only or service user)
        return {"name": user, "display_name": "", "email": "", "role": "student", "source": ""}
    return {
        "name": account.name,
        "display_name": account.display_name,
        "email": account.email,
        "role": account.role,
        "source": account.source,
        "created_at": _iso(account.created_at),
    }


def badges(session: Session, user: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(earned, still to earn), each in the badges' own order."""
    held = dict(
        session.execute(
            sa.select(UserBadge.badge_id, UserBadge.awarded_at).where(UserBadge.user == user)
        ).all()
    )
    earned, to_earn = [], []
    for b in session.scalars(sa.select(Badge).order_by(Badge.id)):
        if b.id in held:
            earned.append({**engagement.badge_dict(b), "earned_at": _iso(held[b.id])})
        else:
            to_earn.append(engagement.badge_dict(b))
    return earned, to_earn


def xp_history(session: Session, user: str, limit: int = XP_HISTORY) -> list[dict[str, Any]]:
    rows = session.scalars(
        sa.select(XpTransaction)
        .where(XpTransaction.user == user)
        .order_by(XpTransaction.id.desc())
        .limit(limit)
    )
    return [
        {
            "amount": t.amount,
            "reason": t.reason,
            "ref": t.ref,
            "note": t.note,
            "created_at": _iso(t.created_at),
        }
        for t in rows
    ]


def profile(session: Session, user: str) -> dict[str, Any]:
    earned, to_earn = badges(session, user)
    certs = certificates.with_slugs(session, certificates.for_user(session, user))
    return {
        "account": account_dict(session, user),
        "level": engagement.level_dict(session, user),
        "badges_earned": earned,
        "badges_to_earn": to_earn,
        "xp_history": xp_history(session, user),
        # a course is completed when every lesson is: the certificate marks it
        "courses_completed": [
            {"course": c["course"], "title": c["course_title"], "completed_at": c["issued_at"]}
            for c in certs
        ],
        "certificates": certs,
        "deletion_request": pending_deletion(session, user),
    }


def _rows(session: Session, model: Any, where: Any, skip: tuple[str, ...] = ()) -> list[dict]:
    out = []
    for row in session.scalars(sa.select(model).where(where).order_by(model.id)):
        item = {}
        for col in model.__table__.columns:
            if col.key in skip:
                continue
            value = getattr(row, col.key)
            item[col.key] = value.isoformat() if hasattr(value, "isoformat") else value
        out.append(item)
    return out


def export(session: Session, user: str) -> dict[str, Any]:
    """Everything the campus keeps about `user`, as JSON-ready data."""
    enrollment_ids = list(
        session.scalars(sa.select(Enrollment.id).where(Enrollment.student == user))
    )
    return {
        "exported_at": utcnow().isoformat(),
        "account": account_dict(session, user),
        "level": engagement.level_dict(session, user),
        "xp_transactions": _rows(session, XpTransaction, XpTransaction.user == user),
        "badges": _rows(session, UserBadge, UserBadge.user == user),
        "enrollments": _rows(session, Enrollment, Enrollment.student == user),
        "attendance": _rows(session, Attendance, Attendance.enrollment_id.in_(enrollment_ids)),
        "credit_adjustments": _rows(
            session, CreditAdjustment, CreditAdjustment.enrollment_id.in_(enrollment_ids)
        ),
        "lesson_progress": _rows(session, LessonProgress, LessonProgress.user == user),
        # a score not released yet stays hidden here too (visibility.py)
        "exercise_progress": visibility.mask_hidden_scores(
            session, _rows(session, ExerciseProgress, ExerciseProgress.user == user)
        ),
        "quiz_attempts": visibility.mask_hidden_scores(
            session, _rows(session, QuizAttempt, QuizAttempt.user == user, skip=("results",))
        ),
        "grading_results": visibility.mask_hidden_scores(
            session, _rows(session, GradingResult, GradingResult.user == user)
        ),
        "notifications": _rows(session, Notification, Notification.user == user),
        "certificates": certificates.with_slugs(session, certificates.for_user(session, user)),
        "deletion_requests": _rows(session, DeletionRequest, DeletionRequest.user == user),
    }


def set_leaderboard_opt_out(session: Session, user: str, value: bool) -> dict[str, Any]:
    """Hide (or show) a person on leaderboards; returns their level, as the API shows it."""
    row = session.get(UserLevel, user)
    if row is None:
        row = UserLevel(user=user)
        session.add(row)
    row.leaderboard_opt_out = value
    session.flush()
    return engagement.level_dict(session, user)


# --- deletion requests ----------------------------------------------------------------------------
def deletion_dict(r: DeletionRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "user": r.user,
        "reason": r.reason,
        "status": r.status,
        "created_at": _iso(r.created_at),
        "handled_by": r.handled_by,
        "handled_at": _iso(r.handled_at),
    }


def pending_deletion(session: Session, user: str) -> dict[str, Any] | None:
    row = session.scalar(
        sa.select(DeletionRequest).where(
            DeletionRequest.user == user, DeletionRequest.status == "pending"
        )
    )
    return deletion_dict(row) if row else None


def request_deletion(session: Session, user: str, reason: str) -> tuple[bool, dict[str, Any]]:
    """(created, the request): one pending request per person; asking again returns it."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise APIError(400, f"the reason is longer than {MAX_REASON} characters", field="reason")
    if existing := pending_deletion(session, user):
        return False, existing
    row = DeletionRequest(user=user, reason=reason, status="pending", created_at=utcnow())
    session.add(row)
    session.flush()
    return True, deletion_dict(row)


def deletion_requests(session: Session, status: str | None = "pending") -> list[dict[str, Any]]:
    q = sa.select(DeletionRequest).order_by(DeletionRequest.id)
    if status:
        q = q.where(DeletionRequest.status == status)
    return [deletion_dict(r) for r in session.scalars(q)]


def close_deletion(session: Session, request_id: int, status: str, by: str) -> dict[str, Any]:
    """Staff close a pending request: done (the account and data were deleted or anonymised
    by the school's procedure) or withdrawn (the person took it back)."""
    if status not in ("done", "withdrawn"):
        raise APIError(400, "status must be done or withdrawn", field="status")
    row = session.get(DeletionRequest, request_id)
    if row is None:
        raise APIError(404, f"no deletion request {request_id}")
    if row.status != "pending":
        raise APIError(409, f"deletion request {request_id} is {row.status} already")
    row.status, row.handled_by, row.handled_at = status, by, utcnow()
    session.flush()
    return deletion_dict(row)
