"""Who may open the office pages, from the campus's own accounts (never from Hub groups)."""

from __future__ import annotations

import asyncio
from typing import Any

OFFICE_ROLES = ("staff", "admin")


async def office_role(handler: Any, user: Any) -> str | None:
    """'staff' or 'admin' (everything), 'instructor' (their own classes, read-only), or None
    (refused). Hub admins are admins; a disabled account is nobody here."""
    if user is None:
        return None
    if user.admin:
        return "admin"
    accounts = getattr(handler.authenticator, "accounts", None)
    if accounts is None:
        return None
    account = await asyncio.to_thread(accounts.get, user.name)
    if account is None or not account.active:
        return None
    if account.role in OFFICE_ROLES or account.role == "instructor":
        return account.role
    return None


def nav_flag(db_url: str) -> Any:
    """A `template_vars` callable: show the navigation's "Office" to staff, admins and
    instructors (read from the campus's accounts on each page)."""
    from nbcampus.db import make_engine, session_factory
    from nbcampus.hub.campus.accounts import AccountStore

    store: list[AccountStore] = []

    def flag(user: Any) -> bool:
        if user is None:
            return False
        if user.admin:
            return True
        if not store:
            store.append(AccountStore(session_factory(make_engine(db_url))))
        try:
            account = store[0].get(user.name)
        except Exception:  # the campus database not there yet: no link, never a broken page
            return False
        return bool(account and account.active and account.role in (*OFFICE_ROLES, "instructor"))

    return flag
