"""Admin screens: the office audit log, school settings, and course review.

Courses gain the `in_review` status, the reason a course was returned (`review_note`) and the
status an archived course had (`archived_from`, so archiving is a soft delete that restores).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('draft', 'published', 'archived')"
NEW_STATUSES = "status IN ('draft', 'in_review', 'published', 'archived')"


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target_type", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_target", ["target_type", "target"], unique=False)
    op.create_table(
        "school_settings",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("archived_from", sa.String(length=16), nullable=True))
        batch_op.drop_constraint("ck_course_status", type_="check")
        batch_op.create_check_constraint("ck_course_status", NEW_STATUSES)


def downgrade() -> None:
    op.execute("UPDATE courses SET status = 'draft' WHERE status = 'in_review'")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_constraint("ck_course_status", type_="check")
        batch_op.create_check_constraint("ck_course_status", OLD_STATUSES)
        batch_op.drop_column("archived_from")
        batch_op.drop_column("review_note")
    op.drop_table("school_settings")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_target")
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))
    op.drop_table("audit_log")
