"""Written assignments: text, a link or one file, graded by a teacher with points and a comment.

A plain module apart from the handlers: the manifest's limits are checked here (every refusal
names the field and the reason, with the status to answer), before anything is stored. The
newest submission of a student counts; sending the same content again (a client's retry)
returns the submission already stored, so a double submission counts once. Submitting is open
until the due date: the exercise's own (course.yaml), else the lesson's (the grader's
assignment policy), moved later by a student's extension.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .orm import Assignment, Extension, WrittenExercise, WrittenSubmission, utcnow

MAX_COMMENT = 20_000
MAX_LINK = 2000


class WrittenRefused(ValueError):
    """A submission or grade that may not be accepted: the status, the field and why."""

    def __init__(self, status: int, field: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Content:
    kind: str  # text | link | file
    text: str = ""  # the text, or the link
    file_name: str | None = None
    file_sha256: str | None = None
    file_size: int | None = None


def _aware(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def register_written(session: Session, course: str, lesson: Any) -> list[str]:
    """Record a lesson's written assignments (manifest ExerciseSpec with `submit`)."""
    done = []
    for ex in lesson.exercises:
        if getattr(ex, "submit", None) is None:
            continue
        row = session.scalar(
            sa.select(WrittenExercise).filter_by(
                course=course, lesson=lesson.slug, exercise=ex.slug
            )
        )
        if row is None:
            row = WrittenExercise(course=course, lesson=lesson.slug, exercise=ex.slug)
            session.add(row)
        row.title = ex.title
        row.points = ex.points
        row.limits = dict(ex.submit)
        row.due_at = datetime.fromisoformat(ex.due) if ex.due else None
        done.append(ex.slug)
    return done


def find_exercise(session: Session, course: str, lesson: str, exercise: str) -> WrittenExercise:
    row = session.scalar(
        sa.select(WrittenExercise).filter_by(course=course, lesson=lesson, exercise=exercise)
    )
    if row is None:
        raise WrittenRefused(404, "exercise", f"no written assignment {course}/{lesson}/{exercise}")
    session.expunge(row)
    return row


def due_for(session: Session, ex: WrittenExercise, student: str) -> datetime | None:
    """The exercise's due date, else the lesson's; a student's extension moves it later."""
    due = _aware(ex.due_at)
    if due is None:
        due = _aware(
            session.scalar(sa.select(Assignment.due_at).filter_by(course=ex.course, name=ex.lesson))
        )
    extended = _aware(
        session.scalar(
            sa.select(Extension.due_at).filter_by(
                course=ex.course, assignment=ex.lesson, student=student
            )
        )
    )
    if due is not None and extended is not None:
        return max(due, extended)
    return due


def check_open(session: Session, ex: WrittenExercise, student: str, now: datetime) -> None:
    due = due_for(session, ex, student)
    if due is not None and now > due:
        raise WrittenRefused(
            403, "exercise", f"the due date ({due.isoformat()}) has passed", code="PAST_DUE"
        )


def _allowed(ex: WrittenExercise, kind: str) -> None:
    if kind not in ex.limits.get("kinds", []):
        kinds = ", ".join(ex.limits.get("kinds", []))
        raise WrittenRefused(400, kind, f"this assignment takes {kinds}, not {kind}")


def text_content(ex: WrittenExercise, text: Any) -> Content:
    _allowed(ex, "text")
    if not isinstance(text, str) or not text.strip():
        raise WrittenRefused(400, "text", "'text' must be a non-empty string")
    if "\x00" in text:
        raise WrittenRefused(400, "text", "'text' may not contain NUL characters")
    if len(text) > ex.limits["max_chars"]:
        raise WrittenRefused(
            413, "text", f"the text has {len(text)} characters, more than {ex.limits['max_chars']}"
        )
    return Content("text", text)


def link_content(ex: WrittenExercise, link: Any) -> Content:
    _allowed(ex, "link")
    if not isinstance(link, str) or len(link) > MAX_LINK:
        raise WrittenRefused(400, "link", f"'link' must be a web address of at most {MAX_LINK}")
    parts = urlsplit(link.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in link):
        raise WrittenRefused(400, "link", "'link' must be an http:// or https:// address")
    return Content("link", link.strip())


def check_file_name(ex: WrittenExercise, name: Any) -> str:
    """A plain file name with one of the allowed extensions (checked before the body is read)."""
    _allowed(ex, "file")
    if not isinstance(name, str) or not name or len(name) > 255:
        raise WrittenRefused(400, "name", "the file needs a name (?name=), at most 255 characters")
    if "/" in name or "\\" in name or "\x00" in name or name in (".", "..") or name[0] == ".":
        raise WrittenRefused(400, "name", f"{name!r} is not a plain file name")
    if any(ord(c) < 32 for c in name):
        raise WrittenRefused(400, "name", "the file name has control characters")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in ex.limits["extensions"]:
        allowed = ", ".join(ex.limits["extensions"])
        raise WrittenRefused(
            415, "name", f"{name}: files of type {suffix or '(none)'} are not taken ({allowed})"
        )
    return name


def check_file_size(ex: WrittenExercise, size: int, name: str) -> None:
    if size > ex.limits["max_bytes"]:
        raise WrittenRefused(
            413, "file", f"{name} is larger than {ex.limits['max_bytes']} bytes", code="TOO_LARGE"
        )
    if size == 0:
        raise WrittenRefused(400, "file", f"{name} is empty")


def file_content(name: str, data: bytes) -> Content:
    return Content("file", "", name, hashlib.sha256(data).hexdigest(), len(data))


def record(
    session: Session, ex: WrittenExercise, student: str, content: Content
) -> tuple[WrittenSubmission, bool]:
    """Store a submission; (the newest one, created). The same content as the newest
    submission is not stored twice."""
    newest = session.scalar(
        sa.select(WrittenSubmission)
        .filter_by(course=ex.course, lesson=ex.lesson, exercise=ex.exercise, student=student)
        .order_by(WrittenSubmission.id.desc())
        .limit(1)
    )
    if newest is not None and (
        newest.kind,
        newest.text,
        newest.file_name,
        newest.file_sha256,
    ) == (content.kind, content.text, content.file_name, content.file_sha256):
        return newest, False
    sub = WrittenSubmission(
        uid=str(uuid.uuid4()),
        course=ex.course,
        lesson=ex.lesson,
        exercise=ex.exercise,
        student=student,
        submitted_at=utcnow(),
        kind=content.kind,
        text=content.text,
        file_name=content.file_name,
        file_sha256=content.file_sha256,
        file_size=content.file_size,
        max_score=ex.points,
        comment="",
        posted=False,
    )
    session.add(sub)
    session.flush()
    return sub, True


def grade(
    session: Session, sub: WrittenSubmission, score: Any, comment: Any, grader: str
) -> WrittenSubmission:
    if not isinstance(score, int | float) or isinstance(score, bool):
        raise WrittenRefused(400, "score", "'score' must be a number")
    if not 0 <= score <= sub.max_score:
        raise WrittenRefused(400, "score", f"'score' must be between 0 and {sub.max_score:g}")
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT or "\x00" in comment:
        raise WrittenRefused(400, "comment", f"'comment' must be text of at most {MAX_COMMENT}")
    sub.score = float(score)
    sub.comment = comment
    sub.graded_by = grader
    sub.graded_at = utcnow()
    sub.posted = False
    return sub


def submission_dict(sub: WrittenSubmission, *, with_grade: bool = True) -> dict[str, Any]:
    """What the student and the teacher see; the grade only once graded (and visible)."""
    graded = sub.graded_at is not None and with_grade
    return {
        "id": sub.uid,
        "course": sub.course,
        "lesson": sub.lesson,
        "exercise": sub.exercise,
        "student": sub.student,
        "submitted_at": _aware(sub.submitted_at).isoformat(),
        "kind": sub.kind,
        "text": sub.text if sub.kind == "text" else None,
        "link": sub.text if sub.kind == "link" else None,
        "file": ({"name": sub.file_name, "size": sub.file_size} if sub.kind == "file" else None),
        "graded": graded,
        "score": sub.score if graded else None,
        "max_score": sub.max_score,
        "comment": sub.comment if graded else None,
        "graded_at": _aware(sub.graded_at).isoformat() if graded and sub.graded_at else None,
    }


def exercise_dict(ex: WrittenExercise, due: datetime | None) -> dict[str, Any]:
    return {
        "course": ex.course,
        "lesson": ex.lesson,
        "exercise": ex.exercise,
        "title": ex.title,
        "points": ex.points,
        "kinds": ex.limits.get("kinds", []),
        "max_bytes": ex.limits.get("max_bytes"),
        "max_chars": ex.limits.get("max_chars"),
        "extensions": ex.limits.get("extensions", []),
        "prompt": ex.limits.get("prompt", ""),
        "due_at": due.isoformat() if due else None,
    }
