"""Authoring in the instructor's own JupyterLab, end to end (issue 16, part 1): a real campus
Hub, servers spawned by it, headless Chromium.

nbgrader's Create Assignment panel is in the instructor's Lab and not in a student's. The
instructor opens the Course view from the Teach tab, starts a course from the template, marks
a graded answer and adds a test cell with nbgrader's panel, sees a validation error beside its
line, previews the student version (nbgrader's generate output), runs the dry run and
publishes; the campus then has the course (in review) with the notebook's points, and the
grader has it as an nbgrader assignment. Screenshots go to test-output/.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from harness.browser import open_lab
from harness.hub import CampusHub

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)]

C = "services/campus/api/v1/"
PANEL_TAB = 'li[data-id="nbgrader-create_assignemnt"]'  # nbgrader's own id (sic)


@pytest.mark.browser
def test_create_assignment_panel_is_for_instructors_only(
    campus_hub: CampusHub, browser: Any
) -> None:
    student = campus_hub.demo("student")
    page = open_lab(
        browser, campus_hub, student["name"], student["password"], viewport=(1500, 1000)
    )
    try:
        page.wait_for_selector(".jp-Launcher", timeout=30_000)
        assert page.locator(PANEL_TAB).count() == 0
        assert page.evaluate("document.body.innerHTML").count("Course view") == 0
        # nor does the student's server part author anything at the campus
        resp = campus_hub.client(student["name"]).post(
            f"user/{student['name']}/nbcampus-courses/new", json={"title": "Mine"}
        )
        assert resp.status_code == 201  # files in their own home: harmless
        path = resp.json()["path"]
        resp = campus_hub.client(student["name"]).post(
            f"user/{student['name']}/nbcampus-courses/dry-run?path={path}", json={}
        )
        assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN", resp.text
    finally:
        page.context.close()


@pytest.mark.browser
def test_instructor_authors_previews_and_publishes(
    campus_hub: CampusHub, browser: Any, output_dir: Path
) -> None:
    hub = campus_hub
    teacher = hub.demo("instructor")
    page = open_lab(browser, hub, teacher["name"], teacher["password"], viewport=(1500, 1000))
    try:
        _journey(hub, page, teacher["name"], output_dir)
    finally:
        page.context.close()


def _journey(hub: CampusHub, page: Any, name: str, out: Path) -> None:
    # nbgrader's Create Assignment panel is there for an instructor
    page.wait_for_selector(PANEL_TAB, timeout=30_000)
    # 1. the Course view from the Teach tab; a new course from the template
    page.click("#nbc-tab-teach")
    page.locator(".nbc-open-courseview").click()
    view = page.locator(".nbc-cv")
    view.wait_for(timeout=20_000)
    title = f"Journey {uuid.uuid4().hex[:6]}"
    slug = title.lower().replace(" ", "-")
    view.locator(".nbc-cv-new-title").fill(title)
    view.locator(".nbc-cv-new-course").click()
    view.locator(".nbc-cv-ok", has_text="from the template").wait_for(timeout=20_000)
    assert view.locator(".nbc-cv-course-slug").input_value() == slug
    view.locator(".nbc-cv-count-ok").wait_for(timeout=20_000)
    lesson = view.locator('.nbc-cv-lesson[data-lesson="01-first-steps"]')
    assert lesson.locator('tr[data-exercise="hello"] .nbc-cv-ex-type').input_value() == "coding"
    page.screenshot(path=str(out / "course-view-form.png"))

    # 2. a graded answer and a test cell, with nbgrader's panel, in the lesson's notebook
    page.goto(hub.url + f"user/{name}/lab/tree/{slug}/lessons/01-first-steps/hello.ipynb")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.click(PANEL_TAB)
    types = page.locator(".nbgrader-CellType select")
    types.nth(1).wait_for(timeout=20_000)
    types.nth(1).select_option("solution")
    # a new code cell below the answer: its tests
    page.locator(".jp-Notebook .jp-CodeCell").nth(0).click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type('assert greet("Ada") == "Hello, Ada!"')
    page.keyboard.press("Escape")
    types.nth(2).wait_for(timeout=20_000)
    types.nth(2).select_option("tests")
    points = page.locator(".nbgrader-CellPoints input").last
    points.fill("2")
    points.press("Tab")
    page.screenshot(path=str(out / "course-view-nbgrader-panel.png"))
    page.keyboard.press("Control+s")
    notebook = f"user/{name}/api/contents/{slug}/lessons/01-first-steps/hello.ipynb"
    me = hub.client(name)

    def saved_tests() -> list[dict]:
        cells = me.get(notebook).json()["content"]["cells"]
        return [
            c["metadata"]["nbgrader"]
            for c in cells
            if c["metadata"].get("nbgrader", {}).get("grade") and c["source"].startswith("assert")
        ]

    deadline = time.monotonic() + 30
    while not saved_tests() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [t["points"] for t in saved_tests()] == [2]

    # 3. back in the Course view (from the palette): an error beside its line, then fixed
    page.keyboard.press("Control+Shift+c")
    page.keyboard.type("Course view")
    page.locator(".lm-CommandPalette-item", has_text="Course view").first.click()
    view.wait_for(timeout=20_000)
    view.locator(".nbc-cv-folder").select_option(slug)
    view.locator(".nbc-cv-count-ok").wait_for(timeout=20_000)
    xp = view.locator('tr[data-exercise="welcome"] .nbc-cv-ex-xp')
    xp.fill("-5")
    view.locator(".nbc-cv-save").click()
    bad = view.locator(".nbc-cv-yaml tr.nbc-cv-bad")
    bad.first.wait_for(timeout=20_000)
    assert bad.count() == 1
    assert "xp: -5" in bad.first.locator(".nbc-cv-code").inner_text()
    assert "xp must be" in bad.first.locator(".nbc-cv-linemsg").inner_text()
    # the form wrote course.yaml back with its comments kept
    assert "# A new course." in view.locator(".nbc-cv-yaml").inner_text()
    bad.first.scroll_into_view_if_needed()
    page.screenshot(path=str(out / "course-view-validation.png"))
    xp.fill("5")
    view.locator(".nbc-cv-save").click()
    view.locator(".nbc-cv-count-ok").wait_for(timeout=20_000)

    # 4. the student version: nbgrader's generate output
    view.locator('.nbc-cv-preview-lesson[data-lesson="01-first-steps"]').click()
    frame = view.locator(".nbc-cv-frame").first
    frame.wait_for(timeout=120_000)
    body = page.frame_locator(".nbc-cv-frame").first.locator("body")
    body.wait_for(timeout=20_000)
    text = body.inner_text()
    assert "YOUR CODE HERE" in text and 'return f"Hello' not in text, text[:500]
    assert "welcome.md" in view.locator(".nbc-cv-previews").inner_text()
    frame.scroll_into_view_if_needed()
    page.screenshot(path=str(out / "course-view-preview.png"))

    # 5. the dry run, then Publish (through review: the demo instructor is no admin)
    dry = view.locator(".nbc-cv-dry-run")
    # the preview's frame moves the page as it lays out: scroll first, then click
    dry.scroll_into_view_if_needed()
    dry.click()
    row = view.locator('tr[data-change="new"][data-lesson="01-first-steps"]')
    try:
        row.or_(view.locator(".nbc-error")).first.wait_for(timeout=120_000)
    except Exception:
        page.screenshot(path=str(out / "course-view-dry-run-failed.png"))
        raise
    assert view.locator(".nbc-error").count() == 0, view.locator(".nbc-error").inner_text()
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(out / "course-view-dry-run.png"))
    view.locator(".nbc-cv-do-publish").scroll_into_view_if_needed()
    view.locator(".nbc-cv-do-publish").click()
    view.locator(".nbc-cv-ok", has_text="sent for review").wait_for(timeout=60_000)
    page.screenshot(path=str(out / "course-view-published.png"))
    # published as the dry run said: a new dry run finds nothing left to change
    dry.scroll_into_view_if_needed()
    dry.click()
    plan = view.locator(".nbc-cv-plan").or_(view.locator(".nbc-cv-outcome.nbc-error")).first
    plan.wait_for(timeout=60_000)
    assert "would change nothing" in plan.inner_text(), plan.inner_text()
    # the exercise's notebook opens in the Lab from its lesson row (the Course view's Open)
    tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert not any("hello.ipynb" in t for t in tabs.all_inner_texts())
    opener = lesson.locator('tr[data-exercise="hello"] .nbc-cv-open-notebook')
    opener.scroll_into_view_if_needed()
    opener.click()
    try:
        tabs.filter(has_text="hello.ipynb").wait_for(timeout=30_000)
    except Exception:
        page.screenshot(path=str(out / "course-view-open-failed.png"))
        raise
    page.locator(".jp-NotebookPanel:visible .jp-Cell:visible").first.wait_for(timeout=60_000)
    page.screenshot(path=str(out / "course-view-open-notebook.png"))

    admin = hub.client(hub.demo("admin")["name"])
    course = admin.get(C + f"courses/{slug}").json()
    assert course["status"] == "in_review"
    exercises = {e["slug"]: e for e in course["sections"][0]["lessons"][0]["exercises"]}
    assert exercises["hello"]["points"] == 2.0 and exercises["welcome"]["xp"] == 5
    grader = admin.get(f"services/grader/api/v1/courses/{slug}/assignments")
    assert grader.status_code == 200 and "01-first-steps" in grader.text, grader.text


def test_preview_shows_nbgraders_own_message(campus_hub: CampusHub) -> None:
    """A notebook nbgrader cannot generate: the preview answers with nbgrader's message."""
    name = campus_hub.demo("instructor")["name"]
    campus_hub.start_server(name)
    me = campus_hub.client(name)
    base = f"user/{name}/nbcampus-courses/"
    made = me.post(base + "new", json={"title": f"Broken {uuid.uuid4().hex[:6]}"})
    assert made.status_code == 201, made.text
    path = made.json()["path"]
    nb_path = f"user/{name}/api/contents/{path}/lessons/01-first-steps/hello.ipynb"
    model = me.get(nb_path).json()
    # solution delimiters in a cell that is not marked as a solution
    model["content"]["cells"][1]["source"] = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    resp = me.put(nb_path, json={"type": "notebook", "format": "json", **model})
    assert resp.status_code == 200, resp.text
    resp = me.post(base + f"preview?path={path}", json={"lesson": "01-first-steps"})
    assert resp.status_code == 400 and resp.json()["code"] == "NBGRADER_ERROR", resp.text
    assert "Solution region detected in a non-solution cell" in resp.json()["message"]
    # paths outside the home and unknown lessons are refused as JSON
    assert me.get(base + "course?path=../..").json()["code"] == "VALIDATION_ERROR"
    resp = me.post(base + f"preview?path={path}", json={"lesson": "../x"})
    assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND"
