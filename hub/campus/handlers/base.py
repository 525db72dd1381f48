"""The base of every campus API handler: Hub authentication, the acting user, JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from sqlalchemy.orm import Session, sessionmaker
from tornado import web

from nbcampus.hub.campus.accounts import AccountStore
from nbcampus.hub.roles import role_from_groups
from nbcampus.web import APIError, JSONErrorMixin


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
