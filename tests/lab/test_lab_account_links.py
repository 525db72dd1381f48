"""The person's account pages reached from the Lab: a demo student opens "Change password" in
the Campus panel, the Hub's password page opens in a new tab, the student changes the
password there and signs in with the new one (the old one is refused). The "Profile" link
opens the Hub's profile page the same way. Screenshots go to test-output/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from harness.browser import lab_ready, sign_in
from harness.hub import CampusHub

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True),
]

NEW_PASSWORD = "amber lantern 42"


def test_student_changes_password_from_the_campus_panel(
    campus_hub: CampusHub, browser: Any, output_dir: Path
) -> None:
    hub = campus_hub
    student = hub.demo("student")
    page = sign_in(browser, hub, student["name"], student["password"])
    try:
        lab_ready(page, timeout=90_000)
        account = page.locator(".nbc-panel .nbc-account")
        profile = account.get_by_role("link", name=re.compile("profile", re.I))
        change = account.get_by_role("link", name=re.compile("Change your password", re.I))
        assert profile.inner_text() == "Profile" and change.inner_text() == "Change password"
        page.locator(".nbc-header").screenshot(path=str(output_dir / "lab-account-links.png"))
        page.screenshot(path=str(output_dir / "lab-account-links-full.png"))

        # "Profile" opens the Hub's profile page in a new tab.
        with page.context.expect_page() as opened:
            profile.click()
        profile_tab = opened.value
        profile_tab.wait_for_load_state()
        assert re.search(r"/hub/profile$", profile_tab.url), profile_tab.url
        assert profile_tab.locator("h1").count() >= 1
        profile_tab.close()

        # "Change password" opens the Hub's password page in a new tab; change it there.
        with page.context.expect_page() as opened:
            change.click()
        tab = opened.value
        tab.wait_for_selector("#account-current")
        assert re.search(r"/hub/password$", tab.url), tab.url
        assert "Change your password" in tab.inner_text("h1")
        tab.fill("#account-current", student["password"])
        tab.fill("#account-password", NEW_PASSWORD)
        tab.fill("#account-confirm", NEW_PASSWORD)
        tab.screenshot(path=str(output_dir / "lab-account-password-page.png"), full_page=True)
        tab.click("#account-submit")
        tab.wait_for_selector("#account-message")
        assert "Your password is changed" in tab.inner_text("#account-message")
        tab.screenshot(path=str(output_dir / "lab-account-password-changed.png"), full_page=True)
    finally:
        page.context.close()

    # The old password no longer signs in; the new one does (straight to the running Lab).
    old = sign_in(browser, hub, student["name"], student["password"])
    try:
        old.wait_for_selector(".login_error", timeout=30_000)
        assert "/hub/login" in old.url
    finally:
        old.context.close()
    new = sign_in(browser, hub, student["name"], NEW_PASSWORD)
    try:
        new.wait_for_selector(".jp-LabShell", timeout=90_000)
    finally:
        new.context.close()
