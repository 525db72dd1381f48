"""The dashboards' figures from API rows: plain functions, no widgets, no HTTP (tested alone)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

BINS = 10  # grade distribution: ten bins of 10 %


def _day(stamp: str | None) -> str | None:
    return stamp[:10] if stamp else None


def _when(stamp: str) -> datetime:
    value = datetime.fromisoformat(stamp)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def best_graded(submissions: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (student, assignment): the graded submission with the best score (the newest among
    equals), as the campus's default grade policy counts it."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for sub in submissions:
        if sub.get("score") is None or not sub.get("max_score"):
            continue
        key = (sub["student"], sub["assignment"])
        held = best.get(key)
        if held is None or sub["score"] >= held["score"]:
            best[key] = sub
    return best


def grade_distribution(submissions: list[dict[str, Any]]) -> dict[str, list[int]]:
    """{assignment: [count per 10 % bin]} over each student's counted submission."""
    out: dict[str, list[int]] = defaultdict(lambda: [0] * BINS)
    for (_student, assignment), sub in best_graded(submissions).items():
        fraction = max(0.0, min(1.0, sub["score"] / sub["max_score"]))
        out[assignment][min(BINS - 1, int(fraction * BINS))] += 1
    return dict(sorted(out.items()))


def pass_rates(submissions: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """{assignment: {test: share of students whose counted submission passed it}}."""
    passed: dict[str, Counter[str]] = defaultdict(Counter)
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for (_student, assignment), sub in best_graded(submissions).items():
        for test, ok in (sub.get("tests") or {}).items():
            seen[assignment][test] += 1
            passed[assignment][test] += bool(ok)
    return {a: {t: passed[a][t] / n for t, n in sorted(seen[a].items())} for a in sorted(seen)}


def per_day(
    stamps: list[str | None], days: int, today: date | None = None
) -> list[tuple[str, int]]:
    """Counts per day over the last `days` days, zeros included (a gap is a fact too)."""
    today = today or datetime.now(UTC).date()
    counts = Counter(d for d in map(_day, stamps) if d)
    return [
        (
            (today - timedelta(days=i)).isoformat(),
            counts.get((today - timedelta(days=i)).isoformat(), 0),
        )
        for i in range(days - 1, -1, -1)
    ]


@dataclass
class StudentRow:
    student: str
    enrollment_id: int
    attendance_rate: float | None
    credits_used: int
    credits_remaining: int
    submissions: int
    last_submission: str | None
    last_assignment: str | None
    risks: list[str]


def student_rows(
    enrollments: list[dict[str, Any]],
    submissions: list[dict[str, Any]],
    *,
    min_attendance: float,
    min_credits: int,
    idle_days: int,
    now: datetime | None = None,
) -> list[StudentRow]:
    """One row per enrolled student with what puts them at risk: attendance under
    `min_attendance` (0..1), `min_credits` or fewer credits left, nothing submitted for
    `idle_days` days (or ever)."""
    now = now or datetime.now(UTC)
    last: dict[str, dict[str, Any]] = {}
    count: Counter[str] = Counter()
    for sub in submissions:
        count[sub["student"]] += 1
        held = last.get(sub["student"])
        if held is None or (sub["submitted_at"] or "") >= (held["submitted_at"] or ""):
            last[sub["student"]] = sub
    rows = []
    for e in enrollments:
        if e.get("status") == "withdrawn":
            continue
        name = e["student"]
        rate = e.get("attendance_rate")
        rate = rate / 100 if rate is not None else None  # the campus keeps percent
        risks = []
        if rate is not None and rate < min_attendance:
            risks.append(f"attendance {rate:.0%}")
        if e["credits_remaining"] <= min_credits:
            left = e["credits_remaining"]
            risks.append(f"{left} credit left" if left == 1 else f"{left} credits left")
        sub = last.get(name)
        if sub is None:
            risks.append("no submission yet")
        elif now - _when(sub["submitted_at"]) > timedelta(days=idle_days):
            risks.append(f"no submission for {(now - _when(sub['submitted_at'])).days} days")
        rows.append(
            StudentRow(
                student=name,
                enrollment_id=e["id"],
                attendance_rate=rate,
                credits_used=e["credits_used"],
                credits_remaining=e["credits_remaining"],
                submissions=count[name],
                last_submission=sub["submitted_at"] if sub else None,
                last_assignment=sub["assignment"] if sub else None,
                risks=risks,
            )
        )
    return rows


def fill_rates(classes: list[dict[str, Any]]) -> list[tuple[dict[str, Any], float]]:
    """Classes taking students (draft, open, active), fullest first, with their fill share."""
    taking = [c for c in classes if c["status"] in ("draft", "enrollment_open", "active")]
    rated = [(c, c["current_capacity"] / c["max_capacity"]) for c in taking if c["max_capacity"]]
    return sorted(rated, key=lambda pair: (-pair[1], pair[0]["id"]))


def class_attendance_rate(enrollments: list[dict[str, Any]]) -> float | None:
    """The mean attendance rate of a class's current students (None before any meeting)."""
    rates = [
        e["attendance_rate"] / 100  # the campus keeps percent
        for e in enrollments
        if e.get("status") != "withdrawn" and e.get("attendance_rate") is not None
    ]
    return sum(rates) / len(rates) if rates else None


def prewarm_meetings(meetings: list[dict[str, Any]], last: int = 10) -> list[tuple[Any, ...]]:
    """The last meetings the campus pre-warmed for (GET prewarms' `meetings`), newest first:
    "class #meeting", its start (UTC, month-day hour:minute), servers started, used, memory
    reserved in MB."""
    newest = sorted(meetings, key=lambda m: m["meeting_start"], reverse=True)[:last]
    return [
        (
            f"{m['class_name']} #{m['meeting_number']}",
            m["meeting_start"].replace("T", " ")[5:16],
            m["started"],
            m["used"],
            round(m["memory_bytes"] / 2**20),
        )
        for m in newest
    ]
