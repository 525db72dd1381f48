"""Login throttling and security headers on a real Hub (issue 18, items 5 and 8).

The Hub runs with small throttle limits and a short window, and trusts the test process as a
front proxy (`trusted_downstream_ips`), so that X-Forwarded-For gives each test its own client
addresses. LTI 1.1 and sign-up are switched on.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from harness.api import check_response
from harness.hub import NBCAMPUS, CampusHub

pytestmark = pytest.mark.slow

WINDOW = 4
THROTTLE_CONFIG = f"""
c.LoginThrottle.account_limit = 3
c.LoginThrottle.address_limit = 6
c.LoginThrottle.window = {WINDOW}
c.JupyterHub.trusted_downstream_ips = ["127.0.0.1"]
"""
CONSUMER_KEY = "security-test-consumer"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CampusHub]:
    data = tmp_path_factory.mktemp("security") / "data dir"
    hub = CampusHub(
        data,
        env={"NBCAMPUS_LTI": "1", "NBCAMPUS_ALLOW_SIGNUP": "1"},
        extra_config=THROTTLE_CONFIG,
    )
    out = subprocess.run(
        [NBCAMPUS, "lti", "add-consumer", CONSUMER_KEY, "--secret=a-secret-of-the-lms"],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    hub.start()
    yield hub
    hub.stop()


def new_account(hub: CampusHub) -> tuple[str, str]:
    admin = hub.client(hub.demo("admin")["name"])
    name = f"sec-{uuid.uuid4().hex[:8]}"
    resp = admin.post("services/campus/api/v1/accounts", json={"name": name, "role": "student"})
    assert resp.status_code == 201, resp.text
    return name, resp.json()["password"]


def form_post(
    hub: CampusHub, page: str, data: dict[str, str], address: str, **headers: str
) -> requests.Response:
    """A browser from `address` posting the Hub's form at `page` (hub/login, hub/signup)."""
    session = requests.Session()
    session.headers["X-Forwarded-For"] = address
    session.headers.update(headers)
    form = session.get(hub.url + page, timeout=10).text
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form)
    if xsrf:
        data = {**data, "_xsrf": xsrf.group(1)}
    return session.post(hub.url + page, data=data, allow_redirects=False, timeout=30)


def login(hub: CampusHub, name: str, password: str, address: str, **headers: str):
    return form_post(hub, "hub/login", {"username": name, "password": password}, address, **headers)


def assert_throttled_page(resp: requests.Response, whom: str) -> int:
    assert resp.status_code == 429, resp.text[:300]
    wait = int(resp.headers["Retry-After"])
    assert 1 <= wait <= WINDOW
    message = re.search(
        r"Too many failed sign-in attempts ([^.]+)\. Try again in ([^.<]+)\.", resp.text
    )
    assert message, resp.text[:2000]
    assert message.group(1) == whom and "second" in message.group(2)
    return wait


# --- login throttling ---------------------------------------------------------------------------
def test_burst_of_wrong_passwords_is_throttled_then_the_window_passes(hub: CampusHub) -> None:
    victim, password = new_account(hub)
    other, other_password = new_account(hub)
    attacker = "203.0.113.10"
    codes = [login(hub, victim, f"guess-{i}", attacker).status_code for i in range(3)]
    assert codes == [403, 403, 403]
    burst = [login(hub, victim, f"guess-{i}", attacker) for i in range(3, 6)]
    for resp in burst:
        assert_throttled_page(resp, "for this account")
    # the right password is refused too, from the attacker's address and from the owner's
    assert_throttled_page(login(hub, victim, password, attacker), "for this account")
    wait = assert_throttled_page(login(hub, victim, password, "198.51.100.20"), "for this account")
    # another account from another address is not affected
    assert login(hub, other, other_password, "198.51.100.30").status_code == 302
    time.sleep(wait + 0.2)
    assert login(hub, victim, password, "198.51.100.20").status_code == 302


def test_address_limit_covers_every_account_and_ignores_x_real_ip(hub: CampusHub) -> None:
    name, password = new_account(hub)
    sprayer = "203.0.113.40"
    codes = [login(hub, f"nobody-{i}", "spray-password", sprayer).status_code for i in range(6)]
    assert codes == [403] * 6
    assert_throttled_page(login(hub, name, password, sprayer), "from your network address")
    # the Hub's proxy passes X-Real-Ip on from the client: it must not pick a fresh address
    resp = login(hub, name, password, sprayer, **{"X-Real-Ip": "192.0.2.99"})
    assert_throttled_page(resp, "from your network address")
    assert login(hub, name, password, "198.51.100.41").status_code == 302


def test_failed_signups_count_against_the_address(hub: CampusHub) -> None:
    address = "203.0.113.50"
    for i in range(6):
        resp = form_post(
            hub, "hub/signup", {"username": f"Bad Name {i}!", "password": "x"}, address
        )
        assert resp.status_code == 400
    fine = {
        "username": "fine-name",
        "email": "fine@school.test",
        "password": "a good password",
        "confirm": "a good password",
    }
    resp = form_post(hub, "hub/signup", fine, address)
    assert_throttled_page(resp, "from your network address")
    resp = form_post(hub, "hub/signup", fine, "198.51.100.51")
    assert resp.status_code == 200 and "we sent a link" in resp.text  # verification by mail


def test_password_reset_requests_count_against_the_address(hub: CampusHub) -> None:
    """Each "forgot password" request mails a link (or logs it): one address may ask only so
    often, the same limit as sign-in, so the page cannot be used to flood mailboxes."""
    address = "203.0.113.70"
    for i in range(6):
        resp = form_post(hub, "hub/forgot", {"email": f"someone{i}@school.test"}, address)
        assert resp.status_code == 200, resp.text[:300]
    resp = form_post(hub, "hub/forgot", {"email": "someone@school.test"}, address)
    assert_throttled_page(resp, "from your network address")
    resp = form_post(hub, "hub/forgot", {"email": "someone@school.test"}, "198.51.100.71")
    assert resp.status_code == 200


def test_guessing_the_current_password_when_signed_in_is_throttled(hub: CampusHub) -> None:
    """The password and email pages check the current password: a session left open must not
    let anyone guess it without limit. Their failures count with the sign-in's."""
    name, password = new_account(hub)
    session = requests.Session()
    session.headers["X-Forwarded-For"] = "203.0.113.80"

    def post(page: str, data: dict[str, str]) -> requests.Response:
        form = session.get(hub.url + page, timeout=10).text
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form).group(1)
        return session.post(hub.url + page, data={**data, "_xsrf": xsrf}, timeout=30)

    signed_in = post("hub/login", {"username": name, "password": password})
    assert signed_in.status_code == 200 and "/hub/login" not in signed_in.url
    new = {"password": "a new river 77", "confirm": "a new river 77"}
    resp = post("hub/password", {"current": "guess-0", **new})
    assert resp.status_code == 400 and "not your current password" in resp.text
    resp = post("hub/email", {"current": "guess-1", "email": "new@school.test"})
    assert resp.status_code == 400 and "not your current password" in resp.text
    assert post("hub/password", {"current": "guess-2", **new}).status_code == 400
    # the right password waits too, here and on the sign-in page from anywhere
    resp = post("hub/password", {"current": password, **new})
    wait = assert_throttled_page(resp, "for this account")
    assert 'id="account-error-current"' in resp.text  # beside the field it is about
    assert_throttled_page(
        post("hub/email", {"current": password, "email": "new@school.test"}), "for this account"
    )
    assert_throttled_page(login(hub, name, password, "198.51.100.81"), "for this account")
    time.sleep(wait + 0.2)
    resp = post("hub/password", {"current": password, **new})
    assert resp.status_code == 200 and "Your password is changed" in resp.text
    assert login(hub, name, new["password"], "198.51.100.81").status_code == 302


def test_forged_lti11_launches_are_throttled_per_address(hub: CampusHub) -> None:
    forged = {
        "lti_message_type": "basic-lti-launch-request",
        "lti_version": "LTI-1p0",
        "resource_link_id": "rl-1",
        "user_id": "u-1",
        "oauth_consumer_key": CONSUMER_KEY,
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": "0",
        "oauth_nonce": "n",
        "oauth_version": "1.0",
        "oauth_signature": "forged",
    }
    url = hub.url + "hub/lti11/launch"

    def launch(address: str, nonce: str) -> requests.Response:
        data = {**forged, "oauth_nonce": nonce, "oauth_timestamp": str(int(time.time()))}
        headers = {"X-Forwarded-For": address}
        return requests.post(url, data=data, headers=headers, allow_redirects=False, timeout=30)

    refused = [launch("203.0.113.60", f"n{i}") for i in range(6)]
    assert {r.status_code for r in refused} <= {400, 401, 403}, [r.text for r in refused]
    assert {r.json()["code"] for r in refused} == {"BAD_SIGNATURE"}
    resp = launch("203.0.113.60", "n-last")
    assert resp.status_code == 429
    body = resp.json()
    assert body["code"] == "RATE_LIMITED" and "Try again in" in body["message"]
    assert 1 <= int(resp.headers["Retry-After"]) <= WINDOW
    # the consumer key is not locked: another address is still checked, not throttled
    assert launch("198.51.100.61", "n-other").json()["code"] == "BAD_SIGNATURE"


# --- headers ------------------------------------------------------------------------------------
def assert_nosniff(resp: requests.Response) -> None:
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", (resp.url, resp.headers)


def assert_no_versions(resp: requests.Response) -> None:
    server = resp.headers.get("Server", "")
    assert not re.search(r"\d", server), server
    hub_version = resp.headers.get("X-JupyterHub-Version", "")
    assert "." not in hub_version, hub_version


def test_headers_on_hub_pages_services_and_static_files(hub: CampusHub) -> None:
    anonymous = requests.Session()
    for path in ("hub/login", "hub/api/", "hub/logo", "hub/no-such-page", "hub/static/favicon.ico"):
        resp = anonymous.get(hub.url + path, timeout=10)
        assert resp.status_code < 500, (path, resp.status_code)
        assert_nosniff(resp)
        assert_no_versions(resp)
    # the API root's body: the exact version only for authenticated callers
    assert "." not in anonymous.get(hub.url + "hub/api/", timeout=10).json()["version"]
    full = hub.admin_client().get("hub/api/").json()["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", full)

    student = hub.demo("student")
    browser = hub.login_session(student["name"], student["password"])
    resp = browser.get(hub.url + "hub/home", timeout=10)
    assert resp.status_code == 200
    assert_nosniff(resp)

    client = hub.client(student["name"])
    for path in ("services/campus/api/v1/me", "services/grader/api/v1/"):
        resp = client.get(path)  # check_response: CSP and nosniff
        assert resp.status_code == 200
        assert_no_versions(resp)
        unauthenticated = check_response(anonymous.get(hub.url + path, timeout=10))
        assert unauthenticated.status_code == 401
        assert_no_versions(unauthenticated)

    for name in ("grading.js", "grading.css"):
        resp = anonymous.get(hub.url + f"services/grader/static/{name}", timeout=10)
        assert resp.status_code == 200
        assert_nosniff(resp)
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        assert_no_versions(resp)


def test_student_server_still_spawns(hub: CampusHub) -> None:
    """Students' servers check the Hub's version header: the major version is enough."""
    student = hub.demo("student")
    hub.start_server(student["name"])
    assert "no version header" not in hub.log_tail(200_000)


@pytest.mark.browser
def test_a_person_sees_the_wait_on_the_login_page(hub: CampusHub, browser, output_dir) -> None:
    """In the browser: after the account's limit of wrong passwords, the Hub's own login page
    says why and how long to wait, and the right password is refused until then."""
    name, password = new_account(hub)
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    try:
        for attempt in range(4):
            page.goto(hub.url + "hub/login")
            page.fill("#username_input", name)
            page.fill("#password_input", password if attempt == 3 else f"wrong-{attempt}")
            page.click("#login_submit")
            page.wait_for_load_state()
        message = page.locator(".login_error, .alert-danger", has_text="Too many failed")
        message.first.wait_for(timeout=10_000)
        assert "for this account" in message.first.inner_text()
        assert "Try again in" in message.first.inner_text()
        assert "/hub/login" in page.url  # still on the login page: the right password waits too
        page.screenshot(path=str(output_dir / "login-throttled.png"))
    finally:
        page.close()
