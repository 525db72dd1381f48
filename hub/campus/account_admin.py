"""Account administration: search, create with a role, disable and enable, reset a password.

Shared by the campus API and the Hub's admin pages, so the rules live once: staff manage
student accounts only, admins any account; nobody disables their own account; a reset
password is shown once to the person who asked for it and only its hash is kept. Every change
is audited with the account's before and after (never a password or its hash).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nbcampus.hub.passwords import generate_password, hash_password
from nbcampus.hub.roles import ROLES

from . import audit
from .accounts import AccountError, AccountInfo, new_account, normalize_username
from .orm import Account

# Who may manage (create, disable, reset) accounts of which role.
MANAGES: dict[str, frozenset[str]] = {
    "admin": frozenset(ROLES),
    "staff": frozenset({"student"}),
}


def manageable_roles(actor_role: str) -> list[str]:
    return [r for r in ROLES if r in MANAGES.get(actor_role, frozenset())]


def check_manages(actor_role: str, target_role: str) -> None:
    if target_role not in MANAGES.get(actor_role, frozenset()):
        raise AccountError(
            f"a {actor_role} may not manage a {target_role} account"
            + (" (staff manage student accounts)" if actor_role == "staff" else ""),
            "FORBIDDEN",
        )


def account_dict(account: Account) -> dict[str, Any]:
    return {
        **asdict(AccountInfo.of(account)),
        "created_by": account.created_by,
        "created_at": account.created_at.isoformat() if account.created_at else None,
    }


def _state(account: Account) -> dict[str, Any]:
    """What the audit keeps of an account: never its password or hash."""
    return {"role": account.role, "active": account.active, "email": account.email}


def search(
    session: Session,
    query: str = "",
    role: str | None = None,
    active: bool | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Accounts whose name, display name or email contain `query` (case-blind)."""
    stmt = sa.select(Account).order_by(Account.name).limit(limit)
    if query:
        like = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like += "%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Account.name).like(like, escape="\\"),
                sa.func.lower(Account.display_name).like(like, escape="\\"),
                sa.func.lower(Account.email).like(like, escape="\\"),
            )
        )
    if role:
        stmt = stmt.where(Account.role == role)
    if active is not None:
        stmt = stmt.where(Account.active.is_(active))
    return [account_dict(a) for a in session.scalars(stmt)]


def find(session: Session, name: str) -> Account:
    try:
        name = normalize_username(name)
    except AccountError:
        raise AccountError(f"no account {name[:64]!r}", "NOT_FOUND") from None
    account = session.scalar(sa.select(Account).where(Account.name == name))
    if account is None:
        raise AccountError(f"no account {name!r}", "NOT_FOUND")
    return account


def create(
    session: Session,
    actor: str,
    actor_role: str,
    name: str,
    role: str,
    *,
    display_name: str = "",
    email: str = "",
    password: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Create an account; returns it and its password (generated unless given)."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    check_manages(actor_role, role)
    account, password = new_account(
        name,
        role,
        password,
        created_by=actor,
        display_name=display_name,
        email=email,
    )
    if session.scalar(sa.select(Account.id).where(Account.name == account.name)) is not None:
        raise AccountError(f"an account named {account.name!r} exists already", "CONFLICT")
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        raise AccountError(
            f"an account named {account.name!r} exists already", "CONFLICT"
        ) from None
    audit.record(session, actor, "account.create", "account", account.name, {}, _state(account))
    return account_dict(account), password


def set_active(
    session: Session, actor: str, actor_role: str, name: str, active: bool
) -> tuple[dict[str, Any], bool]:
    """Disable or enable an account; returns it and whether anything changed."""
    account = find(session, name)
    check_manages(actor_role, account.role)
    if not active and account.name == actor:
        raise AccountError("you cannot disable your own account", "CONFLICT")
    if account.active == active:
        return account_dict(account), False
    before = _state(account)
    account.active = active
    audit.record(
        session,
        actor,
        "account.enable" if active else "account.disable",
        "account",
        account.name,
        before,
        _state(account),
    )
    return account_dict(account), True


def reset_password(session: Session, actor: str, actor_role: str, name: str) -> str:
    """Give the account a new generated password and return it, to be shown once."""
    account = find(session, name)
    check_manages(actor_role, account.role)
    if account.source == "lti":
        raise AccountError("this account signs in from the LMS and has no password here")
    password = generate_password()
    account.password_hash = hash_password(password)
    state = _state(account)
    audit.record(
        session,
        actor,
        "account.reset_password",
        "account",
        account.name,
        {**state, "password": "(old)"},
        {**state, "password": "(new, shown once)"},
    )
    return password
