"""The Class view in JupyterLab's main area, end to end (real Hub, the instructor's own
spawned Lab, headless Chromium): the demo instructor lands on their classes (not on "You are
not enrolled"), sees the roster with credits and attendance and the meeting grid, and edits a
past meeting's marks and date through the campus API; a student may not."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness.browser import open_lab
from harness.hub import CampusHub

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)]
CAMPUS = "services/campus/api/v1/"
DEMO_CLASS = "Introduction to Python (demo group)"


def class_id(hub: CampusHub, teacher: str) -> int:
    classes = hub.client(teacher).get(CAMPUS + "classes?teaching=1").json()["classes"]
    return next(c["id"] for c in classes if c["name"] == DEMO_CLASS)


@pytest.mark.browser
def test_instructor_lands_on_the_class_view_and_edits_a_past_meeting(
    campus_hub: CampusHub, browser: Any, output_dir: Path
) -> None:
    teacher = campus_hub.demo("instructor")
    cid = class_id(campus_hub, teacher["name"])
    api = campus_hub.client(teacher["name"])
    before = api.get(CAMPUS + f"classes/{cid}/attendance?meeting=1").json()["attendance"]
    assert before, "the demo campus holds meeting 1"
    old_day = date.fromisoformat(before[0]["meeting_date"])
    new_day = (old_day - timedelta(days=2)).isoformat()
    someone = before[-1]["student"]

    page = open_lab(browser, campus_hub, teacher["name"], teacher["password"])
    try:
        # Instructors land on their classes: the Class view opens in the main area.
        view = page.locator(".nbc-classview")
        view.locator("select").wait_for(timeout=30_000)
        panel = page.locator(".nbc-panel")
        assert panel.locator("text=You are not enrolled in any course yet.").count() == 0
        view.locator("select").select_option(value=str(cid))
        view.get_by_role("heading", name=DEMO_CLASS, level=1).wait_for(timeout=20_000)
        grid = view.locator("table.nbc-cv-grid")
        row = grid.locator(f'tr[data-student="{someone}"]')
        row.wait_for(timeout=20_000)
        # the roster: credits and attendance beside each student, and the meeting grid
        cells = row.locator("td").all_inner_texts()
        assert cells[0].strip().isdigit() and cells[1].strip().endswith("%")
        assert grid.locator(".nbc-cv-date", has_text=old_day.isoformat()).count() == 1
        # Edit the past meeting 1: its date and one student's mark.
        view.get_by_role("button", name=f"Edit meeting 1 of {old_day.isoformat()}").click()
        editor = view.locator("form.nbc-cv-editor")
        editor.locator('input[name="meeting_date"]').fill(new_day)
        editor.locator(f'input[name="cv-att-{someone}"][value="late"]').check()
        editor.get_by_role("button", name="Save changes").click()
        view.locator(".nbc-ok", has_text=f"Meeting 1 saved ({new_day})").wait_for(timeout=20_000)
        grid.locator(".nbc-cv-date", has_text=new_day).wait_for(timeout=20_000)
        assert row.locator("td.nbc-cv-late").count() == 1
        # an announcement scheduled for tomorrow waits in the list
        ann = view.locator('section[aria-labelledby="nbc-cv-ann"]')
        ann.get_by_label("Title").fill("Quiz on Friday")
        ann.get_by_label("Message (Markdown)").fill("Bring a pencil.")
        ann.get_by_label("Send at (optional)").fill(
            (date.today() + timedelta(days=1)).isoformat() + "T09:00"
        )
        ann.get_by_role("button", name="Schedule").click()
        view.locator(".nbc-ok", has_text="Announcement scheduled").wait_for(timeout=20_000)
        ann.locator("li", has_text="Quiz on Friday").locator("text=scheduled for").wait_for(
            timeout=20_000
        )
        page.screenshot(path=str(output_dir / "lab-class-view.png"))
        # the side panel keeps its quick actions and opens the same view
        page.click("#nbc-tab-teach")
        page.locator(".nbc-teach .nbc-open-classview").click()
        view.wait_for(timeout=20_000)
    finally:
        page.context.close()
    after = api.get(CAMPUS + f"classes/{cid}/attendance?meeting=1").json()["attendance"]
    assert {r["meeting_date"] for r in after} == {new_day}
    assert next(r["status"] for r in after if r["student"] == someone) == "late"


def test_a_student_may_not_edit_a_meeting(campus_hub: CampusHub) -> None:
    teacher = campus_hub.demo("instructor")
    cid = class_id(campus_hub, teacher["name"])
    student = campus_hub.client(campus_hub.demo("student")["name"])
    body = {"records": [], "meeting_date": "2026-01-01"}
    resp = student.put(CAMPUS + f"classes/{cid}/attendance/1", json=body)
    assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"
    assert student.get(CAMPUS + f"classes/{cid}/attendance").status_code == 403
