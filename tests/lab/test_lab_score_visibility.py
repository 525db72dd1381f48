"""Scores hidden until released, in Chromium through a real Hub: a student submits a notebook
whose scores the course hides; the result card says the score is hidden (no score, tests or
feedback link), so do the written assignment and the course score; the instructor releases
both from the grading view's Score visibility table; the student's card then shows the score.
Screenshots go to test-output/."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness.browser import sign_in
from harness.classroom import open_class
from harness.hub import CampusHub
from test_lab_ui import log_in

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)]

API = "services/grader/api/v1/"
COURSE = "shy-lab"
LESSON = "01-work"
REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "courses/python-intro/lessons/01-values/values.ipynb"
NAMES = {"teacher": "svl-teacher", "student": "svl-student"}
CARD_SCORE = f'.nbc-lesson[data-lesson="{LESSON}"] .nbc-result-score strong'
MANIFEST = {
    "slug": COURSE,
    "title": "Scores later",
    "published": True,
    "sections": [
        {
            "slug": "all",
            "title": "All",
            "lessons": [
                {
                    "slug": LESSON,
                    "title": "Values, graded later",
                    "exercises": [
                        {"slug": "values", "title": "Values", "type": "coding", "scores": "hidden"},
                        {
                            "slug": "essay",
                            "title": "Why variables?",
                            "type": "assignment",
                            "points": 10,
                            "scores": "hidden",
                            "submit": {"kinds": ["text"]},
                        },
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def school(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    course = tmp_path_factory.mktemp("shy-lab") / COURSE
    (course / "lessons" / LESSON).mkdir(parents=True)
    shutil.copy(VALUES, course / "lessons" / LESSON / "values.ipynb")
    (course / "course.yaml").write_text(yaml.safe_dump(MANIFEST))
    _, passwords = open_class(campus_hub, course, COURSE, "Scores later A", NAMES)
    return passwords


def test_the_card_says_hidden_until_the_instructor_releases(
    campus_hub: CampusHub, browser: Any, school: dict[str, str], output_dir: Path
) -> None:
    student = log_in(browser, campus_hub, NAMES["student"], school["student"])
    try:
        student.click("#nbc-tab-lessons")
        course = student.locator(".nbc-course", has_text="Scores later")
        lesson = course.locator(f'.nbc-lesson[data-lesson="{LESSON}"]')
        with student.expect_websocket(lambda ws: "/channels" in ws.url, timeout=90_000):
            lesson.locator(".nbc-open").click()
        student.locator(".jp-NotebookPanel .jp-CodeCell").first.wait_for(timeout=60_000)
        student.locator(".jp-NotebookPanel-toolbar .nbc-submit-button").first.click()
        score = lesson.locator(".nbc-result-score strong")
        student.wait_for_function(
            "sel => { const s = document.querySelector(sel); "
            "return s && s.textContent.trim() === 'hidden'; }",
            arg=CARD_SCORE,
            timeout=120_000,
        )
        card = lesson.locator(".nbc-result")
        assert "show once your instructor releases them" in card.inner_text()
        assert card.locator(".nbc-tests li").count() == 0  # per-test results tell the score
        assert card.locator("a.nbc-feedback-link").count() == 0
        assert "XP" not in card.inner_text()
        toast = student.locator(".jp-toast-message", has_text="01-work graded")
        toast.first.wait_for(timeout=10_000)
        assert "score hidden until released" in toast.first.inner_text()
        # the essay, handed in and graded by the instructor (through the API), stays hidden
        sub = campus_hub.client(NAMES["student"]).post(
            API + f"courses/{COURSE}/assignments/{LESSON}/written/essay",
            json={"text": "Names let us reuse a value."},
        )
        assert sub.status_code == 201, sub.text
        graded = campus_hub.client(NAMES["teacher"]).post(
            API + f"written-submissions/{sub.json()['id']}/grade",
            json={"score": 9, "comment": "Good; give an example."},
        )
        assert graded.status_code == 200, graded.text
        total = course.locator(".nbc-course-score")
        total.locator("text=hidden until released").wait_for(timeout=60_000)
        student.screenshot(path=str(output_dir / "lab-score-hidden-card.png"))
        course.locator('.nbc-exercise[data-exercise="essay"] .nbc-exercise-open').click()
        tab = student.locator(".nbc-written-tab")
        tab.locator("text=your score shows once your instructor releases it").wait_for(
            timeout=30_000
        )
        assert "Good; give an example." not in tab.inner_text()
        student.screenshot(path=str(output_dir / "lab-score-hidden-written.png"))

        # the instructor's control: the grading view's Score visibility table
        teacher = sign_in(
            browser,
            campus_hub,
            NAMES["teacher"],
            school["teacher"],
            viewport=(1200, 800),
            wait="load",
        )
        try:
            teacher.goto(campus_hub.url + f"services/grader/courses/{COURSE}/grading")
            table = teacher.locator("#score-visibility table")
            table.wait_for(timeout=60_000)
            rows = table.locator("tbody tr")
            assert rows.count() == 2
            assert all("hidden" in r.inner_text() for r in rows.all())
            teacher.locator("#score-visibility").screenshot(
                path=str(output_dir / "grading-score-visibility-hidden.png")
            )
            for name in ("values", "essay"):
                row = table.locator("tbody tr", has_text=f"{LESSON} / {name}")
                row.locator("button", has_text="Release scores").click()
                teacher.wait_for_load_state()
                table.locator("tbody tr", has_text=f"{LESSON} / {name}").locator(
                    "button", has_text="Hide again"
                ).wait_for(timeout=30_000)
            assert all("released" in r.inner_text() for r in rows.all())
            teacher.locator("#score-visibility").screenshot(
                path=str(output_dir / "grading-score-visibility-released.png")
            )
        finally:
            teacher.context.close()

        # the student's card shows the score now (the release's notification refreshes it)
        student.wait_for_function(
            "sel => { const s = document.querySelector(sel); "
            "return s && /\\d+ \\/ \\d+/.test(s.textContent); }",
            arg=CARD_SCORE,
            timeout=90_000,
        )
        assert lesson.locator(".nbc-tests li").count() > 0
        assert lesson.locator("a.nbc-feedback-link").count() == 1
        assert "hidden" not in score.inner_text()
        # the course score counts both now (the release's notifications reload it)
        total.locator("text=(2 of 2 graded)").wait_for(timeout=60_000)
        assert "hidden until released" not in total.inner_text()
        student.screenshot(path=str(output_dir / "lab-score-released-card.png"))
        # the written tab left open shows the released grade by itself (no reopening)
        still_open = student.locator(".nbc-written-tab .nbc-written-grade")
        still_open.locator("text=Grade: 9 of 10 points").wait_for(timeout=60_000)
        assert "Good; give an example." in still_open.inner_text()
        student.screenshot(path=str(output_dir / "lab-score-released-written-open.png"))
        # and after a reload, reopened
        student.reload()
        student.wait_for_selector('.nbc-panel[data-loaded="true"]', timeout=60_000)
        student.click("#nbc-tab-lessons")
        course.locator('.nbc-exercise[data-exercise="essay"] .nbc-exercise-open').click()
        grade = student.locator(".nbc-written-tab .nbc-written-grade")
        grade.locator("text=Grade: 9 of 10 points").wait_for(timeout=30_000)
        assert "Good; give an example." in grade.inner_text()
        student.screenshot(path=str(output_dir / "lab-score-released-written.png"))
    finally:
        student.context.close()
