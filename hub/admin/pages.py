"""The admin screens as Hub pages (`/hub/campus-admin/...`): accounts, course review, school
settings. Server-rendered forms on the Hub's own page.html (dark mode included), with the
Hub's cookie and XSRF token; an error is shown beside its field with what was typed kept.

The pages call the same domain code as the campus API (account_admin, course_review, school;
each change audited in its transaction), so the rules live once. Who may open a page is read
from the campus's accounts and the campus permission table, never from Hub groups.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from jupyterhub.handlers import BaseHandler
from jupyterhub.utils import new_token, url_path_join
from sqlalchemy.orm import Session, sessionmaker
from tornado import web

from nbcampus.db import transaction
from nbcampus.hub.campus import account_admin, audit, school
from nbcampus.hub.campus import course_review as review
from nbcampus.hub.campus.accounts import AccountError
from nbcampus.hub.campus.lockout import Lockout
from nbcampus.hub.campus.permissions import PERMISSIONS
from nbcampus.hub.roles import ROLES
from nbcampus.web import _CONTROL

T = TypeVar("T")


async def admin_role(authenticator: Any, user: Any) -> str | None:
    """The school-wide role that counts here: Hub admins are admins; a disabled or unknown
    account is nobody."""
    if user is None:
        return None
    accounts = getattr(authenticator, "accounts", None)
    account = await asyncio.to_thread(accounts.get, user.name) if accounts else None
    if account is not None and not account.active:
        return None
    if user.admin:
        return "admin"
    return account.role if account is not None else None


def nav_role(db_url: str) -> Callable[[Any], str | None]:
    """A `template_vars` callable: the viewer's role when the navigation shows "Admin"
    (admins and staff), read from the campus's accounts on each page."""
    from nbcampus.db import make_engine, session_factory
    from nbcampus.hub.campus.accounts import AccountStore

    stores: list[AccountStore] = []

    def role(user: Any) -> str | None:
        if user is None:
            return None
        if not stores:
            stores.append(AccountStore(session_factory(make_engine(db_url))))
        account = stores[0].get(user.name)
        if account is not None and not account.active:
            return None
        if getattr(user, "admin", False):
            return "admin"
        return account.role if account and account.role in ("admin", "staff") else None

    return role


# Where a role's day starts: staff run classes in the Office, admins run the school.
ROLE_HOME = {"staff": "office/classes", "admin": "campus-admin/accounts"}


def sign_in_destination(db_url: str) -> Callable[[Any], str]:
    """`c.JupyterHub.default_url`: after signing in (or at `/`), staff and admins go to their
    pages instead of starting a JupyterLab they do not use (a server each, about 2 CPU-s and
    its memory); instructors and students go to their Lab ("": the Hub's own default). A
    `next` in the URL still wins. Read from the campus's accounts, as the navigation is."""
    role_of = nav_role(db_url)

    def destination(handler: Any) -> str:
        home = ROLE_HOME.get(role_of(handler.current_user) or "")
        return url_path_join(handler.hub.base_url, home) if home else ""

    return destination


class AdminPage(BaseHandler):
    _accept_token_auth = False  # pages for people in a browser
    permission = "accounts:list"  # the campus permission a page needs (PERMISSIONS)
    page = ""

    @property
    def campus(self) -> sessionmaker[Session]:
        return self.authenticator.accounts.factory

    async def role(self) -> str:
        role = await admin_role(self.authenticator, self.current_user)
        if role is None or role not in PERMISSIONS[self.permission].school:
            raise web.HTTPError(403, "This admin page is for the school's admins and staff.")
        return role

    async def tx(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with transaction(self.campus) as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def read(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.campus() as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def show(self, template: str, status: int = 200, **ns: Any) -> None:
        role = await self.role()
        settings = await self.read(school.read)
        for entry in ns.get("changes") or []:
            entry["at_local"] = school.local_time(entry["at"], settings["timezone"])
        self.set_status(status)
        # A page may show a password once: never from a cache, never again.
        self.set_header("Cache-Control", "no-store")
        html = await self.render_template(
            template,
            admin_role=role,
            admin_page=self.page,
            school=settings,
            xsrf=self.xsrf_token.decode("ascii"),
            **ns,
        )
        self.finish(html)

    def arg(self, name: str, max_length: int = 500) -> str:
        return self.get_body_argument(name, default="", strip=True)[:max_length]


# --- accounts --------------------------------------------------------------------------
class AccountsPage(AdminPage):
    page = "accounts"

    async def render_accounts(
        self,
        status: int = 200,
        *,
        form: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        message: str = "",
        error: str = "",
        secret: dict[str, str] | None = None,
    ) -> None:
        role = await self.role()
        q = self.get_query_argument("q", "").strip()[:100]
        role_filter = self.get_query_argument("role", "")
        role_filter = role_filter if role_filter in ROLES else ""
        state = self.get_query_argument("state", "")
        active = {"active": True, "disabled": False}.get(state)

        def work(s: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            found = account_admin.search(s, q, role_filter or None, active)
            changes = audit.entries(s, target_type="account", limit=20)
            return found, changes

        accounts, changes = await self.read(work)
        await self.show(
            "nbcampus-admin-accounts.html",
            status,
            accounts=accounts,
            changes=changes,
            q=q,
            role_filter=role_filter,
            state=state if active is not None else "",
            roles=ROLES,
            creatable=account_admin.manageable_roles(role),
            manages=account_admin.MANAGES.get(role, frozenset()),
            form=form or {"role": "student"},
            errors=errors or {},
            message=message,
            error=error,
            secret=secret,
            me=self.current_user.name,
        )

    @web.authenticated
    async def get(self) -> None:
        await self.render_accounts()

    @web.authenticated
    async def post(self) -> None:
        """Create an account; its generated password is shown once, on this answer only."""
        role = await self.role()
        form = {k: self.arg(k, 254) for k in ("name", "display_name", "email", "role")}
        errors: dict[str, str] = {}
        if form["role"] not in ROLES:
            errors["role"] = "choose a role"
        elif form["role"] not in account_admin.manageable_roles(role):
            errors["role"] = (
                f"a {role} may create {' or '.join(account_admin.manageable_roles(role))} accounts"
            )
        for key in ("name", "display_name", "email"):
            if _CONTROL.search(form[key]):
                errors[key] = "contains a control character"
        if form["email"] and ("@" not in form["email"] or len(form["email"]) > 254):
            errors["email"] = "an email address, like ada@example.org"
        if len(form["display_name"]) > 200:
            errors["display_name"] = "at most 200 characters"
        if not errors:
            try:
                info, password = await self.tx(
                    lambda s: account_admin.create(
                        s,
                        self.current_user.name,
                        role,
                        form["name"],
                        form["role"],
                        display_name=form["display_name"],
                        email=form["email"],
                    )
                )
            except AccountError as err:
                errors["name"] = str(err)
            else:
                await self.sync_role_group(info["name"], info["role"])
                return await self.render_accounts(
                    201,
                    message=f"Account {info['name']} ({info['role']}) created.",
                    secret={"name": info["name"], "password": password},
                )
        await self.render_accounts(400, form=form, errors=errors)

    async def sync_role_group(self, name: str, role: str) -> None:
        """The campus role shows on the Hub's admin page as a group (display only)."""
        from jupyterhub import orm as hub_orm

        from nbcampus.hub.roles import role_group

        try:
            user = self.user_from_username(name)
            for r in ROLES:
                group = hub_orm.Group.find(self.db, role_group(r))
                if group is None and r == role:
                    group = hub_orm.Group(name=role_group(r))
                    self.db.add(group)
                if group is None:
                    continue
                member = group in user.orm_user.groups
                if r == role and not member:
                    user.orm_user.groups.append(group)
                elif r != role and member:
                    user.orm_user.groups.remove(group)
            self.db.commit()
        except Exception as err:  # display only; `load_groups` heals it at the next start
            self.db.rollback()
            self.log.warning("could not put %s in their role group: %s", name, err)


class AccountActivePage(AccountsPage):
    @web.authenticated
    async def post(self, name: str) -> None:
        """Disable (no login; servers stopped, tokens revoked, files kept) or enable."""
        role = await self.role()
        active = self.arg("active") == "1"
        try:
            info, changed = await self.tx(
                lambda s: account_admin.set_active(s, self.current_user.name, role, name, active)
            )
        except AccountError as err:
            status = 404 if err.code == "NOT_FOUND" else 403 if err.code == "FORBIDDEN" else 409
            return await self.render_accounts(status, error=str(err))
        if active:
            return await self.render_accounts(message=f"Account {info['name']} enabled.")
        lockout = await self.lock_out(info["name"])
        stopped = ", ".join(s or "default" for s in lockout.servers_stopped) or "none running"
        await self.render_accounts(
            message=(
                f"Account {info['name']} disabled: it cannot log in; servers stopped: {stopped}; "
                f"tokens revoked: {lockout.tokens_revoked}. Its files are kept."
            ),
            error=lockout.error,
        )

    async def lock_out(self, name: str) -> Lockout:
        """In the Hub's own process: stop the servers, revoke every token, and end open login
        sessions (a new cookie id makes the old login cookie match nobody)."""
        result = Lockout()
        user = self.find_user(name)
        if user is None:
            return result
        for server_name, spawner in list(user.spawners.items()):
            if spawner.pending == "stop" or not spawner.active:
                continue
            if spawner.pending:
                # A start under way (a login just before the account was disabled): cancel
                # it, as the Hub's REST API does, then stop what it left.
                if spawner._spawn_future:
                    spawner._spawn_future.cancel()
                await asyncio.sleep(1)
                if spawner.pending:
                    result.error = f"the server {server_name!r} is still {spawner.pending}"
                    continue
            await self.stop_single_user(user, server_name)
            result.servers_stopped.append(server_name)
        for token in list(user.orm_user.api_tokens):
            self.db.delete(token)
            result.tokens_revoked += 1
        user.orm_user.cookie_id = new_token()
        self.db.commit()
        return result


class AccountPasswordPage(AccountsPage):
    @web.authenticated
    async def post(self, name: str) -> None:
        """A new temporary password, shown once on this answer; only its hash is kept."""
        role = await self.role()
        try:
            password = await self.tx(
                lambda s: account_admin.reset_password(s, self.current_user.name, role, name)
            )
        except AccountError as err:
            status = 404 if err.code == "NOT_FOUND" else 403 if err.code == "FORBIDDEN" else 400
            return await self.render_accounts(status, error=str(err))
        await self.render_accounts(
            message=f"Password of {name} reset; give the person this temporary password.",
            secret={"name": name, "password": password},
        )


# --- course review -------------------------------------------------------------------------
class CoursesReviewPage(AdminPage):
    permission = "admin:audit"  # course review is for admins (the instructors send)
    page = "courses"

    async def render_courses(
        self,
        status: int = 200,
        *,
        message: str = "",
        error: str = "",
        note_for: str = "",
        note: str = "",
    ) -> None:
        wanted = self.get_query_argument("status", "")
        wanted = wanted if wanted in review.STATUSES else ""

        def work(s: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            return review.review_list(s, wanted or None), audit.entries(
                s, target_type="course", limit=20
            )

        courses, changes = await self.read(work)
        await self.show(
            "nbcampus-admin-courses.html",
            status,
            courses=courses,
            changes=changes,
            statuses=review.STATUSES,
            status_filter=wanted,
            moves=review.MOVES,
            done=review.DONE,
            message=message,
            error=error,
            note_for=note_for,
            note=note,
        )

    @web.authenticated
    async def get(self) -> None:
        await self.render_courses()


class CourseReviewPage(CoursesReviewPage):
    @web.authenticated
    async def post(self, slug: str) -> None:
        await self.role()
        action = self.arg("action", 20)
        note = self.arg("note", 2000)

        def work(s: Session) -> dict[str, Any]:
            from nbcampus.hub.campus.courses import course_by_slug
            from nbcampus.web import APIError

            try:
                course = course_by_slug(s, slug, published_only=False)
            except APIError as err:
                raise review.ReviewError(err.message, 404) from None
            return review.apply(
                s, course, action, self.current_user.name, is_admin=True, teaches=False, note=note
            )

        try:
            after = await self.tx(work)
        except review.ReviewError as err:
            return await self.render_courses(
                err.status,
                error=str(err),
                note_for=slug if err.field == "note" else "",
                note=note,
            )
        word = review.DONE.get(action, action)
        await self.render_courses(
            message=f"Course {slug} {word}: now {after['status'].replace('_', ' ')}."
        )


# --- school settings -----------------------------------------------------------------------
class SettingsPage(AdminPage):
    permission = "settings:write"
    page = "settings"

    async def render_settings(
        self,
        status: int = 200,
        *,
        form: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        message: str = "",
    ) -> None:
        def work(s: Session) -> tuple[dict[str, str], list[dict[str, Any]]]:
            return school.read(s), audit.entries(s, target_type="settings", limit=20)

        current, changes = await self.read(work)
        await self.show(
            "nbcampus-admin-settings.html",
            status,
            fields=school.FIELDS,
            form=form or current,
            errors=errors or {},
            message=message,
            changes=changes,
        )

    @web.authenticated
    async def get(self) -> None:
        await self.render_settings()

    @web.authenticated
    async def post(self) -> None:
        await self.role()
        form = {key: self.get_body_argument(key, default="") for key in school.FIELDS}
        try:
            await self.tx(lambda s: school.update(s, self.current_user.name, form))
        except school.SettingsError as err:
            return await self.render_settings(400, form=form, errors=err.errors)
        await self.render_settings(message="Settings saved: pages show them from now on.")


def admin_handlers() -> list[tuple[str, type]]:
    return [
        (r"/campus-admin/?", AdminHome),
        (r"/campus-admin/accounts", AccountsPage),
        (r"/campus-admin/accounts/([^/]{1,64})/active", AccountActivePage),
        (r"/campus-admin/accounts/([^/]{1,64})/password", AccountPasswordPage),
        (r"/campus-admin/courses", CoursesReviewPage),
        (r"/campus-admin/courses/([^/]{1,100})/review", CourseReviewPage),
        (r"/campus-admin/settings", SettingsPage),
    ]


class AdminHome(AdminPage):
    @web.authenticated
    async def get(self) -> None:
        await self.role()
        self.redirect(self.hub.base_url + "campus-admin/accounts")
