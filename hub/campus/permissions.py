"""Who may do what in the campus API: one table, checked per handler method.

Each handler method declares the permission it needs with `@needs_permission("name")`; the
name must be in PERMISSIONS, or the module defining the handler fails at import (as
jupyterhub's `needs_scope` does with unknown scopes). Object-level rules (an instructor acts
only on classes they teach, a student sees only their own records) are checked in the
handler on top of this table, with the helpers in `handlers/base.py`; a rule's teaching roles
(instructor, ta) are per class and are checked there, against the class's staff.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nbcampus.web import APIError

# Actors by school-wide role: the four account roles, plus other Hub services (the grader,
# LTI) acting for the system. A school-wide "instructor" is an account that may be named to
# teach; by itself it grants nothing a student does not have.
ACTORS = ("student", "instructor", "staff", "admin", "service")

EVERYONE = frozenset(ACTORS)
PEOPLE = frozenset({"student", "instructor", "staff", "admin"})
OPERATORS = frozenset({"staff", "admin", "service"})
OFFICE = frozenset({"staff", "admin"})
ADMINS = frozenset({"admin"})
NOBODY: frozenset[str] = frozenset()

# Teaching roles held per class (see teaching.py); a rule's `teaching` roles grant the call
# only on a class (or course) the actor teaches in one of them, checked by the handler.
INSTRUCTOR = frozenset({"instructor"})
TEACHING_STAFF = frozenset({"instructor", "ta"})


@dataclass(frozen=True)
class Rule:
    """Who may call: `school` roles (overseers among them act on every object; students are
    held to their own records by the handler), and `teaching` class roles, which grant the
    call only on the classes or courses the actor teaches in that role."""

    school: frozenset[str]
    teaching: frozenset[str] = NOBODY

    def __post_init__(self) -> None:
        unknown = (set(self.school) - set(ACTORS)) | (set(self.teaching) - {"instructor", "ta"})
        if unknown:
            raise KeyError(f"unknown roles in a permission rule: {sorted(unknown)}")


PERMISSIONS: dict[str, Rule] = {
    "campus:read": Rule(EVERYONE),
    "accounts:list": Rule(OPERATORS),
    "accounts:create": Rule(OPERATORS),
    # Disable, enable, reset a password: staff on student accounts, admins on any (the
    # handler checks the account's role, account_admin.MANAGES).
    "accounts:manage": Rule(OFFICE),
    "admin:audit": Rule(ADMINS),
    "settings:read": Rule(EVERYONE),
    "settings:write": Rule(ADMINS),
    "courses:read": Rule(EVERYONE),
    # Course review (course_review.py): the course's instructors (of any of its classes) send
    # it for review or withdraw it; admins publish, return, archive and restore.
    "courses:publish": Rule(ADMINS, INSTRUCTOR),
    "courses:review": Rule(ADMINS, INSTRUCTOR),
    # Authoring from a course folder (authoring.py): an instructor account may start a new
    # course; an existing one only its instructors (of any of its classes) and admins.
    "courses:author": Rule(frozenset({"instructor", "admin"}), INSTRUCTOR),
    "classes:read": Rule(EVERYONE),
    "classes:create": Rule(OPERATORS),
    "classes:update": Rule(OPERATORS),
    "classes:staff": Rule(OPERATORS),
    "enrollments:read": Rule(OPERATORS, TEACHING_STAFF),
    "enrollments:write": Rule(OPERATORS),
    "lessons:unlock": Rule(ADMINS, INSTRUCTOR),
    "attendance:take": Rule(OFFICE, TEACHING_STAFF),
    "attendance:read": Rule(OPERATORS, TEACHING_STAFF),
    "attendance:edit": Rule(OFFICE, TEACHING_STAFF),
    "credits:read": Rule(EVERYONE, TEACHING_STAFF),
    "credits:adjust": Rule(OFFICE, INSTRUCTOR),
    # The office: payments are staff's; a class's instructors may read its audit.
    "payments:read": Rule(OFFICE),
    "payments:write": Rule(OFFICE),
    "audit:read": Rule(OFFICE, INSTRUCTOR),
    "progress:write": Rule(frozenset({"student", "instructor"})),
    "progress:read": Rule(EVERYONE),
    "access:read": Rule(OPERATORS),
    "results:write": Rule(frozenset({"service"})),
    "xp:read": Rule(EVERYONE),
    "xp:write": Rule(OPERATORS),
    "leaderboard:read": Rule(EVERYONE),
    "badges:read": Rule(EVERYONE),
    "badges:award": Rule(OPERATORS),
    "notifications:own": Rule(PEOPLE),
    "preferences:own": Rule(PEOPLE),
    "announcements:read": Rule(EVERYONE),
    "announcements:write": Rule(OFFICE, INSTRUCTOR),
    # A person's own profile and data; overseers read anyone's (the handler checks which).
    "profile:read": Rule(EVERYONE),
    "data:export": Rule(EVERYONE),
    "deletion:request": Rule(PEOPLE),
    "deletion:list": Rule(OFFICE),
    "deletion:handle": Rule(OFFICE),
    "certificates:read": Rule(EVERYONE),
    # Course-level: the course's instructors (of any of its classes), staff and admins.
    "certificates:revoke": Rule(OFFICE, INSTRUCTOR),
    # Quizzes and timed exams (quiz.py): students take them in their unlocked lessons; the
    # course's teachers read results; its instructors set the exam window, time limit and score
    # visibility; instructors or the office set a student's exam time multiplier.
    "quizzes:take": Rule(frozenset({"student", "instructor"})),
    "quizzes:results": Rule(OFFICE, TEACHING_STAFF),
    "quizzes:manage": Rule(OFFICE, INSTRUCTOR),
    "exams:accommodate": Rule(OFFICE, INSTRUCTOR),
    # Score visibility (visibility.py): a course's instructors and the office release an
    # exercise's scores; the grader relays the release an instructor makes in its grading view.
    "scores:release": Rule(OPERATORS, INSTRUCTOR),
    # Servers pre-started before meetings (prewarm.py): a class's instructors and the office
    # read the class's; the office reads every class's (the Hub's admin page).
    "prewarm:read": Rule(OFFICE, INSTRUCTOR),
    "prewarm:list": Rule(OFFICE),
}

F = TypeVar("F", bound=Callable[..., Any])


def needs_permission(permission: str) -> Callable[[F], F]:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown campus permission {permission!r}: add it to PERMISSIONS")
    rule = PERMISSIONS[permission]

    def decorator(method: F) -> F:
        @functools.wraps(method)
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            actor = self.actor
            # A teaching role is per class: let the call through, the handler's object check
            # (check_class / check_course, which read this rule) decides.
            if actor.role not in rule.school and not (rule.teaching and actor.kind == "user"):
                raise APIError(403, f"{actor.role} {actor.name!r} may not do this ({permission})")
            self.rule = rule
            result = method(self, *args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        wrapper.__nbcampus_permission__ = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def permission_table() -> list[dict[str, Any]]:
    """The table as data, for the generated API docs."""
    return [
        {"permission": p, "actors": sorted(r.school), "teaching_roles": sorted(r.teaching)}
        for p, r in sorted(PERMISSIONS.items())
    ]
