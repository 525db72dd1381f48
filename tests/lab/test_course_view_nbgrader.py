"""The Course view on an nbgrader course folder without a course.yaml (issue 16, part 2: "the
same works from the Course view"), end to end: a real campus Hub, the instructor's server
spawned by it, headless Chromium.

The instructor copies nbgrader's example course (its source/ folder, unchanged) into their
home, opens it in the Course view, sees the manifest the importer makes for it as the form,
previews, dry-runs and publishes it; the grader then releases jupyter.png with problem1. The
error cases show the importer's own message: beside the folder when it finds no exercise, beside
the lesson's line when a lesson has no folder. Screenshots go to test-output/.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import pytest
from harness.browser import open_lab
from harness.hub import CampusHub
from harness.reference import PS1

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True),
]

C = "services/campus/api/v1/"


def copy_into_home(hub: CampusHub, name: str, folder: str, files: dict[str, bytes]) -> None:
    """Files into the instructor's home through their server's contents API (an upload, as
    from the Lab's file browser), byte for byte."""
    me = hub.client(name)
    base = f"user/{name}/api/contents/"
    made: set[str] = set()
    for rel, data in files.items():
        parts = f"{folder}/{rel}".split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in made:
                resp = me.put(base + d, json={"type": "directory"})
                assert resp.status_code in (200, 201), resp.text
                made.add(d)
        body = {"type": "file", "format": "base64", "content": base64.b64encode(data).decode()}
        resp = me.put(base + "/".join(parts), json=body)
        assert resp.status_code in (200, 201), resp.text


def ps1_source() -> dict[str, bytes]:
    source = PS1 / "source"
    return {
        "source/" + p.relative_to(source).as_posix(): p.read_bytes()
        for p in sorted(source.rglob("*"))
        if p.is_file()
    }


def open_course_view(page: Any, folder: str) -> Any:
    page.click("#nbc-tab-teach")
    page.locator(".nbc-open-courseview").click()
    view = page.locator(".nbc-cv")
    view.wait_for(timeout=20_000)
    view.locator(f'.nbc-cv-folder option[value="{folder}"]').wait_for(
        state="attached", timeout=20_000
    )
    view.locator(".nbc-cv-folder").select_option(folder)
    return view


def test_instructor_publishes_nbgraders_example_course_as_it_is(
    campus_hub: CampusHub, browser: Any, output_dir: Path
) -> None:
    hub = campus_hub
    teacher = hub.demo("instructor")
    name = teacher["name"]
    hub.start_server(name)
    folder = f"ps1-{uuid.uuid4().hex[:6]}"
    copy_into_home(hub, name, folder, ps1_source())
    page = open_lab(browser, hub, name, teacher["password"], viewport=(1500, 1000))
    try:
        view = open_course_view(page, folder)
        option = view.locator(f'.nbc-cv-folder option[value="{folder}"]')
        assert "nbgrader course (no course.yaml)" in option.inner_text()
        # the importer's manifest as the form: the course named after the folder, lesson ps1
        source = view.locator(".nbc-cv-source")
        source.filter(has_text="nbgrader's layout").wait_for(timeout=30_000)
        view.locator(".nbc-cv-count-ok").wait_for(timeout=30_000)
        assert view.locator(".nbc-cv-course-slug").input_value() == folder
        # its exercises as the importer reads them: one per notebook, with its points
        found = view.locator('.nbc-cv-read[data-lesson="ps1"] li')
        found.first.wait_for(timeout=30_000)
        assert found.evaluate_all("items => items.map(i => i.dataset.exercise)") == [
            "problem1",
            "problem2",
        ]
        assert all(" — coding, " in text for text in found.all_inner_texts())
        assert "- slug: ps1" in view.locator(".nbc-cv-yaml").inner_text()
        assert view.locator(".nbc-cv-save").inner_text() == "Write course.yaml into the folder"
        page.screenshot(path=str(output_dir / "course-view-nbgrader-form.png"))

        # the student version: nbgrader's generate output, jupyter.png released with it
        view.locator('.nbc-cv-preview-lesson[data-lesson="ps1"]').click()
        previews = view.locator(".nbc-cv-previews").or_(view.locator(".nbc-cv-nbgrader-error"))
        previews.first.wait_for(timeout=180_000)
        assert "jupyter.png" in view.locator(".nbc-cv-previews").inner_text()

        # dry run and publish from the folder as it is (the demo instructor: through review)
        dry = view.locator(".nbc-cv-dry-run")
        dry.scroll_into_view_if_needed()
        dry.click()
        row = view.locator('tr[data-change="new"][data-lesson="ps1"]')
        row.or_(view.locator(".nbc-cv-outcome.nbc-error")).first.wait_for(timeout=120_000)
        assert view.locator(".nbc-cv-outcome.nbc-error").count() == 0
        view.locator(".nbc-cv-do-publish").scroll_into_view_if_needed()
        view.locator(".nbc-cv-do-publish").click()
        done = view.locator(".nbc-cv-outcome")
        done.first.wait_for(timeout=120_000)
        assert "sent for review" in done.inner_text(), done.inner_text()
        page.screenshot(path=str(output_dir / "course-view-nbgrader-published.png"))
    finally:
        page.context.close()

    admin = hub.client(hub.demo("admin")["name"])
    course = admin.get(C + f"courses/{folder}").json()
    assert course["status"] == "in_review", course
    (only,) = [les for sec in course["sections"] for les in sec["lessons"]]
    assert only["slug"] == "ps1"
    assert [e["slug"] for e in only["exercises"]] == ["problem1", "problem2"]
    assert all(e["points"] > 0 for e in only["exercises"])
    # the grader's student version of ps1: jupyter.png with problem1, which shows it
    resp = admin.get(f"services/grader/api/v1/courses/{folder}/assignments/ps1/files")
    assert resp.status_code == 200, resp.text
    files = resp.json()["files"]
    assert sorted(files) == ["jupyter.png", "problem1.ipynb", "problem2.ipynb"]
    png = (PS1 / "source/ps1/jupyter.png").read_bytes()
    assert base64.b64decode(files["jupyter.png"]) == png
    assert "jupyter.png" in base64.b64decode(files["problem1.ipynb"]).decode()
    # nothing was written into the instructor's folder: it stays nbgrader's layout
    listed = hub.client(name).get(f"user/{name}/nbcampus-courses/course?path={folder}").json()
    assert listed["generated"] is True and listed["data"]["slug"] == folder


def test_importers_messages_beside_the_folder_and_the_line(
    campus_hub: CampusHub, browser: Any, output_dir: Path
) -> None:
    hub = campus_hub
    teacher = hub.demo("instructor")
    name = teacher["name"]
    hub.start_server(name)
    empty = f"noex-{uuid.uuid4().hex[:6]}"  # the image without its notebooks
    copy_into_home(
        hub, name, empty, {"source/ps1/jupyter.png": (PS1 / "source/ps1/jupyter.png").read_bytes()}
    )
    folder = f"ps1-{uuid.uuid4().hex[:6]}"
    copy_into_home(hub, name, folder, ps1_source())
    page = open_lab(browser, hub, name, teacher["password"], viewport=(1500, 1000))
    try:
        # no exercise found: the importer's message beside the folder, no form
        view = open_course_view(page, empty)
        error = view.locator(".nbc-cv-folder-error")
        error.wait_for(timeout=30_000)
        assert error.inner_text().startswith("source: no assignment found"), error.inner_text()
        assert "source/<assignment>/*.ipynb" in error.inner_text()
        assert view.locator(".nbc-cv-form").count() == 0
        page.screenshot(path=str(output_dir / "course-view-nbgrader-no-exercise.png"))

        # the generated manifest taken over, with a lesson renamed away from its folder: the
        # importer's message beside that lesson's line of the course.yaml written
        view.locator(".nbc-cv-folder").select_option(folder)
        view.locator(".nbc-cv-count-ok").wait_for(timeout=30_000)
        assert error.count() == 0
        slug = view.locator('.nbc-cv-lesson[data-lesson="ps1"] .nbc-cv-lesson-slug')
        slug.fill("ps2")
        view.locator(".nbc-cv-save").click()
        view.locator(".nbc-cv-source", has_text=f"{folder}/course.yaml").wait_for(timeout=30_000)
        bad = view.locator(".nbc-cv-yaml tr.nbc-cv-bad")
        bad.first.wait_for(timeout=30_000)
        assert bad.count() == 1
        assert "slug: ps2" in bad.first.locator(".nbc-cv-code").inner_text()
        message = bad.first.locator(".nbc-cv-linemsg").inner_text()
        assert "its folder is missing (looked for lessons/ps2 and source/ps2)" in message
        assert view.locator(".nbc-cv-save").inner_text() == "Save course.yaml"
        assert view.locator(".nbc-cv-dry-run").is_disabled()
        bad.first.scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / "course-view-nbgrader-lesson-missing.png"))
    finally:
        page.context.close()
    # course.yaml is now the instructor's, in their folder, with the lesson as they named it
    me = hub.client(name)
    written = me.get(f"user/{name}/api/contents/{folder}/course.yaml").json()["content"]
    assert "slug: ps2" in written and f"slug: {folder}" in written
