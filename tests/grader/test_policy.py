"""Late penalties and which submission counts: one test per rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nbcampus.grader.policy import counted, late_penalty

DUE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_on_time_costs_nothing() -> None:
    assert late_penalty(10, DUE, DUE, 1.0, 1.0) == 0.0
    assert late_penalty(10, DUE + timedelta(hours=5), None, 1.0, 1.0) == 0.0
    assert late_penalty(10, DUE + timedelta(hours=5), DUE, 0.0, 1.0) == 0.0


def test_every_started_hour_counts() -> None:
    assert late_penalty(10, DUE + timedelta(seconds=1), DUE, 1.5, 1.0) == 1.5
    assert late_penalty(10, DUE + timedelta(hours=2, minutes=1), DUE, 1.0, 1.0) == 3.0


def test_penalty_capped_by_fraction_and_never_below_zero() -> None:
    assert late_penalty(10, DUE + timedelta(days=3), DUE, 1.0, 0.5) == 5.0
    assert late_penalty(0, DUE + timedelta(days=3), DUE, 1.0, 0.5) == 0.0
    naive = (DUE + timedelta(hours=1)).replace(tzinfo=None)
    assert late_penalty(10, naive, DUE, 2.0, 1.0) == 2.0


def test_newest_or_best_counts() -> None:
    subs = [(1, 5.0), (2, 9.0), (3, 4.0)]  # (time, score)
    assert counted(subs, "newest", key_time=lambda s: s[0], key_score=lambda s: s[1]) == (3, 4.0)
    assert counted(subs, "best", key_time=lambda s: s[0], key_score=lambda s: s[1]) == (2, 9.0)
    assert counted([], "newest", key_time=lambda s: s, key_score=lambda s: s) is None
