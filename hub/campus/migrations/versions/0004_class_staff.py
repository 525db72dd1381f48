"""Roles per class: a class's teaching staff (instructors and TAs) in `class_staff`.

The single `classes.instructor` column becomes the class's first instructor row; every class,
enrollment and grade is kept.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "class_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('instructor', 'ta')", name="ck_class_staff_role"),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("class_id", "user", name="uq_class_staff"),
    )
    with op.batch_alter_table("class_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_class_staff_class_id"), ["class_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_class_staff_user"), ["user"], unique=False)

    op.execute(
        'INSERT INTO class_staff (class_id, "user", role, added_by, added_at) '
        "SELECT id, instructor, 'instructor', created_by, created_at FROM classes "
        "WHERE instructor IS NOT NULL"
    )
    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classes_instructor"))
        batch_op.drop_column("instructor")


def downgrade() -> None:
    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instructor", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_classes_instructor"), ["instructor"], unique=False)
    op.execute(
        'UPDATE classes SET instructor = (SELECT s."user" FROM class_staff s '
        "WHERE s.class_id = classes.id AND s.role = 'instructor' ORDER BY s.id LIMIT 1)"
    )
    with op.batch_alter_table("class_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_class_staff_user"))
        batch_op.drop_index(batch_op.f("ix_class_staff_class_id"))
    op.drop_table("class_staff")
