"""The daily email digest's switch on the profile page, in Chromium through a real Hub: off
for a new person, on after a click (kept after a reload), off again."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from harness.hub import CampusHub

pytestmark = [pytest.mark.slow]


@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_daily_digest_switch_on_the_profile(
    campus_hub: CampusHub, make_user, browser, output_dir: Path
) -> None:
    student = make_user("student")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        next_url = quote(urlsplit(campus_hub.url).path + "hub/profile", safe="")
        page.goto(campus_hub.url + "hub/login?next=" + next_url)
        page.fill("#username_input", student["name"])
        page.fill("#password_input", student["password"])
        page.click("#login_submit")
        page.wait_for_selector("#nbcampus-profile", timeout=30_000)
        assert not page.is_checked("#daily-digest")  # opt-in: off until switched on
        page.click("#daily-digest")
        page.wait_for_selector("#profile-message")
        assert page.inner_text("#profile-message") == "You will get a daily email digest."
        page.goto(campus_hub.url + "hub/profile")
        assert page.is_checked("#daily-digest")
        page.screenshot(path=str(output_dir / "profile-daily-digest.png"))
        page.click("#daily-digest")
        page.wait_for_selector("#profile-message")
        assert page.inner_text("#profile-message") == "You will get no daily email digest."
        page.goto(campus_hub.url + "hub/profile")
        assert not page.is_checked("#daily-digest")
    finally:
        context.close()
    # A post from outside the page (an API token, no XSRF token) is refused.
    resp = student["client"].post("hub/profile/digest", data={"daily_digest": "on"})
    assert resp.status_code == 403
