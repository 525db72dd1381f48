"""Grader: assignments, content-addressed blobs, submissions with their results.

Revision ID: g0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "g0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "grader_assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("notebooks", sa.JSON(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("due_at", TZ, nullable=True),
        sa.Column("late_penalty_per_hour", sa.Float(), nullable=False),
        sa.Column("late_penalty_max_fraction", sa.Float(), nullable=False),
        sa.Column("counts", sa.String(16), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("generated_at", TZ, nullable=False),
        sa.UniqueConstraint("course", "name", name="uq_grader_assignment"),
    )
    op.create_index("ix_grader_assignments_course", "grader_assignments", ["course"])
    op.create_table(
        "grader_blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "grader_submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False, unique=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("student", sa.String(100), nullable=False),
        sa.Column("submitted_at", TZ, nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claimed_at", TZ, nullable=True),
        sa.Column("graded_at", TZ, nullable=True),
        sa.Column("grade_count", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("late_penalty", sa.Float(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("feedback", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("posted", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "ix_grader_submissions_who", "grader_submissions", ["course", "assignment", "student"]
    )
    op.create_index("ix_grader_submissions_status", "grader_submissions", ["status", "id"])


def downgrade() -> None:
    op.drop_table("grader_submissions")
    op.drop_table("grader_blobs")
    op.drop_index("ix_grader_assignments_course", table_name="grader_assignments")
    op.drop_table("grader_assignments")
