"""Manual grading view and feedback through a real Hub: an instructor of the course grades a
manually graded answer, the student reads feedback that never shows the hidden tests."""

from __future__ import annotations

import base64
import json
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests
from harness.browser import log_in
from harness.grading import wait_graded
from harness.hub import CampusHub

from nbcampus.grader.courses import register_course
from nbcampus.hub.campus.manifest import load_manifest
from nbcampus.settings import Settings

# one Hub for the module, on SQLite (the gradebook is nbgrader's SQLite file either way)
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)]
API = "services/grader/api/v1/"
CAMPUS = "services/campus/api/v1/"
PAGES = "services/grader/courses/"
COURSE = "python-intro"
LESSON = "01-values"
REPO = Path(__file__).resolve().parents[2]
HIDDEN_MARK = "HIDDEN-CHECK-7f3a"  # in the hidden test's code only
HIDDEN_ARG = "Zebulon"
HIDDEN_REGION = (
    "### BEGIN HIDDEN TESTS\n"
    f"assert greeting({HIDDEN_ARG!r}) == 'Hello, {HIDDEN_ARG}!', {HIDDEN_MARK!r}\n"
    "### END HIDDEN TESTS"
)
EXPLAIN = "explain"  # a manually graded written answer, 2 points
ANSWER_TEXT = "Fahrenheit is Celsius times 9/5 plus 32. <script>alert('x')</script>"
# Passes the visible greeting tests, fails the hidden one.
GREETING = "def greeting(name):\n    return 'Hello, Ada!' if name == 'Ada' else 'Hello, !'"
C2F = "def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32"


def lesson_with_hidden_test_and_written_answer(dest: Path) -> Path:
    """The demo course, its first lesson given a hidden test and a manually graded answer."""
    course = dest / COURSE
    shutil.copytree(REPO / "courses" / COURSE, course)
    path = course / "lessons" / LESSON / "values.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_greeting":
            cell.source += "\n" + HIDDEN_REGION
    meta = {
        "grade": True,
        "solution": True,
        "locked": False,
        "grade_id": EXPLAIN,
        "points": 2,
        "schema_version": 3,
        "task": False,
    }
    nb.cells.append(
        nbformat.v4.new_markdown_cell(
            "Explain the formula.\n\n### BEGIN SOLUTION\nMultiply, then add.\n### END SOLUTION",
            metadata={"nbgrader": meta},
        )
    )
    nbformat.write(nb, path)
    return course


@pytest.fixture(scope="module")
def graded(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo student's graded submission of the changed lesson."""
    course = lesson_with_hidden_test_and_written_answer(tmp_path_factory.mktemp("course"))
    # The grader's side of `nbcampus course import` (the campus needs no change): the new
    # sources replace the lesson's, and the grader generates it again at the next fetch.
    # A first fetch waits for the grader's start-up generation of the lesson to finish.
    name = campus_hub.demo("student")["name"]
    student = campus_hub.client(name)
    assert student.get(API + f"courses/{COURSE}/assignments/{LESSON}/files").status_code == 200
    settings = Settings.from_env(campus_hub.env)
    assert LESSON in register_course(load_manifest(course), settings)
    files = student.get(API + f"courses/{COURSE}/assignments/{LESSON}/files").json()["files"]
    released = nbformat.reads(base64.b64decode(files["values.ipynb"]).decode(), as_version=4)
    assert HIDDEN_MARK not in json.dumps(released)  # the release never carried it either
    answers = {"c2f": C2F, "greeting": GREETING, EXPLAIN: ANSWER_TEXT}
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    body = {
        "files": {"values.ipynb": base64.b64encode(nbformat.writes(released).encode()).decode()}
    }
    resp = student.post(API + f"courses/{COURSE}/assignments/{LESSON}/submissions", json=body)
    assert resp.status_code == 202, resp.text
    uid = resp.json()["id"]
    sub = wait_graded(student, uid, timeout=60, poll=0.2)
    assert sub["status"] == "graded", sub
    return {"student": name, "uid": uid, "sub": sub, "body": body}


def test_hidden_test_failed_and_answer_waits_for_a_person(
    campus_hub: CampusHub, graded: dict[str, Any]
) -> None:
    sub = graded["sub"]
    tests = {t["name"]: t for t in sub["result"]["notebooks"][0]["tests"]}
    assert tests["test_greeting"]["hidden"] and tests["test_greeting"]["passed"] is False
    assert "message" not in tests["test_greeting"]  # the hidden assert's message stays hidden
    assert tests[EXPLAIN]["needs_manual_grade"] and sub["result"]["needs_manual_grade"]


def test_instructor_grades_an_answer_in_the_grading_view(
    campus_hub: CampusHub, graded: dict[str, Any]
) -> None:
    teacher = campus_hub.client(campus_hub.demo("instructor")["name"])
    student = graded["student"]
    course_page = teacher.get(PAGES + f"{COURSE}/grading")
    assert course_page.status_code == 200, course_page.text
    assert course_page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in course_page.headers["Content-Security-Policy"]
    assert f"/grading/{LESSON}" in course_page.text
    listing = teacher.get(PAGES + f"{COURSE}/grading/{LESSON}")
    assert listing.status_code == 200 and student in listing.text
    assert "needs grading" in listing.text
    page = teacher.get(PAGES + f"{COURSE}/grading/{LESSON}/{student}")
    assert page.status_code == 200, page.text
    # the graded notebook with a score field per graded cell and the answer, escaped
    assert f'data-cell="{EXPLAIN}"' in page.text and 'name="manual_score"' in page.text
    assert "&lt;script&gt;alert" in page.text and "<script>alert" not in page.text
    assert "AssertionError" in page.text  # the outputs of the executed cells

    before = teacher.get(API + f"courses/{COURSE}/assignments/{LESSON}/grades/{student}").json()
    cell = f"{API}courses/{COURSE}/assignments/{LESSON}/grades/{student}/values/{EXPLAIN}"
    resp = teacher.put(cell, json={"manual_score": 1.5})
    assert resp.status_code == 200, resp.text
    assert resp.json()["total"] == before["score"] + 1.5
    comment = cell.replace("/grades/", "/comments/")
    resp = teacher.put(comment, json={"comment": "Good start; say why 9/5."})
    assert resp.status_code == 200, resp.text
    after = teacher.get(API + f"courses/{COURSE}/assignments/{LESSON}/grades/{student}").json()
    assert after["score"] == before["score"] + 1.5
    assert any(c["manual_comment"] == "Good start; say why 9/5." for c in after["comments"])
    assert teacher.get(API + f"submissions/{graded['uid']}").json()["score"] == after["score"]
    # bad input is a JSON 4xx
    for bad in ({"manual_score": 3}, {"manual_score": "x"}):
        resp = teacher.put(cell, json=bad)
        assert resp.status_code == 400 and resp.json()["code"] == "VALIDATION_ERROR"
    assert teacher.put(comment, json={"comment": 5}).status_code == 400
    missing = teacher.get(PAGES + f"{COURSE}/grading/{LESSON}/nobody-here")
    # a teacher may open only their own classes' students
    assert missing.status_code == 403 and "nobody-here" in missing.json()["message"]


def test_the_manual_grade_reaches_the_student_and_the_campus(
    campus_hub: CampusHub, graded: dict[str, Any]
) -> None:
    """After the teacher's 1.5 points above: the student's result and the campus's exercise
    progress (sent on by the grader as an autograde's result is) show the new score."""
    student = campus_hub.client(graded["student"])
    autograded = graded["sub"]["result"]["notebooks"][0]["score"]
    now = student.get(API + f"submissions/{graded['uid']}").json()
    (values,) = now["result"]["notebooks"]
    assert values["score"] == autograded + 1.5 == now["score"]
    (explain,) = [t for t in values["tests"] if t["name"] == EXPLAIN]
    assert explain["score"] == 1.5 and not explain["needs_manual_grade"]
    assert not now["result"]["needs_manual_grade"]

    def campus_score() -> float | None:
        progress = student.get(CAMPUS + f"users/{graded['student']}/progress").json()
        (row,) = [e for e in progress["exercises"] if e["exercise"] == "values"]
        return row["score"]

    deadline = time.monotonic() + 20
    while campus_score() != autograded + 1.5:
        assert time.monotonic() < deadline, f"the campus still has {campus_score()}"
        time.sleep(0.2)


def test_students_and_other_instructors_are_refused(
    campus_hub: CampusHub, graded: dict[str, Any], make_user
) -> None:
    student = graded["student"]
    url = campus_hub.url + PAGES + f"{COURSE}/grading"
    # nobody logged in: a browser goes to the Hub's login, a script gets a JSON 401
    anonymous = requests.get(url, headers={"Accept": "text/html"}, allow_redirects=False)
    assert (
        anonymous.status_code == 302
        and "/hub/api/oauth2/authorize" in anonymous.headers["Location"]
    )
    assert requests.get(url).json()["code"] == "UNAUTHORIZED"
    other = make_user("instructor")["client"]  # teaches no class of this course
    for client in (campus_hub.client(student), other):
        page = client.get(PAGES + f"{COURSE}/grading")
        assert page.status_code == 403 and page.json()["code"] == "FORBIDDEN"
        # a browser (asking for HTML) gets a readable page instead of JSON
        browser_like = client.session.get(
            campus_hub.url + PAGES + f"{COURSE}/grading", headers={"Accept": "text/html"}
        )
        assert browser_like.status_code == 403
        assert browser_like.headers["Content-Type"].startswith("text/html")
        assert "do not teach" in browser_like.text and "<h1>403 Forbidden</h1>" in browser_like.text
        assert client.get(PAGES + f"{COURSE}/grading/{LESSON}/{student}").status_code == 403
        url = f"{API}courses/{COURSE}/assignments/{LESSON}/grades/{student}/values/{EXPLAIN}"
        resp = client.put(url, json={"manual_score": 2})
        assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"
        resp = client.put(url.replace("/grades/", "/comments/"), json={"comment": "hi"})
        assert resp.status_code == 403


def test_feedback_for_its_student_without_hidden_tests(
    campus_hub: CampusHub, graded: dict[str, Any]
) -> None:
    student = campus_hub.client(graded["student"])
    url = API + f"submissions/{graded['uid']}/feedback"
    resp = student.get(url)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/html")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script" not in csp
    html = resp.text
    # nbgrader's feedback: the score per cell and the instructor's comment...
    assert "Written response" in html and "Good start; say why 9/5." in html
    assert "Test cell" in html
    # ...the student's own code, the visible tests, and never the hidden test's source
    assert "assert greeting(&#39;Ada&#39;)" in html or "greeting" in html
    for secret in (HIDDEN_MARK, HIDDEN_ARG):
        assert secret not in html
    assert "<script" not in html.lower()
    as_json = student.get(url + "?format=json")
    assert as_json.status_code == 200
    pages = as_json.json()["notebooks"]
    assert [p["name"] for p in pages] == ["values"] and HIDDEN_MARK not in pages[0]["html"]
    # the course's instructor may read it; another student may not know it exists
    assert campus_hub.client(campus_hub.demo("instructor")["name"]).get(url).status_code == 200
    bob = campus_hub.client("bob")
    resp = bob.get(url)
    assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND"
    assert bob.get(url + "?format=json").status_code == 404


@pytest.mark.browser
def test_instructor_saves_a_score_in_the_browser(
    campus_hub: CampusHub, graded: dict[str, Any], browser, output_dir: Path
) -> None:
    """Log in at the Hub, open the grading view, type a score, save: the gradebook follows."""
    teacher = campus_hub.demo("instructor")
    student = graded["student"]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        log_in(page, campus_hub, teacher["name"], teacher["password"], wait="load")
        page.goto(campus_hub.url + PAGES + f"{COURSE}/grading")
        page.get_by_role("link", name=LESSON).click()
        page.get_by_role("link", name=student).click()
        form = page.locator(f'form.grade[data-cell="{EXPLAIN}"]')
        form.locator('input[name="manual_score"]').fill("2")
        form.locator('textarea[name="comment"]').fill("Well explained.")
        form.locator("button").press("Enter")  # keyboard, not a mouse click
        form.locator(".status", has_text="Saved.").wait_for(timeout=15_000)
        form.scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / "grader-manual-grading.png"), full_page=True)
        # a bad score is refused with a readable message
        form.locator('input[name="manual_score"]').fill("5")
        form.locator("button").click()
        form.locator(".status", has_text="above").wait_for(timeout=15_000)
    finally:
        page.close()
    api = campus_hub.client(teacher["name"])
    grades = api.get(API + f"courses/{COURSE}/assignments/{LESSON}/grades/{student}").json()
    explain = next(g for g in grades["grades"] if g["cell"] == EXPLAIN)
    assert explain["manual_score"] == 2 and not explain["needs_manual_grade"]
    assert any(c["manual_comment"] == "Well explained." for c in grades["comments"])


def test_feedback_is_kept_for_the_latest_grading_only(
    campus_hub: CampusHub, graded: dict[str, Any]
) -> None:
    student = campus_hub.client(graded["student"])
    resp = student.post(
        API + f"courses/{COURSE}/assignments/{LESSON}/submissions", json=graded["body"]
    )
    assert resp.status_code == 202, resp.text
    uid = resp.json()["id"]
    deadline = time.monotonic() + 60
    while student.get(API + f"submissions/{uid}").json()["status"] != "graded":
        assert time.monotonic() < deadline, "the second submission was not graded"
        time.sleep(0.2)
    old = student.get(API + f"submissions/{graded['uid']}/feedback")
    assert old.status_code == 409 and old.json()["code"] == "SUPERSEDED"
    assert old.json()["details"]["latest"] == uid
    assert student.get(API + f"submissions/{uid}/feedback").status_code == 200
