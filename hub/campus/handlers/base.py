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
from nbcampus.hub.campus.accounts import AccountStore
from nbcampus.hub.campus.orm import CampusClass, Enrollment
from nbcampus.hub.roles import role_from_groups
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
        if model.get("admin"):
            role = "admin"
        elif account is not None:
            role = account.role
        else:
            role = role_from_groups(list(model.get("groups") or []))
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
        return self.actor.role in OVERSEERS

    def check_class(self, session: Session, klass: CampusClass, *, teach: bool = False) -> None:
        """Teachers act only on classes they teach; students see only classes they are in."""
        actor = self.actor
        if actor.role in OVERSEERS:
            return
        if actor.role == "instructor":
            if klass.instructor == actor.name:
                return
            raise APIError(403, f"you do not teach class {klass.id}")
        if not teach and actor.role == "student":
            enrolled = session.scalar(
                select(Enrollment.id).where(
                    Enrollment.class_id == klass.id,
                    Enrollment.student == actor.name,
                    Enrollment.status != "withdrawn",
                )
            )
            if enrolled is not None:
                return
        raise APIError(403, f"class {klass.id} is not one of yours")

    def check_self_or_teacher(self, session: Session, user: str) -> None:
        """A student reads only their own records; an instructor those of their students."""
        actor = self.actor
        if actor.role in OVERSEERS or actor.name == user:
            return
        if actor.role == "instructor":
            teaches = session.scalar(
                select(Enrollment.id)
                .join(CampusClass, CampusClass.id == Enrollment.class_id)
                .where(Enrollment.student == user, CampusClass.instructor == actor.name)
                .limit(1)
            )
            if teaches is not None:
                return
        raise APIError(403, f"you may not see {user}'s records")

    def query_arg(self, name: str, max_length: int = 100) -> str | None:
        value = self.get_argument(name, None)
        if value is not None and len(value) > max_length:
            raise APIError(400, f"query argument {name!r} is too long", field=name)
        return value
