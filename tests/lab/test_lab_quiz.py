"""Quizzes and timed exams in JupyterLab, through a real Hub and Chromium.

A demo student takes lesson 1's quiz in its Lab tab; no response the page received before the
submission holds the answer key. Then the instructor makes the quiz a short timed exam and
staff give one student twice the time: the other's exam closes by itself with what was saved,
while the accommodated student still answers and submits; the scores stay hidden until the
instructor releases them. Screenshots go to test-output/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from harness.hub import CampusHub
from test_lab_ui import log_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True),
]

CAMPUS = "services/campus/api/v1/"
KEY_MARKS = ("correct", "solution", "accepted", "tolerance", "explanation", "Quotes, single")


def quiz_id(hub: CampusHub, student: str) -> int:
    quizzes = hub.client(student).get(CAMPUS + "me/quizzes").json()["quizzes"]
    return next(q["exercise_id"] for q in quizzes if q["slug"] == "values-quiz")


def open_quiz(page: Any) -> Any:
    page.click("#nbc-tab-lessons")
    lesson = page.locator('.nbc-course:has-text("Python") .nbc-lesson[data-lesson="01-values"]')
    lesson.locator('.nbc-exercise[data-exercise="values-quiz"] .nbc-exercise-open').click()
    tab = page.locator(".nbc-quiz-tab")
    tab.locator(".nbc-quiz-title").wait_for(timeout=30_000)
    return tab


def option(tab: Any, question: str, code: str) -> Any:
    """The option of `question` whose text is `code` (options are shuffled per student)."""
    return tab.locator(f'.nbc-quiz-question[data-question="{question}"] .nbc-quiz-option').filter(
        has=tab.page.locator("code", has_text=re.compile(f"^{re.escape(code)}$"))
    )


def test_student_takes_the_demo_quiz(campus_hub: CampusHub, browser: Any, output_dir: Path):
    hub = campus_hub
    account = hub.demo("student")
    page = log_in(browser, hub, account["name"], account["password"])
    responses: list[Any] = []
    page.on(
        "response",
        lambda r: (
            responses.append(r) if "/nbcampus/campus/" in r.url and "stream" not in r.url else None
        ),
    )
    try:
        tab = open_quiz(page)
        assert tab.locator(".nbc-quiz-question").count() == 4
        option(tab, "type-of-int", "int").locator("input").check()
        option(tab, "strings", "'7'").locator("input").check()
        option(tab, "strings", '"seven"').locator("input").check()
        tab.locator('[data-question="celsius"] input').fill("37")
        tab.locator('[data-question="assign"] input').fill("==")  # wrong on purpose
        tab.locator(".nbc-quiz-saved", has_text="Saved").wait_for(timeout=30_000)
        page.screenshot(path=str(output_dir / "lab-quiz.png"))
        before = list(responses)
        tab.locator(".nbc-quiz-submit").click()
        tab.locator(".nbc-quiz-score").wait_for(timeout=30_000)
        # Nothing the page received before the submission carried the answer key.
        assert before, "no campus response seen"
        for resp in before:
            body = resp.text()
            assert not any(mark in body for mark in KEY_MARKS), (resp.url, body)
        assert tab.locator(".nbc-quiz-score").inner_text() == "Score: 3 of 4"
        assert tab.locator(".nbc-quiz-question.nbc-right").count() == 3
        assert tab.locator(".nbc-quiz-question.nbc-wrong").count() == 1
        assert len(tab.locator(".nbc-quiz-receipt code").inner_text()) == 64
        # the panel shows the quiz done
        page.locator('.nbc-exercise[data-exercise="values-quiz"] .nbc-done').wait_for(
            timeout=30_000
        )
        page.screenshot(path=str(output_dir / "lab-quiz-result.png"))
    finally:
        page.context.close()


def test_timed_exam_closes_by_itself_and_extra_time_counts(
    campus_hub: CampusHub, browser: Any, output_dir: Path
):
    hub = campus_hub
    students = [a for a in hub.demo_accounts if a["role"] == "student"]
    bob, carol = students[1], students[2]
    qid = quiz_id(hub, bob["name"])
    teacher = hub.client(hub.demo("instructor")["name"])
    resp = teacher.patch(CAMPUS + f"quizzes/{qid}/settings", json={"time_limit_seconds": 25})
    assert resp.status_code == 200 and resp.json()["timed"], resp.text
    staff = hub.client(hub.demo("staff")["name"])
    resp = staff.put(
        CAMPUS + f"courses/python-intro/accommodations/{carol['name']}", json={"multiplier": 3}
    )
    assert resp.status_code == 200, resp.text

    bob_page = log_in(browser, hub, bob["name"], bob["password"])
    carol_page = log_in(browser, hub, carol["name"], carol["password"])
    try:
        tabs = {}
        for page in (bob_page, carol_page):
            tab = open_quiz(page)
            assert tab.locator(".nbc-quiz-question").count() == 0  # not before the start
            tab.locator(".nbc-quiz-begin").click()
            tab.locator(".nbc-quiz-timer").wait_for(timeout=30_000)
            option(tab, "type-of-int", "int").locator("input").check()
            tab.locator(".nbc-quiz-saved", has_text="Saved").wait_for(timeout=30_000)
            tabs[page] = tab
        bob_tab, carol_tab = tabs[bob_page], tabs[carol_page]
        bob_page.screenshot(path=str(output_dir / "lab-exam-timer.png"))
        left = carol_tab.locator(".nbc-quiz-timer-value").inner_text()
        assert int(left.split(":")[0]) >= 1, left  # 75 s: more than a minute for carol

        # Bob's time runs out: the tab shows the attempt closed with what he saved.
        bob_tab.locator(".nbc-quiz-result", has_text="Time was up").wait_for(timeout=60_000)
        assert bob_tab.locator(".nbc-quiz-hidden").is_visible()
        bob_page.screenshot(path=str(output_dir / "lab-exam-closed.png"))
        results = teacher.get(CAMPUS + f"quizzes/{qid}/results").json()["attempts"]
        mine = next(r for r in results if r["user"] == bob["name"])
        assert mine["auto_submitted"] and mine["answers"] == {"type-of-int": 0}
        assert mine["score"] == 1.0

        # Carol still answers and submits within her longer time.
        assert carol_tab.locator(".nbc-quiz-timer").is_visible()
        carol_tab.locator('[data-question="celsius"] input').fill("37")
        carol_tab.locator(".nbc-quiz-submit").click()
        carol_tab.locator(".nbc-quiz-result", has_text="submitted").wait_for(timeout=30_000)
        assert carol_tab.locator(".nbc-quiz-hidden").is_visible()
        results = teacher.get(CAMPUS + f"quizzes/{qid}/results").json()["attempts"]
        hers = next(r for r in results if r["user"] == carol["name"])
        assert not hers["auto_submitted"] and hers["score"] == 2.0
        receipt = carol_tab.locator(".nbc-quiz-receipt code").inner_text()
        assert receipt == hers["receipt"]
        carol_page.screenshot(path=str(output_dir / "lab-exam-submitted.png"))

        # Released: the score shows in the student's tab after a reload of it.
        resp = teacher.patch(CAMPUS + f"quizzes/{qid}/settings", json={"scores_visible": True})
        assert resp.status_code == 200, resp.text
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            view = hub.client(carol["name"]).get(CAMPUS + f"quizzes/{qid}").json()
            if view["attempts"][0].get("score") == 2.0:
                break
            time.sleep(0.3)
        assert view["attempts"][0]["score"] == 2.0
    finally:
        bob_page.context.close()
        carol_page.context.close()

    # The instructor's screen: both attempts, carol's extra time, scores released.
    account = hub.demo("instructor")
    page = log_in(browser, hub, account["name"], account["password"])
    try:
        page.keyboard.press("Control+Shift+C")
        page.keyboard.type("Quizzes and Exams")
        page.keyboard.press("Enter")
        screen = page.locator(".nbc-quiz-teachers")
        row = screen.locator(".nbc-quiz-results tr", has_text=carol["name"])
        row.wait_for(timeout=30_000)
        assert row.locator("td").nth(4).inner_text() == "3"
        closed = screen.locator(".nbc-quiz-results tr", has_text=bob["name"])
        assert "closed at the deadline" in closed.inner_text()
        assert screen.locator(".nbc-quiz-visibility", has_text="Hide scores").is_visible()
        page.screenshot(path=str(output_dir / "lab-exam-teacher.png"))
    finally:
        page.context.close()
