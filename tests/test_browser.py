"""A person's first minute: open the campus, log in as a demo student, land in JupyterLab."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.browser import log_in
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


@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_student_runs_a_c_cell_in_the_lab(campus_hub: CampusHub, browser, output_dir: Path) -> None:
    """The C kernel from the Lab: a function defined in one cell is called in the next."""
    student = campus_hub.demo("student")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        log_in(page, campus_hub, student["name"], student["password"])
        page.wait_for_selector(".jp-Launcher", timeout=90_000)
        page.click('.jp-LauncherCard[title="C"][data-category="Notebook"]')
        page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=30_000)
        # Wait for the kernel to be idle before typing, so the first run is not queued.
        page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(timeout=60_000)

        def run_cell(code: str) -> None:
            editor = page.locator(".jp-Notebook .jp-Cell.jp-mod-active .cm-content")
            editor.click()
            page.keyboard.insert_text(code)
            page.keyboard.press("Shift+Enter")

        run_cell("int square(int x) { return x * x; }")
        run_cell('#include <stdio.h>\nprintf("square(7) = %d\\n", square(7));')
        output = page.locator(".jp-OutputArea-output", has_text="square(7) = 49")
        output.wait_for(timeout=60_000)
        page.screenshot(path=str(output_dir / "lab-c-kernel.png"))
    finally:
        page.close()


def test_the_readme_run_command_lets_a_demo_student_in(
    tmp_path: Path, browser, output_dir: Path
) -> None:
    """`nbcampus run` exactly as the README has it: no NBCAMPUS_DATA_DIR, the data directory
    is ./nbcampus-data. The Hub runs inside it and reads the settings again: it must find the
    same directory (it made ./nbcampus-data/nbcampus-data, empty, and failed to start)."""
    data = tmp_path / "nbcampus-data"
    hub = CampusHub(data, readme_data_dir=True).start()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        student = hub.demo("student")
        log_in(page, hub, student["name"], student["password"])
        page.wait_for_selector(".jp-LabShell", timeout=90_000)
        page.wait_for_selector(".jp-Launcher", timeout=60_000)
        assert f"/user/{student['name']}/lab" in page.url
        page.screenshot(path=str(output_dir / "readme-run-student-lab.png"))
        assert not (data / "nbcampus-data").exists()
    finally:
        page.close()
        hub.stop()
