"""A notebook lesson taken as a timed exam in JupyterLab, through a real Hub and Chromium.

The student's browser clock is two hours behind (a client that would gain time if the page
trusted it). Open on the exam lesson shows its tab; Start releases the notebook, whose toolbar
shows the time left by the server's count; the student answers and saves (Ctrl+S), and the
exam closes by itself at the deadline with what was saved, without any submit from the page.
Screenshots go to test-output/.
"""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from grader.notebooks import source_notebook, write
from harness.browser import open_lab
from harness.classroom import open_class
from harness.hub import CampusHub

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True),
]

API = "services/grader/api/v1/"
COURSE = "exam-lab"
NAMES = {"teacher": "nbx-teacher", "ann": "nbx-ann"}
EXAM = API + f"courses/{COURSE}/assignments/01-final/exam"
# Time enough to open the notebook, answer and save (start to save took ~3 s at load 10).
LIMIT_S = 30
# The page's Date runs two hours behind the real time (performance.now is untouched, as on a
# machine whose wall clock is simply wrong).
WRONG_CLOCK = """
(() => {
  const shift = -2 * 3600 * 1000;
  const Real = Date;
  class Wrong extends Real {
    constructor(...args) {
      if (args.length) { super(...args); } else { super(Real.now() + shift); }
    }
    static now() { return Real.now() + shift; }
  }
  window.Date = Wrong;
})();
"""


def seconds(text: str) -> int:
    """'1:05 left' -> 65."""
    found = re.search(r"(?:(\d+):)?(\d+):(\d\d)", text)
    assert found, text
    h, m, s = found.groups()
    return int(h or 0) * 3600 + int(m) * 60 + int(s)


@pytest.fixture(scope="module")
def exam_lab(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict:
    course = tmp_path_factory.mktemp("exam-lab")
    tests = [("t1", "assert double(2) == 4", 1.0), ("t2", "assert double(5) == 10", 1.0)]
    write(source_notebook("def double(x):\n    return 2 * x", tests),
          course / "lessons" / "01-final" / "final.ipynb")  # fmt: skip
    now = datetime.now(UTC)
    exam = {
        "opens": (now - timedelta(hours=1)).isoformat(),
        "closes": (now + timedelta(hours=3)).isoformat(),
        "time_limit": LIMIT_S / 60,
    }
    manifest = {
        "slug": COURSE, "title": "Exam in the Lab", "published": True,
        "sections": [{"slug": "all", "lessons": [{"slug": "01-final", "title": "Final exam",
            "exercises": [{"slug": "final", "title": "Final", "type": "coding", "exam": exam}]}]}],
    }  # fmt: skip
    (course / "course.yaml").write_text(yaml.safe_dump(manifest))
    _, passwords = open_class(campus_hub, course, COURSE, "Exam in the Lab", NAMES)
    # nbgrader generates the student version at the first release (slow on a busy machine):
    # a teacher's fetch does it before the student's clock runs
    release = API + f"courses/{COURSE}/assignments/01-final/files"
    assert campus_hub.client(NAMES["teacher"]).get(release, timeout=600).status_code == 200
    return {"passwords": passwords}


def test_the_exam_closes_by_itself_with_what_was_saved(
    campus_hub: CampusHub, exam_lab: dict, browser: Any, output_dir: Path
) -> None:
    hub, name = campus_hub, NAMES["ann"]
    page = open_lab(browser, hub, name, exam_lab["passwords"]["ann"], init_script=WRONG_CLOCK)
    try:
        assert page.evaluate("Date.now()") < time.time() * 1000 - 3600 * 1000  # the wrong clock
        page.click("#nbc-tab-lessons")
        page.locator('.nbc-lesson[data-lesson="01-final"] .nbc-open').click()
        tab = page.locator('.nbc-exam-view[data-state="open"]')
        tab.wait_for(timeout=60_000)
        page.screenshot(path=str(output_dir / "lab-notebook-exam-start.png"))
        tab.locator(".nbc-exam-begin").click()

        # The notebook opens with the time left in its toolbar, by the server's count.
        timer = page.locator(".jp-NotebookPanel .nbc-exam-toolbar")
        timer.wait_for(timeout=90_000)
        page.wait_for_function(
            "() => /\\d+:\\d\\d left/.test("
            "document.querySelector('.jp-NotebookPanel .nbc-exam-toolbar')?.textContent || '')",
            timeout=30_000,
        )
        shown = seconds(timer.inner_text())
        assert 0 < shown <= LIMIT_S, timer.inner_text()  # two hours behind gains nothing
        sitting = hub.client(name).get(EXAM).json()["sitting"]
        assert sitting["remaining_seconds"] <= LIMIT_S

        # Answer and save: the save goes to the grader (the Lab may have saved once on opening).
        opened_save = sitting["saved_at"]
        cell = page.locator(".jp-NotebookPanel .jp-CodeCell", has_text="YOUR CODE HERE")
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.type("def double(x): return 2 * x  # my answer")
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        for _ in range(60):
            saved = hub.client(name).get(EXAM).json()["sitting"]
            if saved["saved_at"] and saved["saved_at"] != opened_save:
                break
            time.sleep(1)
        assert saved["saved_files"] == ["final.ipynb"], saved
        page.screenshot(path=str(output_dir / "lab-notebook-exam-timer.png"))
        page.wait_for_function(  # the toolbar counts down
            "shown => { const m = /(\\d+):(\\d\\d) left/.exec(document.querySelector("
            "'.jp-NotebookPanel .nbc-exam-toolbar')?.textContent || '');"
            " return m && 0 < 60 * +m[1] + +m[2] && 60 * +m[1] + +m[2] < shown; }",
            arg=shown,
            timeout=10_000,
        )

        # Nobody submits: the exam closes by itself at the deadline with the saved notebook.
        timer.click()  # the exam's tab, counting down beside the last save
        page.locator(".nbc-exam-view .nbc-exam-timer").wait_for(timeout=30_000)
        assert "final.ipynb" in page.locator(".nbc-exam-saved").inner_text()
        page.screenshot(path=str(output_dir / "lab-notebook-exam-running.png"))
        result = page.locator(".nbc-exam-result", has_text="Time was up")
        result.wait_for(timeout=(LIMIT_S + 60) * 1000)
        assert page.locator(".nbc-exam-result .nbc-quiz-hidden").is_visible()
        page.screenshot(path=str(output_dir / "lab-notebook-exam-closed.png"))
        assert "Exam submitted" in timer.inner_text()
        view = hub.client(name).get(EXAM).json()
        closed = view["sitting"]
        assert view["state"] == "submitted" and closed["auto_submitted"], view
        assert closed["submitted_at"] == closed["deadline"]
        assert closed["receipt"] in result.inner_text()
        files = hub.client(name).get(API + f"submissions/{closed['submission_id']}/files").json()
        nb = json.loads(base64.b64decode(files["files"]["final.ipynb"]))
        assert any("# my answer" in "".join(c["source"]) for c in nb["cells"])
    finally:
        page.context.close()


def test_the_teacher_sees_the_sitting(
    campus_hub: CampusHub, exam_lab: dict, browser: Any, output_dir: Path
) -> None:
    hub = campus_hub
    refused = hub.client(NAMES["ann"]).get(API + f"courses/{COURSE}/exams")
    assert refused.status_code == 403 and refused.json()["code"]
    page = open_lab(
        browser, hub, NAMES["teacher"], exam_lab["passwords"]["teacher"], init_script=WRONG_CLOCK
    )
    try:
        page.keyboard.press("Control+Shift+C")
        page.keyboard.type("Quizzes and Exams")
        page.keyboard.press("Enter")
        row = page.locator('.nbc-exam-teacher[data-exam="01-final"] tr', has_text=NAMES["ann"])
        row.wait_for(timeout=60_000)
        assert "closed at the deadline with the saved work" in row.inner_text()
        receipt = hub.client(NAMES["ann"]).get(EXAM).json()["sitting"]["receipt"]
        assert receipt[:12] in row.inner_text()
        page.screenshot(path=str(output_dir / "lab-notebook-exam-teacher.png"))
    finally:
        page.context.close()
