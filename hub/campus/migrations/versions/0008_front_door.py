"""The front door: the public catalog's filters (course category, level, language; lesson
durations), and one-time account links (email verification, password reset).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("category", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("level", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("language", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.create_index(batch_op.f("ix_courses_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_courses_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_courses_language"), ["language"], unique=False)
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duration_minutes", sa.Integer(), nullable=True))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_tokens_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_tokens_account_id"))
    op.drop_table("account_tokens")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.drop_column("duration_minutes")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_courses_language"))
        batch_op.drop_index(batch_op.f("ix_courses_level"))
        batch_op.drop_index(batch_op.f("ix_courses_category"))
        batch_op.drop_column("language")
        batch_op.drop_column("level")
        batch_op.drop_column("category")
