"""What every timed exam shares, a quiz's or a notebook's: the manifest's `exam:` mapping,
a student's deadline, their accommodation multiplier, and the receipt of what they submitted.

Parsing and arithmetic (only the multiplier reads the campus's records): quiz.py (quiz exams,
in the campus) and the notebook exams (notebook_exam.py here, grader/exam.py in the grader,
which imports this module) build on it, so both kinds of exam keep one rule for the window,
the time limit and the receipt.

A student's deadline is min(closes, started + time limit x their multiplier), where
`started` is the server's clock when the exam was opened: nothing a browser sends moves it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_MULTIPLIER = 5.0
MAX_LIMIT_MINUTES = 24 * 60


class ExamSpecError(ValueError):
    """The `exam:` mapping of a quiz file or course.yaml is not valid."""


def aware(when: datetime | None) -> datetime | None:
    """SQLite hands back naive times: they are UTC."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def iso(when: datetime | None) -> str | None:
    when = aware(when)
    return when.isoformat() if when is not None else None


def parse_time(raw: str | None) -> datetime | None:
    return aware(datetime.fromisoformat(raw)) if raw else None


def _when(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # YAML reads an unquoted timestamp as a datetime
        return iso(value)
    if isinstance(value, str):
        try:
            return iso(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            raise ExamSpecError(f"{where}: not an ISO-8601 time: {value!r}") from None
    raise ExamSpecError(f"{where}: must be an ISO-8601 time")


def parse_exam(exam: Any, where: str) -> dict[str, Any]:
    """`{opens, closes, time_limit (minutes)}` -> `{opens, closes, time_limit_seconds}`."""
    if not isinstance(exam, dict):
        raise ExamSpecError(f"{where}: exam must be a mapping")
    limit = exam.get("time_limit")
    if not isinstance(limit, int | float) or isinstance(limit, bool):
        raise ExamSpecError(f"{where} exam time_limit: must be a number")
    if not 0 < limit <= MAX_LIMIT_MINUTES:
        raise ExamSpecError(f"{where}: exam time_limit must be 1 s to 24 h (in minutes)")
    out = {
        "opens": _when(exam.get("opens"), f"{where} exam opens"),
        "closes": _when(exam.get("closes"), f"{where} exam closes"),
        "time_limit_seconds": round(limit * 60),
    }
    if out["opens"] and out["closes"] and out["opens"] >= out["closes"]:
        raise ExamSpecError(f"{where}: exam opens must come before closes")
    return out


def deadline_for(
    closes: datetime | None, time_limit: int | None, started: datetime, factor: float
) -> datetime | None:
    """The student's deadline: their time limit (x their multiplier) within the window."""
    ends = [closes] if closes else []
    if time_limit:
        ends.append(started + timedelta(seconds=time_limit * factor))
    return min(ends) if ends else None


def window_state(opens: datetime | None, closes: datetime | None, now: datetime) -> str:
    """'not_open', 'closed' or 'open' for the exam's window at `now` (server time)."""
    if opens is not None and now < opens:
        return "not_open"
    if closes is not None and now >= closes:
        return "closed"
    return "open"


def multiplier(session: Session, course_id: int, user: str) -> float:
    """The student's extra time in this course's timed exams (1.0: none)."""
    from .orm import ExamAccommodation  # (here: the rest of the module needs no database)

    row = session.get(ExamAccommodation, (course_id, user))
    return row.multiplier if row is not None else 1.0


def receipt(body: dict[str, Any]) -> str:
    """A hash of what was submitted (canonical JSON): the student keeps it, and the server
    can show that what it holds is what they handed in."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
