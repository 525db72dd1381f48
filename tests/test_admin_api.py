"""The admin screens' API and pages against a real Hub (SQLite and PostgreSQL): accounts
(create with a role, disable and enable, reset a password), course review, school settings,
the audit, and refusals for students and instructors."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests
from harness.hub import CampusHub

C = "services/campus/api/v1/"


def login_fails(hub: CampusHub, name: str, password: str) -> bool:
    try:
        hub.login_session(name, password)
    except AssertionError:
        return True
    return False


def page_session(hub: CampusHub, role: str) -> tuple[requests.Session, str]:
    """A browser-like session of a demo account, and the XSRF token of its pages."""
    account = hub.demo(role)
    session = hub.login_session(account["name"], account["password"])
    home = session.get(hub.url + "hub/home", timeout=30)
    xsrf = session.cookies.get("_xsrf") or re.search(r'name="_xsrf" value="([^"]+)"', home.text)
    return session, xsrf if isinstance(xsrf, str) else xsrf.group(1)


def test_accounts_create_disable_enable_reset(campus_hub: CampusHub, make_user) -> None:
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    staff = campus_hub.client(campus_hub.demo("staff")["name"])
    name = f"dana-{uuid.uuid4().hex[:6]}"

    # staff create students only; admins any role
    resp = staff.post(C + "accounts", json={"name": "teach-" + name, "role": "instructor"})
    assert resp.status_code == 403, resp.text
    resp = admin.post(C + "accounts", json={"name": "teach-" + name, "role": "instructor"})
    assert resp.status_code == 201 and resp.json()["role"] == "instructor"
    resp = staff.post(C + "accounts", json={"name": name, "display_name": "Dana D"})
    assert resp.status_code == 201, resp.text
    password = resp.json()["password"]
    campus_hub.login_session(name, password)
    # ... and manage students only
    resp = staff.patch(C + f"accounts/teach-{name}", json={"active": False})
    assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"

    # search
    found = staff.get(C + "accounts", params={"q": "DANA", "role": "student"}).json()["accounts"]
    assert [a["name"] for a in found] == [name]

    # disable: no login, tokens revoked, the campus refuses a token that slipped through
    dana = campus_hub.client(name)
    assert dana.get(C + "me").status_code == 200
    resp = staff.patch(C + f"accounts/{name}", json={"active": False})
    assert resp.status_code == 200, resp.text
    assert resp.json()["active"] is False and resp.json()["lockout"]["tokens_revoked"] >= 1
    assert login_fails(campus_hub, name, password)
    assert dana.get(C + "me").status_code in (401, 403)
    tokens = campus_hub.admin_client().get(f"hub/api/users/{name}/tokens").json()["api_tokens"]
    assert tokens == []
    # a retry changes nothing and says so
    again = staff.patch(C + f"accounts/{name}", json={"active": False}).json()
    assert again["changed"] is False

    # enable: the same password works again (the work was kept)
    resp = staff.patch(C + f"accounts/{name}", json={"active": True})
    assert resp.status_code == 200 and resp.json()["active"] is True
    campus_hub.login_session(name, password)

    # reset: a new temporary password, the old one stops working
    resp = staff.post(C + f"accounts/{name}/password", json={})
    assert resp.status_code == 200, resp.text
    temporary = resp.json()["password"]
    assert temporary != password
    assert login_fails(campus_hub, name, password)
    campus_hub.login_session(name, temporary)

    # the audit: who, when, before, after; never a password or its hash
    detail = admin.get(C + f"accounts/{name}").json()
    actions = [e["action"] for e in detail["audit"]]
    assert actions == [
        "account.reset_password",
        "account.enable",
        "account.disable",
        "account.create",
    ]
    disable = detail["audit"][2]
    assert disable["actor"] == campus_hub.demo("staff")["name"] and disable["at"]
    assert disable["before"]["active"] is True and disable["after"]["active"] is False
    text = str(admin.get(C + "audit", params={"target": name}).json())
    assert temporary not in text and password not in text and "scrypt" not in text

    # nobody disables themselves
    me = campus_hub.demo("admin")["name"]
    resp = admin.patch(C + f"accounts/{me}", json={"active": False})
    assert resp.status_code == 409


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("accounts", {"name": "Bad Name!"}, "name"),
        ("accounts", {"name": "ok-name", "role": "wizard"}, "role"),
        ("accounts", {"name": "ok-name", "email": "a\u0000b"}, "email"),
    ],
)
def test_bad_account_input_is_refused_and_nothing_is_stored(
    campus_hub: CampusHub, path: str, body: dict[str, Any], field: str
) -> None:
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    before = admin.get(C + "accounts").json()["accounts"]
    resp = admin.post(C + path, json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] and resp.json()["details"]["field"] == field
    assert admin.get(C + "accounts").json()["accounts"] == before


def test_course_review_and_what_students_see(campus_hub: CampusHub, make_user) -> None:
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    staff = campus_hub.client(campus_hub.demo("staff")["name"])
    course = "c-fundamentals"
    teacher = make_user("instructor")
    student = make_user("student")
    # an admin takes the course back to draft, with the reason
    resp = admin.post(C + f"courses/{course}/review", json={"action": "unpublish"})
    assert resp.status_code == 400 and resp.json()["details"]["field"] == "note"
    resp = admin.post(
        C + f"courses/{course}/review", json={"action": "unpublish", "note": "new edition"}
    )
    assert resp.status_code == 200 and resp.json()["status"] == "draft", resp.text
    klass = staff.post(
        C + "classes",
        json={
            "name": "C review",
            "course": course,
            "total_meetings": 4,
            "max_capacity": 5,
            "enrollment_deadline": "2099-12-31",
            "instructor": teacher["name"],
        },
    )
    assert klass.status_code == 201, klass.text
    cid = klass.json()["id"]
    resp = staff.post(C + f"classes/{cid}/enrollments", json={"student": student["name"]})
    assert resp.status_code == 201, resp.text

    def student_sees() -> dict[str, bool]:
        s = student["client"]
        listed = [c["slug"] for c in s.get(C + "courses").json()["courses"]]
        mine = [
            c.get("slug") or c.get("course")
            for c in s.get(C + "me/courses").json().get("courses", [])
        ]
        return {
            "list": course in listed,
            "detail": s.get(C + f"courses/{course}").status_code == 200,
            "mine": course in mine,
        }

    assert student_sees() == {"list": False, "detail": False, "mine": False}
    # the instructor sends it for review; still hidden; they cannot publish it themselves
    t = teacher["client"]
    assert t.post(C + f"courses/{course}/review", json={"action": "publish"}).status_code == 403
    resp = t.post(C + f"courses/{course}/review", json={"action": "submit"})
    assert resp.status_code == 200 and resp.json()["status"] == "in_review", resp.text
    assert t.patch(C + f"courses/{course}", json={"status": "published"}).status_code == 403
    assert student_sees() == {"list": False, "detail": False, "mine": False}
    # staff do not review; students learn nothing about it
    assert staff.post(C + f"courses/{course}/review", json={"action": "publish"}).status_code == 403
    resp = student["client"].post(C + f"courses/{course}/review", json={"action": "submit"})
    assert resp.status_code in (403, 404)
    # returned with a reason, sent again, published
    resp = admin.post(C + f"courses/{course}/review", json={"action": "return", "note": "fix 2"})
    assert resp.json()["status"] == "draft"
    t.post(C + f"courses/{course}/review", json={"action": "submit"})
    # a move that does not fit the status is refused with the rule
    resp = admin.post(C + f"courses/{course}/review", json={"action": "restore"})
    assert resp.status_code == 409 and "archived" in resp.json()["message"]
    resp = admin.post(C + f"courses/{course}/review", json={"action": "publish"})
    assert resp.status_code == 200 and resp.json()["status"] == "published"
    assert student_sees() == {"list": True, "detail": True, "mine": True}
    # archive is a soft delete: hidden, then restored as it was
    resp = admin.post(C + f"courses/{course}/review", json={"action": "archive"})
    assert resp.json()["status"] == "archived"
    assert student_sees() == {"list": False, "detail": False, "mine": False}
    assert student["client"].get(f"services/campus/api/v1/catalog/{course}").status_code in (
        401,
        404,
    )
    resp = admin.post(C + f"courses/{course}/review", json={"action": "restore"})
    assert resp.json()["status"] == "published"
    assert student_sees()["detail"]
    actions = [
        e["action"]
        for e in admin.get(C + "audit", params={"target_type": "course", "target": course}).json()[
            "entries"
        ]
    ]
    assert actions[:3] == ["course.restore", "course.archive", "course.publish"]
    assert "course.return" in actions and "course.submit" in actions


def test_school_settings(campus_hub: CampusHub) -> None:
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    before = admin.get(C + "settings").json()
    resp = admin.put(C + "settings", json={"name": "Orus School", "timezone": "Mars/Olympus"})
    assert resp.status_code == 400 and resp.json()["details"]["field"] == "timezone"
    assert admin.get(C + "settings").json() == before  # all or nothing
    resp = admin.put(C + "settings", json={"logo_url": "javascript:alert(1)"})
    assert resp.status_code == 400 and resp.json()["details"]["field"] == "logo_url"
    resp = admin.put(C + "settings", json={"name": "Orus School", "timezone": "Asia/Jakarta"})
    assert resp.status_code == 200 and resp.json()["name"] == "Orus School"
    student = campus_hub.client(campus_hub.demo("student")["name"])
    assert student.get(C + "settings").json()["timezone"] == "Asia/Jakarta"
    (entry,) = [
        e for e in admin.get(C + "audit", params={"target_type": "settings"}).json()["entries"]
    ][:1]
    assert entry["before"]["name"] == before["name"] and entry["after"]["name"] == "Orus School"
    # the admin page shows the new name at once (no restart)
    session, _ = page_session(campus_hub, "admin")
    page = session.get(campus_hub.url + "hub/campus-admin/settings", timeout=30)
    assert page.status_code == 200 and "Orus School" in page.text


ADMIN_APIS = [
    ("GET", "accounts", None),
    ("POST", "accounts", {"name": "sneaky", "role": "student"}),
    ("GET", "accounts/admin", None),
    ("PATCH", "accounts/alice", {"active": False}),
    ("POST", "accounts/alice/password", {}),
    ("GET", "audit", None),
    ("PUT", "settings", {"name": "Taken Over"}),
    ("POST", "courses/python-intro/review", {"action": "archive"}),
]
ADMIN_PAGES = [
    ("GET", "campus-admin/accounts", None),
    ("GET", "campus-admin/courses", None),
    ("GET", "campus-admin/settings", None),
    ("POST", "campus-admin/accounts", {"name": "sneaky", "role": "student"}),
    ("POST", "campus-admin/accounts/alice/active", {"active": "0"}),
    ("POST", "campus-admin/accounts/alice/password", {}),
    ("POST", "campus-admin/courses/python-intro/review", {"action": "archive"}),
    ("POST", "campus-admin/settings", {"name": "Taken Over"}),
]


@pytest.mark.parametrize("role", ["student", "instructor"])
def test_students_and_instructors_are_refused(campus_hub: CampusHub, role: str) -> None:
    person = campus_hub.client(campus_hub.demo(role)["name"])
    for method, path, body in ADMIN_APIS:
        resp = person.request(method, C + path, json=body)
        assert resp.status_code == 403, (method, path, resp.status_code, resp.text)
        assert resp.json()["code"] == "FORBIDDEN"
    session, xsrf = page_session(campus_hub, role)
    home = session.get(campus_hub.url + "hub/home", timeout=30).text
    assert "campus-admin" not in home  # no "Admin" in their navigation
    for method, path, form in ADMIN_PAGES:
        data = {**(form or {}), "_xsrf": xsrf} if method == "POST" else None
        resp = session.request(method, campus_hub.url + "hub/" + path, data=data, timeout=30)
        assert resp.status_code == 403, (method, path, resp.status_code)
    # nothing changed
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    alice = admin.get(C + "accounts/alice").json()
    assert (
        alice["active"] is True
        and alice["audit"] == []
        or all(e["actor"] != campus_hub.demo(role)["name"] for e in alice["audit"])
    )
    assert admin.get(C + "courses/python-intro").json()["status"] == "published"
    assert admin.get(C + "settings").json()["name"] != "Taken Over"


def test_hub_add_users_is_replaced_by_the_campus_screen(campus_hub: CampusHub) -> None:
    session, _ = page_session(campus_hub, "admin")
    page = session.get(campus_hub.url + "hub/admin", timeout=30)
    assert page.status_code == 200
    assert "campus-admin/accounts" in page.text and ".add-users-button" in page.text


def test_staff_pages_offer_students_only(campus_hub: CampusHub) -> None:
    session, xsrf = page_session(campus_hub, "staff")
    page = session.get(campus_hub.url + "hub/campus-admin/accounts", timeout=30)
    assert page.status_code == 200 and 'id="nav-campus-admin"' in page.text
    create_select = page.text.split('id="new-role"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w+)"', create_select) == ["student"]
    # a forged instructor: refused beside the role field, nothing created
    resp = session.post(
        campus_hub.url + "hub/campus-admin/accounts",
        data={"name": "forged", "role": "instructor", "_xsrf": xsrf},
        timeout=30,
    )
    assert resp.status_code == 400 and "may create student accounts" in resp.text
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    assert admin.get(C + "accounts/forged").status_code == 404
    for path in ("campus-admin/courses", "campus-admin/settings"):
        assert session.get(campus_hub.url + "hub/" + path, timeout=30).status_code == 403
