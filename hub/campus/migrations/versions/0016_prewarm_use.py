"""Pre-warmed servers' use: which server the Hub started, when the campus saw it ready, the
first activity after that (used / unused on the screens) and when it was found gone before its
meeting ended (its reservation freed), see hub/campus/prewarm.py.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 06:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = ("server_started", "ready_at", "used_at", "released_at")


def upgrade() -> None:
    with op.batch_alter_table("prewarms") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prewarms") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
