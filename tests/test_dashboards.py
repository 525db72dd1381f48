"""The dashboards (hub/dashboards) in a real Hub: Chromium renders each one with its charts from
the demo campus (its classes, one more meeting taken by the instructor, graded submissions),
reached from the Hub's "Dashboards" menu; whoever a dashboard is not for gets a 403 and no
data, and so do the grader's figures behind them."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from harness.browser import log_in
from harness.hub import CampusHub
from harness.school import seed_submissions
from requests.cookies import get_cookie_header
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

# collected with tests/lti/conftest.py in the whole suite: `from conftest` is ambiguous
DB_PARAMS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOARDS = {"instructor": "Class dashboard", "staff": "Office dashboard", "admin": "School dashboard"}
# What each dashboard must show: card titles (each with a chart or its table).
CARDS = {
    "instructor": [
        "Grade distribution",
        "Pass rate per test",
        "Submissions over time",
        "Attendance and credits per student",
        "Students at risk",
    ],
    "staff": [
        "Classes filling up",
        "Credits running out",
        "Unpaid enrollments",
        "Attendance rates",
        "Pre-warmed servers",
    ],
    "admin": [
        "Active users per day",
        "Servers running",
        "Submissions per day",
        "Grading queue latency",
        "Failed LMS grade sends",
    ],
}


def board_url(hub: CampusHub, board: str) -> str:
    return f"{hub.url}services/dashboards/voila/render/{board}.ipynb"


@pytest.fixture(scope="module", params=DB_PARAMS)
def campus_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CampusHub]:
    """The campus Hub of conftest.py, with the dashboards' warm kernels on (as deployed)."""
    db = None
    if request.param == "postgresql":
        db = request.getfixturevalue("pg_cluster").create_database()
    data_dir = tmp_path_factory.mktemp("campus") / "data dir"
    hub = CampusHub(data_dir, db_url=db, env={"NBCAMPUS_DASHBOARD_POOL": "1"}).start(timeout=180)
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def school(campus_hub: CampusHub) -> dict[str, Any]:
    """The demo campus plus a meeting taken by its instructor and graded submissions of the
    Python course (alice and bob; carol submits nothing and is at risk)."""
    instructor = campus_hub.client(campus_hub.demo("instructor")["name"])
    classes = instructor.get("services/campus/api/v1/classes", params={"teaching": "1"}).json()
    klass = next(c for c in classes["classes"] if c["course"] == "python-intro")
    students = [
        e["student"]
        for e in instructor.get(f"services/campus/api/v1/classes/{klass['id']}/enrollments").json()[
            "enrollments"
        ]
    ]
    marks = ["present", "absent", "late"]
    resp = instructor.post(
        f"services/campus/api/v1/classes/{klass['id']}/attendance",
        json={
            "meeting_number": klass["meetings_completed"] + 1,
            "meeting_date": date.today().isoformat(),
            "records": [
                {"student": s, "status": marks[i % 3]} for i, s in enumerate(sorted(students))
            ],
        },
    )
    assert resp.status_code == 201, resp.text
    grader_db = campus_hub.db_url or f"sqlite:///{campus_hub.data_dir / 'grader.sqlite'}"
    silent = sorted(students)[-1]
    count = seed_submissions(grader_db, "python-intro", students, skip=frozenset({silent}))
    assert count > 0
    prewarmed(campus_hub, klass["id"], sorted(students))
    return {"class": klass, "students": students, "silent": silent}


def prewarmed(hub: CampusHub, class_id: int, students: list[str]) -> None:
    """A meeting of the class pre-warmed as hub/campus/prewarm.py records it (the real pre-warm
    with spawns is tests/test_prewarm_hub.py): every student's server started and seen ready,
    the first student's used."""
    from datetime import UTC, datetime, timedelta

    from nbcampus.db import make_engine, session_factory, transaction
    from nbcampus.hub.campus import prewarm
    from nbcampus.settings import Settings

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    meeting = prewarm.Meeting(class_id, 2, start, start + timedelta(hours=2))
    ready = start - timedelta(minutes=8)
    engine = make_engine(Settings.from_env(hub.env).database_url("campus"))
    try:
        factory = session_factory(engine)
        with transaction(factory) as s:
            for student in students:
                assert prewarm.claim(s, meeting, student, 2**29, 2**40, ready)
        with transaction(factory) as s:
            for student in students:
                prewarm.mark_ready(s, meeting, student, ready, ready)
        with transaction(factory) as s:
            row_id = next(r for r, who in prewarm.watched(s, ready) if who == students[0])
            iso = (ready + timedelta(minutes=5)).isoformat()
            user = {"last_activity": iso, "servers": {"": {"ready": True, "started":
                    ready.isoformat(), "last_activity": iso}}}  # fmt: skip
            prewarm.observe(s, row_id, user, ready + timedelta(minutes=6))
    finally:
        engine.dispose()


@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
@pytest.mark.parametrize("board", list(BOARDS))
def test_each_dashboard_renders_its_charts(
    campus_hub: CampusHub, school: dict[str, Any], browser: Any, output_dir: Path, board: str
) -> None:
    # the demo instructor, staff member and admin each open their own
    account = campus_hub.demo(board)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        log_in(page, campus_hub, account["name"], account["password"], wait="load")
        # From the Hub's own navigation: the "Dashboards" menu offers this one.
        page.goto(campus_hub.url + "hub/home")
        page.click("#nav-dashboards")
        item = page.locator(f"#nav-dashboard-{board}")
        item.wait_for(timeout=10_000)
        started = time.monotonic()
        item.click()
        page.wait_for_selector(f"text={BOARDS[board]}", timeout=120_000)
        page.locator(".bqplot").first.wait_for(timeout=60_000)
        painted = time.monotonic() - started
        page.wait_for_timeout(1000)  # the charts' transitions
        text = page.inner_text("body")
        for title in CARDS[board]:
            assert title in text, f"{board}: no {title!r}"
        charts = page.locator(".bqplot").count()
        assert charts >= 3, f"{board}: {charts} charts"
        assert "Not shown" not in text, text[:2000]  # no refusal or error in place of data
        if board == "instructor":
            # The silent student is at risk, with a link to the course's grading view.
            risk = page.locator("text=no submission yet")
            assert risk.count() >= 1
            assert page.locator("a", has_text="course grading").count() >= 1
        if board == "staff":
            # The demo class's pre-warmed meeting: its students' servers, one of them used.
            n = len(school["students"])
            row = f"{school['class']['name']} #2\t"
            assert row in text and f"\t{n}\t1\t{n * 512}" in text, text[-1500:]
            prewarm_card = page.locator(".widget-vbox").filter(has_text="Pre-warmed servers").last
            prewarm_card.screenshot(path=str(output_dir / "dashboard-staff-prewarm.png"))
        page.screenshot(path=str(output_dir / f"dashboard-{board}.png"), full_page=True)
        print(f"{board} dashboard: charts painted {painted:.1f} s after the click")
    finally:
        page.close()


@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_a_dashboard_opens_in_the_hubs_dark_mode(
    campus_hub: CampusHub, school: dict[str, Any], browser: Any, output_dir: Path
) -> None:
    admin = campus_hub.demo("admin")
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, color_scheme="dark")
    try:
        log_in(page, campus_hub, admin["name"], admin["password"], wait="load")
        page.goto(campus_hub.url + "hub/home")
        assert page.get_attribute("html", "data-bs-theme") == "dark"
        page.click("#nav-dashboards")
        page.locator("#nav-dashboard-admin").click()
        page.locator(".bqplot").first.wait_for(timeout=120_000)
        assert "theme=dark" in page.url
        assert page.get_attribute("body", "data-jp-theme-light") == "false"
        page.wait_for_timeout(1000)
        page.screenshot(path=str(output_dir / "dashboard-admin-dark.png"))
    finally:
        page.close()


def refused_page(hub: CampusHub, role: str, board: str) -> Any:
    session = hub.login_session(hub.demo(role)["name"], hub.demo(role)["password"])
    # Follows the Hub's OAuth round trip back to the dashboard, as a browser does.
    return session.get(board_url(hub, board), timeout=120)


@pytest.mark.parametrize(
    ("role", "board"),
    [
        ("student", "instructor"),
        ("student", "staff"),
        ("student", "admin"),
        ("instructor", "staff"),
        ("instructor", "admin"),
        ("staff", "admin"),
    ],
)
def test_who_a_dashboard_is_not_for_is_refused(
    campus_hub: CampusHub, school: dict[str, Any], role: str, board: str
) -> None:
    resp = refused_page(campus_hub, role, board)
    assert resp.status_code == 403, (resp.status_code, resp.url, resp.text[:500])
    assert "/services/dashboards/" in resp.url
    for secret in (*school["students"], "Grade distribution", "credits left"):
        assert secret not in resp.text
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"


def test_the_navigation_offers_dashboards_to_those_they_are_for(
    campus_hub: CampusHub, school: dict[str, Any]
) -> None:
    for role, boards in (
        ("student", []),
        ("instructor", ["instructor"]),
        ("staff", ["instructor", "staff"]),
        ("admin", ["instructor", "staff", "admin"]),
    ):
        session = campus_hub.login_session(
            campus_hub.demo(role)["name"], campus_hub.demo(role)["password"]
        )
        home = session.get(campus_hub.url + "hub/home", timeout=30).text
        shown = [b for b in BOARDS if f'id="nav-dashboard-{b}"' in home]
        assert shown == boards, (role, shown)


def test_the_grader_figures_follow_the_permission_table(
    campus_hub: CampusHub, school: dict[str, Any]
) -> None:
    student = campus_hub.client(school["students"][0])
    instructor = campus_hub.client(campus_hub.demo("instructor")["name"])
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    course_stats = "services/grader/api/v1/courses/python-intro/stats"
    assert student.get(course_stats).status_code == 403
    assert student.get("services/grader/api/v1/stats").status_code == 403
    assert instructor.get("services/grader/api/v1/stats").status_code == 403
    rows = instructor.get(course_stats).json()["submissions"]
    assert rows and {r["student"] for r in rows} <= set(school["students"])
    assert all(r["tests"] for r in rows if r["status"] == "graded")
    figures = admin.get("services/grader/api/v1/stats", params={"days": "30"}).json()
    assert sum(d["submissions"] for d in figures["days"]) == len(rows)
    assert admin.get("services/grader/api/v1/stats", params={"days": "0"}).status_code == 400
    assert admin.get("services/grader/api/v1/stats", params={"days": "²"}).status_code == 400


# --- a dashboard kernel answers the viewer it was handed to, no one else ------------------------
def kernel_of(page: requests.Response) -> str:
    found = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page.text)
    assert found, page.text[:2000]
    return found.group(1)


def channels(hub: CampusHub, session: requests.Session | None, kernel_id: str) -> int | str:
    """Open the kernel's websocket as `session`'s browser would: the handshake's status, or
    'open'."""
    url = f"{hub.url}services/dashboards/api/kernels/{kernel_id}/channels"
    headers = {}
    if session is not None:
        headers["Cookie"] = get_cookie_header(session.cookies, requests.Request("GET", url))

    async def connect() -> int | str:
        request = HTTPRequest(url.replace("http://", "ws://", 1), headers=headers)
        try:
            ws = await websocket_connect(request)
        except HTTPClientError as err:
            return err.code
        ws.close()
        return "open"

    # A thread of its own: the browser tests' Playwright keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, connect()).result()


@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_a_dashboard_kernel_is_its_viewers_alone(
    campus_hub: CampusHub, school: dict[str, Any]
) -> None:
    """Two staff-side people open the office dashboard; each reaches their own kernel (its
    websocket and REST API) and is refused (403) the other's; a stranger gets nothing either."""
    hub = campus_hub
    sessions = {
        role: hub.login_session(hub.demo(role)["name"], hub.demo(role)["password"])
        for role in ("staff", "admin")
    }
    kernels = {}
    for role, session in sessions.items():
        page = session.get(board_url(hub, "staff"), timeout=120)
        assert page.status_code == 200, page.text[:500]
        kernels[role] = kernel_of(page)
    assert kernels["staff"] != kernels["admin"]
    api = f"{hub.url}services/dashboards/api/kernels/"
    for role, other in (("staff", "admin"), ("admin", "staff")):
        session = sessions[role]
        assert session.get(api + kernels[role], timeout=30).status_code == 200
        assert channels(hub, session, kernels[role]) == "open"
        theirs = kernels[other]
        assert session.get(api + theirs, timeout=30).status_code == 403
        assert channels(hub, session, theirs) == 403
        # Through a token of their own (not the browser's cookie) just the same, and Voila's
        # shutdown URL (a page's unload) cannot end the other's kernel.
        token = {"Authorization": f"token {hub.token_for(hub.demo(role)['name'])}"}
        assert requests.get(api + theirs, headers=token, timeout=30).status_code == 403
        shut = requests.post(
            f"{hub.url}services/dashboards/voila/api/shutdown/{theirs}", headers=token, timeout=30
        )
        assert shut.status_code == 403, shut.text[:300]
        assert requests.delete(api + theirs, headers=token, timeout=30).status_code == 403
        assert requests.get(api + kernels[role], headers=token, timeout=30).status_code == 200
    # Neither kernel was shut by the other's attempt, and no one signed out reaches either.
    assert sessions["admin"].get(api + kernels["admin"], timeout=30).status_code == 200
    assert channels(hub, None, kernels["staff"]) == 403
