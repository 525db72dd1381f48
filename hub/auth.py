"""Local accounts with passwords for the Hub's login page.

Accounts live in the campus database (created by staff and admins through the campus API or
`nbcampus accounts add`, or by self sign-up when the school switches it on). The campus role
is a Hub group, visible on the admin page, and admins are Hub admins.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.handlers.login import LoginHandler
from tornado import web
from traitlets import Bool, Instance, Unicode, default

from nbcampus.db import make_engine, session_factory
from nbcampus.hub.campus.accounts import AccountStore
from nbcampus.hub.hub_api_root import HubRootAPIHandler
from nbcampus.hub.landing import landing_handlers
from nbcampus.hub.selfservice import selfservice_handlers
from nbcampus.hub.throttle import LoginThrottle, Throttled, client_address


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

    throttle = Instance(
        LoginThrottle,
        help="""The throttle of failed sign-ins (password login, sign-up, LTI 1.1 launches).
        Configure its limits as `c.LoginThrottle.account_limit`, `.address_limit` and
        `.window`.""",
    )

    @default("throttle")
    def _throttle_default(self) -> LoginThrottle:
        return LoginThrottle(parent=self)

    @default("allow_all")
    def _allow_all_default(self) -> bool:
        # Only existing campus accounts can authenticate: the account table is the allow list.
        return True

    _accounts: AccountStore | None = None

    @property
    def accounts(self) -> AccountStore:
        """The campus accounts (not `store`: the LTI authenticator's store is its own)."""
        if self._accounts is None:
            self._accounts = AccountStore(session_factory(make_engine(self.db_url)))
        return self._accounts

    async def authenticate(self, handler: web.RequestHandler, data: dict[str, Any]) -> Any:
        name = str(data.get("username") or "")
        password = str(data.get("password") or "")
        if not name or not password:
            return None
        address = client_address(handler)
        # Refused while throttled, before the password is looked at (the right one too).
        try:
            self.throttle.begin(account=name, address=address)
        except Throttled as err:
            self.log.warning("Throttled login for %r from %s (%s)", name[:64], address, err.scope)
            raise
        # scrypt is deliberately slow: keep it off the Hub's event loop.
        account = await asyncio.to_thread(self.accounts.check_password, name, password)
        if account is None:
            self.log.warning("Failed login for %r from %s", name[:64], address)
            return None
        self.throttle.succeeded(account=name, address=address)
        # Group membership (the campus role) is kept in the Hub by the campus service and by
        # `load_groups` at start-up, so that it shows on the admin page before a first login.
        return {"name": account.name, "admin": account.role == "admin"}

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        # The Hub registers the authenticator's handlers before its own: this /login is the
        # one served, and so is this API root (no exact version for anonymous callers).
        handlers = [(r"/login", CampusLoginHandler), (r"/api/?", HubRootAPIHandler)]
        # The front door: landing page, public catalog, course pages.
        handlers += landing_handlers()
        # Self-service: sign-up (when allowed), forgotten and changed passwords.
        handlers += selfservice_handlers(signup=self.allow_signup)
        # The school office: staff's pages and their relay to the campus API.
        from nbcampus.hub.office import page_handlers as office_pages

        handlers += office_pages()
        # A person's profile and certificates (hub/profile_page.py, hub/certificate_page.py).
        from nbcampus.hub.certificate_page import page_handlers as certificate_pages
        from nbcampus.hub.profile_page import page_handlers as profile_pages

        handlers += profile_pages() + certificate_pages()
        # The daily email digest leaves from here, where the SMTP settings are (hub/digest_mail.py).
        self._start_digests()
        # The campus admin's pages (accounts, course review, settings).
        from nbcampus.hub.admin.pages import admin_handlers

        return handlers + admin_handlers()

    def _start_digests(self) -> None:
        from nbcampus.hub.digest_mail import DigestSchedule
        from nbcampus.hub.mail import CampusMailer
        from nbcampus.hub.site import CampusSite

        try:
            asyncio.get_running_loop()
        except RuntimeError:  # handlers asked for outside a running Hub: nothing to schedule
            return
        mailer = CampusMailer(config=self.config, log=self.log)
        school = CampusSite(config=self.config).school_name
        self._digests = DigestSchedule(config=self.config, log=self.log).start(
            self.accounts.factory, mailer, school
        )

    @default("auth_refresh_age")
    def _refresh_age_default(self) -> int:
        # How soon an open login session of a disabled account ends (refresh_user).
        return 60

    async def refresh_user(self, user: Any, handler: Any = None) -> bool:
        """False (log in again, which a disabled account cannot) when the campus account
        is disabled; a user with no campus account (a service-made one) is left alone."""
        account = await asyncio.to_thread(self.accounts.get, user.name)
        return account is None or account.active


def refuse_throttled(handler: web.RequestHandler, err: Throttled) -> None:
    """Status 429 with Retry-After; the caller renders its page with `err.message`."""
    handler.set_status(429)
    handler.set_header("Retry-After", str(err.retry_after))


class CampusLoginHandler(LoginHandler):
    """The Hub's login page; a throttled attempt shows the wait as the page's login error."""

    async def post(self) -> None:
        try:
            await super().post()
        except Throttled as err:
            refuse_throttled(self, err)
            username = self.get_body_argument("username", default="", strip=True)
            html = await self._render(login_error=err.message, username=username[:64])
            self.finish(html)
