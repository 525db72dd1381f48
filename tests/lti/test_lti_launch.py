"""LTI end to end: our test platform (real keys, HTTP on 127.0.0.1) against a running campus
Hub with NBCAMPUS_LTI=1, on SQLite and PostgreSQL.

The platform stands in for Moodle/Canvas (their network cannot exist here); the Hub, its
database, the tool's key and every signature are real.
"""

from __future__ import annotations

import re
import stat
from urllib.parse import parse_qsl

import pytest
import requests
from lti_env import LtiHub, nbcampus
from lti_platform import LTI, ROLE, TestPlatform, new_key

pytestmark = pytest.mark.slow

LEARNER, INSTRUCTOR = [ROLE + "Learner"], [ROLE + "Instructor"]


def error(resp: requests.Response) -> str:
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:500])
    body = resp.json()
    assert body["message"], body
    return body["code"]


def hub_user(lti: LtiHub, session: requests.Session) -> dict:
    resp = session.get(lti.url + "hub/api/user", timeout=10)
    assert resp.status_code == 200, resp.text
    name = resp.json()["name"]
    return lti.hub.admin_client().get(f"hub/api/users/{name}").json()


# --- tool endpoints -----------------------------------------------------------------------------
def test_tool_jwks_and_canvas_config(lti: LtiHub) -> None:
    jwks = requests.get(lti.url + "hub/lti13/jwks", timeout=10).json()
    assert [k["kty"] for k in jwks["keys"]] == ["RSA"] and jwks["keys"][0]["kid"]
    key_file = lti.hub.data_dir / "secrets" / "lti_tool_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    config = requests.get(lti.url + "hub/lti13/config", timeout=10).json()
    assert config["oidc_initiation_url"] == lti.url + "hub/lti13/login"
    assert config["public_jwk_url"] == lti.url + "hub/lti13/jwks"
    placements = config["extensions"][0]["settings"]["placements"]
    assert {"LtiDeepLinkingRequest", "LtiResourceLinkRequest"} == {
        p["message_type"] for p in placements
    }


# --- launches ------------------------------------------------------------------------------------
def test_student_launch_creates_account_in_student_group(lti: LtiHub) -> None:
    session = requests.Session()
    resp = lti.platform.launch(session, lti.url, "stu-1", LEARNER)
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].endswith("/hub/home")
    user = hub_user(lti, session)
    assert re.fullmatch(r"stu-1-[0-9a-f]{10}", user["name"]), user["name"]
    assert "campus-student" in user["groups"] and not user["admin"]
    # the same person launching again is the same account
    again = requests.Session()
    assert lti.platform.launch(again, lti.url, "stu-1", LEARNER).status_code == 302
    assert hub_user(lti, again)["name"] == user["name"]


@pytest.mark.parametrize(
    "roles, group",
    [
        # Teaching is a class role (given per LMS course), never a school-wide one.
        ([ROLE + "Instructor"], "campus-student"),
        ([ROLE + "Instructor#TeachingAssistant"], "campus-student"),
        (
            ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"],
            "campus-staff",
        ),
        (["http://example.org/roles#Wizard"], "campus-student"),
    ],
)
def test_roles_map_onto_campus_groups(lti: LtiHub, roles: list[str], group: str) -> None:
    session = requests.Session()
    sub = "r-" + group
    assert lti.platform.launch(session, lti.url, sub, roles).status_code == 302
    user = hub_user(lti, session)
    assert group in user["groups"]
    assert not user["admin"]


def test_launch_follows_target_link_inside_the_hub(lti: LtiHub) -> None:
    session = requests.Session()
    target = lti.url + "hub/token"
    resp = lti.platform.launch(session, lti.url, "stu-2", LEARNER, target_link_uri=target)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/hub/token")


def test_open_redirect_is_refused(lti: LtiHub) -> None:
    resp = lti.platform.launch(
        requests.Session(), lti.url, "stu-3", LEARNER, target_link_uri="https://evil.example.org/"
    )
    assert error(resp) == "OPEN_REDIRECT"
    assert "LTI launch refused (OPEN_REDIRECT)" in lti.hub.log_tail(20000)


def test_unknown_issuer_at_login(lti: LtiHub) -> None:
    resp = requests.post(
        lti.url + "hub/lti13/login",
        data={"iss": "https://evil.example.org", "login_hint": "x", "target_link_uri": lti.url},
        allow_redirects=False,
        timeout=10,
    )
    assert error(resp) == "UNKNOWN_ISSUER"


def _authorize(lti: LtiHub, session: requests.Session, sub: str) -> tuple[str, str, str]:
    resp = session.post(
        lti.url + "hub/lti13/login",
        data={"iss": lti.platform.issuer, "login_hint": sub, "target_link_uri": lti.url},
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302, resp.text
    auth = dict(parse_qsl(resp.headers["Location"].split("?", 1)[1]))
    return auth["state"], auth["nonce"], auth["redirect_uri"]


def test_wrongly_signed_token_is_refused(lti: LtiHub) -> None:
    session = requests.Session()
    state, nonce, redirect = _authorize(lti, session, "stu-4")
    token = lti.platform.sign(lti.platform.claims("stu-4", LEARNER, nonce), key=new_key())
    resp = session.post(redirect, data={"id_token": token, "state": state}, allow_redirects=False)
    assert error(resp) == "BAD_SIGNATURE"


def test_unknown_deployment_is_refused(lti: LtiHub) -> None:
    session = requests.Session()
    state, nonce, redirect = _authorize(lti, session, "stu-5")
    claims = lti.platform.claims("stu-5", LEARNER, nonce, **{LTI + "deployment_id": "nope"})
    resp = session.post(
        redirect,
        data={"id_token": lti.platform.sign(claims), "state": state},
        allow_redirects=False,
    )
    assert error(resp) == "UNKNOWN_DEPLOYMENT"


def test_state_mismatch_is_refused(lti: LtiHub) -> None:
    session = requests.Session()
    state, nonce, redirect = _authorize(lti, session, "stu-6")
    token = lti.platform.sign(lti.platform.claims("stu-6", LEARNER, nonce))
    resp = session.post(
        redirect, data={"id_token": token, "state": state + "x"}, allow_redirects=False
    )
    assert error(resp) == "STATE_MISMATCH"
    # without the browser's state cookie (a launch started elsewhere)
    resp = requests.post(redirect, data={"id_token": token, "state": state}, allow_redirects=False)
    assert error(resp) == "MISSING_STATE"


def test_replayed_launch_is_refused_also_after_restart(lti: LtiHub) -> None:
    session = requests.Session()
    state, nonce, redirect = _authorize(lti, session, "stu-7")
    token = lti.platform.sign(lti.platform.claims("stu-7", LEARNER, nonce))
    cookies = session.cookies.copy()
    first = session.post(redirect, data={"id_token": token, "state": state}, allow_redirects=False)
    assert first.status_code == 302
    replay = requests.Session()
    replay.cookies.update(cookies)
    resp = replay.post(redirect, data={"id_token": token, "state": state}, allow_redirects=False)
    assert error(resp) in ("STATE_MISMATCH", "REPLAYED_NONCE")
    # the nonce itself is refused too when an attacker pairs it with a fresh state
    state2, _, _ = _authorize(lti, replay, "stu-7")
    resp = replay.post(redirect, data={"id_token": token, "state": state2}, allow_redirects=False)
    assert error(resp) == "NONCE_MISMATCH"
    lti.restart()
    replay = requests.Session()
    replay.cookies.update(cookies)
    resp = replay.post(redirect, data={"id_token": token, "state": state}, allow_redirects=False)
    assert error(resp) in ("STATE_MISMATCH", "REPLAYED_NONCE")


def test_second_client_of_one_issuer_registered_while_running(lti: LtiHub) -> None:
    """Canvas-style: one issuer, a client id per developer key, each with its own keys."""
    second = TestPlatform(issuer=lti.platform.issuer, client_id="canvas-key-2").start()
    try:
        second.deployment_id = "deployment-2"
        session = requests.Session()
        resp = second.launch(session, lti.url, "stu-8", LEARNER)
        assert error(resp) == "UNKNOWN_ISSUER"  # not registered yet
        nbcampus(
            lti.hub,
            "lti", "add-platform", "--issuer", second.issuer, "--client-id", second.client_id,
            "--jwks-url", second.jwks_url, "--auth-login-url", second.auth_url,
            "--deployment-id", second.deployment_id,
        )  # fmt: skip
        resp = second.launch(session, lti.url, "stu-8", LEARNER)
        assert resp.status_code == 302, resp.text
        assert "campus-student" in hub_user(lti, session)["groups"]
        # the first client's deployment is not valid for the second client
        second.deployment_id = lti.platform.deployment_id
        resp = second.launch(requests.Session(), lti.url, "stu-9", LEARNER)
        assert error(resp) == "UNKNOWN_DEPLOYMENT"
    finally:
        second.stop()
