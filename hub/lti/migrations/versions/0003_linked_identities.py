"""One campus account for several LMS identities (LTI 1.1 and 1.3 of one person): a user
name is no longer unique among identities.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("lti_identities_username_key", "lti_identities", type_="unique")
    else:  # SQLite: the constraint has no name; name it by convention to drop it
        with op.batch_alter_table(
            "lti_identities",
            naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"},
            recreate="always",
        ) as batch:
            batch.drop_constraint("uq_lti_identities_username", type_="unique")
    op.create_index("ix_lti_identities_username", "lti_identities", ["username"])


def downgrade() -> None:
    op.drop_index("ix_lti_identities_username", "lti_identities")
    with op.batch_alter_table("lti_identities") as batch:
        batch.create_unique_constraint("uq_lti_identities_username", ["username"])
