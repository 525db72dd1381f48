"""The office's API on a real Hub (SQLite and PostgreSQL): classes with every field and the
status machine, enrolling many, payments and the enrollment's payment status, a meeting's
edit previewed then saved (date included), concurrent credit adjustments, and the class audit
with its CSV. Every refusal stores nothing."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable
from typing import Any

import pytest
from harness.hub import CampusHub
from office_world import PNG_1PX, C, days_ago, group_class, staff_client, students

pytestmark = [pytest.mark.slow]


def test_class_fields_filters_and_status_machine(campus_hub: CampusHub) -> None:
    staff = staff_client(campus_hub)
    klass = group_class(campus_hub)
    assert klass["schedule"] == {"days": ["mon", "thu"], "time": "19:00-21:00"}
    assert klass["next_statuses"] == ["active", "draft", "cancelled"]
    # Filters: type, instructor, status.
    mine = staff.get(
        C + "classes",
        params={"type": "group", "instructor": campus_hub.demo("instructor")["name"]},
    ).json()["classes"]
    assert klass["id"] in [k["id"] for k in mine]
    assert staff.get(C + "classes", params={"type": "private"}).json()["classes"] == [
        k for k in staff.get(C + "classes").json()["classes"] if k["type"] == "private"
    ]
    # A bad schedule is refused on its field and no class is made.
    before = len(staff.get(C + "classes").json()["classes"])
    body = {
        "name": "bad",
        "course": "python-intro",
        "type": "group",
        "max_capacity": 5,
        "total_meetings": 3,
        "schedule": {"days": ["mon"], "time": "21:00-19:00"},
    }
    # A group class needs its enrollment deadline (the domain rules); a private one does not.
    bad = staff.post(C + "classes", json=body)
    assert bad.status_code == 400 and bad.json()["details"]["field"] == "enrollment_deadline"
    bad = staff.post(C + "classes", json=body | {"enrollment_deadline": days_ago(-7)})
    assert bad.status_code == 400 and bad.json()["details"]["field"] == "schedule"
    assert len(staff.get(C + "classes").json()["classes"]) == before
    # A refused move names the rule and changes nothing.
    staff.patch(C + f"classes/{klass['id']}", json={"status": "active"}).raise_for_status()
    refused = staff.patch(C + f"classes/{klass['id']}", json={"status": "enrollment_open"})
    assert refused.status_code == 409
    assert "cannot go from active to enrollment_open" in refused.json()["message"]
    assert staff.get(C + f"classes/{klass['id']}").json()["status"] == "active"
    audit = staff.get(C + f"classes/{klass['id']}/audit", params={"kind": "class"}).json()["audit"]
    assert [a["action"] for a in audit] == ["class.create", "class.update"]
    assert '"enrollment_open"' in audit[1]["before"] and '"active"' in audit[1]["after"]


def test_enroll_many_payments_and_audit(
    campus_hub: CampusHub, make_user: Callable[..., dict[str, Any]]
) -> None:
    staff = staff_client(campus_hub)
    klass = group_class(campus_hub)
    cid = klass["id"]
    people = students(make_user, 3)
    names = [p["name"] for p in people]
    result = staff.post(
        C + f"classes/{cid}/enroll-many", json={"students": [*names, "nobody-here", names[0]]}
    ).json()
    assert result["enrolled"] == 3 and result["refused"] == 1
    assert "no account" in next(r for r in result["results"] if not r["ok"])["message"]
    found = staff.get(C + f"classes/{cid}/candidates", params={"q": names[0][:9]}).json()
    assert names[0] not in [c["name"] for c in found["candidates"]]  # already enrolled
    enrollments = staff.get(C + f"classes/{cid}/enrollments").json()["enrollments"]
    eid = next(e["id"] for e in enrollments if e["student"] == names[0])
    assert {e["payment_status"] for e in enrollments} == {"pending"}

    # Bad input: refused on its field, nothing stored.
    for body, field in (
        ({"amount": "12.345", "method": "cash"}, "amount"),
        ({"amount": "0", "method": "cash"}, "amount"),
        ({"amount": "10", "method": "cheque"}, "method"),
        (
            {
                "amount": "10",
                "method": "cash",
                "proof": {"name": "x.png", "type": "image/png", "data": "JVBERi0x"},
            },
            "proof",
        ),
    ):
        resp = staff.post(C + f"enrollments/{eid}/payments", json=body)
        assert resp.status_code == 400, resp.text
        assert resp.json()["details"]["field"] == field, resp.text
    assert staff.get(C + f"enrollments/{eid}/payments").json()["payments"] == []

    made = staff.post(
        C + f"enrollments/{eid}/payments",
        json={
            "amount": "120.50",
            "method": "bank_transfer",
            "reference": "TRX-1",
            "proof": {"name": "receipt.png", "type": "image/png", "data": PNG_1PX},
        },
    )
    assert made.status_code == 201, made.text
    pid = made.json()["payment"]["id"]
    assert made.json()["payment"]["amount"] == "120.50"
    assert made.json()["enrollment"]["payment_status"] == "pending"
    proof = staff.get(C + f"payments/{pid}/proof")
    assert proof.headers["Content-Type"] == "image/png" and proof.content.startswith(b"\x89PNG")
    refused = staff.post(C + f"payments/{pid}/refund")
    assert refused.status_code == 409 and "only a verified payment" in refused.json()["message"]
    verified = staff.post(C + f"payments/{pid}/verify").json()
    assert verified["payment"]["verified_by"] == "staff"
    assert verified["enrollment"]["payment_status"] == "verified"
    assert staff.post(C + f"payments/{pid}/verify").status_code == 409
    refunded = staff.post(C + f"payments/{pid}/refund").json()
    assert refunded["enrollment"]["payment_status"] == "refunded"

    staff.delete(C + f"classes/{cid}/enrollments/{names[2]}").raise_for_status()
    audit = staff.get(C + f"classes/{cid}/audit").json()["audit"]
    actions = [a["action"] for a in audit]
    for action in (
        "enrollment.enroll",
        "payment.record",
        "payment.verify",
        "payment.refund",
        "enrollment.withdraw",
    ):
        assert action in actions, actions
    payment_rows = staff.get(
        C + f"classes/{cid}/audit", params={"kind": "payment", "student": names[0]}
    ).json()["audit"]
    assert [r["action"] for r in payment_rows] == [
        "payment.record",
        "payment.verify",
        "payment.refund",
    ]
    assert all(r["actor"] == "staff" and r["at"] for r in payment_rows)
    assert '"pending"' in payment_rows[1]["before"] and '"verified"' in payment_rows[1]["after"]
    resp = staff.get(C + f"classes/{cid}/audit", params={"format": "csv", "kind": "payment"})
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0][:4] == ["at", "kind", "action", "actor"] and len(rows) == 4


def test_meeting_edit_preview_then_save_and_concurrent_adjustments(
    campus_hub: CampusHub, make_user: Callable[..., dict[str, Any]]
) -> None:
    staff = staff_client(campus_hub)
    teacher = campus_hub.client(campus_hub.demo("instructor")["name"])
    klass = group_class(campus_hub)
    cid = klass["id"]
    people = [p["name"] for p in students(make_user, 2)]
    staff.post(C + f"classes/{cid}/enroll-many", json={"students": people}).raise_for_status()
    staff.patch(C + f"classes/{cid}", json={"status": "active"}).raise_for_status()
    taken = teacher.post(
        C + f"classes/{cid}/attendance",
        json={
            "meeting_number": 1,
            "meeting_date": days_ago(3),
            "records": [
                {"student": people[0], "status": "present"},
                {"student": people[1], "status": "absent"},
            ],
        },
    )
    assert taken.status_code == 201, taken.text
    edit = {
        "records": [{"student": people[1], "status": "late"}],
        "meeting_date": days_ago(2),
        "notes": "the register was wrong",
    }
    preview = staff.put(C + f"classes/{cid}/attendance/1", json={**edit, "dry_run": True})
    assert preview.status_code == 200, preview.text
    changes = preview.json()["changes"]
    assert {"student": people[1], "from": "absent", "to": "late", "credit_change": -1} in changes
    assert any("meeting_date" in c for c in changes)
    # The preview stored nothing: the old mark, the old date, no audit row.
    rows = staff.get(C + f"classes/{cid}/attendance").json()["attendance"]
    assert {r["meeting_date"] for r in rows} == {days_ago(3)}
    assert staff.get(C + f"classes/{cid}/attendance/edits").json()["edits"] == []
    saved = staff.put(C + f"classes/{cid}/attendance/1", json=edit)
    assert saved.status_code == 200, saved.text
    rows = staff.get(C + f"classes/{cid}/attendance").json()["attendance"]
    assert {r["meeting_date"] for r in rows} == {days_ago(2)}
    enrollments = {
        e["student"]: e for e in staff.get(C + f"classes/{cid}/enrollments").json()["enrollments"]
    }
    assert enrollments[people[1]]["credits_remaining"] == klass["total_meetings"] - 1
    # The audit: one row for the meeting's new date (not one per student), one for the mark.
    audit = staff.get(C + f"classes/{cid}/audit", params={"kind": "attendance"}).json()["audit"]
    assert sorted(a["action"] for a in audit) == ["attendance.edit", "attendance.meeting_date"]
    moved = next(a for a in audit if a["action"] == "attendance.meeting_date")
    assert days_ago(3) in moved["before"] and days_ago(2) in moved["after"]
    assert "the register was wrong" in moved["after"] and moved["student"] == ""
    # A future date is refused on its field.
    future = staff.put(
        C + f"classes/{cid}/attendance/1", json={**edit, "meeting_date": days_ago(-3)}
    )
    assert future.status_code == 400 and future.json()["details"]["field"] == "meeting_date"

    # Two staff members adjusting the same student's credits at once lose nothing.
    eid = enrollments[people[0]]["id"]
    start = enrollments[people[0]]["credits_remaining"]
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    failures: list[str] = []

    def adjust(client: Any, n: int) -> None:
        for _ in range(n):
            resp = client.post(
                C + f"enrollments/{eid}/credits/adjust",
                json={"adjustment": 1, "reason": "bonus", "reason_detail": "race"},
            )
            if resp.status_code != 201:
                failures.append(resp.text)

    threads = [threading.Thread(target=adjust, args=(c, 8)) for c in (staff, admin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    balance = staff.get(C + f"enrollments/{eid}/credits").json()
    assert balance["credits_remaining"] == start + 16
    history = staff.get(C + f"enrollments/{eid}/credits/history").json()["history"]
    assert len(history) == 16
    # Each adjustment saw the one before it: before/after form one unbroken chain.
    assert [h["credits_before"] for h in history] == list(range(start, start + 16))
    assert [h["credits_after"] for h in history] == list(range(start + 1, start + 17))
    audit = staff.get(C + f"classes/{cid}/audit", params={"kind": "credits"}).json()["audit"]
    assert len(audit) == 16 and {a["actor"] for a in audit} == {"staff", "admin"}
    edits = staff.get(C + f"classes/{cid}/audit", params={"kind": "attendance"}).json()["audit"]
    assert any(a["before"] == "absent" and a["after"] == "late" for a in edits)


def test_private_continuation_takes_one_student_and_adds_meetings(
    campus_hub: CampusHub, make_user: Callable[..., dict[str, Any]]
) -> None:
    staff = staff_client(campus_hub)
    group = group_class(campus_hub)
    one, two = (p["name"] for p in students(make_user, 2))
    private = staff.post(
        C + "classes",
        json={
            "name": "One-to-one follow-up",
            "course": "python-intro",
            "type": "private",
            "total_meetings": 4,
            "status": "active",
            "continued_from_class_id": group["id"],
            "schedule": {"days": ["sat"], "time": "10:00-11:00"},
        },
    )
    assert private.status_code == 201, private.text
    pid = private.json()["id"]
    assert private.json()["max_capacity"] == 1
    assert private.json()["continued_from_class_id"] == group["id"]
    result = staff.post(C + f"classes/{pid}/enroll-many", json={"students": [one, two]}).json()
    assert [r["ok"] for r in result["results"]] == [True, False]
    assert "full" in result["results"][1]["message"]
    # A private class adds meetings while active; the student's credits grow with them.
    grown = staff.patch(C + f"classes/{pid}", json={"total_meetings": 6})
    assert grown.status_code == 200, grown.text
    enrollment = staff.get(C + f"classes/{pid}/enrollments").json()["enrollments"][0]
    assert enrollment["credits_remaining"] == 6
    # A group class's meetings are fixed once it is active: refused, and the rule is named.
    staff.patch(C + f"classes/{group['id']}", json={"status": "active"}).raise_for_status()
    fixed = staff.patch(C + f"classes/{group['id']}", json={"total_meetings": 9})
    assert fixed.status_code == 409 and "fixed once it is active" in fixed.json()["message"]
    audit = staff.get(C + f"classes/{pid}/audit", params={"kind": "class"}).json()["audit"]
    assert audit[-1]["action"] == "class.update"
    assert '"total_meetings": 4' in audit[-1]["before"]
    assert '"total_meetings": 6' in audit[-1]["after"]


def test_students_and_instructors_are_refused_the_office_api(
    campus_hub: CampusHub, make_user: Callable[..., dict[str, Any]]
) -> None:
    staff = staff_client(campus_hub)
    klass = group_class(campus_hub)  # taught by the demo instructor
    cid = klass["id"]
    name = students(make_user, 1)[0]["name"]
    enrollment = staff.post(C + f"classes/{cid}/enrollments", json={"student": name}).json()
    eid = enrollment["id"]
    pid = staff.post(
        C + f"enrollments/{eid}/payments", json={"amount": "10", "method": "cash"}
    ).json()["payment"]["id"]
    calls = [
        ("GET", f"classes/{cid}/candidates?q=a", None),
        ("POST", f"classes/{cid}/enroll-many", {"students": ["alice"]}),
        ("GET", f"classes/{cid}/payments", None),
        ("GET", f"enrollments/{eid}/payments", None),
        ("POST", f"enrollments/{eid}/payments", {"amount": "10", "method": "cash"}),
        ("POST", f"payments/{pid}/verify", None),
        ("POST", f"payments/{pid}/refund", None),
        ("GET", f"payments/{pid}/proof", None),
        ("PATCH", f"classes/{cid}", {"schedule": {"days": ["fri"], "time": "08:00-09:00"}}),
    ]
    student = campus_hub.client(name)  # a student of this very class
    teacher = campus_hub.client(campus_hub.demo("instructor")["name"])
    for who, client in (("student", student), ("instructor", teacher)):
        for method, path, body in calls:
            resp = client.request(method, C + path, json=body)
            assert resp.status_code == 403, (who, method, path, resp.status_code, resp.text)
    # A student never reads the audit; the class's instructor does (read-only).
    assert student.get(C + f"classes/{cid}/audit").status_code == 403
    assert teacher.get(C + f"classes/{cid}/audit").status_code == 200
    # Nothing the refused calls tried was stored.
    payments = staff.get(C + f"enrollments/{eid}/payments").json()["payments"]
    assert [(p["id"], p["status"]) for p in payments] == [(pid, "pending")]
    assert staff.get(C + f"classes/{cid}").json()["schedule"]["days"] == ["mon", "thu"]
    assert len(staff.get(C + f"classes/{cid}/enrollments").json()["enrollments"]) == 1


def test_class_edit_every_field_with_the_rule_on_refusal(
    campus_hub: CampusHub, make_user: Callable[..., dict[str, Any]]
) -> None:
    staff = staff_client(campus_hub)
    klass = group_class(campus_hub)
    cid = klass["id"]
    people = [p["name"] for p in students(make_user, 3)]
    staff.post(C + f"classes/{cid}/enroll-many", json={"students": people}).raise_for_status()
    change = {
        "name": "Renamed evening",
        "max_capacity": 20,
        "total_meetings": 9,
        "schedule": {"days": ["tue"], "time": "18:00-20:00"},
        "enrollment_deadline": days_ago(-10),
        "start_date": days_ago(1),
        "end_date": days_ago(-90),
        "instructor": None,
    }
    saved = staff.patch(C + f"classes/{cid}", json=change)
    assert saved.status_code == 200, saved.text
    got = staff.get(C + f"classes/{cid}").json()
    assert {k: got[k] for k in change} == change
    audit = staff.get(C + f"classes/{cid}/audit", params={"kind": "class"}).json()["audit"]
    assert audit[-1]["action"] == "class.update" and "Renamed evening" in audit[-1]["after"]

    # Each refusal names its field and the rule, and changes nothing.
    refusals = [
        ({"max_capacity": 2}, 409, "max_capacity", "3 students are already enrolled"),
        ({"enrollment_deadline": None}, 400, "enrollment_deadline", "needs an enrollment deadline"),
        ({"end_date": days_ago(5)}, 400, "end_date", "before the start date"),
        ({"start_date": "2026-02-30"}, 400, "start_date", "start_date"),
        ({"schedule": {"days": ["mon"], "time": "9-10"}}, 400, "schedule", "HH:MM-HH:MM"),
        ({"name": ""}, 400, "name", "name"),
    ]
    for body, status, field, words in refusals:
        resp = staff.patch(C + f"classes/{cid}", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["details"]["field"] == field, (body, resp.text)
        assert words in resp.json()["message"], (body, resp.text)
    assert staff.get(C + f"classes/{cid}").json() == got
    # Once active, a group class's meetings are fixed (the same number is no change).
    staff.patch(C + f"classes/{cid}", json={"status": "active"}).raise_for_status()
    same = staff.patch(C + f"classes/{cid}", json={"total_meetings": 9, "name": "Still"})
    assert same.status_code == 200, same.text
    fixed = staff.patch(C + f"classes/{cid}", json={"total_meetings": 10})
    assert fixed.status_code == 409 and fixed.json()["details"]["field"] == "total_meetings"


def test_group_enrollment_deadline_required_and_enforced(
    campus_hub: CampusHub, make_user: Callable[..., dict[str, Any]]
) -> None:
    staff = staff_client(campus_hub)
    base = {"course": "python-intro", "total_meetings": 4, "status": "enrollment_open"}
    # Required for a group class, not for a private one.
    missing = staff.post(C + "classes", json=base | {"name": "No deadline", "max_capacity": 5})
    assert missing.status_code == 400
    assert missing.json()["details"]["field"] == "enrollment_deadline"
    private = staff.post(C + "classes", json=base | {"name": "One to one", "type": "private"})
    assert private.status_code == 201, private.text
    assert private.json()["enrollment_deadline"] is None
    # A deadline that has passed: staff's enrollment is refused with the rule and the day.
    late = staff.post(
        C + "classes",
        json=base | {"name": "Closed", "max_capacity": 5, "enrollment_deadline": days_ago(1)},
    )
    assert late.status_code == 201, late.text
    cid = late.json()["id"]
    one, two = (p["name"] for p in students(make_user, 2))
    refused = staff.post(C + f"classes/{cid}/enrollments", json={"student": one})
    assert refused.status_code == 409 and refused.json()["code"] == "DEADLINE_PASSED"
    assert f"enrollment deadline ({days_ago(1)}) has passed" in refused.json()["message"]
    many = staff.post(C + f"classes/{cid}/enroll-many", json={"students": [one]}).json()
    assert many["enrolled"] == 0 and "has passed" in many["results"][0]["message"]
    assert staff.get(C + f"classes/{cid}/enrollments").json()["enrollments"] == []
    # The deadline's own day still takes enrollments.
    staff.patch(C + f"classes/{cid}", json={"enrollment_deadline": days_ago(0)}).raise_for_status()
    ok = staff.post(C + f"classes/{cid}/enrollments", json={"student": two})
    assert ok.status_code == 201, ok.text


def test_staff_record_a_new_meeting_previewed_then_saved(
    campus_hub: CampusHub, make_user: Callable[..., dict[str, Any]]
) -> None:
    staff = staff_client(campus_hub)
    klass = group_class(campus_hub, meetings=3)
    cid = klass["id"]
    people = [p["name"] for p in students(make_user, 2)]
    staff.post(C + f"classes/{cid}/enroll-many", json={"students": people}).raise_for_status()
    take = {
        "meeting_number": 1,
        "meeting_date": days_ago(1),
        "records": [
            {"student": people[0], "status": "present"},
            {"student": people[1], "status": "absent"},
        ],
    }
    preview = staff.post(C + f"classes/{cid}/attendance", json=take | {"dry_run": True})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["dry_run"] is True and body["credits_used"] == 1
    assert body["changes"] == [
        {"student": people[0], "status": "present", "credits_before": 3, "credits_after": 2},
        {"student": people[1], "status": "absent", "credits_before": 3, "credits_after": 3},
    ]
    # Nothing stored by the preview: no record, credits untouched, the class still open.
    assert staff.get(C + f"classes/{cid}/attendance").json()["attendance"] == []
    after = staff.get(C + f"classes/{cid}").json()
    assert after["meetings_completed"] == 0 and after["status"] == "enrollment_open"
    saved = staff.post(C + f"classes/{cid}/attendance", json=take)
    assert saved.status_code == 201, saved.text
    assert saved.json()["changes"] == body["changes"] and saved.json()["dry_run"] is False
    assert len(staff.get(C + f"classes/{cid}/attendance").json()["attendance"]) == 2
    # The rules still apply to a preview: the same meeting again, or out of order.
    again = staff.post(C + f"classes/{cid}/attendance", json=take | {"dry_run": True})
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_TAKEN"
    skip = staff.post(
        C + f"classes/{cid}/attendance", json=take | {"meeting_number": 3, "dry_run": True}
    )
    assert skip.status_code == 409 and skip.json()["code"] == "MEETING_ORDER"
    bad = staff.post(C + f"classes/{cid}/attendance", json=take | {"dry_run": "yes"})
    assert bad.status_code == 400


def test_payments_carry_the_school_currency(
    campus_hub: CampusHub, make_user: Callable[..., dict[str, Any]]
) -> None:
    staff = staff_client(campus_hub)
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    before = admin.get(C + "settings").json()["currency"]
    assert len(before) == 3 and before.isupper()
    for bad in ("eur", "XYZ", "EURO", ""):
        resp = admin.put(C + "settings", json={"currency": bad})
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["details"]["field"] == "currency", (bad, resp.text)
    assert admin.get(C + "settings").json()["currency"] == before
    # Staff may read the settings but not change the currency.
    assert staff.put(C + "settings", json={"currency": "EUR"}).status_code == 403
    klass = group_class(campus_hub)
    cid = klass["id"]
    (who,) = (p["name"] for p in students(make_user, 1))
    enrolled = staff.post(C + f"classes/{cid}/enrollments", json={"student": who})
    eid = enrolled.json()["id"]
    try:
        assert admin.put(C + "settings", json={"currency": "IDR"}).json()["currency"] == "IDR"
        made = staff.post(
            C + f"enrollments/{eid}/payments",
            json={"amount": "150000", "method": "cash", "reference": "R-7"},
        )
        assert made.status_code == 201, made.text
        assert made.json()["payment"]["currency"] == "IDR"
        assert made.json()["payment"]["amount_cents"] == 15_000_000  # stored as before
        listed = staff.get(C + f"classes/{cid}/payments").json()
        assert listed["currency"] == "IDR" and listed["payments"][0]["currency"] == "IDR"
        own = staff.get(C + f"enrollments/{eid}/payments").json()
        assert own["currency"] == "IDR"
        table = list(csv.DictReader(io.StringIO(staff.get(
            C + f"classes/{cid}/payments", params={"format": "csv"}
        ).text)))  # fmt: skip
        assert [(r["student"], r["amount"], r["currency"]) for r in table] == [
            (who, "150000.00", "IDR")
        ]
        audit = staff.get(C + f"classes/{cid}/audit", params={"kind": "payment"}).json()["audit"]
        assert '"currency": "IDR"' in audit[0]["after"]
    finally:
        admin.put(C + "settings", json={"currency": before}).raise_for_status()
