"""Local accounts: create, look up and check passwords. Shared by the Hub's authenticator,
the campus API and the command line, so the rules for names and passwords live here once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import transaction
from nbcampus.hub.passwords import (
    generate_password,
    hash_password,
    password_problem,
    verify_password,
)
from nbcampus.hub.roles import ROLES

from .orm import Account

# Hub user names end up in URLs and home directory names: keep them boring.
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class AccountError(ValueError):
    """A request about accounts that cannot be honoured; `code` is the API error code."""

    def __init__(self, message: str, code: str = "VALIDATION_ERROR") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AccountInfo:
    name: str
    role: str
    display_name: str
    email: str
    source: str
    active: bool

    @classmethod
    def of(cls, account: Account) -> AccountInfo:
        return cls(
            account.name,
            account.role,
            account.display_name,
            account.email,
            account.source,
            account.active,
        )


def normalize_username(name: object) -> str:
    if not isinstance(name, str):
        raise AccountError("name must be a string")
    name = name.strip().lower()
    if not USERNAME_RE.fullmatch(name):
        raise AccountError(
            "name must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return name


def new_account(
    name: str,
    role: str = "student",
    password: str | None = None,
    *,
    source: str = "local",
    created_by: str | None = None,
    display_name: str = "",
    email: str = "",
) -> tuple[Account, str]:
    """A checked, not yet stored account and its password (generated when none is given)."""
    name = normalize_username(name)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if password is None:
        password = generate_password()
    elif problem := password_problem(password):
        raise AccountError(problem)
    account = Account(
        name=name,
        role=role,
        password_hash=hash_password(password),
        display_name=display_name[:200],
        email=email[:254],
        source=source,
        created_by=created_by,
    )
    return account, password


class AccountStore:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def create(
        self,
        name: str,
        role: str = "student",
        password: str | None = None,
        *,
        source: str = "local",
        created_by: str | None = None,
        display_name: str = "",
        email: str = "",
    ) -> tuple[AccountInfo, str]:
        """Create an account; returns it and its password (generated when none is given)."""
        account, password = new_account(
            name,
            role,
            password,
            source=source,
            created_by=created_by,
            display_name=display_name,
            email=email,
        )
        try:
            with transaction(self.factory) as session:
                session.add(account)
        except IntegrityError:
            raise AccountError(f"an account named {name!r} exists already", "CONFLICT") from None
        return AccountInfo.of(account), password

    def get(self, name: str) -> AccountInfo | None:
        with self.factory() as session:
            account = session.scalar(select(Account).where(Account.name == name))
            return AccountInfo.of(account) if account else None

    def check_password(self, name: str, password: str) -> AccountInfo | None:
        """The account when name and password match an active account, else None."""
        try:
            name = normalize_username(name)
        except AccountError:
            return None
        with self.factory() as session:
            account = session.scalar(select(Account).where(Account.name == name))
            if account is None or not account.active:
                # Hash anyway so a wrong name costs as much time as a wrong password.
                verify_password(password, _DUMMY_HASH)
                return None
            if not verify_password(password, account.password_hash):
                return None
            return AccountInfo.of(account)

    def count(self) -> int:
        with self.factory() as session:
            return session.scalar(select(func.count(Account.id))) or 0

    def all(self) -> list[AccountInfo]:
        with self.factory() as session:
            accounts = session.scalars(select(Account).order_by(Account.name))
            return [AccountInfo.of(a) for a in accounts]


_DUMMY_HASH = hash_password("not a real password")
