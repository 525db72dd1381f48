"""A person's first minute: open the campus, log in as a demo student, land in JupyterLab."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.hub import CampusHub

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_student_logs_in_and_sees_jupyterlab(
    campus_hub: CampusHub, browser, output_dir: Path
) -> None:
    student = campus_hub.demo("student")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(campus_hub.url + "hub/login")
        page.fill("#username_input", student["name"])
        page.fill("#password_input", student["password"])
        page.screenshot(path=str(output_dir / "login.png"))
        page.click("#login_submit")
        # The Hub spawns the server, then JupyterLab loads its shell and launcher.
        page.wait_for_selector(".jp-LabShell", timeout=90_000)
        page.wait_for_selector(".jp-Launcher", timeout=60_000)
        assert f"/user/{student['name']}/lab" in page.url
        page.screenshot(path=str(output_dir / "lab-student.png"))
    finally:
        page.close()
