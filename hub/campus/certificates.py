"""Certificates of course completion: issued when a student completes every lesson of a
course, verified publicly by their unique id, revoked with a reason by the course's
instructors or staff, and printed as a PDF.

One certificate per person and course: a revoked one stays revoked (finishing the course's
lessons again does not reissue it), so its verification page keeps telling the truth.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from . import engagement, teaching
from .orm import Account, Certificate, Course, Lesson, LessonProgress, utcnow

UID_RE = r"[0-9a-f]{32}"
MAX_REASON = 2000
# A Unicode font where the system has one (names are not all Latin-1); else PDF core fonts.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def new_uid() -> str:
    return secrets.token_hex(16)


course_completed = engagement.course_completed  # one rule for the badge and the certificate


def issue_if_complete(session: Session, user: str, course_id: int) -> Certificate | None:
    """The certificate issued now, when this completion finished the course; None otherwise
    (not complete yet, or one exists already). Safe under concurrent calls."""
    if not course_completed(session, user, course_id):
        return None
    if session.scalar(sa.select(Certificate.id).filter_by(user=user, course_id=course_id)):
        return None
    course = session.get(Course, course_id)
    account = session.scalar(sa.select(Account).where(Account.name == user))
    holder = (account.display_name if account else "") or user
    cert = Certificate(
        uid=new_uid(),
        user=user,
        course_id=course_id,
        holder_name=holder[:200],
        course_title=(course.title if course else str(course_id))[:255],
        issued_at=utcnow(),
        revoke_reason="",
    )
    try:
        with session.begin_nested():
            session.add(cert)
            session.flush()
    except IntegrityError:  # a concurrent completion issued it first
        return None
    engagement.notify(
        session,
        user,
        "certificate_issued",
        f"Certificate: {cert.course_title}",
        "You completed every lesson of the course; your certificate is on your profile.",
        f"certificate:{cert.uid}",
    )
    return cert


def issue_missing(session: Session) -> int:
    """Certificates for courses completed before certificates existed (or while issuing
    failed): every (person, course) with all active lessons done and no certificate yet.
    Run at the campus service's start; returns how many were issued."""
    totals = (
        sa.select(Lesson.course_id, sa.func.count().label("lessons"))
        .where(Lesson.retired.is_(False))
        .group_by(Lesson.course_id)
        .subquery()
    )
    done = (
        sa.select(LessonProgress.user, Lesson.course_id, sa.func.count().label("done"))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.completed.is_(True), Lesson.retired.is_(False))
        .group_by(LessonProgress.user, Lesson.course_id)
        .subquery()
    )
    candidates = session.execute(
        sa.select(done.c.user, done.c.course_id)
        .join(totals, totals.c.course_id == done.c.course_id)
        .outerjoin(
            Certificate,
            sa.and_(Certificate.user == done.c.user, Certificate.course_id == done.c.course_id),
        )
        .where(done.c.done >= totals.c.lessons, Certificate.id.is_(None))
    ).all()
    return sum(1 for user, course_id in candidates if issue_if_complete(session, user, course_id))


def get(session: Session, uid: str) -> Certificate:
    cert = session.scalar(sa.select(Certificate).where(Certificate.uid == uid))
    if cert is None:
        raise APIError(404, "no certificate with this id")
    return cert


def for_user(session: Session, user: str) -> list[Certificate]:
    return list(
        session.scalars(
            sa.select(Certificate).where(Certificate.user == user).order_by(Certificate.issued_at)
        )
    )


def may_manage(session: Session, name: str, role: str, course_id: int) -> bool:
    """Staff and admins, and the instructors of a class of the course, may revoke."""
    return role in ("staff", "admin") or teaching.teaches_course(
        session, course_id, name, frozenset({"instructor"})
    )


def may_see(session: Session, name: str, role: str, cert: Certificate) -> bool:
    """Who may download the PDF: its holder, and those who may revoke it."""
    return cert.user == name or may_manage(session, name, role, cert.course_id)


def revoke(session: Session, cert: Certificate, by: str, reason: str) -> Certificate:
    reason = (reason or "").strip()
    if not reason:
        raise APIError(400, "give a reason for the revocation", field="reason")
    if len(reason) > MAX_REASON:
        raise APIError(400, f"the reason is longer than {MAX_REASON} characters", field="reason")
    if cert.revoked_at is not None:
        raise APIError(409, "this certificate is revoked already")
    cert.revoked_at, cert.revoked_by, cert.revoke_reason = utcnow(), by, reason
    session.flush()
    return cert


def verify_path(uid: str) -> str:
    """The verification page's path under the Hub's base URL."""
    return f"hub/certificates/{uid}"


def as_dict(cert: Certificate, course_slug: str | None = None) -> dict[str, Any]:
    return {
        "id": cert.uid,
        "user": cert.user,
        "holder_name": cert.holder_name,
        "course": course_slug,
        "course_title": cert.course_title,
        "issued_at": cert.issued_at.isoformat(),
        "valid": cert.revoked_at is None,
        "revoked_at": cert.revoked_at.isoformat() if cert.revoked_at else None,
        "revoked_by": cert.revoked_by,
        "revoke_reason": cert.revoke_reason or None,
        "verify_path": verify_path(cert.uid),
    }


def with_slugs(session: Session, certs: list[Certificate]) -> list[dict[str, Any]]:
    slugs = dict(
        session.execute(
            sa.select(Course.id, Course.slug).where(Course.id.in_({c.course_id for c in certs}))
        ).all()
    )
    return [as_dict(c, slugs.get(c.course_id)) for c in certs]


# --- the PDF --------------------------------------------------------------------------------------
def render_pdf(
    holder: str, course_title: str, issued_at: datetime, uid: str, verify_url: str, school: str
) -> bytes:
    """A one-page landscape A4 certificate."""
    from fpdf import FPDF

    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(f"Certificate {uid}")
    pdf.set_author(school)
    pdf.add_page()
    if (FONT_DIR / "DejaVuSerif.ttf").exists():
        # fonts-dejavu-core has regular and bold; italic (fonts-dejavu-extra) where present
        for style, suffix in (("", ""), ("B", "-Bold"), ("I", "-Italic")):
            path = FONT_DIR / f"DejaVuSerif{suffix}.ttf"
            path = path if path.exists() else FONT_DIR / "DejaVuSerif.ttf"
            pdf.add_font("Body", style, str(path))
        font, text = "Body", str
    else:
        font, text = "Times", _latin1
    w, h = pdf.w, pdf.h
    # a double frame
    pdf.set_draw_color(40, 70, 120)
    pdf.set_line_width(1.6)
    pdf.rect(10, 10, w - 20, h - 20)
    pdf.set_line_width(0.4)
    pdf.rect(15, 15, w - 30, h - 30)

    def line(y: float, size: float, value: str, style: str = "", rgb=(20, 20, 20)) -> None:
        pdf.set_xy(25, y)
        pdf.set_font(font, style, size)
        pdf.set_text_color(*rgb)
        pdf.multi_cell(w - 50, size * 0.5, text(value), align="C")

    line(28, 16, school.upper(), "B", (40, 70, 120))
    line(48, 34, "Certificate of Completion", "B")
    line(76, 14, "This certifies that", "I", (80, 80, 80))
    line(90, 28, holder, "B")
    line(112, 14, "has completed every lesson of the course", "I", (80, 80, 80))
    line(126, 22, course_title, "B", (40, 70, 120))
    line(150, 13, f"Issued on {issued_at.day} {issued_at:%B %Y}")
    pdf.set_draw_color(160, 160, 160)
    pdf.set_line_width(0.3)
    pdf.line(60, 168, w - 60, 168)
    line(174, 10, f"Certificate id: {uid}", "", (60, 60, 60))
    line(182, 10, f"Verify at: {verify_url}", "", (60, 60, 60))
    return bytes(pdf.output())


def _latin1(value: str) -> str:
    return value.encode("latin-1", "replace").decode("latin-1")
