"""Attendance (take, list, edit, audit, report) and meeting credits (balance, adjust, history)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import attendance as att
from nbcampus.hub.campus import classes as cl
from nbcampus.hub.campus import validate
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.web import APIError, body_schema

from .base import CampusHandler

NOTES_MAX = 2000
RECORDS = {
    "type": "array",
    "maxItems": 5000,
    "items": S.obj(
        ["student", "status"],
        student=S.text(64),
        status=S.one_of(att.STATUSES),
        notes=S.text(NOTES_MAX, min_length=0, multiline=True),
    ),
}


def parse_marks(body: dict[str, Any]) -> list[att.Mark]:
    marks = []
    for i, record in enumerate(validate.object_list(body, "records", max_items=5000)):
        try:
            marks.append(
                att.Mark(
                    student=validate.string(record, "student", max_length=64),
                    status=validate.choice(record, "status", att.STATUSES),
                    notes=validate.string(
                        record, "notes", "", max_length=NOTES_MAX, allow_empty=True, multiline=True
                    ),
                )
            )
        except APIError as err:
            raise APIError(400, f"records[{i}]: {err.message}", field="records") from None
    return marks


class AttendanceHandler(CampusHandler):
    @needs_permission("attendance:take")
    @body_schema(
        S.obj(
            ["meeting_number", "meeting_date", "records"],
            meeting_number=S.integer(1, 1000),
            meeting_date=S.DATE,
            records=RECORDS,
            dry_run=S.BOOL,
        )
    )
    async def post(self, class_id: str) -> None:
        """Take attendance for a meeting: {"meeting_number", "meeting_date", "records": [...]};
        the answer's `changes` give each student's credits before and after.
        {"dry_run": true} runs every rule and stores nothing (a preview, answered 200)."""
        cid = validate.path_id(class_id, "class")
        body = self.json_body()
        meeting = validate.integer(body, "meeting_number", low=1, high=1000)
        day = validate.day(body, "meeting_date")
        marks = parse_marks(body)
        dry_run = body.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise APIError(400, "'dry_run' must be true or false", field="dry_run")

        def work(s: Session) -> dict[str, Any]:
            self.check_class(s, cl.get_class(s, cid), teach=True)
            before = att.credit_balances(s, cid)
            klass, records = att.take_attendance(s, cid, meeting, day, marks, self.actor.name)
            after = att.credit_balances(s, cid)
            return {
                "class": cl.class_dict(klass),
                "meeting_number": meeting,
                "credits_used": sum(1 for r in records if r.credit_deducted),
                "records": att.attendance_rows(s, cid, meeting),
                "changes": [
                    {
                        "student": m.student,
                        "status": m.status,
                        "credits_before": before[m.student],
                        "credits_after": after[m.student],
                    }
                    for m in marks
                ],
                "dry_run": dry_run,
            }

        # A preview runs every rule in a session that is never committed: nothing is kept.
        if dry_run:
            self.write_json(await self.read(work))
        else:
            self.write_json(await self.tx(work), status=201)

    @needs_permission("attendance:read")
    async def get(self, class_id: str) -> None:
        """The class's attendance history (?meeting=N for one meeting)."""
        cid = validate.path_id(class_id, "class")
        raw = self.query_arg("meeting", 6)
        meeting = validate.path_id(raw, "meeting") if raw is not None else None

        def work(s: Session) -> list[dict[str, Any]]:
            self.check_class(s, cl.get_class(s, cid), teach=True)
            return att.attendance_rows(s, cid, meeting)

        self.write_json({"attendance": await self.read(work)})


class MeetingHandler(CampusHandler):
    @needs_permission("attendance:edit")
    @body_schema(
        S.obj(
            ["records"],
            records=RECORDS,
            notes=S.text(NOTES_MAX, min_length=0, multiline=True),
            meeting_date=S.DATE,
            dry_run=S.BOOL,
        )
    )
    async def put(self, class_id: str, meeting: str) -> None:
        """Edit marks (and the date) of a taken meeting; credits follow and each change is
        audited. {"dry_run": true} answers the same changes and stores nothing (a preview)."""
        cid = validate.path_id(class_id, "class")
        number = validate.path_id(meeting, "meeting")
        body = self.json_body()
        marks = parse_marks(body)
        notes = validate.string(
            body, "notes", "", max_length=NOTES_MAX, allow_empty=True, multiline=True
        )
        day = validate.day(body, "meeting_date", None)
        dry_run = body.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise APIError(400, "'dry_run' must be true or false", field="dry_run")

        def work(s: Session) -> dict[str, Any]:
            self.check_class(s, cl.get_class(s, cid), teach=True)
            changes = att.edit_attendance(
                s, cid, number, marks, self.actor.name, notes, meeting_date=day
            )
            return {
                "changes": changes,
                "records": att.attendance_rows(s, cid, number),
                "dry_run": dry_run,
            }

        # A preview runs every rule in a session that is never committed: nothing is kept.
        self.write_json(await (self.read(work) if dry_run else self.tx(work)))

    patch = put


class AttendanceEditsHandler(CampusHandler):
    @needs_permission("attendance:read")
    async def get(self, class_id: str) -> None:
        """The audit trail of attendance edits."""
        cid = validate.path_id(class_id, "class")

        def work(s: Session) -> list[dict[str, Any]]:
            self.check_class(s, cl.get_class(s, cid), teach=True)
            return att.attendance_edits(s, cid)

        self.write_json({"edits": await self.read(work)})


class ReportHandler(CampusHandler):
    @needs_permission("attendance:read")
    async def get(self, class_id: str) -> None:
        """The attendance report: ?format=csv (default) or pdf."""
        cid = validate.path_id(class_id, "class")
        fmt = self.query_arg("format", 10) or "csv"
        if fmt not in ("csv", "pdf"):
            raise APIError(400, "format must be csv or pdf", field="format")

        def work(s: Session) -> tuple[str, list[str], list[list[str]]]:
            klass = cl.get_class(s, cid)
            self.check_class(s, klass, teach=True)
            return (klass.name, *att.report_table(s, klass))

        name, header, rows = await self.read(work)
        filename = f"attendance-class-{cid}.{fmt}"
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        if fmt == "csv":
            self.set_header("Content-Type", "text/csv; charset=utf-8")
            self.finish(att.report_csv(header, rows))
        else:
            pdf = att.report_pdf(f"Attendance: {name}", header, rows)
            self.set_header("Content-Type", "application/pdf")
            self.finish(pdf)


class CreditBase(CampusHandler):
    def load(self, s: Session, enrollment_id: int, *, write: bool = False) -> Any:
        """A student reads their own credits; the class's teachers (per the handler's rule)
        and staff read, and may adjust, those of the class's students."""
        enrollment = att.get_enrollment(s, enrollment_id)
        if not write and enrollment.student == self.actor.name:
            self.object_checked = True
            return enrollment
        self.check_class(s, cl.get_class(s, enrollment.class_id), teach=True)
        return enrollment


class CreditsHandler(CreditBase):
    @needs_permission("credits:read")
    async def get(self, enrollment_id: str) -> None:
        """The credit balance of an enrollment."""
        eid = validate.path_id(enrollment_id, "enrollment")
        self.write_json(await self.read(lambda s: cl.enrollment_dict(self.load(s, eid))))


class CreditAdjustHandler(CreditBase):
    @needs_permission("credits:adjust")
    @body_schema(
        S.obj(
            ["adjustment", "reason"],
            adjustment=S.integer(-1000, 1000),
            reason=S.one_of(att.CREDIT_REASONS),
            reason_detail=S.text(NOTES_MAX, min_length=0, multiline=True),
        )
    )
    async def post(self, enrollment_id: str) -> None:
        """Adjust credits: {"adjustment": +-n, "reason": ..., "reason_detail": ...}."""
        eid = validate.path_id(enrollment_id, "enrollment")
        body = self.json_body()
        amount = validate.integer(body, "adjustment", low=-1000, high=1000)
        reason = validate.choice(body, "reason", att.CREDIT_REASONS)
        detail = validate.string(
            body, "reason_detail", "", max_length=NOTES_MAX, allow_empty=True, multiline=True
        )

        def work(s: Session) -> dict[str, Any]:
            self.load(s, eid, write=True)
            rec = att.adjust_credits(s, eid, amount, reason, detail, self.actor.name)
            return {
                "adjustment": att.credit_history(s, eid)[-1] | {"id": rec.id},
                "enrollment": cl.enrollment_dict(att.get_enrollment(s, eid)),
            }

        self.write_json(await self.tx(work), status=201)


class CreditHistoryHandler(CreditBase):
    @needs_permission("credits:read")
    async def get(self, enrollment_id: str) -> None:
        """Every manual credit adjustment of an enrollment."""
        eid = validate.path_id(enrollment_id, "enrollment")

        def work(s: Session) -> list[dict[str, Any]]:
            self.load(s, eid)
            return att.credit_history(s, eid)

        self.write_json({"history": await self.read(work)})


default_handlers = [
    (r"api/v1/classes/([^/]+)/attendance", AttendanceHandler),
    (r"api/v1/classes/([^/]+)/attendance/edits", AttendanceEditsHandler),
    (r"api/v1/classes/([^/]+)/attendance/report", ReportHandler),
    (r"api/v1/classes/([^/]+)/attendance/([^/]+)", MeetingHandler),
    (r"api/v1/enrollments/([^/]+)/credits", CreditsHandler),
    (r"api/v1/enrollments/([^/]+)/credits/adjust", CreditAdjustHandler),
    (r"api/v1/enrollments/([^/]+)/credits/history", CreditHistoryHandler),
]
