"""Exam time accommodations in the office: on a class's roster (Enrollment tab) staff and the
class's instructors set a student's time multiplier for the course's timed exams, with the
rule beside the field on bad input; each change is an audit row of the student's class
(before and after); students, and instructors who do not teach the course, are refused the
API and the office relay alike. Screenshots: test-output/office-accommodation-*.png."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness.hub import CampusHub
from office_world import COURSE, C, group_class, staff_client, students
from test_office_browser import login

ACC = C + f"courses/{COURSE}/accommodations"


def _rows(client: Any, cid: int, student: str) -> list[dict[str, Any]]:
    resp = client.get(C + f"classes/{cid}/audit?kind=accommodation&student={student}")
    assert resp.status_code == 200, resp.text
    return resp.json()["audit"]


def test_accommodations_are_audited_validated_and_refused(
    campus_hub: CampusHub, make_user: Callable[..., dict[str, Any]]
) -> None:
    staff = staff_client(campus_hub)
    teacher = campus_hub.client(campus_hub.demo("instructor")["name"])
    klass = group_class(campus_hub)
    cid = klass["id"]
    ada, bob = (p["name"] for p in students(make_user, 2))
    staff.post(C + f"classes/{cid}/enroll-many", json={"students": [ada, bob]}).raise_for_status()

    # Staff set 1.5, the class's instructor 2: both in the class's audit, before -> after.
    assert staff.put(f"{ACC}/{ada}", json={"multiplier": 1.5}).status_code == 200
    resp = teacher.put(f"{ACC}/{ada}", json={"multiplier": 2})
    assert resp.status_code == 200, resp.text
    mine = {a["user"]: a for a in resp.json()["accommodations"]}
    assert (
        mine[ada]["multiplier"] == 2
        and mine[ada]["set_by"] == campus_hub.demo("instructor")["name"]
    )
    rows = _rows(staff, cid, ada)
    assert [r["action"] for r in rows] == ["accommodation.set", "accommodation.set"]
    assert [
        (json.loads(r["before"])["multiplier"], json.loads(r["after"])["multiplier"]) for r in rows
    ] == [
        (1.0, 1.5),
        (1.5, 2.0),
    ]
    assert [r["actor"] for r in rows] == [
        staff_name(campus_hub),
        campus_hub.demo("instructor")["name"],
    ]

    # Bad input: a JSON error naming the field, nothing stored, no audit row.
    for bad in (0.5, 6, "1.5", None):
        resp = staff.put(f"{ACC}/{ada}", json={"multiplier": bad})
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["code"] and "multiplier" in resp.json()["message"]
    resp = staff.put(f"{ACC}/not-a-student-here", json={"multiplier": 1.5})
    assert resp.status_code == 404 and resp.json()["details"]["field"] == "user"
    assert len(_rows(staff, cid, ada)) == 2

    # Refused: a student (of this class), an instructor who teaches nothing of the course;
    # the office relay refuses them too (the Chromium test).
    outsider = make_user("instructor")
    for client in (campus_hub.client(bob), outsider["client"]):
        assert client.get(ACC).status_code == 403
        assert client.put(f"{ACC}/{ada}", json={"multiplier": 5}).status_code == 403
    assert {a["user"]: a["multiplier"] for a in staff.get(ACC).json()["accommodations"]}[ada] == 2


def staff_name(hub: CampusHub) -> str:
    return hub.demo("staff")["name"]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_office_roster_sets_exam_time_in_chromium(
    campus_hub: CampusHub,
    make_user: Callable[..., dict[str, Any]],
    browser: Any,
    output_dir: Path,
) -> None:
    staff = staff_client(campus_hub)
    klass = group_class(campus_hub, name="Exam time evening")
    cid = klass["id"]
    people = [p["name"] for p in students(make_user, 3)]
    staff.post(C + f"classes/{cid}/enroll-many", json={"students": people}).raise_for_status()
    carol = people[1]

    for who, shot in (
        ("staff", "office-accommodation-staff"),
        ("instructor", "office-accommodation-instructor"),
    ):
        person = campus_hub.demo(who)
        page = login(browser, campus_hub, person["name"], person["password"])
        try:
            page.goto(campus_hub.url + f"hub/office/classes/{cid}")
            page.click("#tab-enrollment")
            page.wait_for_selector("#accommodations-table tbody tr[data-student]")
            page.select_option("#acc-student", carol)
            # Bad input: the rule beside the field, nothing sent.
            page.fill("#acc-multiplier", "7")
            page.click("#acc-save")
            error = page.locator("#acc-multiplier ~ .invalid-feedback")
            error.wait_for()
            assert "from 1 to 5" in error.inner_text()
            if who == "staff":
                page.locator("#accommodations-card").screenshot(
                    path=str(output_dir / "office-accommodation-error.png"), animations="disabled"
                )
            factor = "1.5" if who == "staff" else "1.25"
            page.fill("#acc-multiplier", factor)
            assert "60-minute exam gives " + carol + " " in page.inner_text("#acc-preview")
            if who == "staff":
                page.screenshot(
                    path=str(output_dir / "office-accommodation-field.png"),
                    full_page=True,
                    animations="disabled",
                )
            page.click("#acc-save")
            cell = page.locator(f"#accommodations-table tr[data-student='{carol}'] .acc-multiplier")
            cell.filter(has_text="×" + factor).wait_for()
            page.screenshot(
                path=str(output_dir / f"{shot}.png"), full_page=True, animations="disabled"
            )
        finally:
            page.context.close()
    got = {a["user"]: a["multiplier"] for a in staff.get(ACC).json()["accommodations"]}
    assert got[carol] == 1.25

    # Dark mode (the Hub's Bootstrap theme): the card follows it.
    person = campus_hub.demo("staff")
    page = login(browser, campus_hub, person["name"], person["password"], dark=True)
    try:
        page.goto(campus_hub.url + f"hub/office/classes/{cid}")
        page.click("#tab-enrollment")
        page.locator(f"#accommodations-table tr[data-student='{carol}']").filter(
            has_text="×1.25"
        ).wait_for()
        page.locator("#accommodations-card").screenshot(
            path=str(output_dir / "office-accommodation-dark.png"), animations="disabled"
        )
    finally:
        page.context.close()
    assert [r["actor"] for r in _rows(staff, cid, carol)] == [
        staff_name(campus_hub),
        campus_hub.demo("instructor")["name"],
    ]

    # A student opening the class page or its relay is refused.
    student = make_user("student")
    page = login(browser, campus_hub, student["name"], student["password"])
    try:
        assert page.goto(campus_hub.url + f"hub/office/classes/{cid}").status == 403
        status = page.evaluate(
            """async ([url, xsrf]) => (await fetch(url, {method: "PUT", credentials: "same-origin",
                headers: {"Content-Type": "application/json", "X-XSRFToken": xsrf},
                body: JSON.stringify({multiplier: 5})})).status""",
            [
                campus_hub.url + f"hub/office/api/courses/{COURSE}/accommodations/{carol}",
                # the page's own XSRF token: refused for who she is, not for a missing token
                next((c["value"] for c in page.context.cookies() if c["name"] == "_xsrf"), ""),
            ],
        )
        assert status == 403
    finally:
        page.context.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_accommodations_follow_an_enrollment_on_the_same_page(
    campus_hub: CampusHub,
    make_user: Callable[..., dict[str, Any]],
    browser: Any,
    output_dir: Path,
) -> None:
    """Students enrolled on the Enrollment tab appear in the exam time card at once (it
    used to say "Nobody is enrolled yet." until the page was reloaded)."""
    cid = group_class(campus_hub, name="Exam time, enrolled on the page")["id"]
    people = [p["name"] for p in students(make_user, 2)]
    person = campus_hub.demo("staff")
    page = login(browser, campus_hub, person["name"], person["password"])
    try:
        page.goto(campus_hub.url + f"hub/office/classes/{cid}")
        page.click("#tab-enrollment")
        page.locator("#accommodations-table tbody").filter(
            has_text="Nobody is enrolled yet."
        ).wait_for()
        assert page.is_disabled("#acc-save")
        page.fill("#many-list", "\n".join(people))
        page.click("#enroll-many button[type=submit]")
        for who in people:
            page.locator(f"#accommodations-table tr[data-student='{who}']").wait_for()
        assert "Nobody is enrolled yet." not in page.inner_text("#accommodations-table")
        options = page.eval_on_selector_all("#acc-student option", "els => els.map(e => e.value)")
        assert sorted(options) == sorted(people)
        assert not page.is_disabled("#acc-save")
        page.screenshot(
            path=str(output_dir / "office-accommodation-after-enroll.png"),
            full_page=True,
            animations="disabled",
        )
    finally:
        page.context.close()
