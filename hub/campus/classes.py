"""Classes, enrollment and lesson unlocks: the seed's business rules in one place.

Every write that depends on a class's counters first takes a lock on the class row
(`lock_class`), so concurrent enrollments, attendance and unlocks on one class run one after
another on PostgreSQL, and SQLite's single writer is taken up front instead of on upgrade.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from . import engagement, teaching
from .courses import active_lessons
from .orm import Account, CampusClass, Course, Enrollment, Lesson, LessonUnlock, utcnow

CLASS_TYPES = ("group", "private")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RANGE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
CLASS_STATUSES = ("draft", "enrollment_open", "active", "completed", "cancelled")
# Which status changes a school makes; anything else is a CONFLICT.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("enrollment_open", "active", "cancelled"),
    "enrollment_open": ("active", "draft", "cancelled"),
    "active": ("completed", "cancelled"),
    "completed": (),
    "cancelled": (),
}


def lock_class(session: Session, class_id: int) -> CampusClass:
    """The class row, locked for this transaction (404 if there is none).

    The UPDATE takes the row lock on PostgreSQL and SQLite's write lock before any read, and
    returns the row as it is under that lock, so two writers never both read the same
    counters.
    """
    klass = session.scalars(
        sa.update(CampusClass)
        .where(CampusClass.id == class_id)
        .values(updated_at=utcnow())
        .returning(CampusClass),
        execution_options={"populate_existing": True},
    ).one_or_none()
    if klass is None:
        raise APIError(404, f"no class {class_id}")
    return klass


def get_class(session: Session, class_id: int) -> CampusClass:
    klass = session.get(CampusClass, class_id)
    if klass is None:
        raise APIError(404, f"no class {class_id}")
    return klass


def check_schedule(schedule: Any) -> str | None:
    """A weekly schedule {"days": ["mon", ...], "time": "19:00-21:00"} as stored JSON."""
    if schedule is None:
        return None
    if not isinstance(schedule, dict):
        raise APIError(400, "the schedule is {days, time}", field="schedule")
    days = schedule.get("days")
    if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
        raise APIError(400, f"pick the days from {', '.join(WEEKDAYS)}", field="schedule")
    time = schedule.get("time")
    if not isinstance(time, str) or not _TIME_RANGE.fullmatch(time):
        raise APIError(400, "the time is HH:MM-HH:MM, e.g. 19:00-21:00", field="schedule")
    start, end = time.split("-")
    if end <= start:
        raise APIError(400, "the meeting ends before it starts", field="schedule")
    ordered = [d for d in WEEKDAYS if d in days]
    return json.dumps({"days": ordered, "time": time})


def _account_role(session: Session, name: str) -> str | None:
    return session.scalar(sa.select(Account.role).where(Account.name == name, Account.active))


def create_class(
    session: Session,
    *,
    name: str,
    course_slug: str,
    type: str,
    total_meetings: int,
    max_capacity: int | None,
    instructor: str | None,
    created_by: str,
    status: str = "draft",
    enrollment_deadline: date | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    continued_from: int | None = None,
    schedule: dict[str, Any] | None = None,
) -> CampusClass:
    course = session.scalar(sa.select(Course).where(Course.slug == course_slug))
    if course is None:
        raise APIError(404, f"no course {course_slug!r}")
    if type == "private":
        if max_capacity not in (None, 1):
            raise APIError(400, "a private class has exactly one student", field="max_capacity")
        max_capacity = 1
    elif max_capacity is None:
        raise APIError(400, "'max_capacity' is required for a group class", field="max_capacity")
    if status not in ("draft", "enrollment_open", "active"):
        raise APIError(400, "a new class starts as draft, enrollment_open or active")
    if start_date and end_date and end_date < start_date:
        raise APIError(400, "end_date is before start_date", field="end_date")
    if continued_from is not None:
        previous = session.get(CampusClass, continued_from)
        if previous is None:
            raise APIError(404, f"no class {continued_from} to continue from")
        if type != "private" or previous.course_id != course.id:
            raise APIError(400, "a continuation is a private class of the same course")
    klass = CampusClass(
        name=name,
        course_id=course.id,
        type=type,
        max_capacity=max_capacity,
        current_capacity=0,
        total_meetings=total_meetings,
        status=status,
        enrollment_deadline=enrollment_deadline,
        start_date=start_date,
        end_date=end_date,
        continued_from_class_id=continued_from,
        schedule=check_schedule(schedule),
        created_by=created_by,
    )
    session.add(klass)
    session.flush()
    if instructor is not None:
        teaching.add_staff(session, klass, instructor, "instructor", created_by)
    return klass


# The dates a class keeps; a change may set or clear each (a group class's deadline stays).
DATE_FIELDS = ("enrollment_deadline", "start_date", "end_date")


def update_class(
    session: Session, class_id: int, changes: dict[str, Any], by: str | None = None
) -> CampusClass:
    """Apply validated changes (name, instructor, status, total_meetings, max_capacity,
    schedule, enrollment_deadline, start_date, end_date). A refusal names the field it
    concerns, so a form shows the rule beside it."""
    klass = lock_class(session, class_id)
    if "status" in changes and changes["status"] != klass.status:
        new = changes["status"]
        if new not in TRANSITIONS[klass.status]:
            raise APIError(409, f"a class cannot go from {klass.status} to {new}", field="status")
        klass.status = new
    if "total_meetings" in changes:
        meetings = changes["total_meetings"]
        if (
            klass.type == "group"
            and klass.status not in ("draft", "enrollment_open")
            and meetings != klass.total_meetings
        ):
            raise APIError(
                409, "a group class's meetings are fixed once it is active", field="total_meetings"
            )
        if meetings < klass.meetings_completed:
            raise APIError(
                409,
                f"{klass.meetings_completed} meetings are already completed",
                field="total_meetings",
            )
        added = meetings - klass.total_meetings
        klass.total_meetings = meetings
        # Every student's package follows the class's (1 meeting = 1 credit).
        for enrollment in session.scalars(
            sa.select(Enrollment).filter_by(class_id=klass.id, status="active")
        ):
            if enrollment.credits_remaining + added < 0:
                raise APIError(
                    409,
                    f"{enrollment.student} has used more credits than that",
                    field="total_meetings",
                )
            enrollment.meeting_credits += added
    if "max_capacity" in changes:
        capacity = changes["max_capacity"]
        if klass.type == "private" and capacity != 1:
            raise APIError(409, "a private class has exactly one student", field="max_capacity")
        if capacity < klass.current_capacity:
            raise APIError(
                409,
                f"{klass.current_capacity} students are already enrolled: the capacity "
                f"cannot go below {klass.current_capacity}",
                field="max_capacity",
            )
        klass.max_capacity = capacity
    for key in DATE_FIELDS:
        if key in changes:
            setattr(klass, key, changes[key])
    if "enrollment_deadline" in changes and klass.type == "group" and not klass.enrollment_deadline:
        raise APIError(
            400, "a group class needs an enrollment deadline", field="enrollment_deadline"
        )
    if klass.start_date and klass.end_date and klass.end_date < klass.start_date:
        field = "end_date" if "end_date" in changes else "start_date"
        raise APIError(400, "the end date is before the start date", field=field)
    if "instructor" in changes:
        teaching.set_lead_instructor(session, klass, changes["instructor"], by)
    if "name" in changes:
        klass.name = changes["name"]
    if "schedule" in changes:
        klass.schedule = check_schedule(changes["schedule"])
    session.flush()
    return klass


def enroll(
    session: Session, class_id: int, student: str, by: str, by_lms: bool = False
) -> Enrollment:
    """Enroll a student: credits = the class's meetings; the enrollment rules apply.

    `by_lms` is for the LTI adapters only (a launch or a roster sync of the LMS course the
    class was made for): the LMS roster is the authority there, so the group-class rules
    "no enrollment once active" and the enrollment deadline do not apply; a completed or
    cancelled class, a full class and a teacher of the class are still refused. Staff's
    manual enrollments (the campus API) never pass it.
    """
    klass = lock_class(session, class_id)
    # Roles are per class: any active account but the school-wide staff and admins may be a
    # student here, as long as it does not teach this very class.
    if _account_role(session, student) not in ("student", "instructor"):
        raise APIError(400, f"{student!r} is not an account that can study", field="student")
    if teaching.class_role(session, klass.id, student) is not None:
        raise APIError(409, f"{student!r} teaches this class and cannot also be its student")
    if klass.status in ("completed", "cancelled"):
        raise APIError(409, f"the class is {klass.status}")
    if klass.type == "group" and klass.status not in ("draft", "enrollment_open") and not by_lms:
        raise APIError(409, "a group class takes no enrollments once it is active")
    # The deadline's last day counts in the school's time zone, as meetings' dates do.
    if (
        not by_lms
        and klass.enrollment_deadline
        and klass.type == "group"
        and engagement.CONFIG.today() > klass.enrollment_deadline
    ):
        raise APIError(
            409,
            f"the enrollment deadline ({klass.enrollment_deadline.isoformat()}) has passed: "
            "this group class takes no more enrollments",
            code="DEADLINE_PASSED",
        )
    existing = session.scalar(sa.select(Enrollment).filter_by(class_id=klass.id, student=student))
    if existing is not None and existing.status == "active":
        raise APIError(409, f"{student} is already enrolled")
    if klass.current_capacity >= klass.max_capacity:
        raise APIError(409, f"the class is full ({klass.max_capacity})")
    if existing is not None:  # re-enrolling after a withdrawal keeps the record and its history
        existing.status = "active"
        enrollment = existing
    else:
        enrollment = Enrollment(
            class_id=klass.id,
            student=student,
            meeting_credits=klass.total_meetings,
            credits_used=0,
            credits_adjusted=0,
            enrolled_by=by,
            status="active",
        )
        session.add(enrollment)
    klass.current_capacity += 1
    session.flush()
    return enrollment


def withdraw(session: Session, class_id: int, student: str) -> Enrollment:
    klass = lock_class(session, class_id)
    enrollment = session.scalar(
        sa.select(Enrollment).filter_by(class_id=klass.id, student=student, status="active")
    )
    if enrollment is None:
        raise APIError(404, f"{student} is not enrolled in class {class_id}")
    enrollment.status = "withdrawn"
    klass.current_capacity -= 1
    session.flush()
    return enrollment


def next_lesson(session: Session, klass: CampusClass) -> dict[str, str] | None:
    """The lesson an unlock without a name opens next, so a teacher's button can name it."""
    unlocked = set(session.scalars(sa.select(LessonUnlock.lesson_id).filter_by(class_id=klass.id)))
    lessons = active_lessons(session, klass.course_id)
    lesson = next((x for x in lessons if x.id not in unlocked), None)
    return {"slug": lesson.slug, "title": lesson.title} if lesson else None


def unlock_lesson(
    session: Session, class_id: int, lesson_slug: str | None, by: str
) -> tuple[CampusClass, Lesson]:
    """Unlock the next (or the named) lesson; never more lessons than meetings completed."""
    klass = lock_class(session, class_id)
    if klass.status in ("cancelled", "draft"):
        raise APIError(409, f"the class is {klass.status}")
    unlocked = set(session.scalars(sa.select(LessonUnlock.lesson_id).filter_by(class_id=klass.id)))
    lessons = active_lessons(session, klass.course_id)
    if lesson_slug is None:
        lesson = next((x for x in lessons if x.id not in unlocked), None)
        if lesson is None:
            raise APIError(409, "every lesson of the course is already unlocked")
    else:
        lesson = next((x for x in lessons if x.slug == lesson_slug), None)
        if lesson is None:
            raise APIError(404, f"no lesson {lesson_slug!r} in this class's course")
        if lesson.id in unlocked:
            raise APIError(409, f"lesson {lesson_slug} is already unlocked")
    if klass.lessons_unlocked >= klass.meetings_completed:
        raise APIError(
            409,
            f"{klass.meetings_completed} meetings completed and {klass.lessons_unlocked} "
            "lessons unlocked: hold the next meeting first (one meeting = one lesson)",
            code="UNLOCK_LIMIT",
        )
    session.add(LessonUnlock(class_id=klass.id, lesson_id=lesson.id, unlocked_by=by))
    klass.lessons_unlocked += 1
    session.flush()
    students = list(
        session.scalars(sa.select(Enrollment.student).filter_by(class_id=klass.id, status="active"))
    )
    engagement.notify_many(
        session,
        students,
        "lesson_unlocked",
        f"Lesson unlocked: {lesson.title}",
        f"{klass.name}: lesson {lesson.order_index} is open.",
        f"unlock:{klass.id}:{lesson.id}",
    )
    return klass, lesson


def class_dict(klass: CampusClass, course_slug: str | None = None) -> dict[str, Any]:
    return {
        "id": klass.id,
        "name": klass.name,
        "course_id": klass.course_id,
        "course": course_slug,
        "instructor": klass.instructor,
        "staff": teaching.staff_dicts(klass),
        "type": klass.type,
        "status": klass.status,
        "max_capacity": klass.max_capacity,
        "current_capacity": klass.current_capacity,
        "total_meetings": klass.total_meetings,
        "meetings_completed": klass.meetings_completed,
        "meetings_remaining": klass.total_meetings - klass.meetings_completed,
        "lessons_unlocked": klass.lessons_unlocked,
        "enrollment_deadline": klass.enrollment_deadline,
        "start_date": klass.start_date,
        "end_date": klass.end_date,
        "continued_from_class_id": klass.continued_from_class_id,
        "schedule": json.loads(klass.schedule) if klass.schedule else None,
        # The status machine's next steps from here (any other move is refused).
        "next_statuses": list(TRANSITIONS[klass.status]),
    }


def enrollment_dict(e: Enrollment) -> dict[str, Any]:
    return {
        "id": e.id,
        "class_id": e.class_id,
        "student": e.student,
        "status": e.status,
        "meeting_credits": e.meeting_credits,
        "credits_used": e.credits_used,
        "credits_adjusted": e.credits_adjusted,
        "credits_remaining": e.credits_remaining,
        "attendance_rate": e.attendance_rate,
        "enrolled_at": e.enrolled_at.isoformat() if e.enrolled_at else None,
        "payment_status": e.payment_status,
    }
