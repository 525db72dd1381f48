"""Who may do what in the campus API: one table, checked per handler method.

Each handler method declares the permission it needs with `@needs_permission("name")`; the
name must be in PERMISSIONS, or the module defining the handler fails at import (as
jupyterhub's `needs_scope` does with unknown scopes). Object-level rules (an instructor acts
only on classes they teach, a student sees only their own records) are checked in the
handler on top of this table, with the helpers in `handlers/base.py`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from nbcampus.web import APIError

# Actors: the four campus roles, plus other Hub services (the grader, LTI) acting for the system.
ACTORS = ("student", "instructor", "staff", "admin", "service")

EVERYONE = frozenset(ACTORS)
TEACHERS = frozenset({"instructor", "staff", "admin", "service"})
OPERATORS = frozenset({"staff", "admin", "service"})
ADMINS = frozenset({"admin"})

TEACHING = frozenset({"instructor", "staff", "admin"})

# Object-level rules come on top (see handlers/base.py): an instructor acts only on classes they
# teach, a student reads only published courses and their own classes, credits and progress.
PERMISSIONS: dict[str, frozenset[str]] = {
    "campus:read": EVERYONE,
    "accounts:list": TEACHERS,
    "accounts:create": OPERATORS,
    "courses:read": EVERYONE,
    "courses:publish": frozenset({"instructor", "admin"}),
    "classes:read": EVERYONE,
    "classes:create": OPERATORS,
    "classes:update": OPERATORS,
    "enrollments:read": TEACHERS,
    "enrollments:write": OPERATORS,
    "lessons:unlock": frozenset({"instructor", "admin"}),
    "attendance:take": TEACHING,
    "attendance:read": TEACHERS,
    "attendance:edit": TEACHING,
    "credits:read": EVERYONE,
    "credits:adjust": TEACHING,
    "progress:write": frozenset({"student"}),
    "progress:read": EVERYONE,
    "access:read": OPERATORS,
    "results:write": frozenset({"service"}),
    "xp:read": EVERYONE,
    "xp:write": OPERATORS,
    "leaderboard:read": EVERYONE,
    "badges:read": EVERYONE,
    "badges:award": OPERATORS,
    "notifications:own": frozenset({"student", "instructor", "staff", "admin"}),
    "preferences:own": frozenset({"student", "instructor", "staff", "admin"}),
    "announcements:read": EVERYONE,
    "announcements:write": TEACHING,
}

F = TypeVar("F", bound=Callable[..., Any])


def needs_permission(permission: str) -> Callable[[F], F]:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown campus permission {permission!r}: add it to PERMISSIONS")
    allowed = PERMISSIONS[permission]

    def decorator(method: F) -> F:
        @functools.wraps(method)
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            actor = self.actor
            if actor.role not in allowed:
                raise APIError(403, f"{actor.role} {actor.name!r} may not do this ({permission})")
            result = method(self, *args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        wrapper.__nbcampus_permission__ = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def permission_table() -> list[dict[str, Any]]:
    """The table as data, for the generated API docs."""
    return [{"permission": p, "actors": sorted(a)} for p, a in sorted(PERMISSIONS.items())]
