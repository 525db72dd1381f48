"""Grader: a submission's result hooks still have to run for its current grade.

Revision ID: g0002
Revises: g0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "g0002"
down_revision = "g0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Grades recorded before this revision count as handed to their hooks: the old code ran
    # them once, and running every hook again for the whole history at the first start would
    # flood the LMS outbox.
    with op.batch_alter_table("grader_submissions") as batch:
        batch.add_column(
            sa.Column("hooks_due", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("grader_submissions") as batch:
        batch.drop_column("hooks_due")
