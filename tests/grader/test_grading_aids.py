"""Grading aids through a real Hub, on nbgrader's example course: every enrolled student in
the grading list (one never submits, all are late), a rubric on a manually graded cell whose
ticked items set nbgrader's manual score (a total above the cell's points refused), the
comment bank, a line comment the student sees at its line in the feedback, and an extension
that recomputes the late penalty. Students and other instructors are refused. Chromium: the
instructor grades with a rubric and a line comment, moving between students by keyboard, and
the student reads the comment in the feedback."""

from __future__ import annotations

import base64
import math
import re
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness.browser import log_in
from harness.classroom import open_class
from harness.hub import CampusHub

from .test_similarity import PS1, submitted

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)]
CAMPUS = "services/campus/api/v1/"
API = "services/grader/api/v1/"
PAGES = "services/grader/courses/"
COURSE = "ps1-aids"
A = f"{API}courses/{COURSE}/assignments/ps1/"
NBCAMPUS = str(Path(sys.executable).parent / "nbcampus")
NAMES = {"teacher": "aid-teacher", "ann": "aid-ann", "ben": "aid-ben", "cat": "aid-cat"}
CELL = "sum_of_squares_application"  # problem1, code, manually graded, 2 points
NOTE = "Here the loop could start at 1."


@pytest.fixture(scope="module")
def klass(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """ps1 imported; a class with an instructor and three students; ps1 due five hours ago
    at half a point per hour late; ann and ben hand in nbgrader's reference answers, cat
    nothing."""
    course = tmp_path_factory.mktemp("ps1") / COURSE
    shutil.copytree(PS1 / "source", course / "source")
    cid, passwords = open_class(campus_hub, course / "source", COURSE, "PS1 aids", NAMES)
    teacher = campus_hub.client(NAMES["teacher"])
    due = datetime.now(UTC) - timedelta(hours=5)
    policy = {"due_at": due.isoformat(), "late_penalty_per_hour": 0.5}
    resp = teacher.put(A.rstrip("/"), json=policy)
    assert resp.status_code == 200, resp.text
    uids = {}
    for key, who in (("ann", "bitdiddle"), ("ben", "hacker")):
        student = campus_hub.client(NAMES[key])
        # the first fetch waits for the grader to generate ps1 (slow on a busy machine)
        assert student.get(A + "files", timeout=180).status_code == 200
        files = submitted(who)
        body = {
            "files": {
                n: base64.b64encode(d).decode() for n, d in files.items() if n.endswith(".ipynb")
            }
        }
        resp = student.post(A + "submissions", json=body)
        assert resp.status_code == 202, resp.text
        uids[key] = resp.json()["id"]
    deadline = time.monotonic() + 240
    for key, uid in uids.items():
        client = campus_hub.client(NAMES[key])
        while (sub := client.get(API + f"submissions/{uid}").json())["status"] != "graded":
            assert sub["status"] != "failed", sub
            assert time.monotonic() < deadline, f"{key}'s submission was not graded"
            time.sleep(0.3)
    return {"id": cid, "passwords": passwords, "uids": uids, "due": due}


def test_every_enrolled_student_is_listed(campus_hub: CampusHub, klass: dict) -> None:
    teacher = campus_hub.client(NAMES["teacher"])
    page = teacher.get(PAGES + f"{COURSE}/grading/ps1")
    assert page.status_code == 200, page.text
    rows = {
        name: row
        for name in NAMES.values()
        for row in re.findall(r"<tr>.*?</tr>", page.text, re.S)
        if f">{name}<" in row
    }
    assert set(rows) == {NAMES["ann"], NAMES["ben"], NAMES["cat"]}
    assert "not submitted" in rows[NAMES["cat"]] and "late" not in rows[NAMES["cat"]]
    for key in ("ann", "ben"):
        assert "late" in rows[NAMES[key]] and "needs grading" in rows[NAMES[key]]
    # the gradebook CSV agrees
    csv = teacher.get(API + f"courses/{COURSE}/gradebook.csv").text.splitlines()
    (cat,) = [line for line in csv if line.startswith(NAMES["cat"] + ",ps1,")]
    assert cat.split(",")[5] == "missing"


def test_rubric_sets_the_manual_score(campus_hub: CampusHub, klass: dict) -> None:
    teacher = campus_hub.client(NAMES["teacher"])
    ann = NAMES["ann"]
    cell = A + f"rubric/problem1/{CELL}"
    too_much = {"items": [{"label": "Correct", "points": 2}, {"label": "Tidy", "points": 1}]}
    resp = teacher.put(cell, json=too_much)
    assert resp.status_code == 400, resp.text
    err = resp.json()
    assert err["code"] == "VALIDATION_ERROR" and err["details"]["field"] == "points"
    assert "3 points, more than the cell's 2" in err["message"]
    resp = teacher.put(A + "rubric/problem1/no-such-cell", json={"items": []})
    assert resp.status_code == 404
    ok = {"items": [{"label": "Correct", "points": 1.5}, {"label": "Tidy", "points": 0.5}]}
    resp = teacher.put(cell, json=ok)
    assert resp.status_code == 200, resp.text
    correct, tidy = resp.json()["items"]
    listed = teacher.get(A + "rubric").json()["cells"]
    assert listed == [{"notebook": "problem1", "cell": CELL, "items": [correct, tidy]}]

    before = teacher.get(A + f"grades/{ann}").json()
    marks = A + f"marks/{ann}/problem1/{CELL}"
    resp = teacher.put(marks, json={"items": [correct["id"]]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["manual_score"] == 1.5 and resp.json()["items"] == [correct["id"]]
    after = teacher.get(A + f"grades/{ann}").json()
    grade = next(g for g in after["grades"] if g["cell"] == CELL)
    # nbgrader's own Grade row carries it
    assert grade["manual_score"] == 1.5 and not grade["needs_manual_grade"]
    old = next(g for g in before["grades"] if g["cell"] == CELL)
    assert after["score"] == pytest.approx(before["score"] - old["score"] + 1.5)
    resp = teacher.put(marks, json={"items": [tidy["id"] + 1000]})
    assert resp.status_code == 400 and resp.json()["details"]["field"] == "items"
    page = teacher.get(PAGES + f"{COURSE}/grading/ps1/{ann}").text
    assert 'name="rubric"' in page and f'value="{correct["id"]}" data-points="1.5" checked' in page


def test_feedback_shows_the_ticked_rubric_items(campus_hub: CampusHub, klass: dict) -> None:
    """ann's feedback lists the item ticked for her (with its points) below the graded cell,
    and not the one left unticked (test_rubric_sets_the_manual_score ticked them)."""
    feedback = campus_hub.client(NAMES["ann"]).get(
        API + f"submissions/{klass['uids']['ann']}/feedback?notebook=problem1"
    )
    assert feedback.status_code == 200, feedback.text
    page = feedback.text
    boxes = re.findall(r'<div class="nbc-rubric" role="note".*?</div>', page, re.S)
    assert len(boxes) == 1, boxes
    items = re.findall(
        r'<span class="nbc-rubric-label">(.*?)</span> <span class="nbc-rubric-points">(.*?)</span>',
        boxes[0],
    )
    assert items == [("Correct", "(+1.5 points)")]
    assert "Tidy" not in page
    assert "NBCRB" not in page  # every marker replaced
    # below the graded cell: after its code, before the next cell's
    assert page.index("Part D") < page.index('class="nbc-rubric"') < page.index("Part E")
    # ben, with nothing ticked, sees no rubric box
    ben = campus_hub.client(NAMES["ben"]).get(
        API + f"submissions/{klass['uids']['ben']}/feedback?notebook=problem1"
    )
    assert ben.status_code == 200 and "nbc-rubric" not in ben.text


def test_comment_bank(campus_hub: CampusHub, klass: dict) -> None:
    teacher = campus_hub.client(NAMES["teacher"])
    resp = teacher.post(A + "comment-bank", json={"text": "Name your variables."})
    assert resp.status_code == 201, resp.text
    cid = resp.json()["id"]
    assert teacher.post(A + "comment-bank", json={"text": "   "}).status_code == 400
    assert teacher.post(A + "comment-bank", json={"text": 5}).status_code == 400
    bank = teacher.get(A + "comment-bank").json()["comments"]
    assert [c["text"] for c in bank] == ["Name your variables."]
    page = teacher.get(PAGES + f"{COURSE}/grading/ps1/{NAMES['ben']}").text
    assert "Name your variables." in page
    assert teacher.delete(A + f"comment-bank/{cid}").status_code == 204
    assert teacher.delete(A + f"comment-bank/{cid}").status_code == 404
    assert teacher.delete(A + "comment-bank/x").status_code == 400
    assert teacher.get(A + "comment-bank").json()["comments"] == []


def test_line_comment_reaches_the_feedback_at_its_line(campus_hub: CampusHub, klass: dict) -> None:
    teacher = campus_hub.client(NAMES["teacher"])
    ben = NAMES["ben"]
    url = A + f"line-comments/{ben}"
    body = {"notebook": "problem1", "cell": CELL, "line": 500, "text": NOTE}
    resp = teacher.post(url, json=body)
    assert resp.status_code == 400 and resp.json()["details"]["field"] == "line"
    resp = teacher.post(url, json={**body, "cell": "nope"})
    assert resp.status_code == 404
    resp = teacher.post(url, json={**body, "line": 0})
    assert resp.status_code == 400
    resp = teacher.post(url, json={**body, "line": 3, "text": NOTE + " <b>x</b>"})
    assert resp.status_code == 201, resp.text
    assert [c["line"] for c in teacher.get(url).json()["comments"]] == [3]
    # the grading view shows it at the line
    page = teacher.get(PAGES + f"{COURSE}/grading/ps1/{ben}").text
    assert 'class="nbc-line-comment" role="note" data-line="3"' in page
    # the student's feedback shows it right after line 3 of the cell, escaped
    student = campus_hub.client(ben)
    feedback = student.get(
        API + f"submissions/{klass['uids']['ben']}/feedback?notebook=problem1"
    ).text
    assert "Line 3: " + NOTE + " &lt;b&gt;x&lt;/b&gt;" in feedback
    assert "NBCLC" not in feedback  # every marker replaced
    pre = re.search(
        r"<pre>((?:(?!</pre>).)*nbc-line-comment(?:(?!</pre>).)*)</pre>", feedback, re.S
    )
    assert pre is not None
    lines = pre.group(1).split("\n")
    at = next(i for i, line in enumerate(lines) if "nbc-line-comment" in line)
    assert at == 3  # after the cell's first three lines


def test_an_extension_recomputes_the_late_penalty(campus_hub: CampusHub, klass: dict) -> None:
    teacher = campus_hub.client(NAMES["teacher"])
    ann = campus_hub.client(NAMES["ann"])
    uid = klass["uids"]["ann"]
    late = ann.get(API + f"submissions/{uid}").json()
    assert late["late_penalty"] > 0
    url = A + f"extensions/{NAMES['ann']}"
    resp = teacher.put(url, json={"due_at": "not a date"})
    assert resp.status_code == 400 and resp.json()["details"]["field"] == "due_at"
    new_due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    resp = teacher.put(url, json={"due_at": new_due, "reason": "ill"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["rescored"] == 1
    on_time = ann.get(API + f"submissions/{uid}").json()
    assert on_time["late_penalty"] == 0
    assert on_time["score"] == pytest.approx(late["score"] + late["late_penalty"])
    assert teacher.get(url).json()["reason"] == "ill"
    page = teacher.get(PAGES + f"{COURSE}/grading/ps1").text
    row = next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if NAMES["ann"] in r)
    assert "late" not in row
    assert teacher.delete(url).status_code == 204
    again = ann.get(API + f"submissions/{uid}").json()
    # the assignment's due date counts again, on the raw score as it is now (the rubric
    # above added to it): half a point per started hour late, at most the whole score
    submitted_at = datetime.fromisoformat(again["submitted_at"])
    late_by = submitted_at.replace(tzinfo=submitted_at.tzinfo or UTC) - klass["due"]
    hours = math.ceil(late_by.total_seconds() / 3600)
    raw = on_time["score"]
    assert again["late_penalty"] == pytest.approx(min(0.5 * hours, raw))
    assert again["score"] == pytest.approx(raw - again["late_penalty"])


def test_students_and_other_instructors_are_refused(
    campus_hub: CampusHub, klass: dict, make_user
) -> None:
    other = make_user("instructor")["client"]
    ann = NAMES["ann"]
    for client in (campus_hub.client(NAMES["ben"]), other):
        calls = [
            ("get", A + "rubric", None),
            ("put", A + f"rubric/problem1/{CELL}", {"items": []}),
            ("put", A + f"marks/{ann}/problem1/{CELL}", {"items": []}),
            ("get", A + "comment-bank", None),
            ("post", A + "comment-bank", {"text": "x"}),
            ("get", A + f"line-comments/{ann}", None),
            (
                "post",
                A + f"line-comments/{ann}",
                {"notebook": "problem1", "cell": CELL, "line": 1, "text": "x"},
            ),  # fmt: skip
            ("put", A + f"extensions/{ann}", {"due_at": "2030-01-01T00:00:00+00:00"}),
            ("delete", A + f"extensions/{ann}", None),
        ]
        for method, url, body in calls:
            resp = getattr(client, method)(url, **({"json": body} if body is not None else {}))
            assert resp.status_code == 403, (method, url, resp.text)
            assert resp.json()["code"] == "FORBIDDEN"
    # a student's own line comments are not theirs to read through the API either
    own = campus_hub.client(ann).get(A + f"line-comments/{ann}")
    assert own.status_code == 403


@pytest.mark.browser
def test_grading_with_a_rubric_and_a_line_comment_in_the_browser(
    campus_hub: CampusHub, klass: dict, browser, output_dir: Path
) -> None:
    """The instructor writes a rubric (too many points first), ticks it, comments on a line,
    moves to the next student with j; the student then reads the comment in the feedback."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    ann, ben = NAMES["ann"], NAMES["ben"]
    try:
        log_in(page, campus_hub, NAMES["teacher"], klass["passwords"]["teacher"], wait="load")
        page.goto(campus_hub.url + PAGES + f"{COURSE}/grading/ps1")
        page.get_by_role("link", name=ann).click()
        aids = page.locator(f'section.aids[data-cell="{CELL}"]')
        edit = aids.locator("form.rubric-edit")
        if not edit.is_visible():
            aids.locator("summary", has_text="Edit the rubric").click()
        last = edit.locator("tbody tr").last
        last.locator('input[name="label"]').fill("Explains the edge case")
        last.locator('input[name="points"]').fill("5")
        edit.get_by_role("button", name="Save rubric").click()
        edit.locator(".status", has_text="more than the cell's 2").wait_for(timeout=15_000)
        assert edit.locator('input[name="points"][aria-invalid="true"]').count() >= 1
        last.locator('input[name="points"]').fill("0")
        edit.get_by_role("button", name="Save rubric").click()
        # the page reloads with the new item ticked off the list of the rubric
        aids = page.locator(f'section.aids[data-cell="{CELL}"]')
        aids.locator("label.rubric-item", has_text="Explains the edge case").wait_for(
            timeout=20_000
        )
        aids.locator("label.rubric-item", has_text="Correct").locator("input").check()
        aids.locator("label.rubric-item", has_text="Tidy").locator("input").check()
        aids.get_by_role("button", name="Apply rubric").click()
        applied = aids.locator("fieldset.rubric > .row .status")
        page.wait_for_function(
            "el => el.textContent && el.textContent !== 'Saving…'",
            arg=applied.element_handle(),
            timeout=30_000,
        )
        assert applied.inner_text().startswith("Applied: 2 points"), applied.inner_text()
        form = page.locator(f'form.grade[data-cell="{CELL}"]')
        assert form.locator('input[name="manual_score"]').input_value() == "2"
        notes = aids.locator("details.line-comments")
        if not notes.locator("form").is_visible():
            notes.locator("summary").click()
        notes.locator('input[name="line"]').fill("2")
        notes.locator('input[name="text"]').fill("Use a docstring that says what n is.")
        notes.get_by_role("button", name="Add line comment").click()
        page.locator('.nbc-line-comment[data-line="2"]').first.wait_for(timeout=15_000)
        article = page.locator(f'article:has(section.aids[data-cell="{CELL}"])')
        article.screenshot(path=str(output_dir / "grader-rubric-line-comment.png"))
        # an extension from the page: the late penalty goes, the summary says so
        extension = page.locator("form.extension")
        assert "late penalty" in page.locator("p.summary").inner_text()
        extension.locator('input[name="due_at"]').fill(
            (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        )
        extension.locator('input[name="reason"]').fill("ill")
        extension.get_by_role("button", name="Grant extension").click()
        page.locator("form.extension", has_text="has an extension to").wait_for(timeout=20_000)
        assert "late penalty" not in page.locator("p.summary").inner_text()
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("j")  # the next student
        page.get_by_role("heading", name=f"{ben}: ps1").wait_for(timeout=15_000)
        page.keyboard.press("k")
        page.get_by_role("heading", name=f"{ann}: ps1").wait_for(timeout=15_000)
    finally:
        context.close()
    student = browser.new_context(viewport={"width": 1100, "height": 900})
    page = student.new_page()
    try:
        log_in(page, campus_hub, ann, klass["passwords"]["ann"], wait="load")
        page.goto(
            campus_hub.url + API + f"submissions/{klass['uids']['ann']}/feedback?notebook=problem1"
        )
        note = page.locator(".nbc-line-comment", has_text="Use a docstring that says what n is.")
        note.wait_for(timeout=30_000)
        note.scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / "grader-feedback-line-comment.png"))
        # the rubric items ticked for her, with their points, below the cell; not the other
        rubric = page.locator(".nbc-rubric")
        rubric.scroll_into_view_if_needed()
        shown = rubric.inner_text()
        assert "Correct (+1.5 points)" in shown and "Tidy (+0.5 points)" in shown, shown
        assert "Explains the edge case" not in shown
        page.screenshot(path=str(output_dir / "grader-feedback-rubric.png"))
    finally:
        student.close()
