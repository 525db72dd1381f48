"""Grader: a claimed submission is a lease that expires, and each claim has its own number.

Revision ID: g0003
Revises: g0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "g0003"
down_revision = "g0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every row stays as it is: a running row from before leases has none (NULL), which counts
    # as expired, so the next worker takes it over; claims are numbered from 0.
    with op.batch_alter_table("grader_submissions") as batch:
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("claim_token", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("grader_submissions") as batch:
        batch.drop_column("claim_token")
        batch.drop_column("lease_expires_at")
