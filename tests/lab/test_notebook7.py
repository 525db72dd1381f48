"""The campus extension in Notebook 7: the same prebuilt extension in the notebook page.

A demo student's lesson notebook, fetched as the panel would fetch it, opens in Notebook 7's
own page (not JupyterLab); the Submit button is in its toolbar, and submitting brings up the
Campus panel in Notebook 7's left sidebar with the score; its Credits tab shows each class's
remaining meeting credits as the campus counts them. Screenshots go to test-output/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from harness.browser import sign_in
from harness.hub import CampusHub
from nbgrader import __version__ as nbgrader_version

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True),
]

COURSE, LESSON = "python-intro", "01-values"


def fetch_lesson(hub: CampusHub, name: str) -> list[str]:
    """What the panel's Open does: the released files into <course>/<lesson>/ (contents API)."""
    client = hub.client(name)
    resp = client.get(
        f"user/{name}/nbcampus/grader/api/v1/courses/{COURSE}/assignments/{LESSON}/files"
    )
    assert resp.status_code == 200, resp.text
    files: dict[str, str] = resp.json()["files"]
    for folder in (COURSE, f"{COURSE}/{LESSON}"):
        resp = client.put(f"user/{name}/api/contents/{folder}", json={"type": "directory"})
        assert resp.status_code in (200, 201), resp.text
    for fname, data in files.items():
        resp = client.put(
            f"user/{name}/api/contents/{COURSE}/{LESSON}/{quote(fname)}",
            json={"type": "file", "format": "base64", "content": data},
        )
        assert resp.status_code in (200, 201), resp.text
    return sorted(f for f in files if f.endswith(".ipynb"))


def test_student_submits_from_a_notebook7_page(
    campus_hub: CampusHub, browser: Any, output_dir: Path
) -> None:
    hub = campus_hub
    student = next(a for a in hub.demo_accounts if a["name"] == "bob")
    name = student["name"]
    hub.start_server(name)
    notebook = fetch_lesson(hub, name)[0]

    page = sign_in(browser, hub, name, student["password"])
    try:
        page.wait_for_url("**/lab**", timeout=90_000)
        page.goto(f"{hub.url}user/{name}/notebooks/{COURSE}/{LESSON}/{quote(notebook)}")
        page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell", timeout=60_000)
        # Notebook 7's own page, not JupyterLab's shell.
        assert page.locator(".jp-LabShell").count() == 0
        assert page.locator("#main-panel, .jp-NotebookShell").count() >= 1

        submit = page.locator(".jp-NotebookPanel-toolbar .nbc-submit-button")
        submit.first.wait_for(state="visible", timeout=30_000)
        assert submit.first.inner_text().strip() == "Submit"
        page.screenshot(path=str(output_dir / "notebook7-lesson.png"))

        # Submitting opens the Campus panel in the left sidebar, where the score appears.
        submit.first.click()
        panel = page.locator('.nbc-panel[data-loaded="true"]')
        panel.wait_for(state="visible", timeout=60_000)
        row = panel.locator(f'.nbc-lesson[data-lesson="{LESSON}"]')
        score = row.locator(".nbc-result-score")
        score.wait_for(timeout=120_000)
        got, _, out_of = score.locator("strong").inner_text().partition(" / ")
        # The unsolved release loses points: a real grading, not a placeholder.
        assert float(got) < float(out_of), (got, out_of)
        assert row.locator(".nbc-tests .nbc-fail").count() >= 1
        page.screenshot(path=str(output_dir / "notebook7-submitted.png"))

        # Credits: each class's remaining meeting credits, as the campus counts them.
        campus = hub.client(name)
        expected = {}
        for course in campus.get("services/campus/api/v1/me/courses").json()["courses"]:
            for klass in course["classes"]:
                resp = campus.get(
                    f"services/campus/api/v1/enrollments/{klass['enrollment_id']}/credits"
                )
                assert resp.status_code == 200, resp.text
                expected[klass["name"]] = str(resp.json()["credits_remaining"])
        page.click("#nbc-tab-credits")
        cards = panel.locator(".nbc-credit")
        cards.first.wait_for(timeout=30_000)
        shown = {
            card.locator("h3").inner_text(): card.locator(".nbc-big").first.inner_text()
            for card in cards.all()
        }
        assert shown == expected and len(expected) >= 2, (shown, expected)
        page.screenshot(path=str(output_dir / "notebook7-credits.png"))
    finally:
        page.context.close()


def test_nbgrader_assignment_list_in_a_students_server_reaches_the_grader(
    campus_hub: CampusHub,
) -> None:
    """nbgrader's own Lab assignment list (its server extension) works without a shared
    exchange folder: the environment's nbgrader_config points it at the grader over HTTP."""
    hub = campus_hub
    name = "carol"
    hub.start_server(name)
    client = hub.client(name)
    courses = client.get(f"user/{name}/courses")
    assert courses.status_code == 200, courses.text
    body = courses.json()
    assert body["success"], body
    assert set(body["value"]) >= {COURSE, "c-fundamentals"}
    listed = client.get(f"user/{name}/assignments", params={"course_id": COURSE}).json()
    assert listed["success"], listed
    released = {a["assignment_id"]: a["status"] for a in listed["value"]}
    assert released.get(LESSON) == "released", released
    assert "02-control-flow" not in released  # locked for carol's class
    # Fetch through the extension: the release lands in carol's home, no solutions in it.
    fetched = client.post(
        f"user/{name}/assignments/fetch", data={"course_id": COURSE, "assignment_id": LESSON}
    ).json()
    assert fetched["success"], fetched
    after = {a["assignment_id"]: a for a in fetched["value"]}
    assert after[LESSON]["status"] == "fetched", after[LESSON]
    notebooks = [nb["path"] for nb in after[LESSON]["notebooks"]]
    assert notebooks and all(p.endswith(".ipynb") for p in notebooks)
    # nbgrader's version check and Validate, on the fetched notebook: served as well (the
    # student's server imports nbgrader on the first of these requests, not at its start)
    version = client.get(f"user/{name}/nbgrader_version", params={"version": nbgrader_version})
    assert version.json()["success"], version.text
    validated = client.post(f"user/{name}/assignments/validate", data={"path": notebooks[0]})
    assert validated.status_code == 200 and validated.json()["success"], validated.text
