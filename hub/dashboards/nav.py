"""Which dashboards the Hub's navigation offers a person (read from the campus's records).

The link is a convenience: the dashboards service decides again, with the viewer's own
token, and refuses anyone a dashboard is not for."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

DASHBOARDS = (
    ("instructor", "Class dashboard"),
    ("staff", "Office dashboard"),
    ("admin", "School dashboard"),
)


def offered(role: str, teaches: bool) -> list[tuple[str, str]]:
    """[(notebook, label)] for a school-wide `role`, and whether the person teaches a class."""
    names = {"admin": {"instructor", "staff", "admin"}, "staff": {"instructor", "staff"}}.get(
        role, {"instructor"} if teaches else set()
    )
    return [(name, label) for name, label in DASHBOARDS if name in names]


def nav_dashboards(db_url: str) -> Any:
    """A `template_vars` callable: the dashboards for the navigation's "Dashboards" menu."""
    from nbcampus.db import make_engine, session_factory
    from nbcampus.hub.campus.orm import Account, ClassStaff

    factories: list[Any] = []

    def dashboards(user: Any) -> list[tuple[str, str]]:
        if user is None:
            return []
        if not factories:
            factories.append(session_factory(make_engine(db_url)))
        try:
            with factories[0]() as s:
                account = s.scalar(sa.select(Account).where(Account.name == user.name))
                teaches = s.scalar(sa.select(ClassStaff.id).where(ClassStaff.user == user.name))
        except Exception:  # the campus database not there yet: no menu, never a broken page
            return []
        if user.admin:
            return offered("admin", True)
        if account is None or not account.active:
            return []
        return offered(account.role, teaches is not None)

    return dashboards
