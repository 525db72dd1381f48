"""The demo Python course finished end to end on a fresh campus, in Chromium where a student
works in the browser: lesson 1's material read to its end and its quiz answered, lesson 2's
written assignment handed in (and graded by the instructor in the grading view), lesson 3's
video watched; the four coding notebooks are handed in solved through the grader's API as
the student (the Lab's notebook submit is tests/lab/test_lab_ui.py's). The panel then shows
3 of 3 lessons, a course score of 100 / 100 and the course badge. Screenshots in test-output/.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from harness.browser import sign_in
from harness.hub import CampusHub
from test_lab_media import lessons, solved, unlock_next
from test_lab_quiz import open_quiz, option
from test_lab_ui import log_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True),
]

CAMPUS = "services/campus/api/v1/"
COURSE = "python-intro"
NOTEBOOKS = {
    "01-values": ["values.ipynb"],
    "02-control-flow": ["fizzbuzz.ipynb", "count_vowels.ipynb"],
    "03-functions-lists": ["lists.ipynb"],
}
REPO = Path(__file__).resolve().parents[2]
GRADER = "services/grader/api/v1/"


def hand_in_notebooks(client: Any, lesson: str, notebooks: list[str]) -> None:
    """A lesson's released notebooks, solved, in one submission (the lesson is one nbgrader
    assignment): full marks for every one."""
    files = f"{GRADER}courses/{COURSE}/assignments/{lesson}/files"
    # The grader generates a lesson's student version on its first fetch (slow on a busy
    # machine, hence the long timeout).
    resp = client.get(files, timeout=600)
    assert resp.status_code == 200, resp.text
    released = resp.json()["files"]
    body = {"files": {}}
    for name in notebooks:
        source = json.loads((REPO / "courses" / COURSE / "lessons" / lesson / name).read_text())
        mine = solved(json.loads(base64.b64decode(released[name])), source)
        body["files"][name] = base64.b64encode(json.dumps(mine).encode()).decode()
    resp = client.post(f"{GRADER}courses/{COURSE}/assignments/{lesson}/submissions", json=body)
    assert resp.status_code == 202, resp.text
    uid = resp.json()["id"]
    deadline = time.monotonic() + 300
    while (sub := client.get(f"{GRADER}submissions/{uid}").json())["status"] not in (
        "graded",
        "failed",
    ):
        assert time.monotonic() < deadline, "not graded in 300 s"
        time.sleep(0.5)
    assert sub["status"] == "graded" and sub["score"] == sub["max_score"] > 0, sub


def grade_written(hub: CampusHub, browser: Any, student: str, output_dir: Path) -> None:
    """The demo instructor gives the written assignment full marks in the grading view."""
    teacher = hub.demo("instructor")
    page = sign_in(
        browser, hub, teacher["name"], teacher["password"], viewport=(1200, 800), wait="load"
    )
    try:
        page.goto(
            hub.url + f"services/grader/courses/{COURSE}/grading/02-control-flow/written/"
            f"explain-fizzbuzz/{student}"
        )
        page.locator(".written-text", has_text="fizzbuzz").wait_for(timeout=60_000)
        page.fill('input[name="score"]', "4")
        page.fill('textarea[name="comment"]', "Right: 15 must be checked before 3 and 5.")
        page.click("button[type=submit]")
        page.locator("text=the student sees the grade").wait_for(timeout=30_000)
        page.screenshot(path=str(output_dir / "demo-course-grading.png"), full_page=True)
    finally:
        page.context.close()


def test_student_finishes_the_demo_python_course_and_earns_the_badge(
    campus_hub: CampusHub, browser: Any, output_dir: Path
) -> None:
    hub = campus_hub
    account = hub.demo("student")
    student = account["name"]
    me = hub.client(student)
    while lessons(me)["03-functions-lists"]["locked"]:
        unlock_next(hub)
    for lesson, notebooks in NOTEBOOKS.items():
        hand_in_notebooks(me, lesson, notebooks)
    page = log_in(browser, hub, student, account["password"])
    try:
        page.click("#nbc-tab-lessons")
        python = page.locator(".nbc-course", has_text="Python")
        # lesson 1: the material, read to its end, and the quiz, all right
        one = python.locator('.nbc-lesson[data-lesson="01-values"]')
        one.locator('.nbc-exercise[data-exercise="welcome"] .nbc-exercise-open').click()
        material = page.locator(".nbc-material-tab")
        material.locator(".nbc-material-end").scroll_into_view_if_needed(timeout=30_000)
        one.locator('.nbc-exercise[data-exercise="welcome"] .nbc-done').wait_for(timeout=30_000)
        tab = open_quiz(page)
        option(tab, "type-of-int", "int").locator("input").check()
        option(tab, "strings", "'7'").locator("input").check()
        option(tab, "strings", '"seven"').locator("input").check()
        tab.locator('[data-question="celsius"] input').fill("37")
        tab.locator('[data-question="assign"] input').fill("=")
        tab.locator(".nbc-quiz-saved", has_text="Saved").wait_for(timeout=30_000)
        tab.locator(".nbc-quiz-submit").click()
        tab.locator(".nbc-quiz-score", has_text="Score: 4 of 4").wait_for(timeout=30_000)
        page.wait_for_selector(
            '.nbc-lesson[data-lesson="01-values"].nbc-state-completed', timeout=30_000
        )

        # lesson 2: the written assignment, handed in as text
        two = python.locator('.nbc-lesson[data-lesson="02-control-flow"]')
        two.locator('.nbc-exercise[data-exercise="explain-fizzbuzz"] .nbc-exercise-open').click()
        written = page.locator(".nbc-written-tab")
        written.locator(".nbc-written-prompt").wait_for(timeout=30_000)
        written.locator(".nbc-written-textarea").fill(
            "My fizzbuzz checks 15 first, then 3, then 5, else prints the number. "
            "The order matters: 15 is divisible by 3 too, so checking 3 first hides FizzBuzz."
        )
        written.locator(".nbc-written-submit").click()
        written.locator("text=Waiting for a grade").wait_for(timeout=30_000)
        page.screenshot(path=str(output_dir / "demo-course-written.png"))

        # lesson 3: the video, watched from the start (at double speed, as test_lab_media)
        three = python.locator('.nbc-lesson[data-lesson="03-functions-lists"]')
        three.locator('.nbc-exercise[data-exercise="lists-video"] .nbc-exercise-open').click()
        page.locator(".nbc-video-tab video").wait_for(timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('.nbc-video-tab video').readyState >= 1", timeout=30_000
        )
        page.evaluate(
            """() => { const v = document.querySelector('.nbc-video-tab video');
                       v.muted = true; v.currentTime = 0; v.playbackRate = 2; return v.play(); }"""
        )
        page.locator(".nbc-video-tab .nbc-video-progress .nbc-done").wait_for(timeout=90_000)
        page.wait_for_selector(
            '.nbc-lesson[data-lesson="03-functions-lists"].nbc-state-completed', timeout=30_000
        )

        # the instructor grades the written work; lesson 2, and so the course, completes
        grade_written(hub, browser, student, output_dir)
        page.reload()
        page.wait_for_selector('.nbc-panel[data-loaded="true"]', timeout=60_000)
        page.click("#nbc-tab-lessons")
        python = page.locator(".nbc-course", has_text="Python")
        python.locator(".nbc-progress-text", has_text="3 of 3 lessons").wait_for(timeout=30_000)
        python.locator(".nbc-course-score", has_text="100 / 100").wait_for(timeout=30_000)
        page.locator(".nbc-badge", has_text="Pythonista").wait_for(timeout=30_000)
        page.screenshot(path=str(output_dir / "demo-course-finished.png"))
        two = python.locator('.nbc-lesson[data-lesson="02-control-flow"]')
        two.locator('.nbc-exercise[data-exercise="explain-fizzbuzz"] .nbc-exercise-open').click()
        grade = page.locator(".nbc-written-tab .nbc-written-grade")
        grade.locator("text=Grade: 4 of 4 points").wait_for(timeout=30_000)
        assert "15 must be checked before 3 and 5" in grade.inner_text()
        page.screenshot(path=str(output_dir / "demo-course-written-graded.png"))
    finally:
        page.context.close()
    badges = me.get(CAMPUS + "badges").json()
    assert "python-intro-finisher" in str(badges)
