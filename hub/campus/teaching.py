"""Who teaches what: the one place the campus (and, through its API, the grader) reads it.

Teaching roles are per class, as in every LMS: a class's `ClassStaff` rows name its
instructors and teaching assistants, and the same account may be a student in another class.
A school-wide role (staff, admin) never makes anyone the teacher of a class; it is an
overseer's right of its own, checked by the callers.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from .orm import Account, CampusClass, ClassStaff, Course, Enrollment

CLASS_ROLES = ("instructor", "ta")
# What each class role may do on top of reading the class (see permissions.py).
ALL_TEACHING = frozenset(CLASS_ROLES)


def class_role(session: Session, class_id: int, user: str) -> str | None:
    """The user's teaching role in the class, or None."""
    return session.scalar(
        sa.select(ClassStaff.role).where(ClassStaff.class_id == class_id, ClassStaff.user == user)
    )


def taught_class_ids(user: str, roles: frozenset[str] = ALL_TEACHING) -> sa.Select:
    """A sub-select of the ids of the classes `user` teaches in one of `roles`."""
    return sa.select(ClassStaff.class_id).where(
        ClassStaff.user == user, ClassStaff.role.in_(sorted(roles))
    )


def course_class_roles(session: Session, course_id: int, user: str) -> set[str]:
    """The roles `user` holds in the classes of a course (empty when they teach none)."""
    return set(
        session.scalars(
            sa.select(ClassStaff.role)
            .join(CampusClass, CampusClass.id == ClassStaff.class_id)
            .where(CampusClass.course_id == course_id, ClassStaff.user == user)
            .distinct()
        )
    )


def teaches_course(
    session: Session, course_id: int, user: str, roles: frozenset[str] = ALL_TEACHING
) -> bool:
    return bool(course_class_roles(session, course_id, user) & roles)


def teaches_student(
    session: Session, teacher: str, student: str, roles: frozenset[str] = ALL_TEACHING
) -> bool:
    """Does `teacher` teach a class in which `student` is (or was) enrolled?"""
    found = session.scalar(
        sa.select(Enrollment.id)
        .where(
            Enrollment.student == student,
            Enrollment.class_id.in_(taught_class_ids(teacher, roles)),
        )
        .limit(1)
    )
    return found is not None


def teaches_any(session: Session, user: str) -> list[dict[str, Any]]:
    """The classes `user` teaches, with their role: for the Lab's Teach tab."""
    rows = session.execute(
        sa.select(ClassStaff.class_id, ClassStaff.role)
        .where(ClassStaff.user == user)
        .order_by(ClassStaff.class_id)
    )
    return [{"class_id": cid, "role": role} for cid, role in rows]


def course_roles(session: Session, course_slug: str, user: str) -> dict[str, Any]:
    """What the grader needs to decide about a user and a course, from the campus's records:
    the user's school-wide role, their teaching roles in the course's classes, whether they
    are enrolled in one of them, and their extra time in its timed exams (a notebook exam's
    deadline; exam.py)."""
    from .exam import multiplier  # (exam.py reads the accommodations from the orm)

    course_id = session.scalar(sa.select(Course.id).where(Course.slug == course_slug))
    if course_id is None:
        raise APIError(404, f"no course {course_slug!r}")
    account = session.scalar(sa.select(Account).where(Account.name == user))
    school_role = account.role if account is not None and account.active else None
    enrolled = session.scalar(
        sa.select(Enrollment.id)
        .join(CampusClass, CampusClass.id == Enrollment.class_id)
        .where(
            CampusClass.course_id == course_id,
            Enrollment.student == user,
            Enrollment.status != "withdrawn",
        )
        .limit(1)
    )
    class_roles = sorted(course_class_roles(session, course_id, user))
    taught: list[str] = []
    if class_roles:
        taught = sorted(
            set(
                session.scalars(
                    sa.select(Enrollment.student)
                    .join(CampusClass, CampusClass.id == Enrollment.class_id)
                    .where(
                        CampusClass.course_id == course_id,
                        Enrollment.class_id.in_(taught_class_ids(user)),
                    )
                )
            )
        )
    roster: list[str] = []
    if class_roles or school_role in ("staff", "admin"):
        # The course's enrolled students, for a teacher's or an overseer's gradebook: those
        # who never submitted are listed too.
        roster = sorted(
            set(
                session.scalars(
                    sa.select(Enrollment.student)
                    .join(CampusClass, CampusClass.id == Enrollment.class_id)
                    .where(CampusClass.course_id == course_id, Enrollment.status != "withdrawn")
                )
            )
        )
    return {
        "user": user,
        "course": course_slug,
        "school_role": school_role,
        "class_roles": class_roles,
        "taught_students": taught,
        "enrolled_students": roster,
        "enrolled": enrolled is not None,
        "exam_multiplier": multiplier(session, course_id, user),
    }


def add_staff(
    session: Session, klass: CampusClass, user: str, role: str, added_by: str | None
) -> ClassStaff:
    """Name `user` an instructor or TA of the class (or change their role)."""
    if role not in CLASS_ROLES:
        raise APIError(400, f"role must be one of {', '.join(CLASS_ROLES)}", field="role")
    active = session.scalar(sa.select(Account.active).where(Account.name == user))
    if not active:
        raise APIError(400, f"{user!r} has no active account", field="user")
    enrolled = session.scalar(
        sa.select(Enrollment.id).where(
            Enrollment.class_id == klass.id,
            Enrollment.student == user,
            Enrollment.status != "withdrawn",
        )
    )
    if enrolled is not None:
        raise APIError(409, f"{user!r} is a student of this class and cannot also teach it")
    member = next((m for m in klass.staff if m.user == user), None)
    if member is None:
        member = ClassStaff(user=user, role=role, added_by=added_by)
        klass.staff.append(member)
    else:
        member.role = role
    session.flush()
    return member


def remove_staff(session: Session, klass: CampusClass, user: str) -> None:
    member = next((m for m in klass.staff if m.user == user), None)
    if member is None:
        raise APIError(404, f"{user!r} does not teach class {klass.id}")
    klass.staff.remove(member)
    session.flush()


def set_lead_instructor(
    session: Session, klass: CampusClass, user: str | None, added_by: str | None
) -> None:
    """The class API's single `instructor` field, as before class staff existed: it names the
    class's first instructor, and setting it replaces that person (co-instructors and TAs,
    managed through the class's staff, stay)."""
    lead = klass.instructor
    if lead == user:
        return
    if lead is not None:
        remove_staff(session, klass, lead)
    if user is not None:
        add_staff(session, klass, user, "instructor", added_by)


def staff_dicts(klass: CampusClass) -> list[dict[str, Any]]:
    return [{"user": m.user, "role": m.role} for m in klass.staff]
