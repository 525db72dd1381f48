"""Single sign-on through an OpenID Connect provider started by the test (tests/harness/oidc.py:
IdentityPython's pyop over HTTPS, RS256), beside the campus's passwords, in a real Hub on
SQLite and PostgreSQL, and in Chromium.

A new person becomes a student; the provider's `groups` claim makes an instructor or staff
(and stays the authority at each sign-in); a provider identity never takes over a local or
demo account of the same name; passwords keep working.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pytest
import requests
from harness.hub import CampusHub
from harness.oidc import OidcProvider

# collected with tests/lti/conftest.py in the whole suite: `from conftest` is ambiguous
DB_PARAMS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

pytestmark = [pytest.mark.slow]
API = "services/campus/api/v1/"
PEOPLE = {
    "ann": {"password": "ann-pw", "email": "ann@school.edu", "name": "Ann Lee",
            "groups": ["teachers"]},
    "sam": {"password": "sam-pw", "email": "Sam@Gmail.com", "name": "Sam Student"},
    "ola": {"password": "ola-pw", "email": "ola@school.edu", "name": "Ola", "groups": []},
}  # fmt: skip

SSO_CONFIG = """
c.JupyterHub.authenticator_class = "nbcampus.hub.sso.CampusOAuthenticator"
c.CampusOAuthenticator.provider_name = "School ID"
c.CampusOAuthenticator.client_id = {client_id!r}
c.CampusOAuthenticator.client_secret = {client_secret!r}
c.CampusOAuthenticator.oauth_callback_url = {callback!r}
c.CampusOAuthenticator.authorize_url = {issuer!r} + "/authorize"
c.CampusOAuthenticator.token_url = {issuer!r} + "/token"
c.CampusOAuthenticator.userdata_url = {issuer!r} + "/userinfo"
c.CampusOAuthenticator.scope = ["openid", "email", "profile", "groups"]
c.CampusOAuthenticator.email_domain = "school.edu"
c.CampusOAuthenticator.instructor_values = {{"teachers"}}
c.CampusOAuthenticator.staff_values = {{"office"}}
c.CampusOAuthenticator.http_request_kwargs = {{"ca_certs": {ca!r}}}
"""


@pytest.fixture(scope="module", params=DB_PARAMS)
def sso(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CampusHub, OidcProvider]]:
    db = None
    if request.param == "postgresql":
        db = request.getfixturevalue("pg_cluster").create_database()
    root = tmp_path_factory.mktemp("sso")
    hub = CampusHub(root / "data dir", db_url=db)
    callback = hub.url + "hub/oauth_callback"
    op = OidcProvider({k: dict(v) for k, v in PEOPLE.items()}, [callback], cert_dir=root).start()
    hub.extra_config = SSO_CONFIG.format(
        client_id=op.client_id, client_secret=op.client_secret, callback=callback,
        issuer=op.issuer, ca=op.ca_file,
    )  # fmt: skip
    hub.start()
    yield hub, op
    hub.stop()
    op.stop()


def sso_login(hub: CampusHub, op: OidcProvider, user: str, password: str) -> requests.Response:
    """Sign in as a browser would: the Hub's button, the provider's form, back to the Hub."""
    session = requests.Session()
    next_path = urlsplit(hub.url).path + "hub/profile"
    resp = session.get(
        hub.url + "hub/oauth_login?next=" + quote(next_path, safe=""), allow_redirects=False
    )
    assert resp.status_code == 302, resp.text
    authorize = resp.headers["Location"]
    assert authorize.startswith(op.issuer + "/authorize?")
    form = session.get(authorize, verify=op.ca_file)
    query = authorize.split("?", 1)[1]
    back = session.post(
        authorize.split("?", 1)[0],
        data={"request": query, "user": user, "password": password},
        verify=op.ca_file,
        allow_redirects=False,
    )
    if back.status_code != 302:
        return back
    assert form.status_code == 200
    resp = session.get(back.headers["Location"], allow_redirects=False)
    resp.session = session  # type: ignore[attr-defined]
    return resp


def account(hub: CampusHub, name: str) -> dict | None:
    admin = hub.client(hub.demo("admin")["name"])
    accounts = admin.get(API + "accounts").json()["accounts"]
    return next((a for a in accounts if a["name"] == name), None)


def test_a_new_person_becomes_a_student_and_groups_map_to_roles(sso) -> None:
    hub, op = sso
    resp = sso_login(hub, op, "sam", "sam-pw")
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].endswith("hub/profile")
    profile = resp.session.get(urljoin(resp.url, resp.headers["Location"]))  # type: ignore[attr-defined]
    assert profile.status_code == 200 and "Sam Student" in profile.text
    sam = account(hub, "sam-at-gmail.com")
    assert sam is not None and sam["role"] == "student" and sam["source"] == "oidc"
    assert sam["email"] == "Sam@Gmail.com"

    assert sso_login(hub, op, "ann", "ann-pw").status_code == 302
    assert account(hub, "ann")["role"] == "instructor"
    # the role shows as the Hub group of the campus role, at once
    group = hub.admin_client().get("hub/api/groups/campus-instructor").json()
    assert "ann" in group["users"]
    # the provider stays the authority for its accounts' role
    op.users["ann"]["groups"] = ["office"]
    try:
        assert sso_login(hub, op, "ann", "ann-pw").status_code == 302
        assert account(hub, "ann")["role"] == "staff"
    finally:
        op.users["ann"]["groups"] = ["teachers"]


def test_refusals_and_passwords(sso) -> None:
    hub, op = sso
    # a wrong password at the provider: no way back to the Hub, no account
    wrong = sso_login(hub, op, "ola", "guess")
    assert wrong.status_code == 401 and account(hub, "ola") is None
    # a provider identity named like the demo student does not become that account
    demo = hub.demo("student")
    op.users["impostor"] = {
        "password": "imp-pw", "email": f"{demo['name']}@school.edu", "name": "Not Them",
        "groups": ["office"],
    }  # fmt: skip
    refused = sso_login(hub, op, "impostor", "imp-pw")
    assert refused.status_code == 403, refused.text
    assert "sign in with its password" in refused.text
    kept = account(hub, demo["name"])
    assert kept["source"] == "demo" and kept["role"] == "student"
    # a forged callback (no state cookie) is refused
    forged = requests.get(hub.url + "hub/oauth_callback?code=abc&state=xyz", timeout=10)
    assert forged.status_code == 400
    # local passwords keep working next to the provider
    session = hub.login_session(demo["name"], demo["password"])
    assert session.get(hub.url + "hub/profile", timeout=10).status_code == 200


@pytest.mark.parametrize("sso", ["sqlite"], indirect=True)
def test_sign_in_with_the_provider_in_chromium(sso, browser, output_dir: Path) -> None:
    hub, op = sso
    context = browser.new_context(viewport={"width": 1100, "height": 800}, ignore_https_errors=True)
    try:
        page = context.new_page()
        next_path = quote(urlsplit(hub.url).path + "hub/profile", safe="")
        page.goto(hub.url + "hub/login?next=" + next_path)
        assert page.is_visible("#username_input") and page.is_visible("#password_input")
        button = page.locator("#nbcampus-sso-button")
        assert button.inner_text().strip() == "Sign in with School ID"
        page.screenshot(path=str(output_dir / "sso-login.png"), full_page=True)
        button.click()
        page.wait_for_selector("#op-user", timeout=30_000)
        assert page.url.startswith(op.issuer)
        page.fill("#op-user", "ola")
        page.fill("#op-password", "ola-pw")
        page.screenshot(path=str(output_dir / "sso-provider.png"))
        page.click("#op-submit")
        page.wait_for_selector("#nbcampus-profile", timeout=30_000)
        assert re.search(r"/hub/profile$", page.url)
        assert "Ola" in page.inner_text("h1") and "ola@school.edu" in page.inner_text(
            "#profile-email"
        )
        page.screenshot(path=str(output_dir / "sso-profile.png"), full_page=True)
    finally:
        context.close()
    deadline = time.monotonic() + 10
    while account(hub, "ola") is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert account(hub, "ola")["role"] == "student" and "ola" in op.logins
