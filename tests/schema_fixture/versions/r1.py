import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade() -> None:
    op.create_table("fixture_things", sa.Column("id", sa.Integer, primary_key=True))
