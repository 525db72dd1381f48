"""Score visibility per assessment: when a student sees a graded exercise's score.

`exercises.score_visibility` is the manifest's `scores:` (visible | after_due | hidden; NULL:
visible), `exercises.due_at` the exercise's own due date (what `after_due` waits for), and
`scores_released_at/_by` an instructor's release (hub/campus/visibility.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exercises") as batch:
        batch.add_column(sa.Column("score_visibility", sa.String(16), nullable=True))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("scores_released_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("scores_released_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exercises") as batch:
        for name in ("scores_released_by", "scores_released_at", "due_at", "score_visibility"):
            batch.drop_column(name)
