"""Lock state, access and progress: what a student may open, and what they have done.

A lesson is open to a student when one of their classes of that course has unlocked it.
Progress is one row per (user, exercise) and per (user, lesson); creating them tolerates a
concurrent duplicate (a double click, a retried request) through the unique constraints.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from . import certificates, engagement, teaching
from .orm import (
    Account,
    Base,
    CampusClass,
    Course,
    Enrollment,
    Exercise,
    ExerciseProgress,
    Lesson,
    LessonProgress,
    LessonUnlock,
    utcnow,
)

OVERSEER_ROLES = ("staff", "admin")
T = TypeVar("T", bound=Base)


def _get_or_create(session: Session, model: type[T], **keys: Any) -> tuple[T, bool]:
    row = session.scalar(sa.select(model).filter_by(**keys))
    if row is not None:
        return row, False
    try:
        with session.begin_nested():
            row = model(**keys)
            session.add(row)
            session.flush()
        return row, True
    except IntegrityError:  # another request created it first
        return session.scalars(sa.select(model).filter_by(**keys)).one(), False


def student_class_ids(session: Session, user: str, course_id: int | None = None) -> list[int]:
    query = (
        sa.select(Enrollment.class_id)
        .join(CampusClass, CampusClass.id == Enrollment.class_id)
        .where(
            Enrollment.student == user,
            Enrollment.status != "withdrawn",
            CampusClass.status != "cancelled",
        )
    )
    if course_id is not None:
        query = query.where(CampusClass.course_id == course_id)
    return list(session.scalars(query))


def unlocked_lesson_ids(session: Session, class_ids: list[int]) -> dict[int, int]:
    """lesson id -> the first class (of those given) that unlocked it."""
    if not class_ids:
        return {}
    found: dict[int, int] = {}
    for lesson_id, class_id in session.execute(
        sa.select(LessonUnlock.lesson_id, LessonUnlock.class_id)
        .where(LessonUnlock.class_id.in_(class_ids))
        .order_by(LessonUnlock.class_id)
    ):
        found.setdefault(lesson_id, class_id)
    return found


@dataclass(frozen=True)
class Access:
    unlocked: bool
    reason: str
    class_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"unlocked": self.unlocked, "reason": self.reason, "class_id": self.class_id}


def access(session: Session, course_slug: str, lesson_slug: str, user: str) -> Access:
    """May `user` open (and be released) this lesson? The grader asks before a release."""
    row = session.execute(
        sa.select(Course, Lesson)
        .join(Lesson, Lesson.course_id == Course.id)
        .where(Course.slug == course_slug, Lesson.slug == lesson_slug, Lesson.retired.is_(False))
    ).first()
    if row is None:
        raise APIError(404, f"no lesson {lesson_slug!r} in course {course_slug!r}")
    course, lesson = row
    # Staff and admins see every lesson; a teacher the lessons of the courses they teach;
    # nobody else has implicit access.
    role = session.scalar(sa.select(Account.role).where(Account.name == user, Account.active))
    if role in OVERSEER_ROLES:
        return Access(True, f"{role} sees every lesson")
    if teaching.teaches_course(session, course.id, user):
        return Access(True, "teaches a class of this course")
    if course.status != "published":
        return Access(False, "the course is not published")
    class_ids = student_class_ids(session, user, course.id)
    if not class_ids:
        return Access(False, "not enrolled in a class of this course")
    unlocked = unlocked_lesson_ids(session, class_ids)
    if lesson.id in unlocked:
        return Access(True, "unlocked for the class", unlocked[lesson.id])
    return Access(False, "not yet unlocked for the class", class_ids[0])


# Lesson outlines change only through a course import (which bumps Course.updated_at), so the
# course view caches them per (course, updated_at) and asks the database only for what is
# personal: the student's classes, unlocks and progress (two queries in the steady state).
_OUTLINES: dict[tuple[int, Any], list[Any]] = {}
_OUTLINES_LOCK = threading.Lock()


def _outline(session: Session, course_id: int, version: Any) -> list[Any]:
    key = (course_id, version)
    cached = _OUTLINES.get(key)
    if cached is not None:
        return cached
    n_exercises = (
        sa.select(sa.func.count())
        .where(Exercise.lesson_id == Lesson.id, Exercise.retired.is_(False))
        .correlate(Lesson)
        .scalar_subquery()
    )
    n_notebooks = (
        sa.select(sa.func.count())
        .where(
            Exercise.lesson_id == Lesson.id,
            Exercise.retired.is_(False),
            Exercise.notebook.is_not(None),
        )
        .correlate(Lesson)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(Lesson.id, Lesson.slug, Lesson.title, Lesson.order_index)
        .add_columns(n_exercises.label("exercises"), n_notebooks.label("notebooks"))
        .where(Lesson.course_id == course_id, Lesson.retired.is_(False))
        .order_by(Lesson.order_index)
    ).all()
    with _OUTLINES_LOCK:
        if len(_OUTLINES) > 1000:
            _OUTLINES.clear()
        _OUTLINES[key] = rows
    return rows


def my_courses(session: Session, user: str) -> list[dict[str, Any]]:
    """The student's courses with every lesson's lock state and their progress."""
    classes = session.execute(
        sa.select(
            CampusClass.id,
            CampusClass.name,
            CampusClass.course_id,
            CampusClass.status,
            Course.slug,
            Course.title,
            Course.kernel,
            Course.updated_at,
            Enrollment.id.label("enrollment_id"),
        )
        .join(Enrollment, Enrollment.class_id == CampusClass.id)
        .join(Course, Course.id == CampusClass.course_id)
        .where(
            Enrollment.student == user,
            Enrollment.status != "withdrawn",
            CampusClass.status != "cancelled",
            Course.status == "published",
        )
        .order_by(Course.title, CampusClass.id)
    ).all()
    if not classes:
        return []
    unlocks = sa.select(
        LessonUnlock.lesson_id, sa.literal(0).label("kind"), LessonUnlock.class_id.label("a"),
        sa.literal(0).label("b"),
    ).where(LessonUnlock.class_id.in_([c.id for c in classes]))  # fmt: skip
    progress_rows = sa.select(
        LessonProgress.lesson_id, sa.literal(1), LessonProgress.exercises_completed,
        sa.cast(LessonProgress.completed, sa.Integer),
    ).where(LessonProgress.user == user)  # fmt: skip
    unlocked: set[int] = set()
    progress: dict[int, tuple[int, bool]] = {}
    for lesson_id, kind, a, b in session.execute(sa.union_all(unlocks, progress_rows)):
        if kind == 0:
            unlocked.add(lesson_id)
        else:
            progress[lesson_id] = (int(a or 0), bool(b))
    courses: dict[int, Any] = {}
    for c in classes:
        courses.setdefault(c.course_id, c)
    result = []
    for course_id, course in courses.items():
        items = []
        for lesson in _outline(session, course_id, course.updated_at):
            done, completed = progress.get(lesson.id, (0, False))
            items.append(
                {
                    "id": lesson.id,
                    "slug": lesson.slug,
                    "title": lesson.title,
                    "position": lesson.order_index,
                    "locked": lesson.id not in unlocked,
                    "exercises_total": lesson.exercises,
                    # none: nothing to fetch or submit as notebooks (the Lab offers the
                    # lesson's exercises instead, e.g. a written assignment's tab)
                    "notebooks": lesson.notebooks,
                    "exercises_completed": done,
                    "completed": completed,
                }
            )
        done = sum(1 for x in items if x["completed"])
        result.append(
            {
                "slug": course.slug,
                "title": course.title,
                "kernel": course.kernel,
                "classes": [
                    {
                        "id": c.id,
                        "name": c.name,
                        "status": c.status,
                        # the student's own enrollment: its credits and attendance live there
                        "enrollment_id": c.enrollment_id,
                    }
                    for c in classes
                    if c.course_id == course_id
                ],
                "lessons": items,
                "lessons_completed": done,
                "lessons_total": len(items),
                "percent": round(100.0 * done / len(items), 1) if items else 0.0,
            }
        )
    return result


def require_unlocked(session: Session, user: str, lesson: Lesson, course: Course) -> None:
    result = access(session, course.slug, lesson.slug, user)
    if not result.unlocked:
        raise APIError(
            403, f"lesson {lesson.slug} is locked: {result.reason}", code="LESSON_LOCKED"
        )


@dataclass
class ProgressEvents:
    """What an update newly achieved (each at most once per user): the engagement hooks' input."""

    exercise_completed: bool = False
    lesson_completed: bool = False
    exercise_progress: dict[str, Any] | None = None
    lesson_progress: dict[str, Any] | None = None


def _lesson_totals(session: Session, user: str, lesson_id: int) -> tuple[int, int]:
    total = session.scalar(
        sa.select(sa.func.count())
        .select_from(Exercise)
        .where(Exercise.lesson_id == lesson_id, Exercise.retired.is_(False))
    )
    done = session.scalar(
        sa.select(sa.func.count())
        .select_from(ExerciseProgress)
        .join(Exercise, Exercise.id == ExerciseProgress.exercise_id)
        .where(
            ExerciseProgress.user == user,
            ExerciseProgress.completed.is_(True),
            Exercise.lesson_id == lesson_id,
            Exercise.retired.is_(False),
        )
    )
    return int(done or 0), int(total or 0)


def _update_lesson(session: Session, user: str, lesson_id: int, events: ProgressEvents) -> None:
    row, _ = _get_or_create(session, LessonProgress, user=user, lesson_id=lesson_id)
    done, total = _lesson_totals(session, user, lesson_id)
    row.exercises_completed, row.total_exercises = done, total
    row.updated_at = utcnow()
    if total and done >= total and not row.completed:
        row.completed, row.completed_at = True, utcnow()
        events.lesson_completed = True
    events.lesson_progress = lesson_progress_dict(row)


def written(exercise: Exercise) -> bool:
    """A written (text, link or file) assignment: an `assignment` without a notebook."""
    return exercise.type == "assignment" and exercise.notebook is None


def complete_exercise(
    session: Session,
    user: str,
    exercise: Exercise,
    *,
    score: float | None = None,
    max_score: float | None = None,
    at: datetime | None = None,
    autograde: bool = False,
    note: str = "",
    latest: bool = False,
    hold: bool = False,
) -> ProgressEvents:
    """Record an exercise done (or a graded attempt); the lesson's progress follows. `note`
    goes with the exercise's XP award (a grading result's "submission:<id>"). The score kept
    is the best attempt's, or with `latest` (the course's grade policy) the score given.
    With `hold` (its score is hidden from the student, visibility.py) the score is kept but
    the exercise is not completed: its completion and XP would tell the score."""
    events = ProgressEvents()
    row, _ = _get_or_create(session, ExerciseProgress, user=user, exercise_id=exercise.id)
    passed = True
    if score is not None and max_score is not None:
        if row.score is None or score > row.score or latest:  # the best attempt counts
            row.score, row.max_score = score, max_score
        # A written assignment is done once a teacher graded it, whatever the points (as an
        # LMS's "receive a grade" completion); its score still counts in the course total.
        # Autograded work is done at full points.
        passed = written(exercise) or (max_score > 0 and score >= max_score)
    if passed and not row.completed and not hold:
        row.completed, row.completed_at = True, at or utcnow()
        events.exercise_completed = True
    row.updated_at = utcnow()
    session.flush()
    events.exercise_progress = exercise_progress_dict(row, exercise)
    _update_lesson(session, user, exercise.lesson_id, events)
    session.flush()
    if events.exercise_completed or events.lesson_completed:
        course_id = session.scalar(
            sa.select(Lesson.course_id).where(Lesson.id == exercise.lesson_id)
        )
        engagement.on_progress(
            session,
            user,
            exercise.id,
            exercise.xp,
            exercise.lesson_id,
            course_id,
            exercise_completed=events.exercise_completed,
            lesson_completed=events.lesson_completed,
            autograde=autograde,
            note=note,
        )
    if events.lesson_completed:  # the course's last lesson done: its certificate
        certificates.issue_if_complete(session, user, course_id)
    return events


def exercise_progress_dict(row: ExerciseProgress, exercise: Exercise) -> dict[str, Any]:
    return {
        "exercise_id": exercise.id,
        "exercise": exercise.slug,
        "user": row.user,
        "completed": row.completed,
        "score": row.score,
        "max_score": row.max_score,
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
    }


def lesson_progress_dict(row: LessonProgress) -> dict[str, Any]:
    return {
        "lesson_id": row.lesson_id,
        "user": row.user,
        "completed": row.completed,
        "exercises_completed": row.exercises_completed,
        "total_exercises": row.total_exercises,
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
    }


def lesson_progress_for(session: Session, lesson: Lesson, users: list[str]) -> list[dict[str, Any]]:
    """Per user: the lesson's exercises and which are done."""
    exercises = list(
        session.scalars(
            sa.select(Exercise)
            .where(Exercise.lesson_id == lesson.id, Exercise.retired.is_(False))
            .order_by(Exercise.order_index)
        )
    )
    rows = {
        (p.user, p.exercise_id): p
        for p in session.scalars(
            sa.select(ExerciseProgress).where(
                ExerciseProgress.user.in_(users),
                ExerciseProgress.exercise_id.in_([e.id for e in exercises]),
            )
        )
    }
    result = []
    for user in users:
        items = []
        for e in exercises:
            p = rows.get((user, e.id))
            items.append(
                exercise_progress_dict(p, e)
                if p
                else {"exercise_id": e.id, "exercise": e.slug, "user": user, "completed": False}
            )
        result.append(
            {
                "user": user,
                "lesson_id": lesson.id,
                "exercises": items,
                "exercises_completed": sum(1 for i in items if i["completed"]),
                "total_exercises": len(items),
            }
        )
    return result
