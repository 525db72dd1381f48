import sqlalchemy as sa
from alembic import op

revision = "r2"
down_revision = "r1"


def upgrade() -> None:
    op.add_column("fixture_things", sa.Column("name", sa.String(20)))
