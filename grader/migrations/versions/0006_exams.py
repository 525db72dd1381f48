"""Grader: notebook lessons taken as timed exams, and each student's one sitting of them.

Revision ID: g0006
Revises: g0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "g0006"
down_revision = "g0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grader_exams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("exercise", sa.String(100), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_limit_seconds", sa.Integer(), nullable=True),
        sa.UniqueConstraint("course", "assignment", name="uq_grader_exam"),
    )
    op.create_index("ix_grader_exams_course", "grader_exams", ["course"])
    op.create_table(
        "grader_exam_sittings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("student", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("multiplier", sa.Float(), nullable=False),
        sa.Column("saved_files", sa.JSON(), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("auto_submitted", sa.Boolean(), nullable=False),
        sa.Column("submission_uid", sa.String(36), nullable=True),
        sa.Column("receipt", sa.String(64), nullable=True),
        sa.UniqueConstraint("course", "assignment", "student", name="uq_grader_exam_sitting"),
    )
    op.create_index(
        "ix_grader_exam_sittings_due", "grader_exam_sittings", ["status", "deadline_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_grader_exam_sittings_due", table_name="grader_exam_sittings")
    op.drop_table("grader_exam_sittings")
    op.drop_index("ix_grader_exams_course", table_name="grader_exams")
    op.drop_table("grader_exams")
