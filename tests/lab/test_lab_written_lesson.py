"""The Campus panel on a lesson whose only exercise is written, in Chromium through a real
Hub: no Open or Submit (there is no notebook to fetch or hand in), but the assignment's state
and a button that opens its tab; the state follows a hand-in and the instructor's grade, and
the graded lesson is complete at 3 of 4 points. Screenshots: test-output/lab-written-lesson-*."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from harness.classroom import open_class
from harness.hub import CampusHub
from test_lab_ui import log_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True),
]

CAMPUS = "services/campus/api/v1/"
GRADER = "services/grader/api/v1/"
COURSE = "reflections"
NAMES = {"teacher": "refl-teacher", "student": "refl-student"}
MANIFEST = {
    "slug": COURSE,
    "title": "Reflections",
    "published": True,
    "sections": [
        {
            "slug": "writing",
            "title": "Writing",
            "lessons": [
                {
                    "slug": "01-journal",
                    "title": "A learning journal",
                    "exercises": [
                        {
                            "slug": "journal",
                            "title": "Your first journal entry",
                            "type": "assignment",
                            "points": 4,
                            "submit": {"kinds": ["text"]},
                        }
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def school(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    course = tmp_path_factory.mktemp("reflections") / COURSE
    course.mkdir()
    (course / "course.yaml").write_text(yaml.safe_dump(MANIFEST))
    _, passwords = open_class(campus_hub, course, COURSE, "Reflections A", NAMES)
    return passwords


def _row(page: Any) -> Any:
    course = page.locator(".nbc-course", has_text="Reflections")
    return course.locator('.nbc-lesson[data-lesson="01-journal"]')


def test_a_written_only_lesson_shows_its_assignment_not_open_and_submit(
    campus_hub: CampusHub, browser: Any, school: dict[str, str], output_dir: Path
) -> None:
    # The campus tells the Lab the lesson has no notebooks.
    mine = campus_hub.client(NAMES["student"]).get(CAMPUS + "me/courses").json()
    (course,) = [c for c in mine["courses"] if c["slug"] == COURSE]
    assert [(x["slug"], x["notebooks"]) for x in course["lessons"]] == [("01-journal", 0)]

    page = log_in(browser, campus_hub, NAMES["student"], school["student"])
    try:
        page.click("#nbc-tab-lessons")
        row = _row(page)
        status = row.locator(".nbc-written-lesson-status")
        status.filter(has_text="Not handed in yet").wait_for(timeout=30_000)
        assert row.locator(".nbc-open, .nbc-submit").count() == 0
        assert row.locator(".nbc-written-open").inner_text() == "Open the assignment"
        page.locator(".nbc-panel").screenshot(path=str(output_dir / "lab-written-lesson-open.png"))

        # The button opens the assignment's tab; handing in there updates the panel.
        row.locator(".nbc-written-open").click()
        tab = page.locator(".nbc-written-tab")
        tab.locator(".nbc-written-title").wait_for(timeout=30_000)
        tab.locator(".nbc-written-textarea").fill("Today I learned what a loop is for.")
        tab.locator(".nbc-written-submit").click()
        tab.locator("text=Waiting for a grade").wait_for(timeout=30_000)
        status.filter(has_text="waiting for a grade").wait_for(timeout=30_000)
        assert row.locator(".nbc-written-open").inner_text() == "View or hand in again"
        page.screenshot(path=str(output_dir / "lab-written-lesson-handed-in.png"))

        # The instructor grades 3 of 4 (through the grader's API, as the grading view does).
        path = GRADER + f"courses/{COURSE}/assignments/01-journal/written/journal"
        subs = campus_hub.client(NAMES["student"]).get(path).json()["submissions"]
        teacher = campus_hub.client(NAMES["teacher"])
        resp = teacher.post(
            GRADER + f"written-submissions/{subs[-1]['id']}/grade",
            json={"score": 3, "comment": "A good start."},
        )
        assert resp.status_code == 200, resp.text

        page.reload()
        page.wait_for_selector('.nbc-panel[data-loaded="true"]', timeout=60_000)
        page.click("#nbc-tab-lessons")
        row = _row(page)
        row.locator(".nbc-written-lesson-status").filter(has_text="Graded: 3 of 4 points").wait_for(
            timeout=30_000
        )
        assert row.locator(".nbc-written-open").inner_text() == "View the assignment"
        assert row.locator(".nbc-open, .nbc-submit").count() == 0
        # Graded is complete (not "in progress") although 3 of 4.
        chip = row.locator(".nbc-chip").first.inner_text()
        assert chip in ("completed", "graded"), chip
        page.locator(".nbc-panel").screenshot(
            path=str(output_dir / "lab-written-lesson-graded.png")
        )
    finally:
        page.context.close()
