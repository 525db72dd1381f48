"""One-time links mailed to an account's owner (email verification, password reset).

A token is 256 random bits; only its SHA-256 is stored. It is bound to one account and one
purpose: the link names the account, and a token shown with another account's name, for
another purpose, after its expiry or after a first use is refused. Issuing a new token of a
purpose spends the account's older ones of that purpose, so only the latest link works.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .orm import Account, AccountToken, utcnow

PURPOSES = ("verify", "reset", "email")


class TokenError(ValueError):
    """A link that cannot be used; `reason` is unknown, used, expired or other_account."""

    MESSAGES = {
        "unknown": "This link is not valid. Ask for a new one.",
        "used": "This link was used already. Ask for a new one if you need it.",
        "expired": "This link has expired. Ask for a new one.",
        "other_account": "This link is not valid. Ask for a new one.",
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES[reason])
        self.reason = reason


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def issue(
    session: Session, account: Account, purpose: str, lifetime: timedelta, payload: str = ""
) -> str:
    """A new token for `account`; its older unused tokens of `purpose` are spent."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    now = utcnow()
    session.execute(
        sa.update(AccountToken)
        .where(
            AccountToken.account_id == account.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            account_id=account.id,
            purpose=purpose,
            token_hash=_hash(token),
            payload=payload,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def check(session: Session, token: str, purpose: str, account_name: str) -> AccountToken:
    """The live token row for this account and purpose (not spent); TokenError otherwise."""
    if not token or len(token) > 100:
        raise TokenError("unknown")
    row = session.scalar(sa.select(AccountToken).where(AccountToken.token_hash == _hash(token)))
    if row is None or row.purpose != purpose:
        raise TokenError("unknown")
    owner = session.get(Account, row.account_id)
    if owner is None or owner.name != account_name:
        raise TokenError("other_account")
    if row.used_at is not None:
        raise TokenError("used")
    if _aware(row.expires_at) <= utcnow():
        raise TokenError("expired")
    return row


def redeem(session: Session, token: str, purpose: str, account_name: str) -> AccountToken:
    """Spend the token (once: a concurrent second use finds it spent); TokenError otherwise."""
    row = check(session, token, purpose, account_name)
    spent = session.execute(
        sa.update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if spent.rowcount != 1:
        raise TokenError("used")
    return row
