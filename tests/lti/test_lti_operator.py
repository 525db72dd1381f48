"""Issue 20, items 4, 7 and 9: what an operator and an LMS set-up need.

- item 4: `nbcampus lti check` against the test platform (passing, and a platform whose token
  endpoint answers 404 HTML as Moodle does when it cannot fetch the tool's key set), and the
  passback/roster error naming that cause;
- item 7: `nbcampus lti sync-roster` (joins and leavers) and the "Sync roster" page for the
  course's instructor (Chromium), which a student does not get;
- item 9: the LTI 1.1 and 1.3 identities of one LMS user in one account (lti1p1 claim).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests
from harness.hub import NBCAMPUS
from lti_env import LtiHub, nbcampus
from lti_flows import INSTRUCTOR, LEARNER, lti11_form, whoami
from lti_platform import TestPlatform

from nbcampus.hub.lti import orm
from nbcampus.hub.lti.keys import ToolKey
from nbcampus.hub.lti.passback import SCOPE_NRPS, PassbackError, PassbackSender


def run(lti: LtiHub, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NBCAMPUS, *args], env=lti.hub.env, capture_output=True, text=True, timeout=120
    )


# --- item 4 ----------------------------------------------------------------------------------
@pytest.fixture
def html_platform(lti: LtiHub):  # type: ignore[no-untyped-def]
    """A second LMS whose token endpoint answers 404 HTML (Moodle's HTTP security at work)."""
    other = TestPlatform(client_id="blocked-client").start()
    other.token_answers_html = True
    nbcampus(
        lti.hub,
        "lti",
        "add-platform",
        "--issuer",
        other.issuer,
        "--client-id",
        other.client_id,
        "--jwks-url",
        other.jwks_url,
        "--auth-login-url",
        other.auth_url,
        "--auth-token-url",
        other.token_url,
        "--name",
        "Blocked Moodle",
    )
    yield other
    nbcampus(
        lti.hub, "lti", "remove-platform", "--issuer", other.issuer, "--client-id", other.client_id
    )
    other.stop()


def test_lti_check_passes_against_the_test_platform(lti: LtiHub) -> None:
    out = run(lti, "lti", "check")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK    tool key set " + lti.url + "hub/lti13/jwks" in out.stdout
    assert "Test LMS (client tool-client-1): token request (client credentials) works" in (
        out.stdout
    )
    # the Hub on 127.0.0.1 and a random port: what Moodle's defaults would block, as a warning
    assert "WARN  public URL" in out.stdout and "cURL allowed ports list" in out.stdout
    assert "0 problem(s)" in out.stdout


def test_lti_check_names_moodle_http_security_for_an_html_token_answer(
    lti: LtiHub, html_platform: TestPlatform
) -> None:
    out = run(lti, "lti", "check")
    assert out.returncode == 1, out.stdout + out.stderr
    failing = [line for line in out.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failing) == 1, out.stdout
    assert "Blocked Moodle (client blocked-client): token request" in failing[0]
    assert "answered 404: the LMS answered an HTML page" in failing[0]
    assert "cURL blocked hosts list" in failing[0]
    assert lti.url + "hub/lti13/jwks" in failing[0]
    assert "1 problem(s)" in out.stdout


def test_passback_and_roster_errors_name_the_cause(
    lti: LtiHub, html_platform: TestPlatform, tmp_path: Path
) -> None:
    """The outbox's and the roster sync's error when the LMS answers the token request with
    an HTML page (both ask for their token through PassbackSender.access_token)."""
    row = orm.Platform(
        id=9999,
        issuer=html_platform.issuer,
        client_id=html_platform.client_id,
        jwks_url=html_platform.jwks_url,
        auth_login_url=html_platform.auth_url,
        auth_token_url=html_platform.token_url,
    )
    sender = PassbackSender(None, ToolKey.load_or_create(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(PassbackError) as err:
        sender.access_token(row, [SCOPE_NRPS])
    message = str(err.value)
    assert message.startswith("token endpoint answered 404: the LMS answered an HTML page")
    assert "could not fetch this tool's key set" in message
    assert "cURL allowed ports list" in message
    assert "<html" not in message


# --- item 7 ----------------------------------------------------------------------------------
def test_sync_roster_command_joins_and_leavers(lti: LtiHub) -> None:
    platform = lti.platform
    teacher = requests.Session()
    assert platform.launch(teacher, lti.url, "t-cli", INSTRUCTOR, context_id="course-cli")
    pupil = requests.Session()
    platform.launch(pupil, lti.url, "p-cli-1", LEARNER, context_id="course-cli")
    platform.members["course-cli"] = [
        {"user_id": "t-cli", "roles": INSTRUCTOR, "status": "Active", "name": "T"},
        {"user_id": "p-cli-1", "roles": LEARNER, "status": "Active", "name": "P one"},
        {"user_id": "p-cli-2", "roles": LEARNER, "status": "Active", "name": "P two"},
    ]
    out = run(lti, "lti", "sync-roster", "course-cli")
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)
    assert (first["active"], first["joined"], first["left"]) == (3, 1, 0)
    # p-cli-1 leaves the LMS course: marked left by the next sync, by campus id this time
    platform.members["course-cli"] = platform.members["course-cli"][::2]
    out = run(lti, "lti", "sync-roster", str(first["context"]))
    assert out.returncode == 0, out.stderr
    second = json.loads(out.stdout)
    assert (second["active"], second["joined"], second["left"]) == (2, 0, 1)
    members = requests.get(
        lti.url + f"hub/lti/contexts/{first['context']}/roster",
        headers=lti.staff_token_headers(),
        timeout=10,
    ).json()["members"]
    assert {m["user"]: m["status"] for m in members}[whoami(lti, pupil)] == "left"
    # an unknown course is a one-line refusal
    out = run(lti, "lti", "sync-roster", "no-such-course")
    assert out.returncode != 0 and "no LMS course 'no-such-course'" in out.stderr


def _browser_with(browser, lti: LtiHub, session: requests.Session):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    context.add_cookies(
        [
            {"name": c.name, "value": c.value, "domain": "127.0.0.1", "path": c.path}
            for c in session.cookies
        ]
    )
    return context


def test_sync_roster_button_for_the_instructor_and_staff_not_the_student(
    lti: LtiHub, browser, output_dir
) -> None:  # type: ignore[no-untyped-def]
    platform = lti.platform
    teacher, pupil = requests.Session(), requests.Session()
    platform.launch(teacher, lti.url, "t-btn", INSTRUCTOR, context_id="course-btn")
    platform.launch(pupil, lti.url, "p-btn", LEARNER, context_id="course-btn")
    platform.members["course-btn"] = [
        {"user_id": "t-btn", "roles": INSTRUCTOR, "status": "Active", "name": "T"},
        {"user_id": "p-btn", "roles": LEARNER, "status": "Active", "name": "P"},
        {"user_id": "p-btn-new", "roles": LEARNER, "status": "Active", "name": "New"},
    ]
    context = _browser_with(browser, lti, teacher)
    page = context.new_page()
    page.goto(lti.url + "hub/home")  # reached from the Hub's own navigation
    page.get_by_role("link", name="LMS courses").click()
    page.wait_for_url("**/hub/lti/courses")
    row = page.locator("tr", has_text="course-btn")
    row.get_by_role("button", name="Sync roster").click()
    result = page.locator("#roster-result")
    result.wait_for(timeout=30_000)
    assert "Roster synced: 3 in the LMS course, 1 new account(s), 0 left" in result.inner_text()
    page.screenshot(path=str(output_dir / "lti-courses-synced.png"))
    context.close()
    # staff (school-wide, no LMS role) sync any LMS course from the same page
    staff = lti.hub.demo("staff")
    context = _browser_with(browser, lti, lti.hub.login_session(staff["name"], staff["password"]))
    page = context.new_page()
    page.goto(lti.url + "hub/lti/courses")
    page.locator("tr", has_text="course-btn").get_by_role("button", name="Sync roster").click()
    result = page.locator("#roster-result")
    result.wait_for(timeout=30_000)
    assert "Roster synced: 3 in the LMS course, 0 new account(s), 0 left" in result.inner_text()
    context.close()
    # the student sees the page without any button, and cannot post to it either
    context = _browser_with(browser, lti, pupil)
    page = context.new_page()
    page.goto(lti.url + "hub/lti/courses")
    assert page.get_by_role("button", name="Sync roster").count() == 0
    assert "You teach no LMS course" in page.content()
    context.close()
    xsrf = pupil.get(lti.url + "hub/lti/courses", timeout=10).text.split('name="_xsrf" value="')
    contexts = requests.get(
        lti.url + "hub/lti/contexts", headers=lti.staff_token_headers(), timeout=10
    ).json()["contexts"]
    pk = next(c["id"] for c in contexts if c["context_id"] == "course-btn")
    resp = pupil.post(
        lti.url + f"hub/lti/courses/{pk}/sync",
        data={"_xsrf": xsrf[1].split('"')[0] if len(xsrf) > 1 else ""},
        timeout=30,
    )
    assert resp.status_code == 403


# --- item 9 ----------------------------------------------------------------------------------
def lti11_user(lti: LtiHub, user_id: str) -> str:
    session = requests.Session()
    form = lti11_form(lti, user_id, context_id="c-mig", link_id="rl-mig")
    resp = session.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    return whoami(lti, session)


def lti13_user(lti: LtiHub, sub: str, **migration: str) -> str:
    session = requests.Session()
    resp = lti.platform.launch(session, lti.url, sub, LEARNER, context_id="c-mig13", **migration)
    assert resp.status_code == 302, resp.text
    return whoami(lti, session)


def test_lti11_then_lti13_launch_is_one_account(lti: LtiHub) -> None:
    old = lti11_user(lti, "legacy-7")
    assert lti13_user(lti, "moodle-7", lti1p1="legacy-7") == old
    assert lti13_user(lti, "moodle-7") == old  # the link is kept


def test_lti13_then_lti11_launch_is_one_account(lti: LtiHub) -> None:
    new = lti13_user(lti, "moodle-8", lti1p1="legacy-8")
    assert lti11_user(lti, "legacy-8") == new


def test_an_lti1p1_claim_with_a_bad_signature_links_nothing(lti: LtiHub) -> None:
    old = lti11_user(lti, "legacy-9")
    other = lti13_user(lti, "moodle-9", lti1p1="legacy-9", lti1p1_secret="not the secret")
    assert other != old
