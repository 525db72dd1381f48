"""The admin screens in Chromium, as an admin uses them: create an account (a bad name first),
disable a student who then cannot log in (a real Hub login attempt), publish a course an
instructor sent for review, change the school's name; light and dark mode. Screenshots go to
test-output/."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.browser import log_in, sign_in
from harness.hub import CampusHub

pytestmark = [pytest.mark.browser, pytest.mark.slow]
C = "services/campus/api/v1/"
COURSE = "c-fundamentals"


@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_admin_disables_an_account_and_publishes_a_reviewed_course(
    campus_hub: CampusHub, browser, output_dir: Path
) -> None:
    hub = campus_hub
    admin, student = hub.demo("admin"), next(a for a in hub.demo_accounts if a["name"] == "bob")
    instructor = hub.demo("instructor")
    # An instructor's course waiting for review: the admin took it back to draft earlier, the
    # instructor teaches a class of it and sends it (from the API; the Lab has its own view).
    api_admin = hub.client(admin["name"])
    resp = api_admin.post(
        C + f"courses/{COURSE}/review", json={"action": "unpublish", "note": "v2"}
    )
    assert resp.status_code == 200, resp.text
    resp = hub.client(hub.demo("staff")["name"]).post(
        C + "classes",
        json={
            "name": "C evening",
            "course": COURSE,
            "total_meetings": 6,
            "max_capacity": 8,
            "enrollment_deadline": "2099-12-31",
            "instructor": instructor["name"],
        },
    )
    assert resp.status_code == 201, resp.text
    resp = hub.client(instructor["name"]).post(
        C + f"courses/{COURSE}/review", json={"action": "submit"}
    )
    assert resp.json()["status"] == "in_review", resp.text

    # Bob is logged in somewhere when the admin disables him.
    bob = sign_in(
        browser, hub, student["name"], student["password"], viewport=(1280, 800), wait="load"
    )

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        log_in(page, hub, admin["name"], admin["password"], next_="hub/home", wait="load")
        page.click("#nav-campus-admin")
        page.wait_for_selector("#accounts")
        assert page.locator('.navbar a.nav-link[href$="/hub/admin"]').is_hidden()
        page.screenshot(path=str(output_dir / "admin-accounts.png"), full_page=True)

        # a bad name: the error beside the field, what was typed kept, nothing created
        page.fill("#new-name", "Erin Example!")
        page.fill("#new-display", "Erin Example")
        page.fill("#new-email", "erin@example.org")
        page.click("#create-submit")
        page.wait_for_selector("#new-name.is-invalid")
        assert "a-z" in page.inner_text("#new-name-error")
        assert page.input_value("#new-display") == "Erin Example"
        page.screenshot(path=str(output_dir / "admin-accounts-bad-name.png"), full_page=True)
        assert page.locator('tr[data-account="erin"]').count() == 0
        page.fill("#new-name", "erin")
        page.select_option("#new-role", "instructor")
        page.click("#create-submit")
        page.wait_for_selector("#one-time-password")
        erin_password = page.inner_text("#secret-password").strip()
        assert page.locator('tr[data-account="erin"]').count() == 1
        page.screenshot(path=str(output_dir / "admin-account-created.png"), full_page=True)
        assert hub.login_session("erin", erin_password)  # a working account, with its role

        # disable Bob
        page.fill("#q", "bob")
        page.click("#search-accounts button[type=submit]")
        page.click('button[aria-label="Disable bob"]')
        page.wait_for_selector("#admin-message")
        assert "bob disabled" in page.inner_text("#admin-message")
        assert page.locator('tr[data-account="bob"] .badge').inner_text() == "disabled"
        page.screenshot(path=str(output_dir / "admin-account-disabled.png"), full_page=True)

        # Bob's open session has ended, and a real login attempt fails
        bob.goto(hub.url + "hub/home")
        assert "/hub/login" in bob.url
        log_in(bob, hub, student["name"], student["password"])
        bob.wait_for_selector(".login_error, #login_error, .alert-danger", timeout=30_000)
        assert "/hub/login" in bob.url
        bob.screenshot(path=str(output_dir / "admin-disabled-login-refused.png"))

        # course review: return needs a reason (beside its field), then publish
        page.click("text=Course review")
        row = page.locator(f'tr[data-course="{COURSE}"]')
        assert "in review" in row.inner_text()
        row.locator('button[value="return"]').click()
        page.wait_for_selector(f"#note-{COURSE}.is-invalid")
        page.screenshot(path=str(output_dir / "admin-review-needs-reason.png"), full_page=True)
        page.locator(f'tr[data-course="{COURSE}"] button[value="publish"]').click()
        page.wait_for_selector("#admin-message")
        assert "published" in page.inner_text("#admin-message")
        row = page.locator(f'tr[data-course="{COURSE}"]')
        assert "published" in row.locator(".badge").inner_text()
        page.screenshot(path=str(output_dir / "admin-course-review.png"), full_page=True)
        # the student's API sees the course again
        alice = hub.client("alice")
        listed = [c["slug"] for c in alice.get(C + "courses").json()["courses"]]
        assert COURSE in listed

        # school settings: a bad time zone beside its field, then a new name shown at once
        page.click("text=School settings")
        currency = page.input_value("#setting-currency")  # the default (config) or as set
        page.fill("#setting-timezone", "Mars/Olympus")
        page.fill("#setting-currency", "euro")
        page.fill("#setting-name", "Orus School")
        page.click("#settings-submit")
        page.wait_for_selector("#setting-timezone.is-invalid")
        assert "ISO 4217" in page.inner_text("#setting-currency-error")
        assert page.input_value("#setting-name") == "Orus School"
        assert page.inner_text("#school-name") != "Orus School"  # nothing stored
        page.fill("#setting-timezone", "Asia/Jakarta")
        page.fill("#setting-currency", "EUR")
        page.click("#settings-submit")
        page.wait_for_selector("#admin-message")
        assert page.inner_text("#school-name") == "Orus School"
        assert "Asia/Jakarta" in page.inner_text("#audit") and "EUR" in page.inner_text("#audit")
        assert hub.client("alice").get(C + "settings").json()["currency"] == "EUR"
        page.screenshot(path=str(output_dir / "admin-settings.png"), full_page=True)
        page.fill("#setting-currency", currency)  # back as it was, for the tests after this one
        page.click("#settings-submit")
        page.wait_for_selector("#admin-message")

        # dark mode (the Hub's own toggle)
        page.click("text=Accounts")
        page.click("#dark-theme-toggle")
        assert page.get_attribute("html", "data-bs-theme") == "dark"
        page.screenshot(path=str(output_dir / "admin-accounts-dark.png"), full_page=True)
    finally:
        context.close()
        bob.context.close()


@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_staff_and_admins_start_their_day_on_their_pages_not_in_a_lab(
    campus_hub: CampusHub, browser, output_dir: Path
) -> None:
    """Signing in without a `next`: staff land in the Office, admins on the admin pages, and
    neither gets a JupyterLab started; an instructor still lands in their Lab."""
    hub = campus_hub
    for role, path, ready in (
        ("staff", "/hub/office/classes", "#classes-table tbody tr td a"),
        ("admin", "/hub/campus-admin/accounts", "#accounts"),
    ):
        person = hub.demo(role)
        page = sign_in(browser, hub, person["name"], person["password"], wait="load")
        try:
            assert page.url.endswith(path), page.url
            page.wait_for_selector(ready)
            if role == "staff":
                page.screenshot(path=str(output_dir / "staff-signs-in-to-the-office.png"))
        finally:
            page.context.close()
        user = hub.admin_client().get(f"hub/api/users/{person['name']}").json()
        assert user["servers"] == {}, user  # no server started for them
    instructor = hub.demo("instructor")
    page = sign_in(browser, hub, instructor["name"], instructor["password"], wait="load")
    try:
        assert f"/user/{instructor['name']}/lab" in page.url, page.url
    finally:
        page.context.close()
