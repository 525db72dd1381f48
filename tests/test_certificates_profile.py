"""Certificates and the profile through a real Hub (SQLite and PostgreSQL) and Chromium.

A demo student completes the demo C course (the grader's results for its three exercises,
posted to the campus as the grader posts them), finds the certificate on their profile page,
downloads the PDF (turned into a PNG with pdftoppm and kept in test-output/), and anyone can
open its verification page; the course's instructor revokes it with a reason and the page
says so. Students cannot revoke, nor read another person's profile, export or certificate.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import requests
from harness.api import check_response
from harness.browser import sign_in
from harness.hub import CampusHub

pytestmark = [pytest.mark.slow]
API = "services/campus/api/v1/"
C_COURSE = [
    ("01-variables-printf", "temperatures"),
    ("02-functions-loops", "loops"),
    ("03-pointers-arrays", "arrays"),
]


def students(hub: CampusHub) -> list[dict]:
    return [a for a in hub.demo_accounts if a["role"] == "student"]


def complete_c_course(hub: CampusHub, name: str) -> None:
    grader = hub.admin_client()  # a Hub service, as the grader is
    for i, (lesson, exercise) in enumerate(C_COURSE):
        result = {
            "submission_id": f"cert-{uuid.uuid4().hex[:12]}",
            "user": name,
            "course": "c-fundamentals",
            "lesson": lesson,
            "exercise": exercise,
            "score": 3.0,
            "max_score": 3.0,
            "graded_at": f"2026-12-0{i + 1}T10:00:00Z",
        }
        resp = grader.post(API + "grading-results", json=result)
        assert resp.status_code == 201, resp.text


def hub_get(session: requests.Session, url: str) -> requests.Response:
    return check_response(session.get(url, timeout=30, allow_redirects=False))


def xsrf_of(page: str) -> str:
    return re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)


def test_completion_certificate_pdf_verification_and_revocation(
    campus_hub: CampusHub, browser, output_dir: Path, tmp_path: Path
) -> None:
    if not shutil.which("pdftoppm"):
        pytest.fail("pdftoppm (poppler-utils) is needed to look at the certificate")
    db = "pg" if campus_hub.db_url else "sqlite"
    student, other = students(campus_hub)[-1], students(campus_hub)[0]
    me = campus_hub.client(student["name"])
    assert me.get(API + f"users/{student['name']}/profile").json()["certificates"] == []
    # the school's name as an admin set it is the one on the certificate
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    named = admin.put(API + "settings", json={"name": "Orus School of Code"})
    assert named.status_code == 200, named.text
    complete_c_course(campus_hub, student["name"])

    profile = me.get(API + f"users/{student['name']}/profile").json()
    (issued,) = profile["certificates"]
    assert issued["valid"] and issued["course"] == "c-fundamentals"
    assert [c["course"] for c in profile["courses_completed"]] == ["c-fundamentals"]
    assert any(b["slug"] == "c-fundamentals-finisher" for b in profile["badges_earned"])
    uid = issued["id"]
    verify_url = campus_hub.url + f"hub/certificates/{uid}"

    # --- the student's profile page and the PDF, in Chromium (dark mode) ----------------------
    page = sign_in(
        browser,
        campus_hub,
        student["name"],
        student["password"],
        next_="hub/profile",
        viewport=(1280, 1000),
        color_scheme="dark",
        accept_downloads=True,
    )
    try:
        page.wait_for_selector("#nbcampus-profile", timeout=30_000)
        assert page.evaluate("document.documentElement.dataset.bsTheme") == "dark"
        certs = page.locator("#profile-certificates")
        assert "C Programming Fundamentals" in certs.inner_text()
        assert page.locator("#badges-earned li").count() >= 1
        assert page.locator("#badges-to-earn li").count() >= 1
        assert page.locator("#xp-history tbody tr").count() >= 3
        page.screenshot(path=str(output_dir / f"profile-{db}.png"), full_page=True)
        # the leaderboard switch flips and stays flipped
        page.click("#leaderboard-opt-out")
        page.wait_for_selector("#profile-message")
        assert page.is_checked("#leaderboard-opt-out")
        level = me.get(API + f"users/{student['name']}/level").json()
        assert level["leaderboard_opt_out"] is True
        # the API's switch is the same one
        back = me.put(API + "me/preferences", json={"leaderboard_opt_out": False})
        assert back.status_code == 200 and back.json()["leaderboard_opt_out"] is False
        page.goto(campus_hub.url + "hub/profile")
        assert not page.is_checked("#leaderboard-opt-out")
        with page.expect_download() as download:
            page.click("#profile-certificates >> text=Download PDF")
        pdf = tmp_path / "certificate.pdf"
        download.value.save_as(pdf)
    finally:
        page.context.close()
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "C Programming Fundamentals" in text and uid in text
    assert "Certificate of Completion" in text and verify_url.split("://")[1][:30] in text
    assert "ORUS SCHOOL OF CODE" in text
    png = output_dir / f"certificate-{db}"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf), str(png)], check=True)
    assert png.with_suffix(".png").stat().st_size > 10_000

    # --- the public verification page: no sign-in needed ---------------------------------------
    anon = browser.new_page(viewport={"width": 1100, "height": 700})
    try:
        anon.goto(verify_url)
        status = anon.locator("#certificate-status")
        assert "Valid" in status.inner_text()
        assert "C Programming Fundamentals" in anon.inner_text("#certificate-course")
        assert anon.inner_text("#certificate-school") == "Orus School of Code"
        assert anon.locator("#revoke-form").count() == 0  # a visitor cannot revoke
        anon.screenshot(path=str(output_dir / f"certificate-verify-{db}.png"), full_page=True)
        assert check_response(requests.get(campus_hub.url + "hub/certificates/" + "0" * 32,
                                           timeout=10)).status_code == 404  # fmt: skip

        # --- students cannot revoke, nor read another's data ----------------------------------
        peer = campus_hub.client(other["name"])
        revoke = API + f"certificates/{uid}/revoke"
        assert peer.post(revoke, json={"reason": "x"}).status_code == 403
        assert me.post(revoke, json={"reason": "x"}).status_code == 403
        assert peer.get(API + f"users/{student['name']}/profile").status_code == 403
        assert peer.get(API + f"users/{student['name']}/export").status_code == 403
        peer_web = campus_hub.login_session(other["name"], other["password"])
        assert hub_get(peer_web, campus_hub.url + f"hub/certificates/{uid}.pdf").status_code == 403
        assert 'id="revoke-form"' not in hub_get(peer_web, verify_url).text
        page_html = hub_get(peer_web, campus_hub.url + "hub/profile").text  # for its XSRF token
        resp = check_response(
            peer_web.post(verify_url + "/revoke", data={"_xsrf": xsrf_of(page_html), "reason": "x"},
                          timeout=30, allow_redirects=False)
        )  # fmt: skip
        assert resp.status_code == 403
        # an instructor who teaches no class of the course cannot either
        outsider = f"inst-{uuid.uuid4().hex[:8]}"
        made = admin.post(API + "accounts", json={"name": outsider, "role": "instructor"})
        assert made.status_code == 201, made.text
        stranger = campus_hub.client(outsider)
        assert (
            stranger.post(API + f"certificates/{uid}/revoke", json={"reason": "x"}).status_code
            == 403
        )
        assert stranger.get(API + "courses/c-fundamentals/certificates").status_code == 403
        assert me.get(API + "courses/c-fundamentals/certificates").status_code == 403

        # --- the course's instructor revokes it, with a reason --------------------------------
        teacher = campus_hub.client(campus_hub.demo("instructor")["name"])
        listed = teacher.get(API + "courses/c-fundamentals/certificates").json()["certificates"]
        assert uid in {c["id"] for c in listed}
        bad = teacher.post(revoke, json={"reason": ""})
        assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_ERROR"
        # ... on the verification page, signed in: a blank reason is refused beside the field
        instructor = campus_hub.demo("instructor")
        page = sign_in(
            browser,
            campus_hub,
            instructor["name"],
            instructor["password"],
            next_=f"hub/certificates/{uid}",  # the verification page
            viewport=(1100, 900),
        )
        try:
            page.wait_for_selector("#revoke-form", timeout=30_000)
            page.fill("#revoke-reason", "   ")
            page.click("#revoke-form button[type=submit]")
            page.wait_for_selector("#revoke-error")
            assert "reason" in page.inner_text("#revoke-error")
            page.screenshot(path=str(output_dir / f"certificate-revoke-form-{db}.png"))
            page.fill("#revoke-reason", "plagiarism found")
            page.click("#revoke-form button[type=submit]")
            page.wait_for_selector("#certificate-message")
            assert "Revoked" in page.inner_text("#certificate-status")
            assert "plagiarism found" in page.inner_text("#certificate-status")  # for teachers
        finally:
            page.context.close()
        again = teacher.post(revoke, json={"reason": "again"})
        assert again.status_code == 409
        listed = teacher.get(API + "courses/c-fundamentals/certificates").json()["certificates"]
        (row,) = [c for c in listed if c["id"] == uid]
        assert row["revoked_by"] == instructor["name"]
        assert row["revoke_reason"] == "plagiarism found"
        anon.goto(verify_url)
        assert "Revoked" in anon.inner_text("#certificate-status")
        assert "plagiarism" not in anon.inner_text("#certificate-status")  # the reason stays inside
        anon.screenshot(path=str(output_dir / f"certificate-revoked-{db}.png"), full_page=True)
        assert me.get(API + f"certificates/{uid}").json()["valid"] is False
    finally:
        anon.close()


def test_data_export_and_deletion_request_reach_staff(campus_hub: CampusHub) -> None:
    student, other = students(campus_hub)[1], students(campus_hub)[0]
    me = campus_hub.client(student["name"])
    web = campus_hub.login_session(student["name"], student["password"])
    export = hub_get(web, campus_hub.url + "hub/profile/export")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    data = export.json()
    assert data["account"]["name"] == student["name"] and "password" not in export.text
    assert {"xp_transactions", "enrollments", "attendance", "certificates"} <= set(data)
    assert all(e["student"] == student["name"] for e in data["enrollments"])
    api_export = me.get(API + f"users/{student['name']}/export").json()
    assert api_export["enrollments"] == data["enrollments"]

    # bad input: a JSON error from the API, a message beside the field on the page
    long = me.post(API + "me/deletion-request", json={"reason": "x" * 2001})
    assert long.status_code == 400 and long.json()["code"] == "VALIDATION_ERROR"
    page = hub_get(web, campus_hub.url + "hub/profile").text
    resp = check_response(
        web.post(campus_hub.url + "hub/profile/deletion",
                 data={"_xsrf": xsrf_of(page), "reason": "y" * 2001}, timeout=30)
    )  # fmt: skip
    assert resp.status_code == 400 and 'id="deletion-error"' in resp.text
    # without the XSRF token the form is refused
    assert (
        web.post(campus_hub.url + "hub/profile/deletion", data={"reason": "z"}).status_code == 403
    )

    made = me.post(API + "me/deletion-request", json={"reason": "leaving the school"})
    assert made.status_code == 201, made.text
    assert me.post(API + "me/deletion-request", json={}).status_code == 200  # one pending request
    assert me.get(API + "deletion-requests").status_code == 403
    assert campus_hub.client(other["name"]).get(API + "deletion-requests").status_code == 403
    staff = campus_hub.demo("staff")
    listed = campus_hub.client(staff["name"]).get(API + "deletion-requests").json()
    assert student["name"] in {r["user"] for r in listed["deletion_requests"]}
    office = campus_hub.login_session(staff["name"], staff["password"])
    staff_page = hub_get(office, campus_hub.url + "hub/profile").text
    assert 'id="office-deletion-requests"' in staff_page and student["name"] in staff_page
    assert 'id="office-deletion-requests"' not in hub_get(web, campus_hub.url + "hub/profile").text
    bad = campus_hub.client(staff["name"]).get(API + "deletion-requests?status=nope")
    assert bad.status_code == 400
    # staff close it (from the page); a student cannot, through the API or the page
    rid = made.json()["id"]
    assert me.post(API + f"deletion-requests/{rid}", json={"status": "done"}).status_code == 403
    own_page = hub_get(web, campus_hub.url + "hub/profile").text
    done_url = campus_hub.url + f"hub/profile/deletion-requests/{rid}/done"
    refused = web.post(done_url, data={"_xsrf": xsrf_of(own_page)}, timeout=30)
    assert refused.status_code == 403
    wrong = campus_hub.client(staff["name"]).post(
        API + f"deletion-requests/{rid}", json={"status": "deleted"}
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "VALIDATION_ERROR"
    closed = check_response(office.post(done_url, data={"_xsrf": xsrf_of(staff_page)}, timeout=30))
    assert closed.status_code == 200 and 'id="profile-message"' in closed.text
    again = campus_hub.client(staff["name"]).post(
        API + f"deletion-requests/{rid}", json={"status": "done"}
    )
    assert again.status_code == 409
    done = campus_hub.client(staff["name"]).get(API + "deletion-requests?status=done").json()
    handled = {r["id"]: r["handled_by"] for r in done["deletion_requests"]}
    assert handled[rid] == staff["name"]
