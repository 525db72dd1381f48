"""The base of every campus API handler: Hub authentication, the acting user, JSON."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from jupyterhub.services.auth import HubOAuthenticated
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tornado import web

from nbcampus.db import transaction
from nbcampus.hub.campus import teaching
from nbcampus.hub.campus.accounts import AccountStore
from nbcampus.hub.campus.orm import CampusClass, Enrollment
from nbcampus.web import APIError, JSONErrorMixin

T = TypeVar("T")
# Roles that see every class and every student's records.
OVERSEERS = frozenset({"staff", "admin", "service"})


@dataclass(frozen=True)
class Actor:
    """Who is making a request: a campus user with a role, or another Hub service."""

    name: str
    role: str  # student, instructor, staff, admin, or service
    kind: str = "user"


class CampusHandler(JSONErrorMixin, HubOAuthenticated, web.RequestHandler):
    _actor: Actor | None = None

    @property
    def db(self) -> sessionmaker[Session]:
        return self.settings["db"]

    @property
    def accounts(self) -> AccountStore:
        return AccountStore(self.db)

    def prepare(self) -> None:
        if self.current_user is None:
            raise APIError(401, "log in through the Hub, or send a Hub API token")

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = self._resolve_actor(self.current_user)
        return self._actor

    def _resolve_actor(self, model: dict[str, Any]) -> Actor:
        if model.get("kind") == "service":
            return Actor(model["name"], "service", "service")
        name = model["name"]
        account = self.accounts.get(name)
        if account is not None and not account.active:
            # A disabled account's tokens are revoked; one that slipped through acts as nobody.
            raise APIError(403, "this account is disabled")
        if model.get("admin"):
            role = "admin"
        elif account is not None and account.active:
            role = account.role
        else:
            # No campus account: the campus's records give no role beyond a student's.
            role = "student"
        return Actor(name, role)

    # --- database work, off the event loop --------------------------------------------------
    async def tx(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in one transaction in a worker thread; commit on success."""

        def run() -> T:
            with transaction(self.db) as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run read-only `work(session)` in a worker thread."""

        def run() -> T:
            with self.db() as session:
                return work(session)

        return await asyncio.to_thread(run)

    # --- object-level checks (on top of the PERMISSIONS table) ---------------------------------
    def is_overseer(self) -> bool:
        """Staff, admins and services acting under a rule that names their school role."""
        actor = self.actor
        rule = getattr(self, "rule", None)
        return actor.role in OVERSEERS and (rule is None or actor.role in rule.school)

    def _teaching_roles(self) -> frozenset[str]:
        rule = getattr(self, "rule", None)
        return rule.teaching if rule is not None and rule.teaching else teaching.ALL_TEACHING

    def check_class(self, session: Session, klass: CampusClass, *, teach: bool = False) -> None:
        """Overseers act on every class; a class's teachers act on it with the teaching roles
        the handler's rule names; students (and any of its teachers) may read it."""
        self.object_checked = True
        actor = self.actor
        if self.is_overseer():
            return
        if actor.kind == "user":
            role = teaching.class_role(session, klass.id, actor.name)
            rule = getattr(self, "rule", None)
            if role is not None and rule is not None and role in rule.teaching:
                return
            if not teach:
                if role is not None:
                    return
                enrolled = session.scalar(
                    select(Enrollment.id).where(
                        Enrollment.class_id == klass.id,
                        Enrollment.student == actor.name,
                        Enrollment.status != "withdrawn",
                    )
                )
                if enrolled is not None and actor.role in (rule.school if rule else ()):
                    return
            if role is not None:
                raise APIError(403, f"a {role} of class {klass.id} may not do this")
        raise APIError(403, f"class {klass.id} is not one of yours")

    def check_course(self, session: Session, course_id: int) -> None:
        """Course-level acts (publish, archive): overseers, or those who teach a class of the
        course in one of the rule's teaching roles."""
        self.object_checked = True
        if self.is_overseer():
            return
        actor = self.actor
        rule = getattr(self, "rule", None)
        if (
            actor.kind == "user"
            and rule is not None
            and rule.teaching
            and teaching.teaches_course(session, course_id, actor.name, rule.teaching)
        ):
            return
        raise APIError(403, "you do not teach this course")

    def check_self_or_teacher(self, session: Session, user: str) -> None:
        """A student reads only their own records; a teacher those of their classes' students."""
        self.object_checked = True
        actor = self.actor
        if self.is_overseer() or actor.name == user:
            return
        if actor.kind == "user" and teaching.teaches_student(
            session, actor.name, user, self._teaching_roles()
        ):
            return
        raise APIError(403, f"you may not see {user}'s records")

    def write_json(self, data: Any, status: int = 200) -> None:
        # A rule that grants by teaching role relies on the handler's object check: answering
        # without one would be a wrong allow, so it is refused here as a last guard.
        rule = getattr(self, "rule", None)
        if (
            status < 300
            and rule is not None
            and rule.teaching
            and self.actor.role not in rule.school
            and not getattr(self, "object_checked", False)
        ):
            self.log.error("%s answered without an object check", type(self).__name__)
            raise APIError(403, "not allowed here")
        super().write_json(data, status)

    def query_arg(self, name: str, max_length: int = 100) -> str | None:
        value = self.get_argument(name, None)
        if value is not None and len(value) > max_length:
            raise APIError(400, f"query argument {name!r} is too long", field=name)
        return value
