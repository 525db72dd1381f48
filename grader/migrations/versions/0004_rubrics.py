"""Grader: rubric items and their marks per student, the comment bank, line comments and
per-student extensions (new tables only; existing rows stay as they are).

Revision ID: g0004
Revises: g0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "g0004"
down_revision = "g0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "grader_rubric_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("notebook", sa.String(200), nullable=False),
        sa.Column("cell", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(500), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_grader_rubric_cell",
        "grader_rubric_items",
        ["course", "assignment", "notebook", "cell"],
    )
    op.create_table(
        "grader_rubric_marks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("student", sa.String(100), nullable=False),
        sa.Column("marked_by", sa.String(100), nullable=False),
        sa.Column("marked_at", TZ, nullable=False),
        sa.UniqueConstraint("item_id", "student", name="uq_grader_rubric_mark"),
    )
    op.create_index("ix_grader_rubric_marks_item_id", "grader_rubric_marks", ["item_id"])
    op.create_table(
        "grader_comment_bank",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_grader_comment_bank", "grader_comment_bank", ["course", "assignment"])
    op.create_table(
        "grader_line_comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("student", sa.String(100), nullable=False),
        sa.Column("notebook", sa.String(200), nullable=False),
        sa.Column("cell", sa.String(200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index(
        "ix_grader_line_comments", "grader_line_comments", ["course", "assignment", "student"]
    )
    op.create_table(
        "grader_extensions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("student", sa.String(100), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("granted_by", sa.String(100), nullable=False),
        sa.Column("granted_at", TZ, nullable=False),
        sa.UniqueConstraint("course", "assignment", "student", name="uq_grader_extension"),
    )


def downgrade() -> None:
    op.drop_table("grader_extensions")
    op.drop_index("ix_grader_line_comments", "grader_line_comments")
    op.drop_table("grader_line_comments")
    op.drop_index("ix_grader_comment_bank", "grader_comment_bank")
    op.drop_table("grader_comment_bank")
    op.drop_index("ix_grader_rubric_marks_item_id", "grader_rubric_marks")
    op.drop_table("grader_rubric_marks")
    op.drop_index("ix_grader_rubric_cell", "grader_rubric_items")
    op.drop_table("grader_rubric_items")
