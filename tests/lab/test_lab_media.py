"""Material and video exercises through a real Hub and in Chromium.

The video file is served by the campus through a signed URL (range requests; a forged link
or a locked lesson is a JSON error); a demo student opens lesson 1's page and lesson 3's
video in Lab tabs, reads and watches them, and lesson 3 reaches "completed" with its notebook
passed. Screenshots go to test-output/.
"""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from harness.grading import wait_graded
from harness.hub import CampusHub
from test_lab_ui import log_in

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)]

REPO = Path(__file__).resolve().parents[2]
CAMPUS = "services/campus/api/v1/"
GRADER = "services/grader/api/v1/"
COURSE = "python-intro"
VIDEO = REPO / "courses" / COURSE / "lessons" / "03-functions-lists" / "lists-video.webm"


def exercise(client: Any, lesson_id: int, slug: str) -> dict[str, Any]:
    resp = client.get(CAMPUS + f"lessons/{lesson_id}/exercises")
    assert resp.status_code == 200, resp.text
    return next(e for e in resp.json()["exercises"] if e["slug"] == slug)


def lessons(client: Any) -> dict[str, dict[str, Any]]:
    courses = client.get(CAMPUS + "me/courses").json()["courses"]
    course = next(c for c in courses if c["slug"] == COURSE)
    return {lesson["slug"]: lesson for lesson in course["lessons"]}


def unlock_next(hub: CampusHub) -> None:
    """The demo instructor holds the class's next meeting and unlocks the next lesson."""
    teacher = hub.client(hub.demo("instructor")["name"])
    klass = next(
        c
        for c in teacher.get(CAMPUS + "classes?teaching=1").json()["classes"]
        if c["course"] == COURSE
    )
    cid = klass["id"]
    enrolled = teacher.get(CAMPUS + f"classes/{cid}/enrollments").json()["enrollments"]
    body = {
        "meeting_number": klass["meetings_completed"] + 1,
        "meeting_date": date.today().isoformat(),
        "records": [
            {"student": e["student"], "status": "present"}
            for e in enrolled
            if e["status"] != "withdrawn"
        ],
    }
    resp = teacher.post(CAMPUS + f"classes/{cid}/attendance", json=body)
    assert resp.status_code == 201, resp.text
    resp = teacher.post(CAMPUS + f"classes/{cid}/unlock-lesson", json={})
    assert resp.status_code == 201, resp.text


def solved(released: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """The released notebook with the source's solutions typed into its answer cells, as a
    student who knows them would (the markers nbgrader strips, stripped)."""
    answers = {
        c["metadata"]["nbgrader"]["grade_id"]: c["source"]
        for c in source["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    for cell in released["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            text = answers[grade_id]
            text = "".join(text) if isinstance(text, list) else text
            lines = [ln for ln in text.splitlines() if "SOLUTION" not in ln]
            cell["source"] = "\n".join(lines) + "\n"
    return released


def submit_solved(hub: CampusHub, student: str, lesson: str, notebook: str) -> None:
    """The lesson's released notebook, solved, through the grader: full marks."""
    client = hub.client(student)
    resp = client.get(GRADER + f"courses/{COURSE}/assignments/{lesson}/files")
    assert resp.status_code == 200, resp.text
    released = json.loads(base64.b64decode(resp.json()["files"][notebook]))
    source = json.loads((REPO / "courses" / COURSE / "lessons" / lesson / notebook).read_text())
    content = json.dumps(solved(released, source)).encode()
    body = {"files": {notebook: base64.b64encode(content).decode()}}
    resp = client.post(GRADER + f"courses/{COURSE}/assignments/{lesson}/submissions", json=body)
    assert resp.status_code == 202, resp.text
    uid = resp.json()["id"]
    sub = wait_graded(client, uid, timeout=120, poll=0.3)
    assert sub["status"] == "graded" and sub["score"] == sub["max_score"], sub


def test_video_files_through_signed_urls(campus_hub: CampusHub) -> None:
    hub = campus_hub
    student = hub.demo("student")["name"]
    me = hub.client(student)
    by_slug = lessons(me)
    video = exercise(me, by_slug["03-functions-lists"]["id"], "lists-video")
    # Lesson 3 is locked: no player data, no URL.
    resp = me.get(CAMPUS + f"exercises/{video['id']}/video")
    assert resp.status_code == 403 and resp.json()["code"] == "LESSON_LOCKED", resp.text
    # Nor can a video be marked done by hand (it counts what was watched).
    material = exercise(me, by_slug["01-values"]["id"], "welcome")
    page = me.get(CAMPUS + f"exercises/{material['id']}/material").json()
    assert page["format"] == "markdown" and "# Welcome" in page["content"]

    unlock_next(hub)
    unlock_next(hub)
    assert not lessons(me)["03-functions-lists"]["locked"]
    info = me.get(CAMPUS + f"exercises/{video['id']}/video").json()
    assert info["external"] is False and info["complete_at"] == 0.9
    resp = me.post(CAMPUS + f"exercises/{video['id']}/complete")
    assert resp.status_code == 409 and resp.json()["code"] == "WATCH", resp.text

    # The signed URL is the credential: no token, no cookie; range requests are served.
    src = requests.compat.urljoin(hub.url, info["src"])
    data = VIDEO.read_bytes()
    whole = requests.get(src, timeout=90)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["Content-Type"] == "video/webm"
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = requests.get(src, headers={"Range": "bytes=100-1099"}, timeout=90)
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    tail = requests.get(src, headers={"Range": "bytes=-10"}, timeout=90)
    assert tail.status_code == 206 and tail.content == data[-10:]
    past = requests.get(src, headers={"Range": f"bytes={len(data)}-"}, timeout=90)
    assert past.status_code == 416 and past.json()["code"] == "BAD_RANGE"
    # A link altered in any way (another student, a later expiry) is refused as JSON.
    token = src.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    # (The last character changed for another: a MAC ending in "A" already, one in 16 here,
    # made the "altered" link the link itself.)
    other_last = "B" if mac[-1] == "A" else "A"
    for bad in (f"{payload}x.{mac}", f"{payload}.{mac[:-1]}{other_last}", "x.y"):
        resp = requests.get(src.rsplit("/", 1)[0] + "/" + bad, timeout=90)
        assert resp.status_code == 403 and resp.json()["code"] == "BAD_SIGNATURE", resp.text
    # Another student of no class of the course gets no URL at all.
    other = hub.client("nobody-enrolled")
    resp = other.get(CAMPUS + f"exercises/{video['id']}/video")
    assert resp.status_code == 403 and resp.json()["code"] == "LESSON_LOCKED"


@pytest.mark.browser
def test_student_reads_the_material_and_watches_the_video(
    campus_hub: CampusHub, browser: Any, output_dir: Path
) -> None:
    hub = campus_hub
    account = hub.demo("student")
    student = account["name"]
    me = hub.client(student)
    while lessons(me)["03-functions-lists"]["locked"]:  # when run alone
        unlock_next(hub)
    submit_solved(hub, student, "03-functions-lists", "lists.ipynb")
    page = log_in(browser, hub, student, account["password"])
    try:
        page.click("#nbc-tab-lessons")
        python = page.locator(".nbc-course", has_text="Python")
        one = python.locator('.nbc-lesson[data-lesson="01-values"]')
        one.locator('.nbc-exercise[data-exercise="welcome"] .nbc-exercise-open').click()
        tab = page.locator(".nbc-material-tab")
        tab.locator("h1", has_text="Welcome to Introduction to Python").wait_for(timeout=30_000)
        page.screenshot(path=str(output_dir / "lab-material.png"))
        # Read to the end: the page marks itself done (and says so in the panel).
        tab.locator(".nbc-material-end").scroll_into_view_if_needed()
        tab.locator(".nbc-material-end .nbc-done").wait_for(timeout=30_000)
        one.locator('.nbc-exercise[data-exercise="welcome"] .nbc-done').wait_for(timeout=30_000)
        page.screenshot(path=str(output_dir / "lab-material-done.png"))

        three = python.locator('.nbc-lesson[data-lesson="03-functions-lists"]')
        three.locator('.nbc-exercise[data-exercise="lists-video"] .nbc-exercise-open').click()
        player = page.locator(".nbc-video-tab video")
        player.wait_for(timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('.nbc-video-tab video').readyState >= 1", timeout=30_000
        )
        # Seeking ahead to the end counts nothing: only what is played is reported.
        page.evaluate(
            """() => { const v = document.querySelector('.nbc-video-tab video');
                       v.muted = true; v.currentTime = v.duration - 0.5; return v.play(); }"""
        )
        page.wait_for_function(
            "() => document.querySelector('.nbc-video-tab video').ended", timeout=30_000
        )
        page.wait_for_timeout(1_500)
        watched = me.get(CAMPUS + f"exercises/{_video_id(me)}/video").json()
        assert watched["watched_seconds"] <= 1.0 and not watched["completed"], watched
        # Now from the start at double speed (the fastest the campus credits in full).
        page.evaluate(
            """() => { const v = document.querySelector('.nbc-video-tab video');
                       v.currentTime = 0; v.playbackRate = 2; return v.play(); }"""
        )
        page.wait_for_timeout(3_000)
        page.screenshot(path=str(output_dir / "lab-video.png"))
        tab = page.locator(".nbc-video-tab")
        tab.locator(".nbc-video-progress .nbc-done").wait_for(timeout=60_000)
        page.screenshot(path=str(output_dir / "lab-video-done.png"))
        # Lesson 3: its video watched and its notebook passed, it is completed.
        page.wait_for_selector(
            '.nbc-lesson[data-lesson="03-functions-lists"].nbc-state-completed', timeout=30_000
        )
        done = lessons(me)
        assert done["03-functions-lists"]["completed"], done["03-functions-lists"]
        assert done["01-values"]["exercises_completed"] >= 1
        page.locator("#nbc-tab-lessons").scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / "lab-media-lessons.png"))
    finally:
        page.context.close()


def _video_id(client: Any) -> int:
    return exercise(client, lessons(client)["03-functions-lists"]["id"], "lists-video")["id"]
