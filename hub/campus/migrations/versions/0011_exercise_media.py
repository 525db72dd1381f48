"""Material and video exercises: what each shows (a lesson file or a video URL) and the
seconds of a video each student has actually watched.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 02:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exercise_media",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("complete_at", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("exercise_id"),
    )
    op.create_table(
        "video_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("ranges", sa.Text(), nullable=False),
        sa.Column("watched", sa.Float(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user", "exercise_id", name="uq_video_watch"),
    )
    op.create_index("ix_video_watches_user", "video_watches", ["user"])
    op.create_index("ix_video_watches_exercise_id", "video_watches", ["exercise_id"])


def downgrade() -> None:
    op.drop_index("ix_video_watches_exercise_id", table_name="video_watches")
    op.drop_index("ix_video_watches_user", table_name="video_watches")
    op.drop_table("video_watches")
    op.drop_table("exercise_media")
