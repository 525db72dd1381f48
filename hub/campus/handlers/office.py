"""The office's API: many enrollments at once, finding students to enroll, payments and the
class's audit (office changes, attendance edits and credit adjustments together)."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import classes as cl
from nbcampus.hub.campus import office_audit as audit
from nbcampus.hub.campus import payments as pay
from nbcampus.hub.campus import school, validate
from nbcampus.hub.campus.attendance import get_enrollment
from nbcampus.hub.campus.orm import Account, Enrollment, Payment
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.web import APIError, body_schema

from .classes import ClassHandlerBase

MANY_MAX = 500
AMOUNT = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
NOTES_MAX = 2000


class CandidatesHandler(ClassHandlerBase):
    @needs_permission("enrollments:write")
    async def get(self, class_id: str) -> None:
        """Students who may be enrolled: ?q= matches name, display name or email (20 at most)."""
        cid = validate.path_id(class_id, "class")
        q = (self.query_arg("q", 100) or "").strip().lower()

        def work(s: Session) -> list[dict[str, Any]]:
            cl.get_class(s, cid)
            enrolled = sa.select(Enrollment.student).where(
                Enrollment.class_id == cid, Enrollment.status == "active"
            )
            query = sa.select(Account).where(
                Account.active,
                Account.role.in_(("student", "instructor")),
                Account.name.not_in(enrolled),
            )
            if q:
                like = f"%{q.replace('%', '').replace('_', '')}%"
                query = query.where(
                    sa.or_(
                        sa.func.lower(Account.name).like(like),
                        sa.func.lower(Account.display_name).like(like),
                        sa.func.lower(Account.email).like(like),
                    )
                )
            rows = s.scalars(query.order_by(Account.name).limit(20))
            return [
                {"name": a.name, "display_name": a.display_name, "email": a.email} for a in rows
            ]

        self.write_json({"candidates": await self.read(work)})


class EnrollManyHandler(ClassHandlerBase):
    @needs_permission("enrollments:write")
    @body_schema(
        S.obj(
            ["students"],
            students={"type": "array", "minItems": 1, "maxItems": MANY_MAX, "items": S.text(254)},
        )
    )
    async def post(self, class_id: str) -> None:
        """Enroll many: {"students": [name or email, ...]}; each is enrolled or refused with
        the rule that refused it (one transaction per student, in order)."""
        cid = validate.path_id(class_id, "class")
        raw = self.json_body().get("students")
        if not isinstance(raw, list) or not raw or len(raw) > MANY_MAX:
            raise APIError(400, f"'students' must list 1 to {MANY_MAX} names", field="students")
        wanted = []
        for item in raw:
            if not isinstance(item, str) or not item.strip() or len(item) > 254:
                raise APIError(400, "each student is a name or an email", field="students")
            if item.strip().lower() not in wanted:
                wanted.append(item.strip().lower())
        await self.read(lambda s: cl.get_class(s, cid))
        results = []
        for who in wanted:

            def work(s: Session, who: str = who) -> dict[str, Any]:
                name = s.scalar(
                    sa.select(Account.name).where(
                        sa.or_(Account.name == who, sa.func.lower(Account.email) == who)
                    )
                )
                if name is None:
                    raise APIError(404, f"no account named {who!r} or with that email")
                e = cl.enroll(s, cid, name, self.actor.name)
                audit.record(
                    s,
                    "enrollment.enroll",
                    self.actor.name,
                    class_id=cid,
                    enrollment_id=e.id,
                    after={"student": name, "status": e.status, "credits": e.credits_remaining},
                )
                return cl.enrollment_dict(e)

            try:
                results.append({"input": who, "ok": True, "enrollment": await self.tx(work)})
            except APIError as err:
                results.append({"input": who, "ok": False, "message": err.message})
        self.sync_later(cid)
        enrolled = sum(1 for r in results if r["ok"])
        self.write_json(
            {"enrolled": enrolled, "refused": len(results) - enrolled, "results": results}
        )


class ClassAuditHandler(ClassHandlerBase):
    @needs_permission("audit:read")
    async def get(self, class_id: str) -> None:
        """The class's audit: class, enrollment and payment changes, attendance edits and
        credit adjustments (?kind=, ?actor=, ?student=; ?format=csv to download)."""
        cid = validate.path_id(class_id, "class")
        kind = self.query_arg("kind", 20) or None
        if kind is not None and kind not in audit.KINDS:
            raise APIError(400, f"kind must be one of: {', '.join(audit.KINDS)}", field="kind")
        actor = self.query_arg("actor", 64) or None
        student = self.query_arg("student", 64) or None
        fmt = self.query_arg("format", 10) or "json"
        if fmt not in ("json", "csv"):
            raise APIError(400, "format must be json or csv", field="format")

        def work(s: Session) -> list[dict[str, Any]]:
            self.check_class(s, cl.get_class(s, cid), teach=True)
            return audit.class_audit(s, cid, kind=kind, actor=actor, student=student)

        rows = await self.read(work)
        if fmt == "csv":
            self.set_header("Content-Type", "text/csv; charset=utf-8")
            self.set_header("Content-Disposition", f'attachment; filename="audit-class-{cid}.csv"')
            self.finish(audit.audit_csv(rows))
            return
        self.write_json({"audit": rows})


class ClassPaymentsHandler(ClassHandlerBase):
    @needs_permission("payments:read")
    async def get(self, class_id: str) -> None:
        """Every payment recorded for the class's enrollments, with the school's currency
        (?format=csv to download)."""
        cid = validate.path_id(class_id, "class")
        fmt = self.query_arg("format", 10) or "json"
        if fmt not in ("json", "csv"):
            raise APIError(400, "format must be json or csv", field="format")

        def work(s: Session) -> tuple[list[dict[str, Any]], str]:
            cl.get_class(s, cid)
            return pay.class_payments(s, cid), school.currency(s)

        rows, currency = await self.read(work)
        if fmt == "csv":
            self.set_header("Content-Type", "text/csv; charset=utf-8")
            self.set_header(
                "Content-Disposition", f'attachment; filename="payments-class-{cid}.csv"'
            )
            self.finish(pay.payments_csv(rows))
            return
        self.write_json({"currency": currency, "payments": rows})


class EnrollmentPaymentsHandler(ClassHandlerBase):
    @needs_permission("payments:read")
    async def get(self, enrollment_id: str) -> None:
        """An enrollment's payments and its payment status."""
        eid = validate.path_id(enrollment_id, "enrollment")

        def work(s: Session) -> dict[str, Any]:
            e = get_enrollment(s, eid)
            rows = s.scalars(sa.select(Payment).filter_by(enrollment_id=eid).order_by(Payment.id))
            currency = school.currency(s)
            return {
                "enrollment": cl.enrollment_dict(e),
                "currency": currency,
                "payments": [pay.payment_dict(p, e.student, currency) for p in rows],
            }

        self.write_json(await self.read(work))

    @needs_permission("payments:write")
    @body_schema(
        S.obj(
            ["amount", "method"],
            amount={"type": "string", "pattern": AMOUNT.pattern, "maxLength": 12},
            method=S.one_of(pay.METHODS),
            reference=S.text(255, min_length=0),
            notes=S.text(NOTES_MAX, min_length=0, multiline=True),
            proof=S.nullable(
                S.obj(
                    ["name", "type", "data"],
                    name=S.text(255),
                    type=S.one_of(pay.PROOF_TYPES),
                    data={"type": "string", "maxLength": pay.PROOF_MAX_BYTES * 4 // 3 + 8},
                )
            ),
        )
    )
    async def post(self, enrollment_id: str) -> None:
        """Record a payment: {"amount": "120.00", "method", "reference", "notes", "proof":
        {"name", "type", "data" (base64)}}; it stays pending until staff verify it."""
        eid = validate.path_id(enrollment_id, "enrollment")
        body = self.json_body(max_bytes=pay.PROOF_MAX_BYTES * 4 // 3 + 64 * 1024)
        amount = body.get("amount")
        if not isinstance(amount, str) or not AMOUNT.fullmatch(amount):
            raise APIError(400, "the amount is a number like 120 or 120.50", field="amount")
        whole, _, frac = amount.partition(".")
        cents = int(whole) * 100 + int((frac + "00")[:2])
        if cents <= 0:
            raise APIError(400, "the amount must be more than zero", field="amount")
        method = validate.choice(body, "method", pay.METHODS)
        reference = validate.string(body, "reference", "", max_length=255, allow_empty=True)
        notes = validate.string(
            body, "notes", "", max_length=NOTES_MAX, allow_empty=True, multiline=True
        )
        raw_proof = body.get("proof")
        if raw_proof is not None and not isinstance(raw_proof, dict):
            raise APIError(400, "the proof is a file {name, type, data}", field="proof")
        proof = pay.decode_proof(raw_proof) if raw_proof else None

        def work(s: Session) -> dict[str, Any]:
            p = pay.record_payment(
                s,
                eid,
                amount_cents=cents,
                method=method,
                reference=reference,
                notes=notes,
                proof=proof,
                by=self.actor.name,
            )
            e = get_enrollment(s, eid)
            out = pay.payment_dict(p, e.student, school.currency(s))
            keep = ("id", "amount", "currency", "method", "reference", "status")
            audit.record(
                s,
                "payment.record",
                self.actor.name,
                class_id=e.class_id,
                enrollment_id=eid,
                after={k: out[k] for k in keep},
            )
            return {"payment": out, "enrollment": cl.enrollment_dict(e)}

        self.write_json(await self.tx(work), status=201)


class PaymentActionHandler(ClassHandlerBase):
    action = "verify"

    async def move(self, payment_id: str) -> None:
        pid = validate.path_id(payment_id, "payment")
        action = self.action

        def work(s: Session) -> dict[str, Any]:
            before = pay.get_payment(s, pid).status
            p = pay.move(s, pid, action, self.actor.name)
            e = get_enrollment(s, p.enrollment_id)
            audit.record(
                s,
                f"payment.{action}",
                self.actor.name,
                class_id=e.class_id,
                enrollment_id=e.id,
                before={"payment": pid, "status": before},
                after={"payment": pid, "status": p.status, "enrollment": e.payment_status},
            )
            return {
                "payment": pay.payment_dict(p, e.student, school.currency(s)),
                "enrollment": cl.enrollment_dict(e),
            }

        self.write_json(await self.tx(work))


class PaymentVerifyHandler(PaymentActionHandler):
    action = "verify"

    @needs_permission("payments:write")
    @body_schema(None)
    async def post(self, payment_id: str) -> None:
        """Verify a pending payment; the enrollment's payment status becomes verified."""
        await self.move(payment_id)


class PaymentRefundHandler(PaymentActionHandler):
    action = "refund"

    @needs_permission("payments:write")
    @body_schema(None)
    async def post(self, payment_id: str) -> None:
        """Refund a verified payment; the enrollment's payment status follows."""
        await self.move(payment_id)


class PaymentProofHandler(ClassHandlerBase):
    @needs_permission("payments:read")
    async def get(self, payment_id: str) -> None:
        """The payment's proof file, as a download."""
        pid = validate.path_id(payment_id, "payment")

        def work(s: Session) -> tuple[str | None, str | None, bytes | None]:
            p = pay.get_payment(s, pid)
            return p.proof_name, p.proof_type, p.proof

        name, kind, data = await self.read(work)
        if data is None or kind is None:
            raise APIError(404, f"payment {pid} has no proof file")
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name or "proof")[:100]
        self.set_header("Content-Type", kind)
        self.set_header("Content-Disposition", f'attachment; filename="{safe}"')
        self.finish(data)


default_handlers = [
    (r"api/v1/classes/([^/]+)/candidates", CandidatesHandler),
    (r"api/v1/classes/([^/]+)/enroll-many", EnrollManyHandler),
    (r"api/v1/classes/([^/]+)/audit", ClassAuditHandler),
    (r"api/v1/classes/([^/]+)/payments", ClassPaymentsHandler),
    (r"api/v1/enrollments/([^/]+)/payments", EnrollmentPaymentsHandler),
    (r"api/v1/payments/([^/]+)/proof", PaymentProofHandler),
    (r"api/v1/payments/([^/]+)/verify", PaymentVerifyHandler),
    (r"api/v1/payments/([^/]+)/refund", PaymentRefundHandler),
]
