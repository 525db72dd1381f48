"""Grader: written assignments (text, link or file) and their submissions, graded by hand.

Revision ID: g0005
Revises: g0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "g0005"
down_revision = "g0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grader_written_exercises",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("lesson", sa.String(100), nullable=False),
        sa.Column("exercise", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("course", "lesson", "exercise", name="uq_grader_written_exercise"),
    )
    op.create_index("ix_grader_written_exercises_course", "grader_written_exercises", ["course"])
    op.create_table(
        "grader_written_submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False, unique=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("lesson", sa.String(100), nullable=False),
        sa.Column("exercise", sa.String(100), nullable=False),
        sa.Column("student", sa.String(100), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("graded_by", sa.String(100), nullable=True),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "ix_grader_written_who",
        "grader_written_submissions",
        ["course", "lesson", "exercise", "student"],
    )


def downgrade() -> None:
    op.drop_index("ix_grader_written_who", table_name="grader_written_submissions")
    op.drop_table("grader_written_submissions")
    op.drop_index("ix_grader_written_exercises_course", table_name="grader_written_exercises")
    op.drop_table("grader_written_exercises")
