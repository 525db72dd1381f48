"""Payments for enrollments, recorded by staff (no gateway), and the enrollment's payment
status that follows them: verified while a verified payment stands, refunded once every
received payment was refunded, pending otherwise.

A payment moves pending -> verified -> refunded; anything else is refused with the rule.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from . import school
from .attendance import get_enrollment
from .classes import lock_class
from .orm import Enrollment, Payment, utcnow

METHODS = ("cash", "bank_transfer", "card", "e_wallet", "other")
STATUSES = ("pending", "verified", "refunded")
MOVES = {"verify": ("pending", "verified"), "refund": ("verified", "refunded")}
PROOF_TYPES = ("application/pdf", "image/png", "image/jpeg")
PROOF_MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Proof:
    name: str
    content_type: str
    data: bytes


def decode_proof(raw: dict[str, Any]) -> Proof:
    """A proof file sent as {name, type, data (base64)}: a PDF, PNG or JPEG up to 2 MB."""
    name, kind, data = raw.get("name"), raw.get("type"), raw.get("data")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise APIError(400, "the proof file needs a name", field="proof")
    if kind not in PROOF_TYPES:
        raise APIError(400, "the proof must be a PDF, PNG or JPEG file", field="proof")
    if not isinstance(data, str) or len(data) > PROOF_MAX_BYTES * 4 // 3 + 8:
        raise APIError(400, "the proof file is larger than 2 MB", field="proof")
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise APIError(400, "the proof file is not valid base64", field="proof") from None
    if not content:
        raise APIError(400, "the proof file is empty", field="proof")
    # The type must match the bytes: a file is never served as something it is not.
    magic = {"application/pdf": b"%PDF", "image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8\xff"}
    if not content.startswith(magic[kind]):
        raise APIError(400, f"the proof file is not a {kind.split('/')[1].upper()}", field="proof")
    return Proof(name.strip(), kind, content)


def _follow(session: Session, enrollment: Enrollment) -> None:
    statuses = set(
        session.scalars(sa.select(Payment.status).filter_by(enrollment_id=enrollment.id))
    )
    if "verified" in statuses:
        enrollment.payment_status = "verified"
    elif "refunded" in statuses and "pending" not in statuses:
        enrollment.payment_status = "refunded"
    else:
        enrollment.payment_status = "pending"


def record_payment(
    session: Session,
    enrollment_id: int,
    *,
    amount_cents: int,
    method: str,
    reference: str,
    notes: str,
    proof: Proof | None,
    by: str,
) -> Payment:
    enrollment = get_enrollment(session, enrollment_id)
    lock_class(session, enrollment.class_id)  # one writer per class: the status follows exactly
    if enrollment.status == "withdrawn":
        raise APIError(409, f"{enrollment.student} has withdrawn from this class")
    if method not in METHODS:
        raise APIError(400, f"'method' must be one of: {', '.join(METHODS)}", field="method")
    payment = Payment(
        enrollment_id=enrollment.id,
        amount_cents=amount_cents,
        method=method,
        reference=reference,
        notes=notes,
        status="pending",
        proof_name=proof.name if proof else None,
        proof_type=proof.content_type if proof else None,
        proof=proof.data if proof else None,
        recorded_by=by,
    )
    session.add(payment)
    session.flush()
    _follow(session, enrollment)
    return payment


def get_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise APIError(404, f"no payment {payment_id}")
    return payment


def move(session: Session, payment_id: int, action: str, by: str) -> Payment:
    """verify (pending -> verified) or refund (verified -> refunded)."""
    payment = get_payment(session, payment_id)
    enrollment = get_enrollment(session, payment.enrollment_id)
    lock_class(session, enrollment.class_id)
    session.refresh(payment)
    source, target = MOVES[action]
    if payment.status != source:
        raise APIError(
            409,
            f"a {payment.status} payment cannot be {target}: only a {source} payment can",
            code="PAYMENT_STATE",
        )
    payment.status = target
    now = utcnow()
    if action == "verify":
        payment.verified_by, payment.verified_at = by, now
    else:
        payment.refunded_by, payment.refunded_at = by, now
    session.flush()
    _follow(session, enrollment)
    return payment


def payment_dict(p: Payment, student: str | None, currency: str) -> dict[str, Any]:
    """A payment as the API shows it; `currency` is the school's setting (school.currency),
    shown beside the amount (amounts are stored in cents, without a currency)."""
    return {
        "id": p.id,
        "enrollment_id": p.enrollment_id,
        "student": student,
        "amount": f"{p.amount_cents // 100}.{p.amount_cents % 100:02d}",
        "amount_cents": p.amount_cents,
        "currency": currency,
        "method": p.method,
        "reference": p.reference,
        "notes": p.notes,
        "status": p.status,
        "proof_name": p.proof_name,
        "recorded_by": p.recorded_by,
        "recorded_at": p.recorded_at.isoformat() if p.recorded_at else None,
        "verified_by": p.verified_by,
        "verified_at": p.verified_at.isoformat() if p.verified_at else None,
        "refunded_by": p.refunded_by,
        "refunded_at": p.refunded_at.isoformat() if p.refunded_at else None,
    }


def class_payments(session: Session, class_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(Payment, Enrollment.student)
        .join(Enrollment, Enrollment.id == Payment.enrollment_id)
        .where(Enrollment.class_id == class_id)
        .order_by(Payment.id)
    )
    code = school.currency(session)
    return [payment_dict(p, student, code) for p, student in rows]


CSV_COLUMNS = (
    "id",
    "student",
    "amount",
    "currency",
    "method",
    "reference",
    "status",
    "recorded_by",
    "recorded_at",
    "verified_by",
    "verified_at",
    "refunded_by",
    "refunded_at",
)


def payments_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        cells = ["" if r[c] is None else str(r[c]) for c in CSV_COLUMNS]
        # A leading = + - @ would be a formula in a spreadsheet: quote it as text.
        writer.writerow([("'" + c) if c[:1] in ("=", "+", "-", "@") else c for c in cells])
    return out.getvalue()
