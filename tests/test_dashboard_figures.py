"""The dashboards' figures from API rows (hub/dashboards/figures.py), without a Hub."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from nbcampus.hub.dashboards import figures as fig
from nbcampus.hub.dashboards.nav import offered

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def sub(student: str, assignment: str, score: float | None, days_ago: float, **tests: bool):
    return {
        "student": student,
        "assignment": assignment,
        "score": score,
        "max_score": 4.0,
        "submitted_at": (NOW - timedelta(days=days_ago)).isoformat(),
        "tests": tests,
    }


def enrollment(student: str, rate: float | None, left: int, status: str = "active") -> dict:
    return {
        "id": hash(student) % 1000,
        "student": student,
        "status": status,
        "attendance_rate": rate,
        "credits_used": 10 - left,
        "credits_remaining": left,
    }


def test_the_best_graded_submission_counts_and_lands_in_its_bin() -> None:
    subs = [
        sub("ann", "a1", 1.0, 3, t1=True, t2=False),
        sub("ann", "a1", 3.0, 2, t1=True, t2=True),  # her best: 75 %
        sub("ann", "a1", 2.0, 1, t1=False, t2=True),
        sub("ben", "a1", 4.0, 1, t1=True, t2=True),  # 100 % goes in the top bin
        sub("cy", "a1", None, 1),  # not graded yet: not counted
    ]
    dist = fig.grade_distribution(subs)
    assert dist["a1"][7] == 1 and dist["a1"][9] == 1 and sum(dist["a1"]) == 2
    assert fig.pass_rates(subs) == {"a1": {"t1": 1.0, "t2": 1.0}}


def test_pass_rates_per_test() -> None:
    subs = [sub("ann", "a1", 1.0, 1, t1=True, t2=False), sub("ben", "a1", 0.0, 1, t1=False)]
    assert fig.pass_rates(subs) == {"a1": {"t1": 0.5, "t2": 0.0}}


def test_per_day_counts_zeros_too() -> None:
    days = fig.per_day(
        ["2026-12-05T10:00:00+00:00", "2026-12-05T11:00:00+00:00"], 3, date(2026, 12, 6)
    )
    assert days == [("2026-12-04", 0), ("2026-12-05", 2), ("2026-12-06", 0)]


def test_students_at_risk_and_why() -> None:
    enrollments = [
        enrollment("ann", 100.0, 8),
        enrollment("ben", 50.0, 8),  # attends half the meetings
        enrollment("cy", 90.0, 1),  # one credit left
        enrollment("dee", None, 10),  # nothing submitted, no meeting yet
        enrollment("eve", 100.0, 9, status="withdrawn"),  # gone: not listed
    ]
    subs = [sub("ann", "a1", 4.0, 1), sub("ben", "a1", 4.0, 1), sub("cy", "a1", 4.0, 20)]
    rows = {
        r.student: r
        for r in fig.student_rows(
            enrollments, subs, min_attendance=0.75, min_credits=2, idle_days=7, now=NOW
        )
    }
    assert set(rows) == {"ann", "ben", "cy", "dee"}
    assert rows["ann"].risks == []
    assert rows["ben"].risks == ["attendance 50%"]
    assert rows["cy"].risks == ["1 credit left", "no submission for 20 days"]
    assert rows["dee"].risks == ["no submission yet"]
    assert rows["cy"].last_assignment == "a1" and rows["ann"].submissions == 1


def test_fill_rates_and_attendance_rate() -> None:
    classes = [
        {"id": 1, "status": "active", "current_capacity": 9, "max_capacity": 10},
        {"id": 2, "status": "enrollment_open", "current_capacity": 2, "max_capacity": 10},
        {"id": 3, "status": "completed", "current_capacity": 10, "max_capacity": 10},
    ]
    assert [(c["id"], r) for c, r in fig.fill_rates(classes)] == [(1, 0.9), (2, 0.2)]
    rows = [enrollment("a", 100.0, 1), enrollment("b", 50.0, 1), enrollment("c", None, 1)]
    assert fig.class_attendance_rate(rows) == 0.75
    assert fig.class_attendance_rate([enrollment("c", None, 1)]) is None


def test_the_navigation_offers_each_role_its_dashboards() -> None:
    assert [n for n, _ in offered("admin", False)] == ["instructor", "staff", "admin"]
    assert [n for n, _ in offered("staff", False)] == ["instructor", "staff"]
    assert [n for n, _ in offered("instructor", True)] == ["instructor"]
    assert offered("instructor", False) == []
    assert offered("student", False) == []
    assert [n for n, _ in offered("student", True)] == ["instructor"]  # a TA of one class


def test_the_last_pre_warmed_meetings() -> None:
    def meeting(name: str, start: str, started: int, used: int) -> dict:
        return {
            "class_name": name,
            "meeting_number": 3,
            "meeting_start": start,
            "started": started,
            "used": used,
            "memory_bytes": started * 512 * 2**20,
        }

    got = fig.prewarm_meetings(
        [meeting("Mon", "2026-12-07T09:00:00+00:00", 4, 3)]
        + [meeting(f"Old {i}", f"2026-11-{10 + i}T09:00:00+00:00", 2, 0) for i in range(12)],
        last=3,
    )
    assert got[0] == ("Mon #3", "12-07 09:00", 4, 3, 2048)
    assert [r[0] for r in got[1:]] == ["Old 11 #3", "Old 10 #3"]  # newest first, the last 3
