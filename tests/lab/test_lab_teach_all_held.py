"""The Teach tab once every meeting of a class is held (real Hub, the instructor's own Lab,
headless Chromium): it offers no meeting after the last (it offered "meeting 3" of a class of
2, with "credits 0 → -1", and the campus refused the save), only the held ones to edit; the
campus refuses a meeting past the class with its own code, and no credit goes below zero.
Screenshot: test-output/lab-teach-all-held.png."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from harness.browser import open_lab
from harness.classroom import open_class
from harness.hub import CampusHub
from harness.reference import PS1

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)]
CAMPUS = "services/campus/api/v1/"


@pytest.mark.browser
def test_no_meeting_after_the_last_is_offered(
    campus_hub: CampusHub, browser: Any, output_dir: Path, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    course = f"ps1-held-{tag}"
    shutil.copytree(PS1 / "source", tmp_path / course / "source")
    names = {"teacher": f"held-t-{tag}", "ann": f"held-a-{tag}"}
    # a class of 2 meetings: open_class holds meeting 1, the teacher holds meeting 2
    cid, passwords = open_class(campus_hub, tmp_path / course / "source", course, "Held", names)
    teacher = campus_hub.client(names["teacher"])
    records = [{"student": names["ann"], "status": "present"}]
    body = {"meeting_number": 2, "meeting_date": "2026-12-02", "records": records}
    assert teacher.post(CAMPUS + f"classes/{cid}/attendance", json=body).status_code == 201

    def ann_credits() -> int:
        rows = teacher.get(CAMPUS + f"classes/{cid}/enrollments").json()["enrollments"]
        return next(r["credits_remaining"] for r in rows if r["student"] == names["ann"])

    assert ann_credits() == 0
    # the campus: no third meeting, said with its own code; credits stay at zero
    resp = teacher.post(CAMPUS + f"classes/{cid}/attendance", json={**body, "meeting_number": 3})
    assert resp.status_code == 409 and resp.json()["code"] == "ALL_MEETINGS_HELD", resp.text
    assert "all 2 meetings" in resp.json()["message"]
    assert ann_credits() == 0

    page = open_lab(browser, campus_hub, names["teacher"], passwords["teacher"])
    try:
        page.click("#nbc-tab-teach")
        teach = page.locator(".nbc-teach")
        teach.locator("select").first.select_option(value=str(cid))
        card = teach.locator('section[aria-label="Attendance"]')
        held = card.locator(".nbc-all-held")
        held.wait_for(timeout=20_000)
        assert "All 2 meetings of this class are held" in held.inner_text()
        # the last held meeting is shown for editing, not a new meeting 3
        number = card.locator('input[type="number"]')
        assert number.input_value() == "2" and number.get_attribute("max") == "2"
        card.get_by_text("taken; editing").wait_for(timeout=20_000)
        card.get_by_role("button", name="Save changes").wait_for(timeout=20_000)
        assert card.get_by_role("button", name="Save attendance").count() == 0
        text = card.inner_text()
        assert "-1" not in text and "−1" not in text, text
        page.screenshot(path=str(output_dir / "lab-teach-all-held.png"))
        # asked for meeting 3 anyway: nothing to save, the reason beside the field
        number.fill("3")
        assert card.locator(".nbc-save-attendance").count() == 0
        assert card.locator(".nbc-sheet").count() == 0
        assert "All 2 meetings of this class are held" in card.inner_text()
        # ann has no credit left: marking her present in meeting 1 is named, not saved
        number.fill("1")
        card.get_by_text("taken; editing").wait_for(timeout=20_000)
        row = card.locator(f'li[data-student="{names["ann"]}"]')
        row.locator('input[value="absent"]').check()
        row.get_by_text("credits 0 → 1").wait_for(timeout=20_000)
        assert card.locator(".nbc-save-attendance").is_enabled()
    finally:
        page.context.close()
    assert ann_credits() == 0
