"""All campus tables, in one module (as jupyterhub's orm.py).

Table names never collide with the Hub's own (`users`, `groups`, `roles`, `services`, ...),
so the Hub, the campus and the grader may share one PostgreSQL database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from nbcampus.db import MigrationSet

MIGRATIONS = MigrationSet(
    name="campus",
    package="nbcampus.hub.campus.migrations",
    version_table="campus_alembic_version",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Account(Base):
    """A person who may log in: a local account (with a password) or one from an LMS."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(16), default="student")
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    source: Mapped[str] = mapped_column(String(16), default="local")  # local, demo, signup, lti
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when the person proved they read mail at `email` (a sign-up's verification link).
    email_verified_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class AccountToken(Base):
    """A one-time link mailed to an account's owner: email verification, password reset.
    Only a hash of the token is kept; it is bound to one account and one purpose, expires,
    and is spent on first use."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What the token confirms besides the account (e.g. the address being verified).
    payload: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEntry(Base):
    """A change a person made in the office and admin screens (accounts, course review,
    school settings; a class's own changes, its enrollments and payments): who, when, what,
    and the object before and after, as JSON. A class's rows name the class (and the
    enrollment); attendance edits and credit adjustments keep their own trails, and a class's
    audit reads the three together (office_audit.py)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(100))
    before: Mapped[str] = mapped_column(Text, default="{}")
    after: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    class_id: Mapped[int | None] = mapped_column(
        ForeignKey("classes.id", name="fk_audit_log_class"), index=True
    )
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("class_enrollments.id", name="fk_audit_log_enrollment")
    )

    __table_args__ = (Index("ix_audit_target", "target_type", "target"),)


class SchoolSetting(Base):
    """One school setting that is safe to change while the campus runs (name, logo, time
    zone shown); pages read them on every request."""

    __tablename__ = "school_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- courses (imported from course.yaml; see manifest.py) -----------------------------------
# People are referred to by their Hub user name: local accounts, LMS users and services alike.
UserName = String(64)


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    kernel: Mapped[str] = mapped_column(String(64), default="python3")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The public catalog's filters, from course.yaml.
    category: Mapped[str] = mapped_column(String(64), default="", index=True)
    level: Mapped[str] = mapped_column(String(16), default="", index=True)
    language: Mapped[str] = mapped_column(String(16), default="", index=True)
    # Course review: why a course went back to draft; the status an archived course had.
    review_note: Mapped[str] = mapped_column(Text, default="")
    archived_from: Mapped[str | None] = mapped_column(String(16), nullable=True)

    sections: Mapped[list[Section]] = relationship(
        back_populates="course", order_by="Section.order_index"
    )

    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'in_review', 'published', 'archived')", name="ck_course_status"
        ),
    )


class Section(Base):
    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    order_index: Mapped[int] = mapped_column(Integer)
    # Its share of the course total out of 100 (NULL: its exercises' weights summed).
    weight: Mapped[float | None] = mapped_column(Float, nullable=True)

    course: Mapped[Course] = relationship(back_populates="sections")

    __table_args__ = (UniqueConstraint("course_id", "slug", name="uq_section_slug"),)


class Lesson(Base):
    """A lesson; `order_index` is its 1-based position in the whole course (meeting n)."""

    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    order_index: Mapped[int] = mapped_column(Integer)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A lesson dropped from the manifest is retired, not deleted: progress stays.
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("course_id", "slug", name="uq_lesson_slug"),)


class Exercise(Base):
    __tablename__ = "exercises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    notebook: Mapped[str | None] = mapped_column(String(255), nullable=True)
    xp: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[float] = mapped_column(Float, default=0.0)
    # Its share of its section's score (NULL: its points).
    weight: Mapped[float | None] = mapped_column(Float, nullable=True)
    order_index: Mapped[int] = mapped_column(Integer)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    # When its student sees a score (visibility.py): the manifest's `scores:` (NULL: visible),
    # its own due date (what after_due waits for) and an instructor's release.
    score_visibility: Mapped[str | None] = mapped_column(String(16), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    scores_released_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    scores_released_by: Mapped[str | None] = mapped_column(UserName, nullable=True)

    __table_args__ = (
        UniqueConstraint("lesson_id", "slug", name="uq_exercise_slug"),
        CheckConstraint(
            "type IN ('video', 'quiz', 'material', 'assignment', 'coding')",
            name="ck_exercise_type",
        ),
    )


# --- classes, enrollments, credits, attendance, unlocks --------------------------------------
class CampusClass(Base):
    """A class of a course: group or private, a package of meetings, one lesson per meeting."""

    __tablename__ = "classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    type: Mapped[str] = mapped_column(String(16), default="group")
    max_capacity: Mapped[int] = mapped_column(Integer)
    current_capacity: Mapped[int] = mapped_column(Integer, default=0)
    total_meetings: Mapped[int] = mapped_column(Integer)
    meetings_completed: Mapped[int] = mapped_column(Integer, default=0)
    lessons_unlocked: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    enrollment_deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # When the class meets, as JSON {"days": ["mon", "thu"], "time": "19:00-21:00"}.
    schedule: Mapped[str | None] = mapped_column(Text, nullable=True)
    continued_from_class_id: Mapped[int | None] = mapped_column(
        ForeignKey("classes.id"), nullable=True
    )
    created_by: Mapped[str | None] = mapped_column(UserName, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint("type IN ('group', 'private')", name="ck_class_type"),
        CheckConstraint("max_capacity > 0", name="ck_class_capacity"),
        CheckConstraint("current_capacity <= max_capacity", name="ck_class_not_over"),
        CheckConstraint("total_meetings > 0", name="ck_class_meetings"),
        CheckConstraint("meetings_completed <= total_meetings", name="ck_class_meetings_done"),
        # One meeting = one lesson: never more lessons open than meetings held.
        CheckConstraint("lessons_unlocked <= meetings_completed", name="ck_class_unlocks"),
        CheckConstraint(
            "status IN ('draft', 'enrollment_open', 'active', 'completed', 'cancelled')",
            name="ck_class_status",
        ),
    )

    # Who teaches the class: the only source of "teaches" anywhere in the campus and grader.
    staff: Mapped[list[ClassStaff]] = relationship(
        order_by="ClassStaff.id", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def instructor(self) -> str | None:
        """The lead instructor: the first instructor named for the class."""
        return next((m.user for m in self.staff if m.role == "instructor"), None)


class ClassStaff(Base):
    """A person teaching a class: an instructor, or a teaching assistant (grades and takes
    attendance, but neither unlocks nor publishes). Roles are per class, as in every LMS: the
    same account may be a student in another class."""

    __tablename__ = "class_staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    user: Mapped[str] = mapped_column(UserName, index=True)
    role: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[str | None] = mapped_column(UserName, nullable=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        UniqueConstraint("class_id", "user", name="uq_class_staff"),
        CheckConstraint("role IN ('instructor', 'ta')", name="ck_class_staff_role"),
    )


class Enrollment(Base):
    """A student in a class, with their meeting credits.

    credits_remaining = meeting_credits + credits_adjusted - credits_used, where credits_used
    counts present/late meetings and credits_adjusted sums the manual adjustments.
    """

    __tablename__ = "class_enrollments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    student: Mapped[str] = mapped_column(UserName, index=True)
    meeting_credits: Mapped[int] = mapped_column(Integer)
    credits_used: Mapped[int] = mapped_column(Integer, default=0)
    credits_adjusted: Mapped[int] = mapped_column(Integer, default=0)
    attendance_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    enrolled_by: Mapped[str | None] = mapped_column(UserName, nullable=True)
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Follows the enrollment's payments (payments.py): pending until one is verified.
    payment_status: Mapped[str] = mapped_column(String(16), default="pending")

    __table_args__ = (
        UniqueConstraint("class_id", "student", name="uq_enrollment"),
        CheckConstraint("credits_used >= 0", name="ck_enrollment_used"),
        CheckConstraint(
            "meeting_credits + credits_adjusted - credits_used >= 0", name="ck_enrollment_balance"
        ),
        CheckConstraint("status IN ('active', 'completed', 'withdrawn')", name="ck_enroll_status"),
        CheckConstraint(
            "payment_status IN ('pending', 'verified', 'refunded')", name="ck_enroll_payment"
        ),
    )

    @property
    def credits_remaining(self) -> int:
        return self.meeting_credits + self.credits_adjusted - self.credits_used


class Attendance(Base):
    __tablename__ = "class_attendance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("class_enrollments.id"), index=True)
    meeting_number: Mapped[int] = mapped_column(Integer)
    meeting_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8))
    credit_deducted: Mapped[bool] = mapped_column(Boolean, default=False)
    marked_by: Mapped[str] = mapped_column(UserName)
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(UserName, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        # One record per student per meeting: the database refuses a double count.
        UniqueConstraint("enrollment_id", "meeting_number", name="uq_attendance"),
        CheckConstraint("status IN ('present', 'absent', 'late')", name="ck_attendance_status"),
    )


class AttendanceEdit(Base):
    """The audit trail of changes to an attendance record."""

    __tablename__ = "class_attendance_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("class_attendance.id"), index=True)
    old_status: Mapped[str] = mapped_column(String(8))
    new_status: Mapped[str] = mapped_column(String(8))
    credit_change: Mapped[int] = mapped_column(Integer)
    edited_by: Mapped[str] = mapped_column(UserName)
    edited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")


class CreditAdjustment(Base):
    """A manual credit change; before/after are the remaining credits."""

    __tablename__ = "credit_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("class_enrollments.id"), index=True)
    adjustment: Mapped[int] = mapped_column(Integer)
    credits_before: Mapped[int] = mapped_column(Integer)
    credits_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    reason_detail: Mapped[str] = mapped_column(Text, default="")
    adjusted_by: Mapped[str] = mapped_column(UserName, index=True)
    adjusted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "reason IN ('makeup_class', 'refund', 'error_correction', 'bonus', 'other')",
            name="ck_credit_reason",
        ),
    )


class Payment(Base):
    """A payment for an enrollment, recorded by staff (no gateway): pending until staff
    verify it, refunded after. Amounts are in cents, so no currency arithmetic is inexact."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("class_enrollments.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(255), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    proof_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    proof_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    proof: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    recorded_by: Mapped[str] = mapped_column(UserName)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    verified_by: Mapped[str | None] = mapped_column(UserName, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    refunded_by: Mapped[str | None] = mapped_column(UserName, nullable=True)
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="ck_payment_amount"),
        CheckConstraint("status IN ('pending', 'verified', 'refunded')", name="ck_payment_status"),
    )


class LessonUnlock(Base):
    __tablename__ = "lesson_unlocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    unlocked_by: Mapped[str] = mapped_column(UserName)
    unlocked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("class_id", "lesson_id", name="uq_lesson_unlock"),)


# --- progress ----------------------------------------------------------------------------------
class LessonProgress(Base):
    __tablename__ = "lesson_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(UserName, index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"), index=True)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    exercises_completed: Mapped[int] = mapped_column(Integer, default=0)
    total_exercises: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("user", "lesson_id", name="uq_lesson_progress"),)


class ExerciseProgress(Base):
    __tablename__ = "exercise_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(UserName, index=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"), index=True)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("user", "exercise_id", name="uq_exercise_progress"),)


class GradingResult(Base):
    """A grade the grader posted, one per (submission_id, exercise); a newer grade of the
    same submission (a manual grade, a regrade) replaces its score."""

    __tablename__ = "grading_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(String(100))
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"), index=True)
    user: Mapped[str] = mapped_column(UserName, index=True)
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    graded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("submission_id", "exercise_id", name="uq_grading_result"),)


# --- engagement: XP, levels, streaks, badges, notifications, announcements --------------------
class XpTransaction(Base):
    """One XP award or revocation (negative). Append-only; (user, reason, ref) is unique so an
    event delivered twice awards once."""

    __tablename__ = "xp_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(UserName)
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(200))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(UserName, default="system")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        UniqueConstraint("user", "reason", "ref", name="uq_xp_event"),
        CheckConstraint(
            "reason IN ('lesson_complete', 'exercise_complete', 'autograde_passed', "
            "'attendance', 'streak', 'badge', 'manual')",
            name="ck_xp_reason",
        ),
        Index("ix_xp_user_created", "user", "created_at"),
    )


class XpTotal(Base):
    """Running XP sums per user, course (0 = all courses) and period ("all" or an ISO week
    "2026-W48"), kept with each award so leaderboards read a small table."""

    __tablename__ = "xp_totals"

    user: Mapped[str] = mapped_column(UserName, primary_key=True)
    course_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_xp_totals_board", "course_id", "period", "total"),)


class UserLevel(Base):
    __tablename__ = "user_levels"

    user: Mapped[str] = mapped_column(UserName, primary_key=True)
    total_xp: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[int] = mapped_column(Integer, default=1)
    current_streak: Mapped[int] = mapped_column(Integer, default=0)
    longest_streak: Mapped[int] = mapped_column(Integer, default=0)
    last_active_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    leaderboard_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Badge(Base):
    __tablename__ = "badges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str] = mapped_column(String(500), default="")
    rarity: Mapped[str] = mapped_column(String(16), default="common")
    criteria: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), nullable=True)

    __table_args__ = (
        CheckConstraint(
            "rarity IN ('common', 'rare', 'epic', 'legendary')", name="ck_badge_rarity"
        ),
    )


class UserBadge(Base):
    __tablename__ = "user_badges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(UserName, index=True)
    badge_id: Mapped[int] = mapped_column(ForeignKey("badges.id"))
    awarded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("user", "badge_id", name="uq_user_badge"),)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(UserName)
    type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    ref: Mapped[str] = mapped_column(String(200), default="")
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_notifications_user", "user", "id"),
        UniqueConstraint("user", "type", "ref", name="uq_notification_event"),
    )


class Announcement(Base):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id"), nullable=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), nullable=True)
    author: Mapped[str] = mapped_column(UserName)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # Markdown as written
    body_html: Mapped[str] = mapped_column(Text)  # rendered and sanitised once, on write
    publish_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnnouncementRead(Base):
    __tablename__ = "announcement_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id"), index=True)
    user: Mapped[str] = mapped_column(UserName)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("announcement_id", "user", name="uq_announcement_read"),)


# --- certificates and personal data requests ----------------------------------------------------
class Certificate(Base):
    """A course completion certificate: one per (user, course). Name and title are kept as
    they were on the day it was issued, so the verification page tells what the PDF says."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, index=True)  # public, unguessable
    user: Mapped[str] = mapped_column(UserName, index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    course_title: Mapped[str] = mapped_column(String(255))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(UserName, nullable=True)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("user", "course_id", name="uq_certificate_user_course"),)


class DeletionRequest(Base):
    """A person's request that their account and data be deleted; staff act on it."""

    __tablename__ = "deletion_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(UserName, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    handled_by: Mapped[str | None] = mapped_column(UserName, nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'withdrawn')", name="ck_deletion_status"),
    )


class MailDigest(Base):
    """A person's opt-in to the daily email digest (off unless a row says on) and when their
    last digest went out: the digest holds what came after `since`, and a restart that finds
    `sent_at` less than a day old sends nothing."""

    __tablename__ = "mail_digests"

    user: Mapped[str] = mapped_column(UserName, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The start of the next digest: the opt-in time, then each sent digest's time.
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# --- quizzes and timed exams (quiz.py) ----------------------------------------------------------
class Quiz(Base):
    """A quiz exercise's questions (its .quiz.yaml, checked, as JSON; replaced at each import)
    and what its instructors changed through the API, which an import keeps: the exam window
    and time limit, score visibility, and when an exam's scores were released."""

    __tablename__ = "quizzes"

    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    spec: Mapped[str] = mapped_column(Text)
    # None: the manifest's value.
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    time_limit_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scores_visible: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(UserName, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QuizAttempt(Base):
    """One attempt of a student at a quiz: open (answers saved as they go) until submitted by
    the student or, for a timed exam, closed by its deadline with what was saved by then."""

    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    user: Mapped[str] = mapped_column(UserName, index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The server's deadline for this student (timed exams): nothing is accepted after it.
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answers: Mapped[str] = mapped_column(Text, default="{}")
    saved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    results: Mapped[str] = mapped_column(Text, default="{}")  # points per question
    receipt: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        UniqueConstraint("exercise_id", "user", "number", name="uq_quiz_attempt"),
        CheckConstraint("status IN ('open', 'submitted')", name="ck_quiz_attempt_status"),
    )


class ExamAccommodation(Base):
    """A student's time multiplier for the timed exams of a course (1.5: half as long again),
    set by the course's teachers or the office."""

    __tablename__ = "exam_accommodations"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    user: Mapped[str] = mapped_column(UserName, primary_key=True)
    multiplier: Mapped[float] = mapped_column(Float, default=1.0)
    set_by: Mapped[str] = mapped_column(UserName)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- material and video exercises ----------------------------------------------------------
class ExerciseMedia(Base):
    """What a material or video exercise shows, from the manifest at import: a file of the
    lesson folder (`path` on the campus's machine, served by the campus) or a video's URL."""

    __tablename__ = "exercise_media"

    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    file: Mapped[str | None] = mapped_column(String(255), nullable=True)  # as the manifest names it
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    complete_at: Mapped[float] = mapped_column(Float, default=0.9)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # a video's length


class VideoWatch(Base):
    """The seconds of a video a student has actually played: the union of the played ranges
    their player reported in heartbeats, each clipped to the time that passed since the last."""

    __tablename__ = "video_watches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(UserName, index=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    ranges: Mapped[str] = mapped_column(Text, default="[]")  # JSON [[start, end], ...], merged
    watched: Mapped[float] = mapped_column(Float, default=0.0)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("user", "exercise_id", name="uq_video_watch"),)


class Prewarm(Base):
    """One student's server considered for one meeting's pre-warm (prewarm.py): started (its
    memory reserved against the operator's budget until the meeting ends), skipped or failed,
    and why. One row per class, meeting and student: a meeting is pre-warmed once."""

    __tablename__ = "prewarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    meeting_number: Mapped[int] = mapped_column(Integer)
    meeting_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    meeting_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    student: Mapped[str] = mapped_column(UserName)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    memory_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # A started server as the periodic check sees it through the Hub's API (prewarm_hub.py):
    # the Hub's start time of that server (which server it is), when the campus saw it ready,
    # the first activity after that (the student used it), and when it was found gone before
    # the meeting ended (its memory no longer reserved).
    server_started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        UniqueConstraint("class_id", "meeting_start", "student", name="uq_prewarm_student"),
        CheckConstraint("outcome IN ('started', 'skipped', 'failed')", name="ck_prewarm_outcome"),
        CheckConstraint("memory_bytes >= 0", name="ck_prewarm_memory"),
    )
