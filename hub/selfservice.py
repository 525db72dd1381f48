"""Self-service account pages of the Hub: sign up with a verified email (`/hub/signup`,
`/hub/verify`), a forgotten password reset by mail (`/hub/forgot`, `/hub/reset`), and a
signed-in person's password change (`/hub/password`).

Every form carries the Hub's XSRF token; an error is shown beside its field and what the
person typed (passwords excepted) stays in the form. Sign-up and "forgot password" answer
the same whether or not the address has an account. Mail goes out through CampusMailer; with
no SMTP server configured the links are written to the Hub's log and the page says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from jupyterhub.handlers import BaseHandler
from sqlalchemy.orm import Session
from tornado import web
from traitlets import Bool, Integer, TraitError, validate
from traitlets.config import Configurable

from nbcampus.db import transaction
from nbcampus.hub.campus import selfservice as ss
from nbcampus.hub.campus import tokens
from nbcampus.hub.landing import site_of
from nbcampus.hub.mail import CampusMailer, MailError
from nbcampus.hub.passwords import MIN_PASSWORD_LENGTH
from nbcampus.hub.throttle import Throttled, client_address

T = TypeVar("T")
TEMPLATE = "nbcampus-account.html"


class SelfService(Configurable):
    """The rules of self-service accounts (sign-up itself is switched on with
    `c.CampusAuthenticator.allow_signup`, or NBCAMPUS_ALLOW_SIGNUP=1)."""

    verify_email = Bool(
        True,
        help="""A signed-up account can sign in only after its owner opened the link mailed
        to the address they gave. False: accounts work at once (no mail is sent).""",
    ).tag(config=True)

    email_link_hours = Integer(
        24, help="Hours the link that confirms a new email address stays valid."
    ).tag(config=True)

    verify_link_hours = Integer(48, help="Hours a sign-up's verification link stays valid.").tag(
        config=True
    )

    reset_link_minutes = Integer(
        60, help="Minutes a password-reset link stays valid (it works once)."
    ).tag(config=True)

    min_password_length = Integer(
        MIN_PASSWORD_LENGTH,
        help=f"""The fewest characters a password chosen at sign-up, reset or change may
        have (at least {MIN_PASSWORD_LENGTH}). Common passwords are refused whatever their
        length.""",
    ).tag(config=True)

    @validate("min_password_length")
    def _check_min(self, proposal: dict[str, int]) -> int:
        if not MIN_PASSWORD_LENGTH <= proposal["value"] <= 128:
            raise TraitError(f"SelfService.min_password_length must be {MIN_PASSWORD_LENGTH}-128")
        return proposal["value"]


# --- the pages' common part -----------------------------------------------------------------
class AccountPage(BaseHandler):
    title = ""
    mails_links = False  # the page sends a link: it says so when no mail server is set

    @property
    def rules(self) -> SelfService:
        rules = self.settings.get("nbcampus_selfservice")
        if rules is None:
            rules = self.settings["nbcampus_selfservice"] = SelfService(config=self.config)
        return rules

    @property
    def mailer(self) -> CampusMailer:
        mailer = self.settings.get("nbcampus_mailer")
        if mailer is None:
            mailer = self.settings["nbcampus_mailer"] = CampusMailer(
                config=self.config, log=self.log
            )
        return mailer

    async def tx(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with transaction(site_of(self).db) as session:
                return work(session)

        return await asyncio.to_thread(run)

    def link(self, page: str, account: str, token: str) -> str:
        """The absolute link to mail, from the campus's configured public URL (never from
        the request's Host header, which a requester could forge to steal the token)."""
        base = site_of(self).public_url.rstrip("/") + "/hub/"
        return f"{base}{page}?{urlencode({'user': account, 'token': token})}"

    async def mail(self, to: str, subject: str, body: str) -> None:
        school = site_of(self).school_name
        try:
            await self.mailer.send(to, f"{school}: {subject}", body, from_name=school)
        except MailError as err:
            # Logged, not shown: the page must not differ for addresses that have an account.
            self.log.error("%s", err)

    async def show(
        self,
        *,
        fields: list[dict[str, Any]] | None = None,
        errors: dict[str, str] | None = None,
        message: str = "",
        notice: str = "",
        submit: str = "",
        intro: str = "",
        links: list[tuple[str, str]] | None = None,
        status: int = 200,
    ) -> None:
        self.set_status(status)
        html = await self.render_template(
            TEMPLATE,
            title=self.title,
            intro=intro,
            fields=fields or [],
            errors=errors or {},
            message=message,
            notice=notice,
            submit=submit,
            action=self.request.uri,
            links=links or [],
            no_mail=self.mails_links and not self.mailer.configured,
        )
        self.finish(html)

    def throttle(self, account: str | None = None) -> str | None:
        """Count this request against the client's address (and `account`, when the request
        checks its password); the wait when throttled."""
        throttle = getattr(self.authenticator, "throttle", None)
        if throttle is None:
            return None
        try:
            throttle.begin(account=account, address=client_address(self))
        except Throttled as err:
            self.set_header("Retry-After", str(err.retry_after))
            return err.message
        return None

    def password_was_right(self, account: str) -> None:
        """The password checked after `throttle(account)` was right: take the attempt back."""
        throttle = getattr(self.authenticator, "throttle", None)
        if throttle is not None:
            throttle.succeeded(account=account, address=client_address(self))

    def arg(self, name: str, limit: int = 300) -> str:
        return self.get_body_argument(name, default="")[:limit]

    @property
    def sign_in(self) -> tuple[str, str]:
        return ("Sign in", self.settings["login_url"])


def _field(
    name: str, label: str, kind: str = "text", value: str = "", **attrs: Any
) -> dict[str, Any]:
    return {"name": name, "label": label, "type": kind, "value": value, **attrs}


def password_fields(rules: SelfService, label: str = "New password") -> list[dict[str, Any]]:
    hint = f"At least {rules.min_password_length} characters; not a common password."
    return [
        _field(
            "password",
            label,
            "password",
            autocomplete="new-password",
            minlength=rules.min_password_length,
            hint=hint,
        ),
        _field("confirm", "The same password again", "password", autocomplete="new-password"),
    ]


# --- sign-up --------------------------------------------------------------------------------
class SignupPage(AccountPage):
    title = "Create your student account"
    mails_links = True

    def fields(self, name: str = "", email: str = "") -> list[dict[str, Any]]:
        return [
            _field(
                "username",
                "Username",
                value=name,
                autocomplete="username",
                maxlength=64,
                hint="Lower-case letters, digits, '.', '_' or '-'.",
            ),
            _field("email", "Email", "email", value=email, autocomplete="email", maxlength=254),
            *password_fields(self.rules, "Password"),
        ]

    async def get(self) -> None:
        await self.show(fields=self.fields(), submit="Sign up")

    async def post(self) -> None:
        name, email = self.arg("username", 100), self.arg("email", 300)
        password, confirm = self.arg("password", 2000), self.arg("confirm", 2000)
        if waited := self.throttle():
            await self.show(
                fields=self.fields(name, email),
                errors={"form": waited},
                submit="Sign up",
                status=429,
            )
            return
        rules = self.rules
        try:
            link, existing = await self.tx(
                lambda s: ss.sign_up(
                    s,
                    name,
                    email,
                    password,
                    confirm,
                    min_length=rules.min_password_length,
                    lifetime=timedelta(hours=rules.verify_link_hours),
                    verify=rules.verify_email,
                )
            )
        except ss.FieldError as err:
            await self.show(
                fields=self.fields(name, email),
                errors={err.field: str(err)},
                submit="Sign up",
                status=400,
            )
            return
        if not rules.verify_email:
            self.redirect(self.settings["login_url"])
            return
        if link is not None:
            url = self.link("verify", link.account, link.token)
            await self.mail(
                link.email,
                "confirm your email address",
                f"Welcome! To finish creating your account '{link.account}', open this link "
                f"within {rules.verify_link_hours} hours:\n\n{url}\n\n"
                "If you did not sign up, ignore this message: the account stays unusable.",
            )
        for account in existing:
            await self.mail(
                account.email,
                "someone tried to sign up with your address",
                f"Somebody (perhaps you) tried to create an account with this address, which "
                f"already belongs to the account '{account.name}'. If you forgot its password, "
                f"ask for a new one at {site_of(self).public_url.rstrip('/')}/hub/forgot",
            )
        # The same answer whether or not the address was known.
        await self.show(
            message=f"Almost done: we sent a link to {email}. Open it to activate your "
            "account, then sign in.",
        )


class LinkPage(AccountPage):
    """A page a mailed one-time link opens. Opening it shows a button; the POST spends the
    link (mail scanners that fetch links must not use it up)."""

    purpose = ""
    submit = ""

    def intro(self, user: str, row: tokens.AccountToken) -> str:
        raise NotImplementedError

    def spend(self, session: Session, user: str, token: str) -> Any:
        """Use the link; what `done` gets."""
        raise NotImplementedError

    async def done(self, user: str, spent: Any) -> None:
        raise NotImplementedError

    async def get(self) -> None:
        user, token = self.get_argument("user", ""), self.get_argument("token", "")
        try:
            row = await self.tx(lambda s: tokens.check(s, token, self.purpose, user))
        except tokens.TokenError as err:
            await self.show(message=str(err), links=[self.sign_in], status=400)
            return
        await self.show(
            intro=self.intro(user, row),
            fields=[_field("token", "", "hidden", token), _field("user", "", "hidden", user)],
            submit=self.submit,
        )

    async def post(self) -> None:
        user, token = self.arg("user", 100), self.arg("token", 200)
        try:
            spent = await self.tx(lambda s: self.spend(s, user, token))
        except tokens.TokenError as err:
            await self.show(message=str(err), links=[self.sign_in], status=400)
            return
        await self.done(user, spent)


class VerifyPage(LinkPage):
    """The link from the sign-up mail."""

    title = "Confirm your email address"
    purpose = "verify"
    submit = "Activate my account"

    def intro(self, user: str, row: tokens.AccountToken) -> str:
        return f"Activate the account '{user}'."

    def spend(self, session: Session, user: str, token: str) -> Any:
        return ss.verify_email(session, user, token)

    async def done(self, user: str, spent: Any) -> None:
        await self.show(
            message=f"Your address is confirmed and the account '{user}' is ready.",
            links=[self.sign_in],
        )


# --- forgotten password -----------------------------------------------------------------------
class ForgotPage(AccountPage):
    title = "Forgot your password?"
    mails_links = True

    def fields(self, email: str = "") -> list[dict[str, Any]]:
        return [
            _field(
                "email",
                "Your account's email address",
                "email",
                email,
                autocomplete="email",
                maxlength=254,
            )
        ]

    async def get(self) -> None:
        await self.show(
            intro="We will mail you a link to choose a new password.",
            fields=self.fields(),
            submit="Send me a link",
        )

    async def post(self) -> None:
        email = self.arg("email", 300)
        if waited := self.throttle():
            await self.show(
                fields=self.fields(email),
                errors={"form": waited},
                submit="Send me a link",
                status=429,
            )
            return
        minutes = self.rules.reset_link_minutes
        try:
            links = await self.tx(lambda s: ss.request_reset(s, email, timedelta(minutes=minutes)))
        except ss.FieldError as err:
            await self.show(
                fields=self.fields(email),
                errors={err.field: str(err)},
                submit="Send me a link",
                status=400,
            )
            return
        for link in links:
            url = self.link("reset", link.account, link.token)
            await self.mail(
                link.email,
                "choose a new password",
                f"To choose a new password for the account '{link.account}', open this link "
                f"within {minutes} minutes (it works once):\n\n{url}\n\n"
                "If you did not ask for it, ignore this message: your password stays as it is.",
            )
        await self.show(
            message=f"If an account uses {email}, we sent it a link to choose a new password. "
            f"The link works once, for {minutes} minutes.",
            links=[self.sign_in],
        )


class ResetPage(AccountPage):
    title = "Choose a new password"

    def hidden(self, user: str, token: str) -> list[dict[str, Any]]:
        return [_field("token", "", "hidden", token), _field("user", "", "hidden", user)]

    async def get(self) -> None:
        user, token = self.get_argument("user", ""), self.get_argument("token", "")
        try:
            await self.tx(lambda s: tokens.check(s, token, "reset", user))
        except tokens.TokenError as err:
            await self.show(message=str(err), links=[("Ask for a new link", "forgot")], status=400)
            return
        await self.show(
            intro=f"For the account '{user}'.",
            fields=self.hidden(user, token) + password_fields(self.rules),
            submit="Set my new password",
        )

    async def post(self) -> None:
        user, token = self.arg("user", 100), self.arg("token", 200)
        password, confirm = self.arg("password", 2000), self.arg("confirm", 2000)
        min_length = self.rules.min_password_length
        try:
            await self.tx(
                lambda s: ss.reset_password(
                    s, user, token, password, confirm, min_length=min_length
                )
            )
        except tokens.TokenError as err:
            await self.show(message=str(err), links=[("Ask for a new link", "forgot")], status=400)
            return
        except ss.FieldError as err:
            await self.show(
                intro=f"For the account '{user}'.",
                fields=self.hidden(user, token) + password_fields(self.rules),
                errors={err.field: str(err)},
                submit="Set my new password",
                status=400,
            )
            return
        await self.show(message="Your password is changed. Sign in with it.", links=[self.sign_in])


# --- changing one's password ----------------------------------------------------------------
class PasswordPage(AccountPage):
    title = "Change your password"

    def fields(self) -> list[dict[str, Any]]:
        return [
            _field("current", "Current password", "password", autocomplete="current-password"),
            *password_fields(self.rules),
        ]

    @web.authenticated
    async def get(self) -> None:
        name = self.current_user.name
        if not await self.tx(lambda s: ss.has_password(s, name)):
            await self.show(
                message="Your account signs in through your school's LMS or "
                "identity provider: it has no password here to change."
            )
            return
        await self.show(fields=self.fields(), submit="Change my password")

    @web.authenticated
    async def post(self) -> None:
        name = self.current_user.name
        current = self.arg("current", 2000)
        password, confirm = self.arg("password", 2000), self.arg("confirm", 2000)
        min_length = self.rules.min_password_length
        # The current password is a password check like a sign-in: a session left open must
        # not let anyone guess it without limit (the sign-in's counts, shared).
        if waited := self.throttle(account=name):
            await self.show(
                fields=self.fields(),
                errors={"current": waited},
                submit="Change my password",
                status=429,
            )
            return
        try:
            await self.tx(
                lambda s: ss.change_password(
                    s, name, current, password, confirm, min_length=min_length
                )
            )
        except ss.FieldError as err:
            if err.field != "current":
                self.password_was_right(name)
            await self.show(
                fields=self.fields(),
                errors={err.field: str(err)},
                submit="Change my password",
                status=400,
            )
            return
        self.password_was_right(name)
        self.log.info("%s changed their password", name)
        await self.show(
            message="Your password is changed.",
            notice="",
            links=[("Back to my JupyterLab", "spawn")],
        )


# --- changing one's email address -------------------------------------------------------------
class EmailPage(AccountPage):
    """A new address counts once the link mailed to it is opened (profile: "Change")."""

    title = "Change your email address"
    mails_links = True

    async def fields(self, email: str = "") -> list[dict[str, Any]]:
        name = self.current_user.name
        fields = [_field("email", "New email address", "email", email, autocomplete="email")]
        if await self.tx(lambda s: ss.has_password(s, name)):
            fields.insert(
                0,
                _field("current", "Current password", "password", autocomplete="current-password"),
            )
        return fields

    @web.authenticated
    async def get(self) -> None:
        await self.show(fields=await self.fields(), submit="Send the confirmation link")

    @web.authenticated
    async def post(self) -> None:
        name = self.current_user.name
        current, email = self.arg("current", 2000), self.arg("email", 300)
        lifetime = timedelta(hours=self.rules.email_link_hours)
        if waited := self.throttle(account=name):  # a password check, as on the password page
            await self.show(
                fields=await self.fields(email),
                errors={"current": waited},
                submit="Send the confirmation link",
                status=429,
            )
            return
        try:
            link = await self.tx(
                lambda s: ss.request_email_change(s, name, current, email, lifetime)
            )
        except ss.FieldError as err:
            if err.field != "current":
                self.password_was_right(name)
            await self.show(
                fields=await self.fields(email),
                errors={err.field: str(err)},
                submit="Send the confirmation link",
                status=400,
            )
            return
        self.password_was_right(name)
        url = self.link("email/confirm", link.account, link.token)
        await self.mail(
            link.email,
            "confirm your new email address",
            f"Hello {link.display_name or link.account},\n\nTo use this address for the account "
            f"'{link.account}', open this link within {self.rules.email_link_hours} hours:\n\n"
            f"{url}\n\nIf you did not ask for this, ignore this mail: nothing changes.\n",
        )
        self.log.info("%s asked to change their email address", name)
        await self.show(
            message=f"We sent a link to {link.email}. Your address changes when you open it.",
            links=[("Back to my profile", "profile")],
        )


class EmailConfirmPage(LinkPage):
    """The link mailed to a new address."""

    title = "Confirm your new email address"
    purpose = "email"
    submit = "Use this address"

    def intro(self, user: str, row: tokens.AccountToken) -> str:
        return f"Use {row.payload} for the account '{user}'."

    def spend(self, session: Session, user: str, token: str) -> Any:
        return ss.confirm_email_change(session, user, token)

    async def done(self, user: str, spent: Any) -> None:
        await self.show(
            message=f"The account '{user}' now uses {spent.email}.",
            links=[("My profile", "profile")],
        )


def selfservice_handlers(signup: bool) -> list[tuple[str, type]]:
    handlers: list[tuple[str, type]] = [
        (r"/forgot", ForgotPage),
        (r"/reset", ResetPage),
        (r"/password", PasswordPage),
        (r"/email", EmailPage),
        (r"/email/confirm", EmailConfirmPage),
    ]
    if signup:
        handlers += [(r"/signup", SignupPage), (r"/verify", VerifyPage)]
    return handlers
