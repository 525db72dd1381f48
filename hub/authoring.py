"""Who gets the course authoring tools in their own JupyterLab, from the campus's records.

`c.Spawner.environment["NBCAMPUS_AUTHORING"]` is `authoring_env`: JupyterHub calls it with the
spawner at each start, and the Lab's server part enables nbgrader's Create Assignment panel
when it is "1" (extensions/lab/nbcampus_lab/authoring_tools.py). It is "1" for an active
account that teaches a class as instructor, or whose campus role is instructor or admin (who
may start a new course); never from a Hub group, which only mirrors the campus's roles.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nbcampus.db import make_engine
from nbcampus.settings import Settings

log = logging.getLogger("nbcampus.hub")
AUTHOR_ROLES = ("instructor", "admin")

_engine: Engine | None = None
_engine_lock = threading.Lock()


def _campus_engine() -> Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = make_engine(Settings.from_env().database_url("campus"))
        return _engine


def authors_courses(engine: Engine, user: str) -> bool:
    from nbcampus.hub.campus.orm import Account, ClassStaff

    with engine.connect() as conn:
        account = conn.execute(
            sa.select(Account.role, Account.active).where(Account.name == user)
        ).first()
        if account is None or not account.active:
            return False
        if account.role in AUTHOR_ROLES:
            return True
        teaches = conn.execute(
            sa.select(ClassStaff.id)
            .where(ClassStaff.user == user, ClassStaff.role == "instructor")
            .limit(1)
        ).first()
        return teaches is not None


def authoring_env(spawner: Any) -> str:
    """ "1" when the spawner's user authors courses, else "0" (also when the campus database
    cannot be read: the tools stay off rather than the server failing to start)."""
    try:
        return "1" if authors_courses(_campus_engine(), spawner.user.name) else "0"
    except sa.exc.SQLAlchemyError as err:
        log.warning("authoring tools off for %s: campus database: %s", spawner.user.name, err)
        return "0"
