"""Attendance and meeting credits, always changed together in one transaction.

Present or late uses one credit, absent none; an edit moves the credit with the status and
is written to the audit trail. Each write locks the class row first (`lock_class`) and the
database holds one record per student per meeting, so a retried or concurrent take of the
same meeting can never count twice.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from . import engagement
from .classes import lock_class
from .orm import Attendance, AttendanceEdit, CampusClass, CreditAdjustment, Enrollment, utcnow

STATUSES = ("present", "absent", "late")
USES_CREDIT = frozenset({"present", "late"})
CREDIT_REASONS = ("makeup_class", "refund", "error_correction", "bonus", "other")


@dataclass(frozen=True)
class Mark:
    student: str
    status: str
    notes: str = ""


def _active_enrollments(session: Session, class_id: int) -> dict[str, Enrollment]:
    return {
        e.student: e
        for e in session.scalars(
            sa.select(Enrollment).filter_by(class_id=class_id, status="active")
        )
    }


def credit_balances(session: Session, class_id: int) -> dict[str, int]:
    """Each active student's credits left, as the session sees them now."""
    return {name: e.credits_remaining for name, e in _active_enrollments(session, class_id).items()}


def _recalculate_rates(session: Session, enrollments: list[Enrollment]) -> None:
    """attendance_rate = meetings attended (present or late) / meetings recorded, in percent."""
    ids = [e.id for e in enrollments]
    if not ids:
        return
    attended = sa.func.sum(sa.case((Attendance.status.in_(USES_CREDIT), 1), else_=0))
    rows = session.execute(
        sa.select(Attendance.enrollment_id, sa.func.count(), attended)
        .where(Attendance.enrollment_id.in_(ids))
        .group_by(Attendance.enrollment_id)
    ).all()
    rates = {eid: round(100.0 * (int(att or 0)) / total, 2) for eid, total, att in rows if total}
    for e in enrollments:
        e.attendance_rate = rates.get(e.id)


def check_meeting_date(day: date) -> None:
    """A meeting is recorded once it has been held: never for a day after today in the
    school's time zone (otherwise a meeting dated 2099 would open lessons ahead of time)."""
    today = engagement.CONFIG.today()
    if day > today:
        raise APIError(
            400,
            f"meeting_date {day.isoformat()} is in the future (today is {today.isoformat()} "
            f"in the school's time zone, {engagement.CONFIG.timezone})",
            field="meeting_date",
            code="FUTURE_MEETING",
        )


def take_attendance(
    session: Session,
    class_id: int,
    meeting_number: int,
    meeting_date: date,
    marks: list[Mark],
    by: str,
) -> tuple[CampusClass, list[Attendance]]:
    check_meeting_date(meeting_date)
    klass = lock_class(session, class_id)
    if klass.status in ("completed", "cancelled"):
        raise APIError(409, f"the class is {klass.status}")
    if meeting_number > klass.total_meetings:
        held = klass.meetings_completed >= klass.total_meetings
        raise APIError(
            409,
            (
                f"all {klass.total_meetings} meetings of the class are held; edit one "
                "instead (PUT .../attendance/<meeting>), or add meetings to a private class"
            )
            if held
            else f"the class has {klass.total_meetings} meetings",
            code="ALL_MEETINGS_HELD" if held else "NO_SUCH_MEETING",
        )
    if meeting_number > klass.meetings_completed + 1:
        raise APIError(
            409, f"meeting {klass.meetings_completed + 1} comes first", code="MEETING_ORDER"
        )
    # Records exist only for meetings already held; the unique constraint backs this up.
    taken = meeting_number <= klass.meetings_completed and session.scalar(
        sa.select(sa.func.count())
        .select_from(Attendance)
        .where(Attendance.class_id == klass.id, Attendance.meeting_number == meeting_number)
    )
    if taken:
        raise APIError(
            409,
            f"attendance for meeting {meeting_number} is already taken; edit it instead "
            f"(PUT .../attendance/{meeting_number})",
            code="ALREADY_TAKEN",
        )
    enrollments = _active_enrollments(session, klass.id)
    students = [m.student for m in marks]
    if len(set(students)) != len(students):
        raise APIError(400, "a student is marked twice", field="records")
    unknown = sorted(set(students) - set(enrollments))
    if unknown:
        raise APIError(400, "not enrolled in this class", field="records", students=unknown)
    missing = sorted(set(enrollments) - set(students))
    if missing:
        raise APIError(
            400, "every enrolled student needs a mark", field="records", students=missing
        )
    broke = sorted(
        m.student
        for m in marks
        if m.status in USES_CREDIT and enrollments[m.student].credits_remaining < 1
    )
    if broke:
        raise APIError(
            409,
            "no meeting credits left: adjust credits first (e.g. makeup_class)",
            code="NO_CREDITS",
            students=broke,
        )
    now = utcnow()
    records = []
    for m in marks:
        enrollment = enrollments[m.student]
        uses = m.status in USES_CREDIT
        if uses:
            enrollment.credits_used += 1
        records.append(
            Attendance(
                class_id=klass.id,
                enrollment_id=enrollment.id,
                meeting_number=meeting_number,
                meeting_date=meeting_date,
                status=m.status,
                credit_deducted=uses,
                marked_by=by,
                marked_at=now,
                notes=m.notes,
            )
        )
    session.add_all(records)
    klass.meetings_completed = max(klass.meetings_completed, meeting_number)
    if klass.status in ("draft", "enrollment_open"):
        klass.status = "active"  # the first meeting starts the class
    session.flush()
    _recalculate_rates(session, list(enrollments.values()))
    xp = engagement.CONFIG.attendance_xp
    attended = [
        (m.student, r.id, xp) for m, r in zip(marks, records, strict=True) if r.credit_deducted
    ]
    if xp and attended:  # XP, streaks, levels and attendance badges for the whole meeting
        engagement.award_attendance(session, attended, klass.course_id, now)
    session.flush()
    return klass, records


def edit_attendance(
    session: Session,
    class_id: int,
    meeting_number: int,
    marks: list[Mark],
    by: str,
    notes: str,
    meeting_date: date | None = None,
) -> list[dict[str, Any]]:
    """Change marks (and the date) of a taken meeting; credits follow, each change audited."""
    if meeting_date is not None:
        check_meeting_date(meeting_date)
    klass = lock_class(session, class_id)
    rows = {
        e.student: (a, e)
        for a, e in session.execute(
            sa.select(Attendance, Enrollment)
            .join(Enrollment, Enrollment.id == Attendance.enrollment_id)
            .where(Attendance.class_id == klass.id, Attendance.meeting_number == meeting_number)
        )
    }
    if not rows:
        raise APIError(404, f"meeting {meeting_number} has no attendance yet")
    if len({m.student for m in marks}) != len(marks):
        raise APIError(400, "a student is marked twice", field="records")
    unknown = sorted(m.student for m in marks if m.student not in rows)
    if unknown:
        raise APIError(400, "no record for these students", field="records", students=unknown)
    changes = []
    now = utcnow()
    old_date = next(iter(rows.values()))[0].meeting_date
    if meeting_date is not None and meeting_date != old_date:
        # One change of the meeting, one audit row (the class audit's), not one per student;
        # the marks' own changes below keep their per-student rows.
        from . import office_audit  # it reads this module's trail: imported late

        office_audit.record(
            session,
            "attendance.meeting_date",
            by,
            class_id=klass.id,
            before={"meeting": meeting_number, "meeting_date": old_date},
            after={"meeting": meeting_number, "meeting_date": meeting_date}
            | ({"notes": notes} if notes else {}),
        )
        for record, _ in rows.values():
            record.meeting_date = meeting_date
            record.updated_by, record.updated_at = by, now
        changes.append({"meeting_date": {"from": old_date, "to": meeting_date}})
    for m in marks:
        record, enrollment = rows[m.student]
        if record.status == m.status:
            continue
        delta = int(m.status in USES_CREDIT) - int(record.status in USES_CREDIT)
        if delta > 0 and enrollment.credits_remaining < 1:
            raise APIError(409, f"{m.student} has no credits left", code="NO_CREDITS")
        enrollment.credits_used += delta
        edit = AttendanceEdit(
            attendance_id=record.id,
            old_status=record.status,
            new_status=m.status,
            credit_change=-delta,
            edited_by=by,
            edited_at=now,
            notes=m.notes or notes,
        )
        session.add(edit)
        session.flush()
        if delta and engagement.CONFIG.attendance_xp:
            # XP follows the mark: an append-only correction, never a deletion.
            engagement.award(
                session,
                m.student,
                delta * engagement.CONFIG.attendance_xp,
                "attendance",
                f"attendance-edit:{edit.id}",
                course_id=klass.course_id,
                by=by,
                note=f"meeting {meeting_number}: {record.status} -> {m.status}",
            )
        changes.append(
            {"student": m.student, "from": record.status, "to": m.status, "credit_change": -delta}
        )
        record.status = m.status
        record.credit_deducted = m.status in USES_CREDIT
        record.updated_by, record.updated_at = by, now
        if m.notes:
            record.notes = m.notes
    session.flush()
    _recalculate_rates(session, [e for _, e in rows.values()])
    session.flush()
    return changes


def attendance_rows(
    session: Session, class_id: int, meeting_number: int | None = None
) -> list[dict[str, Any]]:
    query = (
        sa.select(Attendance, Enrollment.student)
        .join(Enrollment, Enrollment.id == Attendance.enrollment_id)
        .where(Attendance.class_id == class_id)
        .order_by(Attendance.meeting_number, Enrollment.student)
    )
    if meeting_number is not None:
        query = query.where(Attendance.meeting_number == meeting_number)
    return [
        {
            "meeting_number": a.meeting_number,
            "meeting_date": a.meeting_date.isoformat(),
            "student": student,
            "status": a.status,
            "credit_deducted": a.credit_deducted,
            "marked_by": a.marked_by,
            "updated_by": a.updated_by,
            "notes": a.notes,
        }
        for a, student in session.execute(query)
    ]


def attendance_edits(session: Session, class_id: int) -> list[dict[str, Any]]:
    query = (
        sa.select(AttendanceEdit, Attendance.meeting_number, Enrollment.student)
        .join(Attendance, Attendance.id == AttendanceEdit.attendance_id)
        .join(Enrollment, Enrollment.id == Attendance.enrollment_id)
        .where(Attendance.class_id == class_id)
        .order_by(AttendanceEdit.id)
    )
    return [
        {
            "meeting_number": meeting,
            "student": student,
            "from": edit.old_status,
            "to": edit.new_status,
            "credit_change": edit.credit_change,
            "edited_by": edit.edited_by,
            "edited_at": edit.edited_at.isoformat(),
            "notes": edit.notes,
        }
        for edit, meeting, student in session.execute(query)
    ]


# --- reports ---------------------------------------------------------------------------
def report_table(session: Session, klass: CampusClass) -> tuple[list[str], list[list[str]]]:
    """One row per student: a mark per meeting, credits and the attendance rate."""
    meetings = list(range(1, klass.meetings_completed + 1))
    enrollments = list(
        session.scalars(
            sa.select(Enrollment).filter_by(class_id=klass.id).order_by(Enrollment.student)
        )
    )
    marks: dict[tuple[int, int], str] = {
        (eid, n): status
        for eid, n, status in session.execute(
            sa.select(Attendance.enrollment_id, Attendance.meeting_number, Attendance.status).where(
                Attendance.class_id == klass.id
            )
        )
    }
    header = ["student", *[f"M{n}" for n in meetings], "credits_used", "credits_remaining", "rate"]
    rows = []
    for e in enrollments:
        rate = "" if e.attendance_rate is None else f"{e.attendance_rate:.2f}"
        rows.append(
            [
                e.student,
                *[marks.get((e.id, n), "-") for n in meetings],
                str(e.credits_used),
                str(e.credits_remaining),
                rate,
            ]
        )
    return header, rows


def report_csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        # A leading = + - @ would be a formula in a spreadsheet: quote it as text.
        writer.writerow(
            [("'" + c) if c[:1] in ("=", "+", "-", "@") and c != "-" else c for c in row]
        )
    return out.getvalue()


def report_pdf(title: str, header: list[str], rows: list[list[str]]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="L" if len(header) > 10 else "P")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    with pdf.table(text_align="LEFT") as table:
        for row in [header, *rows]:
            line = table.row()
            for cell in row:
                line.cell(_latin1(cell))
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    # The core PDF fonts are Latin-1; other characters are replaced, never an error.
    return text.encode("latin-1", "replace").decode("latin-1")


# --- credits -----------------------------------------------------------------------------------
def get_enrollment(session: Session, enrollment_id: int) -> Enrollment:
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise APIError(404, f"no enrollment {enrollment_id}")
    return enrollment


def adjust_credits(
    session: Session, enrollment_id: int, adjustment: int, reason: str, detail: str, by: str
) -> CreditAdjustment:
    """A manual change of a student's remaining credits, logged with before and after."""
    if adjustment == 0:
        raise APIError(400, "'adjustment' must not be zero", field="adjustment")
    if reason not in CREDIT_REASONS:
        raise APIError(400, f"'reason' must be one of: {', '.join(CREDIT_REASONS)}", field="reason")
    if reason == "other" and not detail.strip():
        raise APIError(400, "reason 'other' needs a 'reason_detail'", field="reason_detail")
    class_id = get_enrollment(session, enrollment_id).class_id
    lock_class(session, class_id)
    enrollment = session.scalars(
        sa.select(Enrollment)
        .where(Enrollment.id == enrollment_id)
        .execution_options(populate_existing=True)
    ).one()
    before = enrollment.credits_remaining
    after = before + adjustment
    if after < 0:
        raise APIError(409, f"only {before} credits remain", code="NO_CREDITS")
    enrollment.credits_adjusted += adjustment
    record = CreditAdjustment(
        enrollment_id=enrollment.id,
        adjustment=adjustment,
        credits_before=before,
        credits_after=after,
        reason=reason,
        reason_detail=detail,
        adjusted_by=by,
    )
    session.add(record)
    session.flush()
    return record


def credit_history(session: Session, enrollment_id: int) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "adjustment": c.adjustment,
            "credits_before": c.credits_before,
            "credits_after": c.credits_after,
            "reason": c.reason,
            "reason_detail": c.reason_detail,
            "adjusted_by": c.adjusted_by,
            "adjusted_at": c.adjusted_at.isoformat(),
        }
        for c in session.scalars(
            sa.select(CreditAdjustment)
            .filter_by(enrollment_id=enrollment_id)
            .order_by(CreditAdjustment.id)
        )
    ]
