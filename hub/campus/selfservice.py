"""What a person does to their own local account without staff: sign up (with a verified
email), reset a forgotten password by mail, change their password, change their email
address (the new one verified by a mailed link before it counts).

Each function works inside the caller's transaction and raises FieldError naming the form
field at fault. Answers that would tell whether an email address has an account (sign-up,
forgotten password) are the same either way: the mail says what applies, the page does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nbcampus.hub.passwords import hash_password, password_problem, verify_password

from . import tokens
from .accounts import AccountError, normalize_username
from .orm import Account, utcnow

# A deliberately loose check: one @, no spaces, a dot in the domain; the mail proves the rest.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 254


class FieldError(ValueError):
    """Bad input in one form field; the page shows the message beside that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Link:
    """A one-time link to mail: to whom, for which account, and its token."""

    email: str
    account: str
    display_name: str
    token: str


def normalize_email(email: str, field: str = "email") -> str:
    email = (email or "").strip()
    if len(email) > MAX_EMAIL or not EMAIL_RE.fullmatch(email):
        raise FieldError(field, "enter an email address such as name@example.org")
    return email


def check_new_password(password: str, confirm: str, min_length: int) -> None:
    if problem := password_problem(password, min_length):
        raise FieldError("password", problem[0].upper() + problem[1:] + ".")
    if password != confirm:
        raise FieldError("confirm", "The two passwords differ.")


def _by_email(session: Session, email: str) -> list[Account]:
    """Active accounts with this address and a password of their own (not LMS-only ones)."""
    return list(
        session.scalars(
            sa.select(Account)
            .where(
                sa.func.lower(Account.email) == email.lower(),
                Account.active.is_(True),
                Account.password_hash.is_not(None),
            )
            .order_by(Account.name)
        )
    )


# --- sign-up --------------------------------------------------------------------------------
def _abandoned(session: Session, account: Account) -> bool:
    """A signed-up account never verified, with no live verification link left."""
    if account.source != "signup" or account.active or account.email_verified_at is not None:
        return False
    live = session.scalar(
        sa.select(sa.func.count(tokens.AccountToken.id)).where(
            tokens.AccountToken.account_id == account.id,
            tokens.AccountToken.purpose == "verify",
            tokens.AccountToken.used_at.is_(None),
            tokens.AccountToken.expires_at > utcnow(),
        )
    )
    return not live


def sign_up(
    session: Session,
    name: str,
    email: str,
    password: str,
    confirm: str,
    *,
    min_length: int,
    lifetime: timedelta,
    verify: bool,
) -> tuple[Link | None, list[Account]]:
    """Create a student account, inactive until its email is verified (when `verify`).

    Returns the verification link to mail (None when the address has an account already or
    verification is off) and the accounts that already use the address (their owners are
    told by mail instead: the page answers the same for a known and an unknown address)."""
    try:
        name = normalize_username(name)
    except AccountError as err:
        raise FieldError("username", str(err)[0].upper() + str(err)[1:] + ".") from None
    email = normalize_email(email)
    check_new_password(password, confirm, min_length)
    holder = session.scalar(sa.select(Account).where(Account.name == name))
    if holder is not None and _abandoned(session, holder):
        # A sign-up never verified whose link has expired holds no name.
        session.delete(holder)
        session.flush()
    elif holder is not None:
        raise FieldError("username", "This name is taken: choose another.")
    existing = _by_email(session, email)
    if existing:
        return None, existing
    account = Account(
        name=name,
        role="student",
        password_hash=hash_password(password),
        email=email,
        source="signup",
        active=not verify,
    )
    session.add(account)
    try:
        session.flush()
    except IntegrityError:  # a concurrent sign-up took the name
        raise FieldError("username", "This name is taken: choose another.") from None
    if not verify:
        return None, []
    token = tokens.issue(session, account, "verify", lifetime, payload=email)
    return Link(email, account.name, account.display_name, token), []


def verify_email(session: Session, name: str, token: str) -> Account:
    """Spend a verification link: the account becomes active, its address verified."""
    row = tokens.redeem(session, token, "verify", name)
    account = session.get(Account, row.account_id)
    assert account is not None  # the token is bound to it (ON DELETE CASCADE)
    if account.email.lower() != row.payload.lower():
        raise tokens.TokenError("unknown")  # the address changed since the link was sent
    account.active = True
    account.email_verified_at = utcnow()
    return account


# --- forgotten password -----------------------------------------------------------------------
def request_reset(session: Session, email: str, lifetime: timedelta) -> list[Link]:
    """Reset links for the accounts that use this address (none for an unknown address)."""
    email = normalize_email(email)
    return [
        Link(a.email, a.name, a.display_name, tokens.issue(session, a, "reset", lifetime))
        for a in _by_email(session, email)
    ]


def reset_password(
    session: Session, name: str, token: str, password: str, confirm: str, *, min_length: int
) -> Account:
    """Spend a reset link and set the new password (checked before the link is spent)."""
    tokens.check(session, token, "reset", name)
    check_new_password(password, confirm, min_length)
    row = tokens.redeem(session, token, "reset", name)
    account = session.get(Account, row.account_id)
    assert account is not None
    account.password_hash = hash_password(password)
    # Receiving the link proves the address too.
    if account.email_verified_at is None:
        account.email_verified_at = utcnow()
    return account


# --- changing one's password ----------------------------------------------------------------
def change_password(
    session: Session, name: str, current: str, password: str, confirm: str, *, min_length: int
) -> None:
    account = session.scalar(sa.select(Account).where(Account.name == name))
    if account is None or account.password_hash is None:
        raise FieldError(
            "current", "Your account signs in through your school's LMS: it has no password here."
        )
    if not verify_password(current, account.password_hash):
        raise FieldError("current", "This is not your current password.")
    check_new_password(password, confirm, min_length)
    if verify_password(password, account.password_hash):
        raise FieldError("password", "The new password is your current one.")
    account.password_hash = hash_password(password)
    # A password changed by its owner makes any reset link still in a mailbox useless.
    session.execute(
        sa.update(tokens.AccountToken)
        .where(
            tokens.AccountToken.account_id == account.id,
            tokens.AccountToken.purpose == "reset",
            tokens.AccountToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )


# --- changing one's email address ------------------------------------------------------------
def request_email_change(
    session: Session, name: str, current: str, new_email: str, lifetime: timedelta
) -> Link:
    """A link to mail to the new address; the account keeps its old one until it is used.
    An account with a password confirms the change with it (a session left open elsewhere
    must not be enough to take over the mail that resets the password)."""
    account = session.scalar(sa.select(Account).where(Account.name == name))
    if account is None:
        raise FieldError("email", "Your account has no campus record to change.")
    if account.password_hash is not None and not verify_password(current, account.password_hash):
        raise FieldError("current", "This is not your current password.")
    email = normalize_email(new_email)
    if (account.email or "").lower() == email.lower():
        raise FieldError("email", "This is your address already.")
    token = tokens.issue(session, account, "email", lifetime, payload=email)
    return Link(email, account.name, account.display_name, token)


def confirm_email_change(session: Session, name: str, token: str) -> Account:
    """Spend the link mailed to the new address: it becomes the account's, verified."""
    row = tokens.redeem(session, token, "email", name)
    account = session.get(Account, row.account_id)
    assert account is not None  # the token is bound to it (ON DELETE CASCADE)
    account.email = row.payload
    account.email_verified_at = utcnow()
    return account


def has_password(session: Session, name: str) -> bool:
    hashed = session.scalar(sa.select(Account.password_hash).where(Account.name == name))
    return hashed is not None
