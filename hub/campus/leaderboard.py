"""Leaderboards per class and per course, weekly or all-time, from the running XP totals.

Other students' names are shown only to those who teach the class or course (and the office);
a student who opted out appears as "anonymous" to everyone but themselves.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .engagement import CONFIG, week_of
from .orm import Enrollment, UserLevel, XpTotal

PERIODS = ("all", "week")


def _period_key(period: str) -> str:
    return "all" if period == "all" else week_of(CONFIG.today())


def _rows(
    ranked: list[tuple[str, int]], opted_out: set[str], viewer: str, show_names: bool
) -> list[dict[str, Any]]:
    rows = []
    rank = 0
    last = None
    for position, (user, xp) in enumerate(ranked, start=1):
        if xp != last:
            rank, last = position, xp
        # Names only to those who teach the class or course; an opted-out student's name to
        # nobody but themselves.
        hidden = user != viewer and (user in opted_out or not show_names)
        rows.append(
            {
                "rank": rank,
                "user": None if hidden else user,
                "display": "anonymous" if hidden else user,
                "xp": xp,
                "me": user == viewer,
            }
        )
    return rows


def class_board(
    session: Session, class_id: int, course_id: int, period: str, viewer: str, show_names: bool
) -> list[dict[str, Any]]:
    """Every active student of the class, by their XP in the class's course."""
    students = list(
        session.scalars(
            sa.select(Enrollment.student).where(
                Enrollment.class_id == class_id, Enrollment.status == "active"
            )
        )
    )
    if not students:
        return []
    totals = dict(
        session.execute(
            sa.select(XpTotal.user, XpTotal.total).where(
                XpTotal.course_id == course_id,
                XpTotal.period == _period_key(period),
                XpTotal.user.in_(students),
            )
        ).all()
    )
    ranked = sorted(((u, int(totals.get(u, 0))) for u in students), key=lambda r: (-r[1], r[0]))
    return _rows(ranked, _opted_out(session, students), viewer, show_names)


def course_board(
    session: Session,
    course_id: int,
    period: str,
    viewer: str,
    show_names: bool,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The top `limit` learners of a course (and the viewer's own row if further down)."""
    base = sa.select(XpTotal.user, XpTotal.total).where(
        XpTotal.course_id == course_id, XpTotal.period == _period_key(period)
    )
    top = session.execute(base.order_by(XpTotal.total.desc(), XpTotal.user).limit(limit)).all()
    ranked = [(u, int(t)) for u, t in top]
    rows = _rows(ranked, _opted_out(session, [u for u, _ in ranked]), viewer, show_names)
    if viewer not in {u for u, _ in ranked}:
        mine = session.execute(base.where(XpTotal.user == viewer)).first()
        if mine is not None:
            above = session.scalar(
                sa.select(sa.func.count())
                .select_from(XpTotal)
                .where(
                    XpTotal.course_id == course_id,
                    XpTotal.period == _period_key(period),
                    XpTotal.total > mine.total,
                )
            )
            rows.append(
                {"rank": int(above or 0) + 1, "user": viewer, "display": viewer,
                 "xp": int(mine.total), "me": True}
            )  # fmt: skip
    return rows


def _opted_out(session: Session, users: list[str]) -> set[str]:
    if not users:
        return set()
    return set(
        session.scalars(
            sa.select(UserLevel.user).where(
                UserLevel.user.in_(users), UserLevel.leaderboard_opt_out.is_(True)
            )
        )
    )
