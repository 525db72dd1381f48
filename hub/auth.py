"""Local accounts with passwords for the Hub's login page.

Accounts live in the campus database (created by staff and admins through the campus API or
`nbcampus accounts add`, or by self sign-up when the school switches it on). The campus role
is a Hub group, visible on the admin page, and admins are Hub admins.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from tornado import web
from traitlets import Bool, Unicode, default

from nbcampus.db import make_engine, session_factory
from nbcampus.hub.campus.accounts import AccountError, AccountStore


class CampusAuthenticator(Authenticator):
    """Log in with a campus account's name and password."""

    db_url = Unicode(
        help="""SQLAlchemy URL of the campus database, where accounts and their hashed
        passwords are stored. Set by nbcampus from NBCAMPUS_DB_URL (or the data directory).""",
    ).tag(config=True)

    allow_signup = Bool(
        False,
        help="""Let visitors create their own student account at /hub/signup.
        Off by default: staff and admins create accounts. Set NBCAMPUS_ALLOW_SIGNUP=1.""",
    ).tag(config=True)

    @default("allow_all")
    def _allow_all_default(self) -> bool:
        # Only existing campus accounts can authenticate: the account table is the allow list.
        return True

    _store: AccountStore | None = None

    @property
    def store(self) -> AccountStore:
        if self._store is None:
            self._store = AccountStore(session_factory(make_engine(self.db_url)))
        return self._store

    async def authenticate(self, handler: web.RequestHandler, data: dict[str, Any]) -> Any:
        name = str(data.get("username") or "")
        password = str(data.get("password") or "")
        if not name or not password:
            return None
        # scrypt is deliberately slow: keep it off the Hub's event loop.
        account = await asyncio.to_thread(self.store.check_password, name, password)
        if account is None:
            self.log.warning("Failed login for %r", name[:64])
            return None
        # Group membership (the campus role) is kept in the Hub by the campus service and by
        # `load_groups` at start-up, so that it shows on the admin page before a first login.
        return {"name": account.name, "admin": account.role == "admin"}

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        handlers = super().get_handlers(app)
        if self.allow_signup:
            handlers.append((r"/signup", SignupHandler))
        return handlers


class SignupHandler(BaseHandler):
    """Self sign-up: creates a student account, then sends the visitor to the login page."""

    async def get(self) -> None:
        html = await self.render_template("nbcampus-signup.html", error=None, username="")
        self.finish(html)

    async def post(self) -> None:
        authenticator: CampusAuthenticator = self.authenticator
        name = self.get_body_argument("username", default="")
        password = self.get_body_argument("password", default="")
        try:
            await asyncio.to_thread(
                authenticator.store.create, name, "student", password, source="signup"
            )
        except AccountError as err:
            self.set_status(409 if err.code == "CONFLICT" else 400)
            html = await self.render_template(
                "nbcampus-signup.html", error=str(err), username=name[:64]
            )
            self.finish(html)
            return
        self.redirect(self.settings["login_url"])
