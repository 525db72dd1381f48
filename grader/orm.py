"""All grader tables, in one module (as jupyterhub's orm.py).

Every table name starts with `grader_`, so the Hub, the campus and the grader may share one
PostgreSQL database. nbgrader's own gradebook (scores per cell, comments, manual grades)
lives in nbgrader's schema, one SQLite file per course, next to the course's files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nbcampus.db import MigrationSet

MIGRATIONS = MigrationSet(
    name="grader",
    package="nbcampus.grader.migrations",
    version_table="grader_alembic_version",
)

# Submission states: accepted -> queued; a worker claims it (running) and records the
# result in the same transaction that marks it graded (or failed).
QUEUED, RUNNING, GRADED, FAILED = "queued", "running", "graded", "failed"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Assignment(Base):
    """An nbgrader assignment of a course (campus: a lesson), once it has been generated."""

    __tablename__ = "grader_assignments"
    __table_args__ = (UniqueConstraint("course", "name", name="uq_grader_assignment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200), default="")
    notebooks: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    # Late policy: points taken per started hour late, capped at a share of the score.
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    late_penalty_per_hour: Mapped[float] = mapped_column(Float, default=0.0)
    late_penalty_max_fraction: Mapped[float] = mapped_column(Float, default=1.0)
    # Which submission counts: "newest" or "best".
    counts: Mapped[str] = mapped_column(String(16), default="newest")
    released: Mapped[bool] = mapped_column(default=True)
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Blob(Base):
    """A stored file, by the SHA-256 of its content (the file lives under grader/blobs/)."""

    __tablename__ = "grader_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Submission(Base):
    """One submission of one assignment by one student, and its grading result."""

    __tablename__ = "grader_submissions"
    __table_args__ = (
        Index("ix_grader_submissions_who", "course", "assignment", "student"),
        Index("ix_grader_submissions_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(String(100))
    student: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # {relative path: sha256} of the files as submitted.
    files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A claim is a lease: the worker renews it while grading; once it has expired another
    # worker may take the submission over. Each claim increments claim_token, and a result
    # counts only with the token of the current claim (a fencing token).
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    claim_token: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    grade_count: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    late_penalty: Mapped[float] = mapped_column(Float, default=0.0)
    # Per notebook and per test: what the student may see (never hidden tests' source).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # {notebook: sha256 of the feedback HTML}
    feedback: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What the current grade still has to reach, set in the transaction that saves the grade
    # and cleared once done: the campus (`posted`) and the result hooks (`hooks_due`, all of
    # them returned without raising). The grader's retry loop sends whatever is left.
    posted: Mapped[bool] = mapped_column(default=False)
    hooks_due: Mapped[bool] = mapped_column(default=False, server_default=false())


class RubricItem(Base):
    """A rubric line of a manually graded cell: what earns how many points. Ticking items
    for a student sets that cell's manual score in nbgrader's gradebook (their sum)."""

    __tablename__ = "grader_rubric_items"
    __table_args__ = (Index("ix_grader_rubric_cell", "course", "assignment", "notebook", "cell"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(String(100))
    notebook: Mapped[str] = mapped_column(String(200))
    cell: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(500))
    points: Mapped[float] = mapped_column(Float)


class RubricMark(Base):
    """A rubric item ticked for one student."""

    __tablename__ = "grader_rubric_marks"
    __table_args__ = (UniqueConstraint("item_id", "student", name="uq_grader_rubric_mark"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    student: Mapped[str] = mapped_column(String(100))
    marked_by: Mapped[str] = mapped_column(String(100))
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BankComment(Base):
    """A reusable comment of an assignment's comment bank, picked from while grading."""

    __tablename__ = "grader_comment_bank"
    __table_args__ = (Index("ix_grader_comment_bank", "course", "assignment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LineComment(Base):
    """A teacher's comment on one line (1-based) of a student's cell, shown in the feedback."""

    __tablename__ = "grader_line_comments"
    __table_args__ = (Index("ix_grader_line_comments", "course", "assignment", "student"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(String(100))
    student: Mapped[str] = mapped_column(String(100))
    notebook: Mapped[str] = mapped_column(String(200))
    cell: Mapped[str] = mapped_column(String(200))
    line: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Extension(Base):
    """A student's own due date for an assignment; the late penalty is counted from it."""

    __tablename__ = "grader_extensions"
    __table_args__ = (
        UniqueConstraint("course", "assignment", "student", name="uq_grader_extension"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(String(100))
    student: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(500), default="")
    granted_by: Mapped[str] = mapped_column(String(100))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WrittenExercise(Base):
    """A written assignment of a lesson (manifest: type assignment without a notebook): what
    a student may submit and until when. Recorded at course import."""

    __tablename__ = "grader_written_exercises"
    __table_args__ = (
        UniqueConstraint("course", "lesson", "exercise", name="uq_grader_written_exercise"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course: Mapped[str] = mapped_column(String(100), index=True)
    lesson: Mapped[str] = mapped_column(String(100))
    exercise: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200), default="")
    points: Mapped[float] = mapped_column(Float, default=10.0)
    # {"kinds": [...], "max_bytes": n, "max_chars": n, "extensions": [...]} (manifest.py)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WrittenSubmission(Base):
    """One submission of a written assignment: text, a link or one stored file (by hash).
    The newest of a student's counts; a teacher grades it with points and a comment."""

    __tablename__ = "grader_written_submissions"
    __table_args__ = (Index("ix_grader_written_who", "course", "lesson", "exercise", "student"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    course: Mapped[str] = mapped_column(String(100))
    lesson: Mapped[str] = mapped_column(String(100))
    exercise: Mapped[str] = mapped_column(String(100))
    student: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(8))  # text | link | file
    text: Mapped[str] = mapped_column(Text, default="")  # the text, or the link
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    file_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    comment: Mapped[str] = mapped_column(Text, default="")
    graded_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    posted: Mapped[bool] = mapped_column(default=False)  # the campus has taken the grade


class Exam(Base):
    """A lesson taken as a timed exam (manifest: `exam:` on its notebook exercise): its
    window and time limit. Recorded at course import; the sittings keep their own deadline."""

    __tablename__ = "grader_exams"
    __table_args__ = (UniqueConstraint("course", "assignment", name="uq_grader_exam"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course: Mapped[str] = mapped_column(String(100), index=True)
    assignment: Mapped[str] = mapped_column(String(100))
    exercise: Mapped[str] = mapped_column(String(100))
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    time_limit_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ExamSitting(Base):
    """One student's one attempt at a notebook exam: started on the server's clock when they
    opened it, their deadline, the work their Lab last saved to the grader, and the
    submission it became (theirs, or the grader's at the deadline) with its receipt."""

    __tablename__ = "grader_exam_sittings"
    __table_args__ = (
        UniqueConstraint("course", "assignment", "student", name="uq_grader_exam_sitting"),
        Index("ix_grader_exam_sittings_due", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(String(100))
    student: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | submitted
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    multiplier: Mapped[float] = mapped_column(Float, default=1.0)
    # {relative path: sha256} of the newest work the student's Lab saved, and when it came.
    saved_files: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    saved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    auto_submitted: Mapped[bool] = mapped_column(default=False)
    submission_uid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    receipt: Mapped[str | None] = mapped_column(String(64), nullable=True)
