"""Pre-warming from the schedule with a real Hub (local profile), on SQLite and PostgreSQL.

An active class meeting within the lead gets its enrolled students' servers started by the
Hub (real spawns), most punctual first, within the memory budget (two servers' worth for three
students); the withdrawn student, a class not active, a class without a schedule and one whose
meetings are past get none, the last two said in the log. A student who signs in is recorded
as having used her server, the other not. The idle culler stops both after its timeout; the
campus frees their memory and starts the student skipped for the budget. The records show on
the Office's class page and on the Hub's admin page (Chromium screenshots); a student is
refused both APIs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness.browser import sign_in
from harness.hub import CampusHub
from harness.schedule import meeting_soon, scheduled_class, school_zone

from nbcampus.db import make_engine, session_factory, transaction
from nbcampus.hub.campus import classes
from nbcampus.hub.campus.attendance import Mark, take_attendance
from nbcampus.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.browser]
BROWSER: dict[str, Any] = {"viewport": (1280, 900), "wait": "networkidle"}

CAMPUS = "services/campus/api/v1/"
# JupyterHub's activity_resolution (30 s by default): a sign-in counts as the user's activity
# once the last recorded one is that old. Shorter here, so that s3 signs in a few seconds after
# her server is ready and the idle timeout, which must let her, can be shorter too.
ACTIVITY_RESOLUTION = 5
IDLE_TIMEOUT = 30


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def prewarm_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CampusHub]:
    db = None
    if request.param == "postgresql":
        db = request.getfixturevalue("pg_cluster").create_database()
    env = {
        "NBCAMPUS_PREWARM_MEMORY": "1G",  # two local servers at 512M each
        "NBCAMPUS_PREWARM_LEAD": "10",
        "NBCAMPUS_PREWARM_INTERVAL": "2",  # not the minute of a campus: the test waits for it
        "NBCAMPUS_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
        "NBCAMPUS_TIMEZONE": school_zone(),
    }
    data_dir = tmp_path_factory.mktemp("prewarm") / "data dir"
    extra = f"c.JupyterHub.activity_resolution = {ACTIVITY_RESOLUTION}\n"
    hub = CampusHub(data_dir, db_url=db, env=env, extra_config=extra).start()
    yield hub
    hub.stop()


def server(hub: CampusHub, name: str) -> dict[str, Any] | None:
    resp = hub.admin_client().get(f"hub/api/users/{name}")
    if resp.status_code == 404:
        return None
    return (resp.json().get("servers") or {}).get("")


def make_world(hub: CampusHub) -> dict[str, Any]:
    """Accounts and four classes: one due within the lead, one not active, one without a
    schedule, one whose meetings are past."""
    admin = hub.client(hub.demo("admin")["name"])
    tag = format(int(time.time()) % 100000, "05d")
    names = {k: f"pw{tag}{k}" for k in ("s1", "s2", "s3", "s4", "s5", "s6", "s7")}
    passwords: dict[str, str] = {}
    for name in names.values():
        resp = admin.post(CAMPUS + "accounts", json={"name": name, "role": "student"})
        assert resp.status_code == 201, resp.text
        passwords[name] = resp.json()["password"]
    # Due at once (the lead is 10 min), and not begun before the test has seen s1 retried.
    schedule = meeting_soon(hub.env["NBCAMPUS_TIMEZONE"], minutes=8)
    teacher = hub.demo("instructor")["name"]
    ids: dict[str, int] = {}

    def new_class(key: str, students: list[str], **fields: Any) -> int:
        people = [names[k] for k in students]
        plan = fields.pop("schedule", schedule)
        ids[key] = scheduled_class(hub, f"Prewarm {key} {tag}", people, plan, **fields)
        return ids[key]

    engine = make_engine(Settings.from_env(hub.env).database_url("campus"))
    try:
        due = new_class("due", ["s1", "s2", "s3", "s4"])
        with transaction(session_factory(engine)) as s:  # an earlier meeting: who comes on time
            marks = [
                Mark(names["s3"], "present"),
                Mark(names["s2"], "late"),
                Mark(names["s1"], "absent"),
                Mark(names["s4"], "present"),
            ]
            take_attendance(s, due, 1, date.today() - timedelta(days=7), marks, teacher)
        with transaction(session_factory(engine)) as s:
            classes.withdraw(s, due, names["s4"])
        new_class("inactive", ["s5"], status="enrollment_open")
        new_class("unscheduled", ["s6"], schedule=None)
        new_class("past", ["s7"], end_date=date.today() - timedelta(days=2))
    finally:
        engine.dispose()
    return {"names": names, "ids": ids, "admin": admin, "passwords": passwords}


def wait_for(check: Any, timeout: float, what: str, hub: CampusHub) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := check():
            return got
        time.sleep(1)
    raise AssertionError(f"{what} did not happen in {timeout} s:\n{hub.log_tail(6000)}")


def seconds_since(iso: str) -> float:
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (datetime.now(UTC) - when).total_seconds()


def test_a_class_meeting_soon_gets_its_servers_within_the_budget(
    prewarm_hub: CampusHub, browser: Any, output_dir: Path, request: pytest.FixtureRequest
) -> None:
    hub = prewarm_hub
    world = make_world(hub)
    names, ids = world["names"], world["ids"]
    staff = hub.client(hub.demo("staff")["name"])

    def recorded() -> list[dict[str, Any]] | None:
        resp = staff.get(CAMPUS + f"classes/{ids['due']}/prewarms")
        assert resp.status_code == 200, resp.text
        rows = resp.json()["prewarms"]
        ready = [r for r in rows if r["outcome"] == "started" and r["ready_at"]]
        return rows if len(rows) == 4 and len(ready) == 2 else None

    rows = wait_for(recorded, 240, "the pre-warm of the due class", hub)
    by_student = {r["student"]: r for r in rows}
    # Most punctual first, within two servers' memory: s3 (on time), s2 (late) started.
    assert by_student[names["s3"]]["outcome"] == "started"
    assert by_student[names["s2"]]["outcome"] == "started"
    assert by_student[names["s1"]]["outcome"] == "skipped"
    assert by_student[names["s1"]]["reason"] == "over the memory budget"
    assert by_student[names["s4"]]["outcome"] == "skipped"
    assert "withdrawn" in by_student[names["s4"]]["reason"]
    body = staff.get(CAMPUS + "prewarms").json()
    assert body["budget_bytes"] == 2**30 and body["server_bytes"] == 512 * 2**20
    assert sum(r["memory_bytes"] for r in rows) <= body["budget_bytes"]
    assert body["reserved_bytes"] == 2**30

    # Real spawns: the started ones are running and ready; nobody else got a server.
    for key in ("s3", "s2"):
        got = server(hub, names[key])
        assert got is not None and got["ready"], got
    for key in ("s1", "s4", "s5", "s6", "s7"):
        assert server(hub, names[key]) is None, key
    others = {r["class_id"] for r in body["prewarms"]}
    assert ids["inactive"] not in others and ids["unscheduled"] not in others
    assert ids["past"] not in others
    said = [
        f"class {ids['unscheduled']} is active but the class has no schedule",
        f"class {ids['past']} is active but the schedule ended on",
        f"class {ids['inactive']} meets soon but is enrollment_open",
    ]  # by the first check after those classes were made (the due one may come a check earlier)
    wait_for(lambda: all(s in hub.log_tail(200_000) for s in said), 30, "the log lines", hub)

    # Students are refused both APIs and the office relay.
    student = hub.client(names["s1"])
    assert student.get(CAMPUS + "prewarms").status_code == 403
    assert student.get(CAMPUS + f"classes/{ids['due']}/prewarms").status_code == 403
    # The class's instructor reads its records (the Office shows them read-only), not the school's.
    teacher = hub.client(hub.demo("instructor")["name"])
    assert teacher.get(CAMPUS + f"classes/{ids['due']}/prewarms").status_code == 200
    assert teacher.get(CAMPUS + "prewarms").status_code == 403
    bad = staff.get(CAMPUS + f"classes/{ids['due']}/prewarms?limit=0")
    assert bad.status_code == 400 and bad.json()["code"]

    # s3 signs in and lands in her pre-warmed server's Lab, s2 never comes:
    # the campus's check reads the Hub's activity and records s3's as used, s2's as unused.
    # The Hub records a user's activity at most every ACTIVITY_RESOLUTION s, and the spawn and
    # the server's own start counted as one: sign in once that is older (in a school, 10 minutes).
    # Activity counts from 5 s after the campus saw the server ready.
    ready_at = next(r["ready_at"] for r in rows if r["student"] == names["s3"])

    def quiet() -> bool:
        user = hub.admin_client().get(f"hub/api/users/{names['s3']}").json()
        idle = seconds_since(user["last_activity"]) > ACTIVITY_RESOLUTION + 1
        return idle and seconds_since(ready_at) > 6

    wait_for(quiet, 60, f"{ACTIVITY_RESOLUTION} s without activity", hub)
    page = sign_in(browser, hub, names["s3"], world["passwords"][names["s3"]], **BROWSER)
    try:
        page.wait_for_url(f"**/user/{names['s3']}/lab**", timeout=60_000)
    finally:
        page.context.close()

    def used() -> list[dict[str, Any]] | None:
        got = staff.get(CAMPUS + f"classes/{ids['due']}/prewarms").json()["prewarms"]
        return got if [r["student"] for r in got if r["used"]] == [names["s3"]] else None

    rows = wait_for(used, 60, "s3's pre-warmed server recorded as used", hub)
    assert not next(r for r in rows if r["student"] == names["s2"])["used"]
    totals = staff.get(CAMPUS + "prewarms").json()["totals"]
    assert totals["started"] >= 2 and totals["used"] >= 1

    # s2 never came and s3 left: the idle culler stops both after its timeout, as any idle
    # server. The campus finds them gone, frees their memory before the meeting, and starts
    # s1, skipped for the budget before, with it.
    started_at = time.monotonic()
    wait_for(
        lambda: all(server(hub, names[k]) is None for k in ("s3", "s2")),
        IDLE_TIMEOUT * 4,
        "the idle culler stopping the pre-warmed servers",
        hub,
    )
    assert time.monotonic() - started_at <= IDLE_TIMEOUT * 4

    def retried() -> list[dict[str, Any]] | None:
        got = staff.get(CAMPUS + f"classes/{ids['due']}/prewarms").json()["prewarms"]
        by = {r["student"]: r for r in got}
        gone = all(by[names[k]]["released_at"] for k in ("s3", "s2"))
        return got if gone and by[names["s1"]]["outcome"] == "started" else None

    rows = wait_for(retried, 60, "s1 started with the memory freed", hub)
    assert len(rows) == 4  # one row per student and meeting: s1's skip became its start
    assert staff.get(CAMPUS + "prewarms").json()["reserved_bytes"] == 512 * 2**20
    s1 = wait_for(lambda: (got := server(hub, names["s1"])) and got["ready"] and got, 120,
                  "s1's server ready", hub)  # fmt: skip
    assert s1["ready"]

    # The screens: the Office's class page (Pre-warm tab) and the Hub's admin page.
    db = request.node.callspec.params["prewarm_hub"]
    staff = hub.demo("staff")
    page = sign_in(browser, hub, staff["name"], staff["password"], **BROWSER)
    try:
        page.goto(hub.url + f"hub/office/classes/{ids['due']}")
        page.click("#tab-prewarm")
        page.wait_for_selector(".prewarm-meeting")
        text = page.inner_text("#pane-prewarm")
        assert "3 started (1 used, 2 unused), 1 skipped, 0 failed" in text
        assert "1,536 MB reserved (1,024 MB freed)" in text and "memory freed" in text
        assert "512 MB reserved now" in text and "withdrawn" in text
        page.screenshot(
            path=str(output_dir / f"prewarm-office-{db}.png"), full_page=True, animations="disabled"
        )
        page.emulate_media(color_scheme="dark")  # the Hub's dark mode follows the system's
        page.reload()
        page.click("#tab-prewarm")
        page.wait_for_selector(".prewarm-meeting")
        page.screenshot(
            path=str(output_dir / f"prewarm-office-dark-{db}.png"),
            full_page=True,
            animations="disabled",
        )
    finally:
        page.context.close()
    admin = hub.demo("admin")
    page = sign_in(browser, hub, admin["name"], admin["password"], **BROWSER)
    try:
        page.goto(hub.url + "hub/admin")
        page.click("#campus-prewarm summary")
        page.wait_for_selector(f"#prewarm-table a[href$='office/classes/{ids['due']}']")
        row = page.inner_text(f"#prewarm-table tr:has(a[href$='office/classes/{ids['due']}'])")
        assert row.split("\t")[3:6] == ["3", "1", "2"], row  # started, used, unused
        assert "1,536 MB" in row and " used, " in page.inner_text("#prewarm-total")
        page.screenshot(
            path=str(output_dir / f"prewarm-admin-{db}.png"), full_page=False, animations="disabled"
        )
    finally:
        page.context.close()
