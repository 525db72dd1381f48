"""The Unlock button after a course's last lesson (real Hub, the instructor's own Lab,
headless Chromium): the Class view and the Teach tab say "No lesson left to unlock" and keep
the button disabled, even with meetings held beyond the lessons unlocked, and do not ask for
the next meeting's attendance. Screenshot: test-output/lab-unlock-none-left.png."""

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
def test_after_the_last_lesson_the_button_says_none_is_left(
    campus_hub: CampusHub, browser: Any, output_dir: Path, tmp_path: Path
) -> None:
    # nbgrader's ps1 is a course of one lesson: open_class unlocks it after meeting 1.
    tag = uuid.uuid4().hex[:6]
    course = f"ps1-last-{tag}"
    shutil.copytree(PS1 / "source", tmp_path / course / "source")
    names = {"teacher": f"last-t-{tag}", "ann": f"last-a-{tag}"}
    cid, passwords = open_class(campus_hub, tmp_path / course / "source", course, "Last", names)
    teacher = campus_hub.client(names["teacher"])
    # a second meeting held: the meeting rule alone would let the button be pressed
    body = {
        "meeting_number": 2,
        "meeting_date": "2026-12-02",
        "records": [{"student": names["ann"], "status": "present"}],
    }
    assert teacher.post(CAMPUS + f"classes/{cid}/attendance", json=body).status_code == 201
    (row,) = [
        c for c in teacher.get(CAMPUS + "classes?teaching=1").json()["classes"] if c["id"] == cid
    ]
    assert row["next_lesson"] is None

    page = open_lab(browser, campus_hub, names["teacher"], passwords["teacher"])
    try:
        view = page.locator(".nbc-classview")
        view.locator("select").wait_for(timeout=30_000)
        view.locator("select").select_option(value=str(cid))
        unlocks = view.locator('section[aria-labelledby="nbc-cv-unlocks"]')
        unlocks.get_by_text("Lessons unlocked: 1 · meetings held: 2").wait_for(timeout=20_000)
        button = unlocks.get_by_role("button", name="No lesson left to unlock")
        button.wait_for(timeout=20_000)
        assert button.is_disabled()
        assert unlocks.get_by_text("take attendance for meeting").count() == 0
        page.click("#nbc-tab-teach")
        teach = page.locator(".nbc-teach")
        teach.locator("select").first.select_option(value=str(cid))
        side = teach.locator(".nbc-unlock")
        side.filter(has_text="No lesson left to unlock").wait_for(timeout=20_000)
        assert side.is_disabled()
        page.screenshot(path=str(output_dir / "lab-unlock-none-left.png"))
    finally:
        page.context.close()
