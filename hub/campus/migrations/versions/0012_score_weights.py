"""Scores out of 100: a weight per exercise and per section, from the course manifest (NULL:
the default, see hub/campus/manifest.py and hub/campus/scores.py).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exercises") as batch:
        batch.add_column(sa.Column("weight", sa.Float(), nullable=True))
    with op.batch_alter_table("sections") as batch:
        batch.add_column(sa.Column("weight", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sections") as batch:
        batch.drop_column("weight")
    with op.batch_alter_table("exercises") as batch:
        batch.drop_column("weight")
