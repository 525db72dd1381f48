"""LTI 1.1 result ids per link and person (not per course).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lti_outcome_ids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_pk", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("sourcedid", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["link_pk"], ["lti_resource_links.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_pk", "username"),
    )


def downgrade() -> None:
    op.drop_table("lti_outcome_ids")
