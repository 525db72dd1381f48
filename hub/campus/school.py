"""School settings that are safe to change while the campus runs: its name, its logo, the
time zone in which pages show times and the currency payments are recorded in (an ISO 4217
code shown beside every amount; amounts are stored in cents as before). Stored in the campus
database and read by pages on every request (no restart); the time zone of streaks and weekly
boards stays the service's `school_timezone` setting, which needs a restart to change counting
days safely."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from babel.numbers import list_currencies
from sqlalchemy.orm import Session

from nbcampus.web import _CONTROL  # the one definition of "control character"

from . import audit
from .orm import SchoolSetting, utcnow


@dataclass(frozen=True)
class Field:
    label: str
    default: str
    max_length: int


def default_currency() -> str:
    """The currency before an admin picks one: $NBCAMPUS_CURRENCY when it is an ISO 4217
    code, else USD."""
    code = os.environ.get("NBCAMPUS_CURRENCY", "").strip().upper()
    return code if code in list_currencies() else "USD"


FIELDS: dict[str, Field] = {
    "name": Field("School name", "nbcampus", 100),
    "logo_url": Field("Logo URL", "", 500),
    "timezone": Field("Time zone shown", "UTC", 64),
    "currency": Field("Currency of payments", default_currency(), 3),
}


def currency(session: Session) -> str:
    return read(session)["currency"]


class SettingsError(ValueError):
    """Bad values, one message per field; nothing was stored."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def read(session: Session) -> dict[str, str]:
    values = {key: f.default for key, f in FIELDS.items()}
    for row in session.scalars(sa.select(SchoolSetting)):
        if row.key in values:
            values[row.key] = row.value
    return values


def problem(key: str, value: Any) -> str | None:
    """Why `value` is not acceptable for setting `key`, or None."""
    spec = FIELDS[key]
    if not isinstance(value, str):
        return "must be text"
    if len(value) > spec.max_length:
        return f"at most {spec.max_length} characters"
    if _CONTROL.search(value):
        return "contains a control character"
    if key == "name" and not value.strip():
        return "the school needs a name"
    if key == "logo_url" and value:
        parts = urlsplit(value)
        relative = value.startswith("/") and not value.startswith("//")
        if not relative and (parts.scheme not in ("https", "http") or not parts.netloc):
            return "an http(s) address, or a path on this site starting with /"
    if key == "currency" and value not in list_currencies():
        return "an ISO 4217 currency code in capitals, such as USD, EUR or IDR"
    if key == "timezone":
        if value not in available_timezones():
            return "an IANA time zone name, such as Europe/Berlin or UTC"
        ZoneInfo(value)
    return None


def local_time(iso: str, timezone: str) -> str:
    """An ISO time as the school shows it: in its time zone, to the minute."""
    try:
        when = datetime.fromisoformat(iso)
        if when.tzinfo is None:  # SQLite gives naive UTC times back
            when = when.replace(tzinfo=UTC)
        return when.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
    except (ValueError, KeyError):
        return iso


def update(session: Session, actor: str, changes: dict[str, Any]) -> dict[str, str]:
    """Check every value first; store all or nothing; audit the before and after."""
    errors = {k: "unknown setting" for k in changes if k not in FIELDS}
    for key, value in changes.items():
        if key in FIELDS and (why := problem(key, value)):
            errors[key] = why
    if errors:
        raise SettingsError(errors)
    before = read(session)
    changed = {k: (v.strip() if k == "name" else v) for k, v in changes.items() if before[k] != v}
    if not changed:
        return before
    now = utcnow()
    for key, value in changed.items():
        row = session.get(SchoolSetting, key)
        if row is None:
            row = SchoolSetting(key=key)
            session.add(row)
        row.value, row.updated_by, row.updated_at = value, actor, now
    after = {**before, **changed}
    audit.record(
        session,
        actor,
        "settings.update",
        "settings",
        "school",
        {k: before[k] for k in changed},
        {k: after[k] for k in changed},
    )
    return after
