"""Which submission counts and what a late one costs: plain functions, one rule each."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")


def late_penalty(
    raw_score: float,
    submitted_at: datetime,
    due_at: datetime | None,
    per_hour: float,
    max_fraction: float,
) -> float:
    """Points off: `per_hour` per started hour late, at most `max_fraction` of the score."""
    if due_at is None or per_hour <= 0 or raw_score <= 0:
        return 0.0
    if submitted_at.tzinfo is None:
        submitted_at = submitted_at.replace(tzinfo=UTC)
    if due_at.tzinfo is None:
        due_at = due_at.replace(tzinfo=UTC)
    late = (submitted_at - due_at).total_seconds()
    if late <= 0:
        return 0.0
    hours = math.ceil(late / 3600)
    cap = raw_score * min(max(max_fraction, 0.0), 1.0)
    return round(min(hours * per_hour, cap), 6)


def counted(subs: Iterable[T], rule: str, key_time, key_score) -> T | None:  # noqa: ANN001
    """The submission that counts: the newest (default) or the best-scoring one."""
    items = list(subs)
    if not items:
        return None
    if rule == "best":
        return max(items, key=lambda s: (key_score(s) or 0.0, key_time(s)))
    return max(items, key=key_time)


def parse_time(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
