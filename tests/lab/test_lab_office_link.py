"""The Office from the Lab's Teach tab: staff open the class they picked in the Hub's Office
pages (a new tab); the class's instructor opens it read-only. A student has no Teach tab.
Screenshots go to test-output/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from harness.browser import open_lab
from harness.hub import CampusHub

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True),
]

C = "services/campus/api/v1/"
DEMO_CLASS = "Introduction to Python (demo group)"


@pytest.mark.parametrize(
    ("who", "label", "read_only"),
    [("staff", "Office", False), ("instructor", "Office (read-only)", True)],
)
def test_teach_tab_links_to_the_office(
    campus_hub: CampusHub, browser: Any, output_dir: Path, who: str, label: str, read_only: bool
) -> None:
    hub = campus_hub
    person = hub.demo(who)
    classes = hub.client(person["name"]).get(C + "classes").json()["classes"]
    cid = next(k["id"] for k in classes if k["name"] == DEMO_CLASS)
    page = open_lab(browser, hub, person["name"], person["password"], timeout=90_000)
    try:
        page.click("#nbc-tab-teach")
        teach = page.locator(".nbc-teach")
        teach.wait_for(timeout=30_000)
        page.select_option(".nbc-teach select", label=DEMO_CLASS)
        link = teach.locator("a.nbc-office-link")
        link.wait_for(timeout=20_000)
        assert link.inner_text() == label
        assert link.get_attribute("target") == "_blank"
        assert re.search(rf"/hub/office/classes/{cid}$", link.get_attribute("href") or "")
        teach.screenshot(path=str(output_dir / f"lab-teach-office-link-{who}.png"))
        with page.context.expect_page(timeout=20_000) as opened:
            link.click()
        office = opened.value
        office.wait_for_selector("#class-details dt", timeout=30_000)
        assert office.inner_text("#class-title") == DEMO_CLASS
        assert office.locator("#read-only-note").count() == (1 if read_only else 0)
        assert office.locator("#edit-class").count() == (0 if read_only else 1)
        office.close()
    finally:
        page.context.close()
