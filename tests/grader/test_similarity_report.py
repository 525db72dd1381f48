"""The similarity report through a real Hub: nbgrader's example course imported with one
command, three students submit (two of nbgrader's reference submissions and a disguised copy
of one), the course's instructor finds the one copied pair in the JSON API and the pages;
students and other instructors are refused; Chromium shows the report and a pair."""

from __future__ import annotations

import base64
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from harness.browser import log_in
from harness.classroom import open_class
from harness.hub import CampusHub

from .test_similarity import PS1, disguised, submitted

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)]
CAMPUS = "services/campus/api/v1/"
API = "services/grader/api/v1/"
PAGES = "services/grader/courses/"
COURSE = "ps1-similar"
NBCAMPUS = str(Path(sys.executable).parent / "nbcampus")
NAMES = {"teacher": "sim-teacher", "ben": "sim-ben", "alyssa": "sim-alyssa", "eve": "sim-eve"}


@pytest.fixture(scope="module")
def submitted_class(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """ps1 imported, a class with an instructor and three students, lesson unlocked, and
    each student's submission: ben hands in Bitdiddle's answers, alyssa Hacker's, and eve
    Bitdiddle's with renamed variables and other spacing."""
    course = tmp_path_factory.mktemp("ps1") / COURSE
    shutil.copytree(PS1 / "source", course / "source")
    cid, passwords = open_class(campus_hub, course / "source", COURSE, "PS1 similarity", NAMES)
    work = {
        "ben": submitted("bitdiddle"),
        "alyssa": submitted("hacker"),
        "eve": disguised(submitted("bitdiddle")),
    }
    uids = {}
    for key, files in work.items():
        student = campus_hub.client(NAMES[key])
        released = student.get(API + f"courses/{COURSE}/assignments/ps1/files")
        assert released.status_code == 200, released.text
        body = {
            "files": {
                n: base64.b64encode(d).decode() for n, d in files.items() if n.endswith(".ipynb")
            }
        }
        resp = student.post(API + f"courses/{COURSE}/assignments/ps1/submissions", json=body)
        assert resp.status_code == 202, resp.text
        uids[key] = resp.json()["id"]
    return {"id": cid, "passwords": passwords, "uids": uids}


def test_the_copied_pair_and_no_other(campus_hub: CampusHub, submitted_class: dict) -> None:
    teacher = campus_hub.client(NAMES["teacher"])
    url = API + f"courses/{COURSE}/assignments/ps1/similarity"
    resp = teacher.get(url)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["students"] == 3 and report["threshold"] == 0.7
    (pair,) = report["pairs"]
    assert (pair["a"], pair["b"]) == (NAMES["ben"], NAMES["eve"]) and pair["score"] > 0.9
    assert {c["cell"] for c in pair["cells"]} >= {"squares", "sum_of_squares"}
    # every pair at threshold 0: Hacker's answers are like neither of the others
    every = teacher.get(url + "?threshold=0").json()["pairs"]
    pairs = {(p["a"], p["b"]): p["score"] for p in every}
    assert len(pairs) == 3
    assert pairs[(NAMES["alyssa"], NAMES["ben"])] < 0.3
    assert pairs[(NAMES["alyssa"], NAMES["eve"])] < 0.3
    for bad in ("2", "x", "nan", "-0.5"):
        resp = teacher.get(url + f"?threshold={bad}")
        assert resp.status_code == 400 and resp.json()["code"] == "VALIDATION_ERROR"
    # the pages: the report links the pair, the pair page marks the shared lines
    page = teacher.get(PAGES + f"{COURSE}/similarity/ps1")
    assert page.status_code == 200, page.text
    assert f"{NAMES['ben']} · {NAMES['eve']}" in page.text
    assert NAMES["alyssa"] not in page.text
    bad_page = teacher.get(PAGES + f"{COURSE}/similarity/ps1?threshold=9")
    assert bad_page.status_code == 200 and "threshold must be a number" in bad_page.text
    side = teacher.get(PAGES + f"{COURSE}/similarity/ps1/{NAMES['ben']}/{NAMES['eve']}")
    assert side.status_code == 200, side.text
    assert 'class="hit"' in side.text and 'class="tpl"' in side.text
    assert "result.append(k**2)" in side.text and "s.append(i**2)" in side.text
    listing = teacher.get(PAGES + f"{COURSE}/grading/ps1")
    assert "/similarity/ps1" in listing.text


def test_students_and_other_teachers_are_refused(
    campus_hub: CampusHub, submitted_class: dict, make_user
) -> None:
    other = make_user("instructor")["client"]  # teaches no class of this course
    for client in (campus_hub.client(NAMES["ben"]), other):
        resp = client.get(API + f"courses/{COURSE}/assignments/ps1/similarity")
        assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"
        for path in ("ps1", f"ps1/{NAMES['ben']}/{NAMES['eve']}"):
            page = client.get(PAGES + f"{COURSE}/similarity/{path}")
            assert page.status_code == 403, page.text


@pytest.mark.browser
def test_report_and_pair_in_the_browser(
    campus_hub: CampusHub, submitted_class: dict, browser, output_dir: Path
) -> None:
    """The instructor logs in at the Hub, opens the report from the submissions list and
    the pair from the report."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        log_in(
            page, campus_hub, NAMES["teacher"], submitted_class["passwords"]["teacher"], wait="load"
        )
        page.goto(campus_hub.url + PAGES + f"{COURSE}/grading/ps1")
        page.get_by_role("link", name="Similarity report").click()
        page.get_by_role("heading", name="ps1: similar answers").wait_for()
        page.screenshot(path=str(output_dir / "grader-similarity-report.png"), full_page=True)
        page.get_by_role("link", name=f"Compare {NAMES['ben']} and {NAMES['eve']}").click()
        page.get_by_role("heading", name=re.compile(r"alike")).wait_for()
        assert page.locator("pre .hit").count() > 0
        page.screenshot(path=str(output_dir / "grader-similarity-pair.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.browser
def test_grading_view_moves_between_students_by_keyboard(
    campus_hub: CampusHub, submitted_class: dict, browser, output_dir: Path
) -> None:
    """The same three graded submissions in the grading view: j/k and Alt+arrows step
    through the students in the list's order, n goes to the next cell needing a grade."""
    for key, uid in submitted_class["uids"].items():
        student = campus_hub.client(NAMES[key])
        deadline = time.monotonic() + 240
        while (status := student.get(API + f"submissions/{uid}").json()["status"]) != "graded":
            assert status != "failed" and time.monotonic() < deadline, status
            time.sleep(0.5)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    base = campus_hub.url + PAGES + f"{COURSE}/grading/ps1/"
    try:
        log_in(
            page, campus_hub, NAMES["teacher"], submitted_class["passwords"]["teacher"], wait="load"
        )
        page.goto(base + NAMES["alyssa"])
        page.get_by_role("heading", name=f"{NAMES['alyssa']}: ps1").wait_for()
        assert page.locator("a[rel=prev]").count() == 0  # the first student
        page.keyboard.press("j")
        page.get_by_role("heading", name=f"{NAMES['ben']}: ps1").wait_for()
        page.keyboard.press("Alt+ArrowRight")
        page.get_by_role("heading", name=f"{NAMES['eve']}: ps1").wait_for()
        page.keyboard.press("k")
        page.get_by_role("heading", name=f"{NAMES['ben']}: ps1").wait_for()
        # cells rendered as nbconvert does: Markdown as HTML, code highlighted
        assert page.locator(".rendered-markdown strong").count() > 0
        assert page.locator(".rendered-code .highlight .k").count() > 0
        page.screenshot(path=str(output_dir / "grader-grading-steps.png"))
        needing = page.locator("form.grade:has([data-needs])")
        assert needing.count() >= 2
        first, second = (needing.nth(i).get_attribute("data-cell") for i in range(2))
        page.keyboard.press("n")
        focused = "document.activeElement.closest('form.grade').dataset.cell"
        assert page.evaluate(focused) == first
        page.keyboard.press("j")  # typed into the field: no page change
        assert page.url.endswith(NAMES["ben"])
        page.keyboard.press("Alt+n")
        assert page.evaluate(focused) == second
        page.screenshot(path=str(output_dir / "grader-grading-keyboard.png"))
        page.keyboard.press("Alt+ArrowLeft")
        page.get_by_role("heading", name=f"{NAMES['alyssa']}: ps1").wait_for()
    finally:
        page.close()
