"""A term's start for the office tests, through the campus API: a group class of the demo
python course, taught by the demo instructor, with students made for the test."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from harness.api import APIClient
from harness.hub import CampusHub

C = "services/campus/api/v1/"
COURSE = "python-intro"
# The smallest valid PNG (a 1x1 pixel), as a payment's proof.
PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
    "rkJggg=="
)


def staff_client(hub: CampusHub) -> APIClient:
    return hub.client(hub.demo("staff")["name"])


def students(make_user: Callable[..., dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return [make_user("student") for _ in range(n)]


def group_class(hub: CampusHub, name: str | None = None, meetings: int = 6) -> dict[str, Any]:
    staff = staff_client(hub)
    resp = staff.post(
        C + "classes",
        json={
            "name": name or f"Office {uuid.uuid4().hex[:6]}",
            "course": COURSE,
            "type": "group",
            "max_capacity": 12,
            "total_meetings": meetings,
            "instructor": hub.demo("instructor")["name"],
            "status": "enrollment_open",
            "schedule": {"days": ["thu", "mon"], "time": "19:00-21:00"},
            "start_date": (dt.date.today() - dt.timedelta(days=14)).isoformat(),
            "enrollment_deadline": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        },
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def days_ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()
