"""Certificates of course completion, and people's requests that their data be deleted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("course_title", sa.String(length=255), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user", "course_id", name="uq_certificate_user_course"),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_uid"), ["uid"], unique=True)
        batch_op.create_index(batch_op.f("ix_certificates_user"), ["user"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificates_course_id"), ["course_id"], unique=False)

    op.create_table(
        "deletion_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_by", sa.String(length=64), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'done', 'withdrawn')", name="ck_deletion_status"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deletion_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deletion_requests_user"), ["user"], unique=False)
        batch_op.create_index(batch_op.f("ix_deletion_requests_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deletion_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deletion_requests_status"))
        batch_op.drop_index(batch_op.f("ix_deletion_requests_user"))
    op.drop_table("deletion_requests")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_course_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_user"))
        batch_op.drop_index(batch_op.f("ix_certificates_uid"))
    op.drop_table("certificates")
