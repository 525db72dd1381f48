"""The running campus: a real Hub with the campus and grader services, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import requests
from harness.hub import CampusHub

pytestmark = pytest.mark.slow


def test_hostile_base_url_is_served(campus_hub: CampusHub) -> None:
    assert "@" in campus_hub.url and "%20" in campus_hub.url
    resp = campus_hub.admin_client().get("hub/api/")
    assert resp.status_code == 200
    assert "version" in resp.json()


def test_demo_accounts_are_hub_users_in_role_groups(campus_hub: CampusHub) -> None:
    admin = campus_hub.admin_client()
    roles = {a["name"]: a["role"] for a in campus_hub.demo_accounts}
    assert sorted(roles.values()) == sorted(
        ["admin", "staff", "instructor", "student", "student", "student"]
    )
    for name, role in roles.items():
        user = admin.get(f"hub/api/users/{name}").json()
        assert f"campus-{role}" in user["groups"], user
        assert user["admin"] is (role == "admin")


def test_demo_student_logs_in_with_password(campus_hub: CampusHub) -> None:
    student = campus_hub.demo("student")
    session = campus_hub.login_session(student["name"], student["password"])
    resp = session.get(campus_hub.url + "hub/api/user", timeout=10)
    assert resp.status_code == 200
    assert resp.json()["name"] == student["name"]


def test_wrong_password_is_refused(campus_hub: CampusHub) -> None:
    student = campus_hub.demo("student")
    with pytest.raises(AssertionError, match="login as .* failed: 403"):
        campus_hub.login_session(student["name"], student["password"] + "x")


def test_campus_service_knows_the_caller(campus_hub: CampusHub) -> None:
    for role in ("student", "instructor", "staff", "admin"):
        account = campus_hub.demo(role)
        me = campus_hub.client(account["name"]).get("services/campus/api/v1/me")
        assert me.status_code == 200
        body = me.json()
        assert {k: body[k] for k in ("name", "role", "kind")} == {
            "name": account["name"],
            "role": role,
            "kind": "user",
        }
        # Teaching is per class: the demo instructor teaches the demo classes, nobody else.
        assert bool(body["teaches"]) == (role == "instructor")
        assert all(t["role"] == "instructor" for t in body["teaches"])


def test_services_answer_json_errors(campus_hub: CampusHub) -> None:
    anonymous = campus_hub.admin_client()
    anonymous.session.headers.pop("Authorization")
    resp = anonymous.get("services/campus/api/v1/me")
    assert resp.status_code == 401
    assert resp.json()["code"] == "UNAUTHORIZED"
    student = campus_hub.client(campus_hub.demo("student")["name"])
    resp = student.get("services/campus/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND"
    resp = student.post("services/campus/api/v1/accounts", json={"name": "mallory"})
    assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"


def test_staff_creates_student_who_can_log_in(campus_hub: CampusHub, make_user) -> None:
    staff = campus_hub.client(campus_hub.demo("staff")["name"])
    resp = staff.post("services/campus/api/v1/accounts", json={"name": "newbie", "role": "student"})
    assert resp.status_code == 201, resp.text
    password = resp.json()["password"]
    session = campus_hub.login_session("newbie", password)
    assert session.get(campus_hub.url + "hub/api/user", timeout=10).json()["name"] == "newbie"
    # staff may not create admins; a second account with the same name conflicts
    resp = staff.post("services/campus/api/v1/accounts", json={"name": "boss", "role": "admin"})
    assert resp.status_code == 403
    resp = staff.post("services/campus/api/v1/accounts", json={"name": "newbie"})
    assert resp.status_code == 409 and resp.json()["code"] == "CONFLICT"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"name": 5}',
        b'{"name": "ok-name", "role": "wizard"}',
        b'{"name": "ok-name", "password": "short"}',
        b'{"name": "' + b"x" * (1024 * 1024) + b'"}',
    ],
    ids=["malformed", "not-object", "wrong-type", "unknown-role", "short-password", "1MB"],
)
def test_bad_account_input_is_a_4xx(campus_hub: CampusHub, body: bytes) -> None:
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    before = admin.get("services/campus/api/v1/accounts").json()["accounts"]
    resp = admin.post(
        "services/campus/api/v1/accounts", data=body, headers={"Content-Type": "application/json"}
    )
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["code"] in ("VALIDATION_ERROR", "PAYLOAD_TOO_LARGE")
    assert admin.get("services/campus/api/v1/accounts").json()["accounts"] == before


def test_signup_is_off_by_default(campus_hub: CampusHub) -> None:
    assert requests.get(campus_hub.url + "hub/signup", timeout=10).status_code == 404
    assert "nbcampus-signup-link" not in requests.get(campus_hub.url + "hub/login", timeout=10).text
