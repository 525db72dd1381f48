"""A class meeting a few minutes from now, whenever the tests or benchmarks run: a weekly
schedule in a fixed-offset time zone where it is about noon, so it never crosses midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def school_zone(now: datetime | None = None) -> str:
    """An IANA zone (Etc/GMT±N, whose signs are inverted) where it is about noon now."""
    now = now or datetime.now(UTC)
    offset = (12 - now.hour + 12) % 24 - 12  # hours east of UTC, -12..11
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def meeting_soon(zone: str, minutes: int, hours: int = 1) -> dict[str, Any]:
    """A weekly schedule {days, time} whose meeting today starts `minutes` from now."""
    local = datetime.now(UTC).astimezone(ZoneInfo(zone))
    begin = (local + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    end = begin + timedelta(hours=hours)
    return {"days": [WEEKDAYS[begin.weekday()]], "time": f"{begin:%H:%M}-{end:%H:%M}"}


def scheduled_class(
    hub: Any, name: str, students: list[str], schedule: dict[str, Any] | None, **fields: Any
) -> int:
    """A group class of the demo course python-intro taught by the demo instructor, with
    `students` enrolled, then made active (or `fields["status"]`), written to the campus
    database as the office would."""
    from nbcampus.db import make_engine, session_factory, transaction
    from nbcampus.hub.campus import classes
    from nbcampus.settings import Settings

    engine = make_engine(Settings.from_env(hub.env).database_url("campus"))
    try:
        factory = session_factory(engine)
        with transaction(factory) as s:
            class_id = classes.create_class(
                s, name=name, course_slug="python-intro", type="group", total_meetings=6,
                max_capacity=max(10, len(students)), instructor=hub.demo("instructor")["name"],
                created_by="tests", status="enrollment_open", schedule=schedule,
            ).id  # fmt: skip
        with transaction(factory) as s:
            for student in students:
                classes.enroll(s, class_id, student, "tests")
            klass = classes.get_class(s, class_id)
            for field, value in {"status": "active", **fields}.items():
                setattr(klass, field, value)
    finally:
        engine.dispose()
    return class_id
