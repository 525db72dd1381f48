"""One audit table: the office's class changes (`office_audit`) move into `audit_log`.

`audit_log` gains the class and enrollment a row concerns (nullable: an account or a school
setting concerns no class); every `office_audit` row is copied with its time, actor, action,
before and after (an empty before/after becomes "{}", as `audit_log` stores JSON objects),
then `office_audit` is dropped. Downgrade copies the class rows back and removes them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COPY_IN = """
INSERT INTO audit_log (actor, action, target_type, target, before, after, at, class_id,
                       enrollment_id)
SELECT actor, action, 'class', COALESCE(CAST(class_id AS VARCHAR(20)), ''),
       CASE WHEN before = '' THEN '{}' ELSE before END,
       CASE WHEN after = '' THEN '{}' ELSE after END,
       at, class_id, enrollment_id
FROM office_audit ORDER BY at, id
"""

COPY_OUT = """
INSERT INTO office_audit (class_id, enrollment_id, action, actor, at, before, after)
SELECT class_id, enrollment_id, action, actor, at,
       CASE WHEN before = '{}' THEN '' ELSE before END,
       CASE WHEN after = '{}' THEN '' ELSE after END
FROM audit_log WHERE target_type = 'class' ORDER BY at, id
"""


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("class_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("enrollment_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_audit_log_class", "classes", ["class_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_audit_log_enrollment", "class_enrollments", ["enrollment_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_audit_log_class_id"), ["class_id"], unique=False)
    op.execute(COPY_IN)
    with op.batch_alter_table("office_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_office_audit_class_id"))
    op.drop_table("office_audit")


def downgrade() -> None:
    op.create_table(
        "office_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=True),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"]),
        sa.ForeignKeyConstraint(["enrollment_id"], ["class_enrollments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("office_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_office_audit_class_id"), ["class_id"])
    op.execute(COPY_OUT)
    op.execute("DELETE FROM audit_log WHERE target_type = 'class'")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_class_id"))
        batch_op.drop_constraint("fk_audit_log_enrollment", type_="foreignkey")
        batch_op.drop_constraint("fk_audit_log_class", type_="foreignkey")
        batch_op.drop_column("enrollment_id")
        batch_op.drop_column("class_id")
