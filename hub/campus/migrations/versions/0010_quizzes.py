"""Quizzes and timed exams: a quiz's questions and instructor settings, students' attempts,
and per-student exam time accommodations.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quizzes",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_limit_seconds", sa.Integer(), nullable=True),
        sa.Column("scores_visible", sa.Boolean(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("exercise_id"),
    )
    op.create_table(
        "quiz_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("auto_submitted", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("receipt", sa.String(length=64), nullable=True),
        sa.CheckConstraint("status IN ('open', 'submitted')", name="ck_quiz_attempt_status"),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exercise_id", "user", "number", name="uq_quiz_attempt"),
    )
    op.create_index("ix_quiz_attempts_exercise_id", "quiz_attempts", ["exercise_id"])
    op.create_index("ix_quiz_attempts_user", "quiz_attempts", ["user"])
    op.create_table(
        "exam_accommodations",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("multiplier", sa.Float(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("course_id", "user"),
    )


def downgrade() -> None:
    op.drop_table("exam_accommodations")
    op.drop_index("ix_quiz_attempts_user", table_name="quiz_attempts")
    op.drop_index("ix_quiz_attempts_exercise_id", table_name="quiz_attempts")
    op.drop_table("quiz_attempts")
    op.drop_table("quizzes")
