"""The office: a class's weekly schedule, payments for enrollments (with the enrollment's
payment status) and the audit of what people change in classes, enrollments and payments.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule", sa.Text(), nullable=True))
    with op.batch_alter_table("class_enrollments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "payment_status", sa.String(length=16), nullable=False, server_default="pending"
            )
        )
        batch_op.create_check_constraint(
            "ck_enroll_payment", "payment_status IN ('pending', 'verified', 'refunded')"
        )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proof_name", sa.String(length=255), nullable=True),
        sa.Column("proof_type", sa.String(length=100), nullable=True),
        sa.Column("proof", sa.LargeBinary(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_by", sa.String(length=64), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_by", sa.String(length=64), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_cents > 0", name="ck_payment_amount"),
        sa.CheckConstraint(
            "status IN ('pending', 'verified', 'refunded')", name="ck_payment_status"
        ),
        sa.ForeignKeyConstraint(["enrollment_id"], ["class_enrollments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_enrollment_id"), ["enrollment_id"])
        batch_op.create_index(batch_op.f("ix_payments_status"), ["status"])
    op.create_table(
        "office_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=True),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"]),
        sa.ForeignKeyConstraint(["enrollment_id"], ["class_enrollments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("office_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_office_audit_class_id"), ["class_id"])


def downgrade() -> None:
    with op.batch_alter_table("office_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_office_audit_class_id"))
    op.drop_table("office_audit")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_status"))
        batch_op.drop_index(batch_op.f("ix_payments_enrollment_id"))
    op.drop_table("payments")
    with op.batch_alter_table("class_enrollments", schema=None) as batch_op:
        batch_op.drop_constraint("ck_enroll_payment", type_="check")
        batch_op.drop_column("payment_status")
    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.drop_column("schedule")
