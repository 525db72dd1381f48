"""Issue 16's one journey, in Chromium against a real campus Hub, with no shell on the server:

1. a new instructor starts a course from the template in their own Lab's Course view;
2. marks a graded answer, its tests and a manually graded answer with nbgrader's Create
   Assignment panel, previews the student version and publishes (an admin then publishes it
   on the course review screen, and staff open a class for it in the Office);
3. takes attendance for meeting 1 and unlocks the lesson in the Class view; two students open
   the lesson in their Labs, answer and submit;
4. grades the manual answer in the grading view with a rubric and a line comment, moving
   between the students with j and k;
5. the student reads the comment in the feedback opened from their Campus panel.

The test itself only creates the accounts through the campus API, as an admin would on the
accounts screen. Screenshots of every step go to test-output/journey-*.png.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness.browser import lab_ready, sign_in
from harness.hub import CampusHub

pytestmark = [pytest.mark.slow, pytest.mark.browser]

C = "services/campus/api/v1/"
# Not waiting for the Lab after signing in, so several people's servers start at once.
PERSON: dict[str, Any] = {"viewport": (1400, 950), "no_wait_after": True}
PANEL_TAB = 'li[data-id="nbgrader-create_assignemnt"]'  # nbgrader's own id (sic)
LESSON = "01-first-steps"
ANSWER = 'def greet(name):\n    return "Hello, " + name + "!"\n'
# The manually graded answer: the question stays in the student's version, the solution goes.
QUESTION = '# Explain what greet("") returns, and why.'
MANUAL = QUESTION + '\n### BEGIN SOLUTION\n# "Hello, !"\n### END SOLUTION'
# The student's answer: line 3 is the one the instructor comments on.
EXPLAIN = QUESTION + '\n# It gives "Hello, !":\n# nothing stands between the comma and the "!".\n'
INTRO = '# Hello\n\nWrite a function `greet(name)` that returns `"Hello, <name>!"`.'
NOTE = "Say what a caller should pass instead of an empty name."


def shot(page: Any, out: Path, name: str, **kwargs: Any) -> None:
    page.screenshot(path=str(out / f"journey-{name}.png"), animations="disabled", **kwargs)


def type_into(page: Any, cell: Any, text: str) -> None:
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


@pytest.mark.parametrize("campus_hub", ["sqlite", "postgresql"], indirect=True)
def test_template_to_feedback_in_the_browser(
    campus_hub: CampusHub, browser: Any, output_dir: Path
) -> None:
    hub = campus_hub
    tag = uuid.uuid4().hex[:6]
    admin_api = hub.client(hub.demo("admin")["name"])
    people = {"teacher": f"jt-{tag}", "ann": f"ja-{tag}", "ben": f"jb-{tag}"}
    passwords = {}
    for key, name in people.items():
        role = "instructor" if key == "teacher" else "student"
        resp = admin_api.post(C + "accounts", json={"name": name, "role": role})
        assert resp.status_code == 201, resp.text
        passwords[key] = resp.json()["password"]

    teacher = sign_in(browser, hub, people["teacher"], passwords["teacher"], **PERSON)
    students: dict[str, Any] = {}
    pages = [teacher]
    started = time.monotonic()

    def step(label: str) -> None:  # where the wall time goes, with -s
        print(f"journey: {label} at {time.monotonic() - started:.1f} s")

    try:
        lab_ready(teacher)
        step("instructor's Lab")
        title = f"Journey {tag}"
        slug = title.lower().replace(" ", "-")
        _author_and_publish(teacher, slug, title, output_dir)
        step("published")
        # the students sign in now: their Labs start while the course is reviewed
        for key in ("ann", "ben"):
            students[key] = sign_in(browser, hub, people[key], passwords[key], **PERSON)
            pages.append(students[key])
        _admin_publishes(browser, hub, slug, title, output_dir)
        cid = _staff_open_a_class(browser, hub, slug, people, output_dir)
        step("class opened")
        _unlock_in_the_class_view(teacher, cid, output_dir)
        step("unlocked")
        # both hand in, then both wait for their scores (graded side by side)
        for key, page in students.items():
            _student_submits(page, key, output_dir)
        for page in students.values():
            _student_sees_the_score(page)
        step("both submitted and autograded")
        _grade_with_rubric_and_line_comment(teacher, slug, people, output_dir)
        step("graded")
        _student_reads_the_feedback(students["ann"], output_dir)
        step("feedback read")
    except Exception:
        for n, page in enumerate(pages):  # where each person was when it broke
            for m, tab in enumerate(page.context.pages):
                shot(tab, output_dir, f"failed-{n}-{m}")
        raise
    finally:
        for page in pages:
            page.context.close()


def _author_and_publish(page: Any, slug: str, title: str, out: Path) -> None:
    # A new instructor (no class yet) finds the Course view from the Campus panel.
    page.locator(".nbc-open-courseview").first.click()
    view = page.locator(".nbc-cv")
    view.wait_for(timeout=20_000)
    view.locator(".nbc-cv-new-title").fill(title)
    view.locator(".nbc-cv-new-course").click()
    view.locator(".nbc-cv-ok", has_text="from the template").wait_for(timeout=20_000)
    assert view.locator(".nbc-cv-course-slug").input_value() == slug
    view.locator(".nbc-cv-count-ok").wait_for(timeout=20_000)
    shot(page, out, "1-course-view")

    # the lesson's notebook; the template's hint to the author
    # becomes the question for the students
    page.locator('.jp-SideBar li[data-id="filebrowser"]').click()
    for name in (slug, "lessons", LESSON, "hello.ipynb"):
        page.locator(".jp-DirListing-content").get_by_text(name, exact=True).dblclick()
    intro = page.locator(".jp-Notebook .jp-MarkdownCell").first
    intro.wait_for(timeout=60_000)
    intro.dblclick()
    intro.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(INTRO)
    page.keyboard.press("Shift+Enter")
    # nbgrader's Create Assignment panel: the answer, its tests, a manually graded answer
    page.click(PANEL_TAB)
    types = page.locator(".nbgrader-CellType select")
    types.nth(1).wait_for(timeout=20_000)
    types.nth(1).select_option("solution")
    code = page.locator(".jp-Notebook .jp-CodeCell")
    for index, (source, kind, points) in enumerate(
        [
            ('assert greet("Ada") == "Hello, Ada!"', "tests", "1"),
            (MANUAL, "manual", "2"),
        ]
    ):
        code.nth(index).click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        page.keyboard.press("Enter")
        page.keyboard.insert_text(source)
        page.keyboard.press("Escape")
        types.nth(index + 2).wait_for(timeout=20_000)
        types.nth(index + 2).select_option(kind)
        field = page.locator(".nbgrader-CellPoints input:visible").last
        field.fill(points)
        field.press("Tab")
    shot(page, out, "2-nbgrader-panel")
    tab = page.locator('.lm-TabBar-tab.jp-mod-current[title*="hello.ipynb"]')
    before = tab.get_attribute("title")
    page.keyboard.press("Control+s")
    # saved when the tab's "Last Saved" moves (nbgrader's panel marks it changed again)
    page.wait_for_function(
        "([el, old]) => el.getAttribute('title') !== old",
        arg=[tab.element_handle(), before],
        timeout=20_000,
    )

    # back to the Course view: the student version, then the dry run and Publish
    palette(page, "Course view")
    view.wait_for(timeout=20_000)
    view.locator(".nbc-cv-folder").select_option(slug)
    view.locator(".nbc-cv-count-ok").wait_for(timeout=20_000)
    view.locator(f'.nbc-cv-preview-lesson[data-lesson="{LESSON}"]').click()
    frame = view.locator(".nbc-cv-frame").first
    frame.wait_for(timeout=120_000)
    body = page.frame_locator(".nbc-cv-frame").first.locator("body")
    body.wait_for(timeout=20_000)
    text = body.inner_text()
    assert text.count("YOUR CODE HERE") == 2 and QUESTION in text, text[:800]
    assert "SOLUTION" not in text and 'return f"Hello' not in text, text[:800]
    assert "Create Assignment" not in text, text[:800]  # the hint to the author is gone
    frame.scroll_into_view_if_needed()
    shot(page, out, "3-preview")
    dry = view.locator(".nbc-cv-dry-run")
    dry.scroll_into_view_if_needed()
    dry.click()
    row = view.locator(f'tr[data-change="new"][data-lesson="{LESSON}"]')
    row.or_(view.locator(".nbc-error")).first.wait_for(timeout=120_000)
    assert view.locator(".nbc-error").count() == 0, view.locator(".nbc-error").inner_text()
    publish = view.locator(".nbc-cv-do-publish")
    publish.scroll_into_view_if_needed()
    publish.click()
    view.locator(".nbc-cv-ok", has_text="sent for review").wait_for(timeout=60_000)
    shot(page, out, "4-published")


def palette(page: Any, command: str) -> None:
    page.keyboard.press("Control+Shift+c")
    page.keyboard.type(command)
    page.locator(".lm-CommandPalette-item", has_text=command).first.click()


def _admin_publishes(browser: Any, hub: CampusHub, slug: str, title: str, out: Path) -> None:
    admin = hub.demo("admin")
    page = sign_in(
        browser, hub, admin["name"], admin["password"], next_="hub/campus-admin/courses", **PERSON
    )
    try:
        row = page.locator(f'#courses tr[data-course="{slug}"]')
        row.wait_for(timeout=30_000)
        row.get_by_role("button", name=f"Publish {title}").click()
        page.locator(f'#courses tr[data-course="{slug}"] .badge', has_text="published").wait_for(
            timeout=20_000
        )
    finally:
        page.context.close()


def _staff_open_a_class(
    browser: Any, hub: CampusHub, slug: str, people: dict[str, str], out: Path
) -> int:
    staff = hub.demo("staff")
    page = sign_in(
        browser, hub, staff["name"], staff["password"], next_="hub/office/classes", **PERSON
    )
    today = date.today()
    try:
        page.wait_for_selector(f'#c-course option[value="{slug}"]', state="attached")
        page.fill("#c-name", f"Evening {slug}")
        page.select_option("#c-course", slug)
        page.fill("#c-meetings", "4")
        page.fill("#c-instructor", people["teacher"])
        page.select_option("#c-status", "enrollment_open")
        page.check("#c-day-mon")
        page.fill("#c-time", "19:00-21:00")
        page.fill("#c-start", (today - timedelta(days=3)).isoformat())
        page.fill("#c-deadline", (today + timedelta(days=20)).isoformat())
        page.fill("#c-end", (today + timedelta(days=40)).isoformat())
        page.click("#create-submit")
        page.wait_for_url(re.compile(r"office/classes/\d+"))
        cid = int(re.search(r"office/classes/(\d+)", page.url).group(1))
        page.click("#tab-enrollment")
        page.fill("#many-list", f"{people['ann']}\n{people['ben']}")
        page.click("#enroll-many button[type=submit]")
        page.wait_for_function(
            "document.querySelectorAll('#enrollments-table tbody tr').length === 2"
        )
        shot(page, out, "5-office-class", full_page=True)
        return cid
    finally:
        page.context.close()


def _unlock_in_the_class_view(page: Any, cid: int, out: Path) -> None:
    # Back to the Campus panel (the file browser had the side); it learns of the new class
    # on a refresh.
    page.locator('.jp-SideBar li[title="Campus"]').click()
    page.locator(".nbc-refresh").click()
    page.locator("#nbc-tab-teach").click()
    page.locator(".nbc-teach .nbc-open-classview").click()
    view = page.locator(".nbc-classview")
    view.locator("select").wait_for(timeout=30_000)
    view.locator("select").select_option(value=str(cid))
    view.get_by_role("button", name="Take attendance for meeting 1").click()
    editor = view.locator("form.nbc-cv-editor")
    editor.get_by_role("button", name="Save attendance").click()
    view.locator(".nbc-ok", has_text="Meeting 1 saved").wait_for(timeout=20_000)
    view.get_by_role("button", name="Unlock “First steps”").click()
    view.locator(".nbc-ok", has_text="Unlocked: First steps").wait_for(timeout=20_000)
    view.locator(".nbc-cv-facts", has_text="lessons unlocked 1").wait_for(timeout=20_000)
    # the Teach tab beside it follows (it does not keep its counts from before)
    teach = page.locator(".nbc-teach")
    teach.get_by_text("Lessons unlocked: 1 · meetings held: 1 of 4").wait_for(timeout=20_000)
    shot(page, out, "6-class-view-unlocked")


def _student_submits(page: Any, key: str, out: Path) -> None:
    lab_ready(page)
    page.locator(".nbc-refresh").click()
    page.click("#nbc-tab-lessons")
    lesson = page.locator(f'.nbc-course .nbc-lesson[data-lesson="{LESSON}"]')
    lesson.locator(".nbc-open").click(timeout=30_000)
    cells = page.locator(".jp-NotebookPanel .jp-CodeCell", has_text="YOUR CODE HERE")
    cells.nth(1).wait_for(timeout=60_000)
    answer, explain = cells.nth(0), cells.nth(1)
    # the second cell first: the first one stops matching once it is answered
    type_into(page, explain, EXPLAIN)
    type_into(page, answer, ANSWER)
    if key == "ann":
        shot(page, out, "7-student-answers")
    page.locator(".jp-NotebookPanel-toolbar .nbc-submit-button").first.click()


def _student_sees_the_score(page: Any) -> None:
    score = page.locator(f'.nbc-course .nbc-lesson[data-lesson="{LESSON}"] .nbc-result-score')
    score.wait_for(timeout=120_000)
    # the tests' point; the manually graded answer's two wait for the instructor
    assert "1 / 3" in score.inner_text(), score.inner_text()


def _grade_with_rubric_and_line_comment(
    page: Any, slug: str, people: dict[str, str], out: Path
) -> None:
    ann, ben = people["ann"], people["ben"]
    view = page.locator(".nbc-classview")
    with page.context.expect_page(timeout=20_000) as opened:
        view.get_by_role("link", name="Manual grading").click()
    grading = opened.value
    try:
        grading.get_by_role("link", name=LESSON).click()
        grading.get_by_role("link", name=ann).click()
        grading.get_by_role("heading", name=f"{ann}: {LESSON}").wait_for(timeout=20_000)
        # the manually graded answer's aids (the autograded answer has no rubric)
        aids = grading.locator("section.aids:has(fieldset.rubric)")
        edit = aids.locator("form.rubric-edit")
        rows = edit.locator("tbody tr")
        rows.last.locator('input[name="label"]').fill("Says what greet returns")
        rows.last.locator('input[name="points"]').fill("1")
        edit.get_by_role("button", name="Add a row").click()
        rows.last.locator('input[name="label"]').fill("Explains why")
        rows.last.locator('input[name="points"]').fill("1")
        edit.get_by_role("button", name="Save rubric").click()
        aids = grading.locator("section.aids:has(fieldset.rubric)")
        aids.locator("label.rubric-item", has_text="Explains why").wait_for(timeout=20_000)
        for item in ("Says what greet returns", "Explains why"):
            aids.locator("label.rubric-item", has_text=item).locator("input").check()
        aids.get_by_role("button", name="Apply rubric").click()
        aids.locator("fieldset.rubric .status", has_text="Applied: 2 points").wait_for(
            timeout=30_000
        )
        notes = aids.locator("details.line-comments")
        if not notes.locator("form").is_visible():
            notes.locator("summary").click()
        notes.locator('input[name="line"]').fill("3")
        notes.locator('input[name="text"]').fill(NOTE)
        notes.get_by_role("button", name="Add line comment").click()
        grading.locator('.nbc-line-comment[data-line="3"]').first.wait_for(timeout=15_000)
        assert grading.locator("#total").inner_text() == "3"
        shot(grading, out, "8-grading-rubric-line-comment", full_page=True)
        # the next student and back, by keyboard
        grading.locator("body").click(position={"x": 5, "y": 5})
        grading.keyboard.press("j")
        grading.get_by_role("heading", name=f"{ben}: {LESSON}").wait_for(timeout=15_000)
        grading.keyboard.press("k")
        grading.get_by_role("heading", name=f"{ann}: {LESSON}").wait_for(timeout=15_000)
    finally:
        grading.close()


def _student_reads_the_feedback(page: Any, out: Path) -> None:
    lesson = page.locator(f'.nbc-course .nbc-lesson[data-lesson="{LESSON}"]')
    with page.context.expect_page(timeout=20_000) as opened:
        lesson.locator("a.nbc-feedback-link").click()
    feedback = opened.value
    note = feedback.locator(".nbc-line-comment", has_text=NOTE)
    note.wait_for(timeout=30_000)
    note.scroll_into_view_if_needed()
    shot(feedback, out, "9-student-feedback")
    feedback.close()
