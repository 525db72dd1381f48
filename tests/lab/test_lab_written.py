"""A written assignment in Chromium, end to end through a real Hub: a student opens it from
the Campus panel in a Lab tab, a file of a type the course does not take is refused with the
grader's message, the student hands in text; the class's instructor grades it with points and
a comment in the grading view; the student sees the grade, the comment and the course total.
Screenshots go to test-output/."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness.browser import sign_in
from harness.classroom import open_class
from harness.hub import CampusHub
from test_lab_ui import log_in

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)]

CAMPUS = "services/campus/api/v1/"
COURSE = "essays"
NBCAMPUS = str(Path(sys.executable).parent / "nbcampus")
NAMES = {"teacher": "ess-teacher", "student": "ess-student"}
MANIFEST = {
    "slug": COURSE,
    "title": "Essays",
    "published": True,
    "sections": [
        {
            "slug": "writing",
            "title": "Writing",
            "lessons": [
                {
                    "slug": "01-why",
                    "title": "Why programs",
                    "exercises": [
                        {
                            "slug": "why",
                            "title": "Why write programs?",
                            "type": "assignment",
                            "points": 8,
                            "submit": {"max_bytes": 2000, "extensions": [".pdf", ".txt"]},
                        }
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def school(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The course imported, an instructor and a student with passwords, lesson 1 unlocked."""
    course = tmp_path_factory.mktemp("essays") / COURSE
    course.mkdir()
    (course / "course.yaml").write_text(yaml.safe_dump(MANIFEST))
    _, passwords = open_class(campus_hub, course, COURSE, "Essays A", NAMES)
    return passwords


def _open_assignment(page: Any) -> Any:
    page.click("#nbc-tab-lessons")
    course = page.locator(".nbc-course", has_text="Essays")
    course.locator('.nbc-exercise[data-exercise="why"] .nbc-exercise-open').click()
    tab = page.locator(".nbc-written-tab")
    tab.locator(".nbc-written-title").wait_for(timeout=30_000)
    return tab


def test_student_hands_in_teacher_grades_student_sees_grade(
    campus_hub: CampusHub, browser: Any, school: dict[str, str], output_dir: Path, tmp_path: Path
) -> None:
    student = log_in(browser, campus_hub, NAMES["student"], school["student"])
    try:
        tab = _open_assignment(student)
        assert "8 points" in tab.inner_text()
        tab.locator("text=Nothing handed in yet.").wait_for()
        # a file of a type the course does not take: the grader's refusal beside the form
        tab.locator('input[name="kind"][value="file"]').check()
        bad = tmp_path / "essay.exe"
        bad.write_bytes(b"MZ not an essay")
        tab.locator(".nbc-written-file").set_input_files(str(bad))
        tab.locator(".nbc-written-submit").click()
        error = tab.locator("#nbc-written-error")
        error.locator(".nbc-error", has_text="are not taken").wait_for(timeout=30_000)
        student.screenshot(path=str(output_dir / "lab-written-refused.png"))
        # the text, handed in
        tab.locator('input[name="kind"][value="text"]').check()
        tab.locator(".nbc-written-textarea").fill(
            "Programs let a computer repeat work exactly,\nand let people share how it is done."
        )
        tab.locator(".nbc-written-submit").click()
        tab.locator("text=Waiting for a grade").wait_for(timeout=30_000)
        assert "Hand in again" in tab.inner_text()
        student.screenshot(path=str(output_dir / "lab-written-submitted.png"))

        # the instructor grades it in the grading view
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
            teacher.locator("h2", has_text="Written assignments").wait_for(timeout=60_000)
            teacher.screenshot(path=str(output_dir / "grading-written-course.png"), full_page=True)
            teacher.click("text=01-why / why")
            teacher.click(f"text={NAMES['student']}")
            teacher.locator(".written-text", has_text="repeat work exactly").wait_for()
            teacher.fill('input[name="score"]', "11")
            teacher.click("button[type=submit]")
            # the browser's own check stops 11 > 8; a value it lets through, the server judges
            assert teacher.locator("input[name=score]:invalid").count() == 1
            teacher.fill('input[name="score"]', "7")
            teacher.fill('textarea[name="comment"]', "Clear and short. Give one example next time.")
            teacher.click("button[type=submit]")
            teacher.locator("text=the student sees the grade").wait_for(timeout=30_000)
            teacher.screenshot(path=str(output_dir / "grading-written-graded.png"), full_page=True)
            # the same grade through a rubric: its ticked items are the points
            teacher.click("summary:has-text('Grade with a rubric')")
            teacher.fill('textarea[name="rubric"]', "5 | Says why\n2 | Gives an example")
            teacher.click("button:has-text('Save rubric')")
            teacher.locator("fieldset.rubric").wait_for(timeout=30_000)
            teacher.check("label.rubric-item:has-text('Says why') input")
            teacher.check("label.rubric-item:has-text('Gives an example') input")
            teacher.click("button:has-text('Save grade')")
            teacher.locator("text=the student sees the grade").wait_for(timeout=30_000)
            teacher.screenshot(path=str(output_dir / "grading-written-rubric.png"), full_page=True)
        finally:
            teacher.context.close()

        # the student sees the grade and the comment, and the course total
        student.reload()
        student.wait_for_selector('.nbc-panel[data-loaded="true"]', timeout=60_000)
        tab = _open_assignment(student)
        grade = tab.locator(".nbc-written-grade")
        grade.locator("text=Grade: 7 of 8 points").wait_for(timeout=30_000)
        assert "Give one example next time." in grade.inner_text()
        score = student.locator(".nbc-course", has_text="Essays").locator(".nbc-course-score")
        score.wait_for(timeout=30_000)
        assert "87.5 / 100" in score.inner_text()  # the only weighted exercise: 7 of 8
        student.screenshot(path=str(output_dir / "lab-written-graded.png"))
    finally:
        student.context.close()
