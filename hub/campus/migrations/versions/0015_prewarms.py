"""Pre-warming from the class schedule: one row per class, meeting and student considered
(started with its memory reserved, skipped or failed, and why), see hub/campus/prewarm.py.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 06:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prewarms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "class_id",
            sa.Integer(),
            sa.ForeignKey("classes.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("meeting_number", sa.Integer(), nullable=False),
        sa.Column("meeting_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meeting_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("student", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("class_id", "meeting_start", "student", name="uq_prewarm_student"),
        sa.CheckConstraint(
            "outcome IN ('started', 'skipped', 'failed')", name="ck_prewarm_outcome"
        ),
        sa.CheckConstraint("memory_bytes >= 0", name="ck_prewarm_memory"),
    )
    op.create_index("ix_prewarms_class_id", "prewarms", ["class_id"])
    op.create_index("ix_prewarms_meeting_start", "prewarms", ["meeting_start"])
    op.create_index("ix_prewarms_at", "prewarms", ["at"])


def downgrade() -> None:
    op.drop_index("ix_prewarms_at", "prewarms")
    op.drop_index("ix_prewarms_meeting_start", "prewarms")
    op.drop_index("ix_prewarms_class_id", "prewarms")
    op.drop_table("prewarms")
