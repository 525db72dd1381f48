"""Courses, classes, enrollments, credits, attendance, unlocks, progress, grading results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:24:56.119399
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kernel", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name="ck_course_status"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_courses_slug"), ["slug"], unique=True)
        batch_op.create_index(batch_op.f("ix_courses_status"), ["status"], unique=False)

    op.create_table(
        "classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("instructor", sa.String(length=64), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("max_capacity", sa.Integer(), nullable=False),
        sa.Column("current_capacity", sa.Integer(), nullable=False),
        sa.Column("total_meetings", sa.Integer(), nullable=False),
        sa.Column("meetings_completed", sa.Integer(), nullable=False),
        sa.Column("lessons_unlocked", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("enrollment_deadline", sa.Date(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("continued_from_class_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'enrollment_open', 'active', 'completed', 'cancelled')",
            name="ck_class_status",
        ),
        sa.CheckConstraint("type IN ('group', 'private')", name="ck_class_type"),
        sa.CheckConstraint("current_capacity <= max_capacity", name="ck_class_not_over"),
        sa.CheckConstraint("lessons_unlocked <= meetings_completed", name="ck_class_unlocks"),
        sa.CheckConstraint("max_capacity > 0", name="ck_class_capacity"),
        sa.CheckConstraint("meetings_completed <= total_meetings", name="ck_class_meetings_done"),
        sa.CheckConstraint("total_meetings > 0", name="ck_class_meetings"),
        sa.ForeignKeyConstraint(
            ["continued_from_class_id"],
            ["classes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_classes_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_classes_instructor"), ["instructor"], unique=False)
        batch_op.create_index(batch_op.f("ix_classes_status"), ["status"], unique=False)

    op.create_table(
        "sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("order_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("course_id", "slug", name="uq_section_slug"),
    )
    op.create_table(
        "class_enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("student", sa.String(length=64), nullable=False),
        sa.Column("meeting_credits", sa.Integer(), nullable=False),
        sa.Column("credits_used", sa.Integer(), nullable=False),
        sa.Column("credits_adjusted", sa.Integer(), nullable=False),
        sa.Column("attendance_rate", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enrolled_by", sa.String(length=64), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'completed', 'withdrawn')", name="ck_enroll_status"
        ),
        sa.CheckConstraint("credits_used >= 0", name="ck_enrollment_used"),
        sa.CheckConstraint(
            "meeting_credits + credits_adjusted - credits_used >= 0", name="ck_enrollment_balance"
        ),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("class_id", "student", name="uq_enrollment"),
    )
    with op.batch_alter_table("class_enrollments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_class_enrollments_class_id"), ["class_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_class_enrollments_student"), ["student"], unique=False)

    op.create_table(
        "lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("order_index", sa.Integer(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("course_id", "slug", name="uq_lesson_slug"),
    )
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lessons_course_id"), ["course_id"], unique=False)

    op.create_table(
        "class_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("meeting_number", sa.Integer(), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("credit_deducted", sa.Boolean(), nullable=False),
        sa.Column("marked_by", sa.String(length=64), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.CheckConstraint("status IN ('present', 'absent', 'late')", name="ck_attendance_status"),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["class_enrollments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enrollment_id", "meeting_number", name="uq_attendance"),
    )
    with op.batch_alter_table("class_attendance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_class_attendance_class_id"), ["class_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_class_attendance_enrollment_id"), ["enrollment_id"], unique=False
        )

    op.create_table(
        "credit_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("adjustment", sa.Integer(), nullable=False),
        sa.Column("credits_before", sa.Integer(), nullable=False),
        sa.Column("credits_after", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("reason_detail", sa.Text(), nullable=False),
        sa.Column("adjusted_by", sa.String(length=64), nullable=False),
        sa.Column("adjusted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reason IN ('makeup_class', 'refund', 'error_correction', 'bonus', 'other')",
            name="ck_credit_reason",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["class_enrollments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit_adjustments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_adjustments_adjusted_by"), ["adjusted_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_adjustments_enrollment_id"), ["enrollment_id"], unique=False
        )

    op.create_table(
        "exercises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("notebook", sa.String(length=255), nullable=True),
        sa.Column("xp", sa.Integer(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("order_index", sa.Integer(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "type IN ('video', 'quiz', 'material', 'assignment', 'coding')", name="ck_exercise_type"
        ),
        sa.ForeignKeyConstraint(["lesson_id"], ["lessons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lesson_id", "slug", name="uq_exercise_slug"),
    )
    with op.batch_alter_table("exercises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exercises_lesson_id"), ["lesson_id"], unique=False)

    op.create_table(
        "lesson_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("exercises_completed", sa.Integer(), nullable=False),
        sa.Column("total_exercises", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user", "lesson_id", name="uq_lesson_progress"),
    )
    with op.batch_alter_table("lesson_progress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lesson_progress_lesson_id"), ["lesson_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_lesson_progress_user"), ["user"], unique=False)

    op.create_table(
        "lesson_unlocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("unlocked_by", sa.String(length=64), nullable=False),
        sa.Column("unlocked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("class_id", "lesson_id", name="uq_lesson_unlock"),
    )
    with op.batch_alter_table("lesson_unlocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lesson_unlocks_class_id"), ["class_id"], unique=False)

    op.create_table(
        "class_attendance_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attendance_id", sa.Integer(), nullable=False),
        sa.Column("old_status", sa.String(length=8), nullable=False),
        sa.Column("new_status", sa.String(length=8), nullable=False),
        sa.Column("credit_change", sa.Integer(), nullable=False),
        sa.Column("edited_by", sa.String(length=64), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attendance_id"],
            ["class_attendance.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("class_attendance_edits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_class_attendance_edits_attendance_id"), ["attendance_id"], unique=False
        )

    op.create_table(
        "exercise_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user", "exercise_id", name="uq_exercise_progress"),
    )
    with op.batch_alter_table("exercise_progress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exercise_progress_exercise_id"), ["exercise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exercise_progress_user"), ["user"], unique=False)

    op.create_table(
        "grading_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.String(length=100), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", "exercise_id", name="uq_grading_result"),
    )
    with op.batch_alter_table("grading_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grading_results_exercise_id"), ["exercise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_grading_results_user"), ["user"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grading_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grading_results_user"))
        batch_op.drop_index(batch_op.f("ix_grading_results_exercise_id"))

    op.drop_table("grading_results")
    with op.batch_alter_table("exercise_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercise_progress_user"))
        batch_op.drop_index(batch_op.f("ix_exercise_progress_exercise_id"))

    op.drop_table("exercise_progress")
    with op.batch_alter_table("class_attendance_edits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_class_attendance_edits_attendance_id"))

    op.drop_table("class_attendance_edits")
    with op.batch_alter_table("lesson_unlocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lesson_unlocks_class_id"))

    op.drop_table("lesson_unlocks")
    with op.batch_alter_table("lesson_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lesson_progress_user"))
        batch_op.drop_index(batch_op.f("ix_lesson_progress_lesson_id"))

    op.drop_table("lesson_progress")
    with op.batch_alter_table("exercises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercises_lesson_id"))

    op.drop_table("exercises")
    with op.batch_alter_table("credit_adjustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_adjustments_enrollment_id"))
        batch_op.drop_index(batch_op.f("ix_credit_adjustments_adjusted_by"))

    op.drop_table("credit_adjustments")
    with op.batch_alter_table("class_attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_class_attendance_enrollment_id"))
        batch_op.drop_index(batch_op.f("ix_class_attendance_class_id"))

    op.drop_table("class_attendance")
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lessons_course_id"))

    op.drop_table("lessons")
    with op.batch_alter_table("class_enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_class_enrollments_student"))
        batch_op.drop_index(batch_op.f("ix_class_enrollments_class_id"))

    op.drop_table("class_enrollments")
    op.drop_table("sections")
    with op.batch_alter_table("classes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classes_status"))
        batch_op.drop_index(batch_op.f("ix_classes_instructor"))
        batch_op.drop_index(batch_op.f("ix_classes_course_id"))

    op.drop_table("classes")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_courses_status"))
        batch_op.drop_index(batch_op.f("ix_courses_slug"))

    op.drop_table("courses")
