"""Notebook lessons taken as timed exams: the rules, on the grader's records.

A lesson whose notebook exercise has `exam:` in course.yaml (its only notebook) is an exam.
The student opens it with a start: the server's clock records `started_at` and their
deadline, min(closes, started + time limit x their accommodation multiplier) — the campus
keeps the multipliers (hub/campus/exam.py has the rule, quizzes use it too). Only then is
the notebook released to them.

While it runs, every save in their Lab sends the lesson's notebooks here (`save`): the
newest saved work, stamped with the server's time. At the deadline (+ a small grace for
requests already on their way) the sitting is submitted with that saved work, by the first
request that touches it or by the grader's sweep, and anything later is refused
(`TIME_UP`). The student may submit earlier themselves; either way there is one attempt:
the sitting moves open -> submitted with one conditional UPDATE, so a repeated (or
concurrent) submit of the same files finds it submitted and answers with the same
submission and receipt. The receipt is the SHA-256 of what was submitted.

The score of an exam stays hidden from its student until an instructor releases it: the
manifest makes an exam's `scores` hidden, and the campus's score visibility
(hub/campus/visibility.py) holds it back on every path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nbcampus.hub.campus import exam as ex
from nbcampus.web import APIError

from .orm import Assignment, Exam, ExamSitting, Submission
from .queue import SubmissionQueue

OPEN, SUBMITTED = "open", "submitted"


@dataclass(frozen=True)
class Closed:
    """A sitting the deadline closed: its submission (None when nothing was saved)."""

    sitting_id: int
    submission_uid: str | None


# --- import ---------------------------------------------------------------------------------
def register_exams(s: Session, course: str, lesson: Any) -> None:
    """Record the lesson's exam settings from its manifest (or drop them when it has none
    any more); sittings already taken keep their deadlines."""
    spec = next((e for e in lesson.exercises if getattr(e, "exam", None)), None)
    row = s.scalar(sa.select(Exam).filter_by(course=course, assignment=lesson.slug))
    if spec is None:
        if row is not None:
            s.delete(row)
        return
    if row is None:
        row = Exam(course=course, assignment=lesson.slug)
        s.add(row)
    row.exercise = spec.slug
    row.opens_at = ex.parse_time(spec.exam.get("opens"))
    row.closes_at = ex.parse_time(spec.exam.get("closes"))
    row.time_limit_seconds = spec.exam.get("time_limit_seconds")


# --- reading --------------------------------------------------------------------------------
def exam_of(s: Session, course: str, assignment: str) -> Exam | None:
    return s.scalar(sa.select(Exam).filter_by(course=course, assignment=assignment))


def title_of(s: Session, exam: Exam) -> str:
    """The lesson's title (the grader keeps it with the assignment)."""
    return (
        s.scalar(sa.select(Assignment.title).filter_by(course=exam.course, name=exam.assignment))
        or ""
    )


def sitting_of(s: Session, course: str, assignment: str, student: str) -> ExamSitting | None:
    return s.scalar(
        sa.select(ExamSitting).filter_by(course=course, assignment=assignment, student=student)
    )


def _cutoff(sitting: ExamSitting, grace: float) -> datetime | None:
    """When the server stops taking the student's work: the deadline plus the grace."""
    deadline = ex.aware(sitting.deadline_at)
    return deadline + timedelta(seconds=grace) if deadline is not None else None


def receipt_for(sitting: ExamSitting, files: dict[str, str]) -> str:
    return ex.receipt(
        {
            "course": sitting.course,
            "assignment": sitting.assignment,
            "student": sitting.student,
            "files": files,
            "submitted_at": ex.iso(sitting.submitted_at),
        }
    )


# --- the sitting ----------------------------------------------------------------------------
def start(
    s: Session, exam: Exam, student: str, now: datetime, factor: float
) -> tuple[ExamSitting, bool]:
    """The student's sitting, or a new one (True) started now, inside the window."""
    sitting = sitting_of(s, exam.course, exam.assignment, student)
    if sitting is not None:
        return sitting, False
    state = ex.window_state(ex.aware(exam.opens_at), ex.aware(exam.closes_at), now)
    if state == "not_open":
        raise APIError(
            409, f"the exam opens at {ex.iso(exam.opens_at)}", code="EXAM_NOT_OPEN"
        )  # fmt: skip
    if state == "closed":
        raise APIError(409, "the exam is closed", code="EXAM_CLOSED")
    if not 1.0 <= factor <= ex.MAX_MULTIPLIER:
        factor = 1.0
    sitting = ExamSitting(
        course=exam.course, assignment=exam.assignment, student=student, status=OPEN,
        started_at=now, multiplier=factor, auto_submitted=False,
        deadline_at=ex.deadline_for(
            ex.aware(exam.closes_at), exam.time_limit_seconds, now, factor
        ),
    )  # fmt: skip
    try:
        with s.begin_nested():
            s.add(sitting)
    except IntegrityError:  # the same start twice at once: the other one made it
        found = sitting_of(s, exam.course, exam.assignment, student)
        if found is None:
            raise APIError(409, "the exam was started twice", code="CONFLICT") from None
        return found, False
    return sitting, True


def _finish(
    s: Session, sitting: ExamSitting, files: dict[str, str] | None, at: datetime, *, auto: bool
) -> tuple[bool, Submission | None]:
    """Move the sitting open -> submitted once (False: someone else already did) and queue
    its files for grading (None: nothing was saved), in the caller's transaction."""
    done = s.execute(
        sa.update(ExamSitting)
        .where(ExamSitting.id == sitting.id, ExamSitting.status == OPEN)
        .values(status=SUBMITTED, submitted_at=at, auto_submitted=auto)
        .execution_options(synchronize_session=False)
    )
    s.refresh(sitting)
    if done.rowcount != 1:
        return False, None
    sub = None
    if files:
        sub = SubmissionQueue.enqueue(
            s, sitting.course, sitting.assignment, sitting.student, files, at
        )  # fmt: skip
        sitting.submission_uid = sub.uid
    sitting.receipt = receipt_for(sitting, files or {})
    s.flush()
    return True, sub


def close_if_due(s: Session, sitting: ExamSitting, now: datetime, grace: float) -> Closed | None:
    """An open sitting past its deadline (+ grace): submitted with the work saved by then,
    as of its deadline."""
    cutoff = _cutoff(sitting, grace)
    if sitting.status != OPEN or cutoff is None or now < cutoff:
        return None
    done, sub = _finish(
        s, sitting, sitting.saved_files, ex.aware(sitting.deadline_at), auto=True
    )  # fmt: skip
    return Closed(sitting.id, sub.uid if sub is not None else None) if done else None


def close_expired(s: Session, now: datetime, grace: float) -> list[Closed]:
    """Submit every open sitting whose deadline (+ grace) has passed (the periodic sweep)."""
    due = s.scalars(
        sa.select(ExamSitting).where(
            ExamSitting.status == OPEN,
            ExamSitting.deadline_at <= now - timedelta(seconds=grace),
        )
    ).all()
    closed = []
    for sitting in due:
        done = close_if_due(s, sitting, now, grace)
        if done is not None:
            closed.append(done)
    return closed


def _writable(s: Session, sitting: ExamSitting, now: datetime, grace: float) -> None:
    close_if_due(s, sitting, now, grace)
    if sitting.status == OPEN:
        return
    if sitting.auto_submitted:
        raise APIError(
            409, "time is up: the exam was submitted with the work saved by its deadline",
            code="TIME_UP",
        )  # fmt: skip
    raise APIError(409, "this exam is already submitted", code="ATTEMPT_FINISHED")


def save(
    s: Session, sitting: ExamSitting, stored: dict[str, str], now: datetime, grace: float
) -> None:
    """The student's Lab saved: this is now the work the deadline would submit."""
    _writable(s, sitting, now, grace)
    sitting.saved_files, sitting.saved_at = stored, now


def submit(
    s: Session, sitting: ExamSitting, stored: dict[str, str], now: datetime, grace: float
) -> tuple[str | None, bool]:
    """The student submits (uid, True); the same files again find it submitted (uid, False:
    counted once); other files, or anything after the deadline, are refused."""
    if sitting.status == SUBMITTED and not sitting.auto_submitted:
        if sitting.submission_uid is not None:
            first = s.scalar(sa.select(Submission).filter_by(uid=sitting.submission_uid))
            if first is not None and first.files == stored:
                return first.uid, False
    _writable(s, sitting, now, grace)
    done, sub = _finish(s, sitting, stored, now, auto=False)
    if not done or sub is None:  # a concurrent submit won: the same files count once
        return submit(s, sitting, stored, now, grace)
    return sub.uid, True


# --- what the student and the teachers see --------------------------------------------------
def sitting_dict(sitting: ExamSitting, now: datetime) -> dict[str, Any]:
    deadline = ex.aware(sitting.deadline_at)
    return {
        "student": sitting.student,
        "status": sitting.status,
        "started_at": ex.iso(sitting.started_at),
        "deadline": ex.iso(deadline),
        "multiplier": sitting.multiplier,
        # What the countdown runs from: the server's clock, never the browser's.
        "remaining_seconds": (
            max(0.0, (deadline - now).total_seconds())
            if deadline is not None and sitting.status == OPEN
            else None
        ),
        "saved_at": ex.iso(sitting.saved_at),
        "saved_files": sorted(sitting.saved_files or {}),
        "submitted_at": ex.iso(sitting.submitted_at),
        "auto_submitted": sitting.auto_submitted,
        "submission_id": sitting.submission_uid,
        "receipt": sitting.receipt,
    }


def exam_dict(
    exam: Exam, sitting: ExamSitting | None, now: datetime, grace: float, title: str = ""
) -> dict[str, Any]:
    """An exam as its student sees it: the window, the limit, and their sitting."""
    state = ex.window_state(ex.aware(exam.opens_at), ex.aware(exam.closes_at), now)
    if sitting is not None:
        state = "in_progress" if sitting.status == OPEN else "submitted"
    return {
        "course": exam.course,
        "assignment": exam.assignment,
        "exercise": exam.exercise,
        "title": title or exam.assignment,  # the lesson's
        "opens_at": ex.iso(exam.opens_at),
        "closes_at": ex.iso(exam.closes_at),
        "time_limit_seconds": exam.time_limit_seconds,
        "grace_seconds": grace,
        "state": state,
        "server_time": ex.iso(now),
        "sitting": sitting_dict(sitting, now) if sitting is not None else None,
    }


def sittings(
    s: Session, exam: Exam, students: set[str] | None, now: datetime, grace: float
) -> list[dict[str, Any]]:
    """Every sitting of the exam (closing those past their deadline first), for teachers."""
    query = sa.select(ExamSitting).filter_by(course=exam.course, assignment=exam.assignment)
    if students is not None:
        query = query.where(ExamSitting.student.in_(sorted(students)))
    out = []
    for sitting in s.scalars(query.order_by(ExamSitting.student)):
        close_if_due(s, sitting, now, grace)
        out.append(sitting_dict(sitting, now))
    return out
