"""The office audit: who changed what in classes, enrollments and payments, before and after.

The rows are the school's one audit table (`audit_log`, shared with the admin screens), each
naming its class (target_type "class"). Attendance edits and credit adjustments keep their
own trails (attendance.py); `class_audit` reads the three together for a class's audit page
and its CSV.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .attendance import attendance_edits
from .orm import AuditEntry, CreditAdjustment, Enrollment

KINDS = ("class", "enrollment", "payment", "attendance", "credits", "accommodation")


def _json(value: dict[str, Any] | None) -> str:
    if not value:
        return "{}"

    def plain(v: Any) -> Any:
        return v.isoformat() if isinstance(v, date | datetime) else v

    return json.dumps({k: plain(v) for k, v in value.items()}, sort_keys=True, default=str)


def record(
    session: Session,
    action: str,
    actor: str,
    *,
    class_id: int | None,
    enrollment_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """One audited change, in the caller's transaction (it commits or rolls back with it)."""
    session.add(
        AuditEntry(
            target_type="class",
            target="" if class_id is None else str(class_id),
            class_id=class_id,
            enrollment_id=enrollment_id,
            action=action,
            actor=actor,
            before=_json(before),
            after=_json(after),
        )
    )


def class_audit(
    session: Session,
    class_id: int,
    *,
    kind: str | None = None,
    actor: str | None = None,
    student: str | None = None,
) -> list[dict[str, Any]]:
    """Every audited change of a class, oldest first: office changes, attendance edits and
    credit adjustments as rows {at, kind, action, actor, student, before, after, detail}."""
    students: dict[int, str] = {
        eid: name
        for eid, name in session.execute(
            sa.select(Enrollment.id, Enrollment.student).filter_by(class_id=class_id)
        )
    }
    rows: list[dict[str, Any]] = []
    for a in session.scalars(sa.select(AuditEntry).filter_by(class_id=class_id)):
        rows.append(
            {
                "at": a.at.isoformat(),
                "kind": a.action.split(".", 1)[0],
                "action": a.action,
                "actor": a.actor,
                "student": students.get(a.enrollment_id, ""),
                "before": "" if a.before == "{}" else a.before,  # nothing before a creation
                "after": "" if a.after == "{}" else a.after,
                "detail": "",
            }
        )
    for e in attendance_edits(session, class_id):
        rows.append(
            {
                "at": e["edited_at"],
                "kind": "attendance",
                "action": "attendance.edit",
                "actor": e["edited_by"],
                "student": e["student"],
                "before": e["from"],
                "after": e["to"],
                "detail": f"meeting {e['meeting_number']}, credit change {e['credit_change']:+d}"
                + (f": {e['notes']}" if e["notes"] else ""),
            }
        )
    adjustments = session.scalars(
        sa.select(CreditAdjustment).where(CreditAdjustment.enrollment_id.in_(list(students) or [0]))
    )
    for c in adjustments:
        rows.append(
            {
                "at": c.adjusted_at.isoformat(),
                "kind": "credits",
                "action": f"credits.{c.reason}",
                "actor": c.adjusted_by,
                "student": students[c.enrollment_id],
                "before": str(c.credits_before),
                "after": str(c.credits_after),
                "detail": f"adjustment {c.adjustment:+d}"
                + (f": {c.reason_detail}" if c.reason_detail else ""),
            }
        )
    rows = [
        r
        for r in rows
        if (kind is None or r["kind"] == kind)
        and (actor is None or r["actor"] == actor)
        and (student is None or r["student"] == student)
    ]
    return sorted(rows, key=lambda r: r["at"])


COLUMNS = ("at", "kind", "action", "actor", "student", "before", "after", "detail")


def audit_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for r in rows:
        # A leading = + - @ would be a formula in a spreadsheet: quote it as text.
        cells = [str(r[c]) for c in COLUMNS]
        writer.writerow([("'" + c) if c[:1] in ("=", "+", "-", "@") else c for c in cells])
    return out.getvalue()
