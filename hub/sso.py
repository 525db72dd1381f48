"""Single sign-on: OpenID Connect / OAuth 2 sign-in beside the campus's local passwords.

`CampusOAuthenticator` is oauthenticator's `GenericOAuthenticator` (code flow, token and
userinfo endpoints) and the campus's password authenticator in one: the login page keeps its
name and password form and gains a "Sign in with <provider>" button. A person signing in
through the provider for the first time gets a campus account (source "oidc"): a student,
unless a configured claim (e.g. Keycloak's `groups`) names them instructor or staff. The
provider stays the authority for those accounts' role at every sign-in (an admin, made with
`nbcampus accounts`, is never changed). A provider identity never takes over a local, LMS or
demo account of the same name: that person signs in with their password.

Google, in `jupyterhub_config_extra.py` (docs/sso.md has Keycloak):

    c.JupyterHub.authenticator_class = "nbcampus.hub.sso.CampusOAuthenticator"
    c.CampusOAuthenticator.provider_name = "Google"
    c.CampusOAuthenticator.client_id = "....apps.googleusercontent.com"
    c.CampusOAuthenticator.client_secret = "..."
    c.CampusOAuthenticator.oauth_callback_url = "https://campus.example.edu/hub/oauth_callback"
    c.CampusOAuthenticator.authorize_url = "https://accounts.google.com/o/oauth2/v2/auth"
    c.CampusOAuthenticator.token_url = "https://oauth2.googleapis.com/token"
    c.CampusOAuthenticator.userdata_url = "https://openidconnect.googleapis.com/v1/userinfo"
    c.CampusOAuthenticator.scope = ["openid", "email", "profile"]
    c.CampusOAuthenticator.email_domain = "example.edu"  # alice@example.edu -> alice
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from jupyterhub import orm as hub_orm
from jupyterhub.utils import url_path_join
from oauthenticator.generic import GenericOAuthenticator
from oauthenticator.oauth2 import OAuthCallbackHandler, OAuthenticator, OAuthLogoutHandler
from sqlalchemy import select
from tornado import web
from traitlets import Set, Unicode, default

from nbcampus.db import transaction
from nbcampus.hub.auth import CampusAuthenticator
from nbcampus.hub.campus.accounts import AccountError, normalize_username
from nbcampus.hub.campus.orm import Account
from nbcampus.hub.roles import ROLES, role_group

SOURCE = "oidc"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _clean(value: Any, limit: int) -> str:
    return _CONTROL.sub("", value)[:limit].strip() if isinstance(value, str) else ""


def username_from_claim(value: Any, email_domain: str = "") -> str:
    """A campus user name from the provider's username claim: an email of the school's
    `email_domain` becomes its local part, any other email `local-at-domain` (so that two
    providers' "alice" never meet), lower case; a name the campus cannot take is refused."""
    if not isinstance(value, str) or not value.strip():
        raise web.HTTPError(403, "the identity provider gave no user name")
    value = value.strip().lower()
    if "@" in value:
        local, _, domain = value.rpartition("@")
        value = local if email_domain and domain == email_domain.lower() else f"{local}-at-{domain}"
    value = re.sub(r"[^a-z0-9._-]+", "-", value).strip("-._")
    try:
        return normalize_username(value)
    except AccountError as err:
        raise web.HTTPError(403, f"this sign-in gives no usable campus user name: {err}") from None


def role_from_claims(
    user_info: dict[str, Any], claim: str, instructor: set[str], staff: set[str]
) -> str:
    """staff or instructor when the claim (a list, or one string) holds a configured value;
    otherwise student."""
    raw = user_info.get(claim) if claim else None
    values = {raw} if isinstance(raw, str) else {v for v in raw or [] if isinstance(v, str)}
    if values & staff:
        return "staff"
    if values & instructor:
        return "instructor"
    return "student"


class CampusOAuthenticator(GenericOAuthenticator, CampusAuthenticator):
    """Sign in through the school's OpenID Connect (or OAuth 2) provider, or with a campus
    account's password."""

    provider_name = Unicode(
        "your school account",
        help="""The provider's name on the login page's button: "Sign in with <name>"
        (e.g. Google, Keycloak, the school's name). Use this rather than `login_service`,
        which would replace the password form with the button alone.""",
    ).tag(config=True)

    email_domain = Unicode(
        "",
        help="""The school's email domain: an email in it (the username claim) becomes its
        local part as the campus user name (alice@example.edu -> alice); other emails become
        local-at-domain (bob@gmail.com -> bob-at-gmail.com).""",
    ).tag(config=True)

    role_claim = Unicode(
        "groups",
        help="""The userinfo claim naming the person's groups or roles (a list or a string),
        compared with `instructor_values` and `staff_values`. Keycloak: a group membership
        mapper named "groups"; Google gives none (everyone becomes a student).""",
    ).tag(config=True)

    instructor_values = Set(
        Unicode(),
        help="""Values of `role_claim` that make a person an instructor (school-wide: they may
        be named to teach; what they teach is decided by the classes' staff).""",
    ).tag(config=True)

    staff_values = Set(
        Unicode(),
        help="Values of `role_claim` that make a person staff. Admins are never made here.",
    ).tag(config=True)

    @default("login_service")
    def _login_service_default(self) -> str:
        return ""  # the login page shows the password form and the provider's button

    @default("username_claim")
    def _username_claim_default(self) -> str:
        return "email"

    @default("scope")
    def _scope_default(self) -> list[str]:
        return ["openid", "email", "profile"]

    @default("allow_all")
    def _allow_all_default(self) -> bool:
        # Campus accounts and every person the provider vouches for (a new one becomes a
        # student); narrow with allow_all = False and allowed_groups / allowed_users.
        return True

    # --- one login page for both ------------------------------------------------------------------
    def login_url(self, base_url: str) -> str:
        return url_path_join(base_url, "login")

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        return CampusAuthenticator.get_handlers(self, app) + [
            (r"/oauth_login", self.login_handler),
            (r"/oauth_callback", CampusOAuthCallbackHandler),
            (r"/logout", OAuthLogoutHandler),
        ]

    async def authenticate(self, handler: web.RequestHandler, data: Any = None) -> Any:
        if isinstance(data, dict) and "username" in data:  # the password form
            return await CampusAuthenticator.authenticate(self, handler, data)
        return await OAuthenticator.authenticate(self, handler, data)

    # --- the provider's person -> a campus account ----------------------------------------------
    def user_info_to_username(self, user_info: dict[str, Any]) -> str:
        return username_from_claim(user_info.get(self.username_claim), self.email_domain)

    async def update_auth_model(self, auth_model: dict[str, Any]) -> dict[str, Any]:
        info = (auth_model.get("auth_state") or {}).get(self.user_auth_state_key) or {}
        role = role_from_claims(
            info, self.role_claim, set(self.instructor_values), set(self.staff_values)
        )
        account_role = await asyncio.to_thread(
            self.provision,
            auth_model["name"],
            role,
            _clean(info.get("name"), 200),
            _clean(info.get("email"), 254),
        )
        auth_model["admin"] = account_role == "admin"
        return auth_model

    def provision(self, name: str, role: str, display_name: str, email: str) -> str:
        """Create or update the campus account of a person the provider vouched for; returns
        its role. Refused: another kind of account of this name, or a deactivated one."""
        try:
            self.accounts.create(
                name, role, None, source=SOURCE, created_by=SOURCE,
                display_name=display_name, email=email,
            )  # fmt: skip
            self.log.info("SSO: new campus account %s (%s)", name, role)
        except AccountError as err:
            if err.code != "CONFLICT":
                raise web.HTTPError(403, str(err)) from None
        with transaction(self.accounts.factory) as session:
            account = session.scalar(select(Account).where(Account.name == name))
            if account is None or account.source != SOURCE:
                raise web.HTTPError(
                    403,
                    f"a campus account named {name!r} exists already: sign in with its password",
                )
            if not account.active:
                raise web.HTTPError(403, "this campus account is deactivated")
            if account.role != "admin" and account.role != role:
                self.log.info("SSO: %s is now %s (was %s)", name, role, account.role)
                account.role = role
            account.display_name = display_name or account.display_name
            account.email = email or account.email
            return account.role


class CampusOAuthCallbackHandler(OAuthCallbackHandler):
    """The provider's redirect back; the signed-in person's campus role is put in its Hub
    group at once (as the campus service does for accounts made through its API)."""

    async def login_user(self, data: Any = None) -> Any:
        user = await super().login_user(data)
        if user is not None:
            info = await asyncio.to_thread(self.authenticator.accounts.get, user.name)
            if info is not None:
                self.sync_role_group(user.orm_user, info.role)
        return user

    def sync_role_group(self, orm_user: Any, role: str) -> None:
        wanted = role_group(role)
        for name in (role_group(r) for r in ROLES):
            group = hub_orm.Group.find(self.db, name)
            if group is None:
                group = hub_orm.Group(name=name)
                self.db.add(group)
            member = group in orm_user.groups
            if name == wanted and not member:
                orm_user.groups.append(group)
            elif name != wanted and member:
                orm_user.groups.remove(group)
        self.db.commit()
