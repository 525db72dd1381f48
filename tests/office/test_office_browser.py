"""The office in Chromium, as the issue's "Done when": a staff member creates a group class,
enrolls ten students, records and verifies a payment, and after the instructor's meetings
edits a past meeting, adjusts a student's credits with a reason and downloads the PDF report.
A student and an instructor opening the staff URLs are refused (the instructor sees their own
class read-only). Screenshots go to test-output/office-*.png."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness.browser import sign_in
from harness.hub import CampusHub
from office_world import PNG_1PX, C, days_ago, group_class, staff_client, students

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True),
]


def login(browser: Any, hub: CampusHub, name: str, password: str, dark: bool = False) -> Any:
    """An Office browser (light or dark, downloads kept) signed in onto the Hub's home page, so
    no JupyterLab starts for it; the Office modules share it."""
    return sign_in(
        browser,
        hub,
        name,
        password,
        next_="hub/home",
        viewport=(1280, 900),
        color_scheme="dark" if dark else "light",
        accept_downloads=True,
        wait="networkidle",
    )


def test_staff_runs_a_term_in_the_browser(
    campus_hub: CampusHub,
    make_user: Callable[..., dict[str, Any]],
    browser: Any,
    output_dir: Path,
    tmp_path: Path,
) -> None:
    staff = campus_hub.demo("staff")
    instructor = campus_hub.demo("instructor")
    people = [p["name"] for p in students(make_user, 10)]
    page = login(browser, campus_hub, staff["name"], staff["password"])
    try:
        # The Hub's navigation leads to the office.
        page.click("#nav-office")
        page.wait_for_selector("#classes-table tbody tr")
        form = page.locator("#create-class")
        form.locator("[name=name]").fill("Python Evening A")
        page.select_option("#c-course", "python-intro")
        page.fill("#c-capacity", "12")
        page.fill("#c-meetings", "8")
        page.fill("#c-instructor", instructor["name"])
        page.select_option("#c-status", "enrollment_open")
        page.check("#c-day-mon")
        page.check("#c-day-thu")
        page.fill("#c-time", "21:00-19:00")  # ends before it starts
        page.fill("#c-start", days_ago(10))
        page.fill("#c-deadline", days_ago(-20))
        page.fill("#c-end", days_ago(-60))
        page.click("#create-submit")
        error = page.locator("#c-time ~ .invalid-feedback")
        error.wait_for()
        assert "ends before it starts" in error.inner_text()
        assert page.input_value("#c-name") == "Python Evening A"  # nothing typed is lost
        page.screenshot(
            path=str(output_dir / "office-create-class-error.png"),
            full_page=True,
            animations="disabled",
        )
        page.fill("#c-time", "19:00-21:00")
        page.click("#create-submit")
        page.wait_for_url(re.compile(r"office/classes/\d+"))
        cid = int(re.search(r"office/classes/(\d+)", page.url).group(1))
        page.wait_for_selector("#class-details dt")
        assert "mon, thu 19:00-21:00" in page.inner_text("#class-details")

        # Enroll: nine pasted, one found by searching.
        page.click("#tab-enrollment")
        page.fill("#many-list", "\n".join(people[:9]) + "\nno-such-person")
        page.click("#enroll-many button[type=submit]")
        page.wait_for_selector("#many-results li")
        assert page.locator("#many-results li.text-success").count() == 9
        assert "no-such-person" in page.input_value("#many-list")  # the refused one stays
        page.fill("#search-q", people[9])
        page.click(f"[data-enroll='{people[9]}']")
        page.wait_for_function(
            "document.querySelectorAll('#enrollments-table tbody tr').length === 10"
        )
        assert "2 seats left of 12" in page.inner_text("#seats-left")
        page.screenshot(
            path=str(output_dir / "office-enrollment.png"), full_page=True, animations="disabled"
        )

        # A payment, recorded with its proof, then verified.
        page.click("#tab-payments")
        page.select_option("#pay-enrollment", label=people[0])
        page.fill("#pay-amount", "12,5")  # a comma: refused beside the field
        page.click("#record-payment button[type=submit]")
        page.locator("#pay-amount ~ .invalid-feedback").wait_for()
        page.fill("#pay-amount", "120.50")
        page.select_option("#pay-method", "bank_transfer")
        page.fill("#pay-reference", "TRX-2026-001")
        proof = tmp_path / "receipt.png"
        proof.write_bytes(base64.b64decode(PNG_1PX))
        page.set_input_files("#pay-proof", str(proof))
        page.click("#record-payment button[type=submit]")
        page.wait_for_selector("#payments-table [data-pay=verify]")
        page.click("#payments-table [data-pay=verify]")
        page.wait_for_selector("#payments-table [data-pay=refund]")
        assert "verified" in page.inner_text("#payments-table")
        # The amount with the school's currency (Admin → School settings), in the CSV too.
        code = staff_client(campus_hub).get(C + "settings").json()["currency"]
        assert f"120.50 {code}" in page.inner_text("#payments-table")
        assert page.inner_text("#pay-currency") == code
        with page.expect_download() as download:
            page.click("#payments-csv")
        paid = Path(download.value.path()).read_text().splitlines()
        assert paid[0].startswith("id,student,amount,currency,") and f"120.50,{code}," in paid[1]
        page.screenshot(
            path=str(output_dir / "office-payments.png"), full_page=True, animations="disabled"
        )
        api = staff_client(campus_hub)
        rows = api.get(C + f"classes/{cid}/enrollments").json()["enrollments"]
        assert next(e for e in rows if e["student"] == people[0])["payment_status"] == "verified"

        # The class starts; a move backwards is refused with the rule shown.
        page.click("#tab-overview")
        page.select_option("#move-to", "active")
        page.click("#move-status button[type=submit]")
        page.wait_for_selector("#class-summary .badge:has-text('active')")
        page.select_option("#move-to", "enrollment_open")
        page.click("#move-status button[type=submit]")
        refused = page.locator("#move-to ~ .invalid-feedback")
        refused.wait_for()
        assert "may go to: completed, cancelled" in refused.inner_text()
        page.screenshot(
            path=str(output_dir / "office-status-refused.png"),
            full_page=True,
            animations="disabled",
        )

        # The instructor holds two meetings (through the API, as the Lab's Class view does).
        teacher = campus_hub.client(instructor["name"])
        for number, ago in ((1, 6), (2, 3)):
            marks = [
                {
                    "student": s,
                    "status": "absent" if (s == people[1] and number == 1) else "present",
                }
                for s in people
            ]
            resp = teacher.post(
                C + f"classes/{cid}/attendance",
                json={"meeting_number": number, "meeting_date": days_ago(ago), "records": marks},
            )
            assert resp.status_code == 201, resp.text

        # Staff edit meeting 1: a student marked absent was there, and the date was wrong.
        page.reload()
        page.click("#tab-attendance")
        page.wait_for_selector("#attendance-grid tbody tr")
        page.select_option("#edit-number", "1")
        page.fill("#edit-date", days_ago(5))
        page.select_option(f"#edit-records [data-student='{people[1]}']", "present")
        page.fill("#edit-notes", "register corrected after the meeting")
        page.click("#edit-preview-btn")
        preview = page.locator("#edit-preview-result")
        preview.wait_for()
        assert f"{people[1]}: absent → present, credits -1" in preview.inner_text()
        page.screenshot(
            path=str(output_dir / "office-attendance-preview.png"),
            full_page=True,
            animations="disabled",
        )
        page.click("#edit-meeting button[type=submit]")
        page.wait_for_selector("#edit-preview .alert-success")
        page.wait_for_selector(f"#attendance-grid th:has-text('{days_ago(5)}')")
        page.screenshot(
            path=str(output_dir / "office-attendance.png"), full_page=True, animations="disabled"
        )

        # Credits: a reason is required in detail for "other"; a makeup class adds two.
        page.click("#tab-credits")
        page.select_option("#credit-student", label=people[1])
        page.wait_for_selector("#credit-balance:has-text('credits left')")
        balance = int(page.inner_text("#credit-balance").split()[0])
        page.fill("#adj-amount", "2")
        page.select_option("#adj-reason", "other")
        page.click("#credit-adjust button[type=submit]")
        detail_error = page.locator("#adj-detail ~ .invalid-feedback")
        detail_error.wait_for()
        assert "reason_detail" in detail_error.inner_text()
        assert f"{balance} → {balance + 2}" in page.inner_text("#adj-preview")
        page.select_option("#adj-reason", "makeup_class")
        page.fill("#adj-detail", "missed meeting 2 for illness; makeup on Saturday")
        page.click("#credit-adjust button[type=submit]")
        page.wait_for_selector(f"#credit-balance:has-text('{balance + 2} credits left')")
        assert "makeup class" in page.inner_text("#credit-history")
        page.screenshot(
            path=str(output_dir / "office-credits.png"), full_page=True, animations="disabled"
        )

        # The PDF report, one click away on the attendance tab.
        page.click("#tab-attendance")
        with page.expect_download() as download:
            page.click("#report-pdf")
        pdf = Path(download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF")
        with page.expect_download() as download:
            page.click("#report-csv")
        report = Path(download.value.path()).read_text()
        assert report.startswith("student,M1,M2") and people[1] in report

        # The audit shows every change, filterable and as CSV.
        page.click("#tab-audit")
        page.wait_for_selector("#audit-table tbody tr td", state="visible")
        text = page.inner_text("#audit-table")
        for action in (
            "class.create",
            "enrollment.enroll",
            "payment.verify",
            "class.update",
            "attendance.edit",
            "credits.makeup_class",
        ):
            assert action in text, action
        page.screenshot(
            path=str(output_dir / "office-audit.png"), full_page=True, animations="disabled"
        )
        page.select_option("#audit-kind", "credits")
        page.click("#audit-filters button[type=submit]")
        page.wait_for_function(
            "[...document.querySelectorAll('#audit-table tbody tr')].length === 1"
        )
        with page.expect_download() as download:
            page.click("#audit-csv")
        audit_csv = Path(download.value.path()).read_text().splitlines()
        assert len(audit_csv) == 2 and "credits.makeup_class" in audit_csv[1]
    finally:
        page.context.close()

    # The same class page in dark mode (the Hub's own theme switch follows the system).
    dark = login(browser, campus_hub, staff["name"], staff["password"], dark=True)
    try:
        dark.goto(campus_hub.url + f"hub/office/classes/{cid}")
        dark.wait_for_selector("#class-details dt")
        dark.click("#tab-enrollment")
        dark.wait_for_selector("#enrollments-table tbody tr", state="visible")
        assert dark.get_attribute("html", "data-bs-theme") == "dark"
        dark.screenshot(
            path=str(output_dir / "office-enrollment-dark.png"),
            full_page=True,
            animations="disabled",
        )
        dark.goto(campus_hub.url + "hub/office/classes")
        dark.wait_for_selector("#classes-table tbody tr td a")
        dark.screenshot(
            path=str(output_dir / "office-classes-dark.png"), full_page=True, animations="disabled"
        )
    finally:
        dark.context.close()


def test_students_and_instructors_are_refused(
    campus_hub: CampusHub, make_user: Callable[..., dict[str, Any]], browser: Any, output_dir: Path
) -> None:
    mine = group_class(campus_hub)  # taught by the demo instructor
    staff = staff_client(campus_hub)
    other = staff.post(
        C + "classes",
        json={
            "name": "Not theirs",
            "course": "python-intro",
            "type": "group",
            "max_capacity": 5,
            "total_meetings": 3,
            "enrollment_deadline": days_ago(-30),
        },
    ).json()
    student = campus_hub.demo("student")
    urls = [
        "hub/office/",
        "hub/office/classes",
        f"hub/office/classes/{mine['id']}",
        f"hub/office/api/classes/{mine['id']}/enrollments",
        f"hub/office/api/classes/{mine['id']}/payments",
        f"hub/office/api/classes/{mine['id']}/audit",
        f"hub/office/api/classes/{mine['id']}/attendance/report?format=pdf",
    ]
    page = login(browser, campus_hub, student["name"], student["password"])
    try:
        # The Hub's navigation is there (Password), without the Office.
        assert page.locator("#nav-password").count() == 1
        assert page.locator("#nav-office").count() == 0
        for url in urls:
            resp = page.goto(campus_hub.url + url)
            assert resp.status == 403, (url, resp.status)
            assert "office/" not in page.content() or "403" in page.content()
        page.goto(campus_hub.url + "hub/office/classes")
        page.screenshot(path=str(output_dir / "office-student-refused.png"), animations="disabled")
        # The API relay refuses a student's writes too (with the Hub's XSRF token).
        status = page.evaluate(
            """async ([url]) => {
                const xsrf = document.cookie.match(/_xsrf=([^;]+)/);
                const r = await fetch(url, {method: "POST", headers: {"Content-Type":
                  "application/json", "X-XSRFToken": xsrf ? decodeURIComponent(xsrf[1]) : ""},
                  body: JSON.stringify({students: ["alice"]})});
                return r.status;
            }""",
            [campus_hub.url + f"hub/office/api/classes/{mine['id']}/enroll-many"],
        )
        assert status == 403
    finally:
        page.context.close()
    assert staff.get(C + f"classes/{mine['id']}/enrollments").json()["enrollments"] == []

    instructor = campus_hub.demo("instructor")
    page = login(browser, campus_hub, instructor["name"], instructor["password"])
    try:
        # From the Hub's home page, where the sign-in lands
        page.click("#nav-office")
        page.wait_for_selector("#classes-table tbody tr td a")
        assert page.locator("#read-only-note").is_visible()
        assert page.locator("#create-class").count() == 0
        listed = page.inner_text("#classes-table")
        assert mine["name"] in listed and "Not theirs" not in listed
        resp = page.goto(campus_hub.url + f"hub/office/classes/{mine['id']}")
        assert resp.status == 200
        page.wait_for_selector("#class-details dt")
        assert page.locator("#tab-payments").count() == 0
        assert (
            page.locator("#move-status, #enroll-many, #credit-adjust, #record-payment").count() == 0
        )
        page.screenshot(
            path=str(output_dir / "office-instructor-read-only.png"),
            full_page=True,
            animations="disabled",
        )
        assert page.goto(campus_hub.url + f"hub/office/classes/{other['id']}").status == 403
        for url in (
            f"hub/office/api/classes/{mine['id']}/payments",
            f"hub/office/api/classes/{other['id']}/enrollments",
            f"hub/office/api/classes/{other['id']}/audit",
        ):
            assert page.goto(campus_hub.url + url).status == 403, url
    finally:
        page.context.close()


def test_staff_edit_a_class_and_record_a_meeting(
    campus_hub: CampusHub,
    make_user: Callable[..., dict[str, Any]],
    browser: Any,
    output_dir: Path,
) -> None:
    staff = campus_hub.demo("staff")
    api = staff_client(campus_hub)
    klass = group_class(campus_hub, meetings=6)
    cid = klass["id"]
    people = sorted(p["name"] for p in students(make_user, 3))
    api.post(C + f"classes/{cid}/enroll-many", json={"students": people}).raise_for_status()
    page = login(browser, campus_hub, staff["name"], staff["password"])
    try:
        page.goto(campus_hub.url + f"hub/office/classes/{cid}")
        page.wait_for_selector("#class-details dt")
        assert page.input_value("#e-name") == klass["name"]
        assert page.input_value("#e-capacity") == "12"
        # Below the students enrolled: refused with the rule beside the capacity.
        page.fill("#e-name", "Python Evening B")
        page.fill("#e-capacity", "2")
        page.click("#edit-class-submit")
        error = page.locator("#e-capacity ~ .invalid-feedback")
        error.wait_for()
        assert "3 students are already enrolled" in error.inner_text()
        assert page.input_value("#e-name") == "Python Evening B"  # nothing typed is lost
        page.locator("#edit-class").scroll_into_view_if_needed()
        page.screenshot(
            path=str(output_dir / "office-class-edit-refused.png"),
            full_page=True,
            animations="disabled",
        )
        # A group class keeps its deadline: emptying it is refused beside the field.
        page.fill("#e-capacity", "15")
        page.fill("#e-deadline", "")
        page.click("#edit-class-submit")
        page.locator("#e-deadline ~ .invalid-feedback").wait_for()
        page.fill("#e-deadline", days_ago(-21))
        # An instructor without an account: refused beside the instructor's field.
        page.fill("#e-instructor", "no-such-teacher")
        page.click("#edit-class-submit")
        refused = page.locator("#e-instructor ~ .invalid-feedback")
        refused.wait_for()
        assert "has no active account" in refused.inner_text()
        page.fill("#e-instructor", campus_hub.demo("instructor")["name"])
        page.fill("#e-end", days_ago(-80))
        page.check("#e-day-sat")
        page.click("#edit-class-submit")
        page.wait_for_selector("#class-title:has-text('Python Evening B')")
        details = page.inner_text("#class-details")
        assert "0 of 15" not in details and "3 of 15 taken" in details
        assert days_ago(-21) in details and days_ago(-80) in details
        assert "sat" in details
        got = api.get(C + f"classes/{cid}").json()
        assert got["name"] == "Python Evening B" and got["max_capacity"] == 15
        assert got["enrollment_deadline"] == days_ago(-21)
        assert got["schedule"]["days"] == ["mon", "thu", "sat"]
        page.screenshot(
            path=str(output_dir / "office-class-edit.png"), full_page=True, animations="disabled"
        )

        # Staff record meeting 1 (the instructor was away): each credit change previewed.
        page.click("#tab-attendance")
        page.wait_for_selector("#rec-records [data-student]")
        assert page.input_value("#rec-number") == "1"
        page.fill("#rec-date", days_ago(1))
        page.select_option(f"#rec-records [data-student='{people[2]}']", "absent")
        page.click("#rec-preview-btn")
        preview = page.locator("#rec-preview-result")
        preview.wait_for()
        text = preview.inner_text()
        assert f"{people[0]}: present, credits 6 → 5" in text
        assert f"{people[2]}: absent, credits 6 → 6" in text
        assert api.get(C + f"classes/{cid}/attendance").json()["attendance"] == []
        page.locator("#record-meeting").scroll_into_view_if_needed()
        page.screenshot(
            path=str(output_dir / "office-record-meeting-preview.png"),
            full_page=True,
            animations="disabled",
        )
        page.click("#rec-submit")
        page.wait_for_selector("#rec-saved")
        page.wait_for_selector(f"#attendance-grid th:has-text('{days_ago(1)}')")
        assert page.input_value("#rec-number") == "2"  # the next meeting is offered
        rows = api.get(C + f"classes/{cid}/attendance").json()["attendance"]
        assert {(r["student"], r["status"], r["marked_by"]) for r in rows} == {
            (people[0], "present", staff["name"]),
            (people[1], "present", staff["name"]),
            (people[2], "absent", staff["name"]),
        }
        # A meeting dated in the future is refused beside the date.
        page.fill("#rec-date", days_ago(-2))
        page.click("#rec-preview-btn")
        assert "in the future" in page.locator("#rec-date ~ .invalid-feedback").inner_text()
        page.screenshot(
            path=str(output_dir / "office-record-meeting.png"),
            full_page=True,
            animations="disabled",
        )
    finally:
        page.context.close()
