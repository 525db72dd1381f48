"""The campus API through a real Hub: roles, object-level checks, rules, errors, Hub groups."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from harness.hub import CampusHub

pytestmark = pytest.mark.slow
API = "services/campus/api/v1/"


def client(hub: CampusHub, role: str):
    return hub.client(hub.demo(role)["name"])


def alice_name(hub: CampusHub) -> str:
    return hub.demo("student")["name"]


def test_demo_student_sees_demo_course_with_lock_states(campus_hub: CampusHub) -> None:
    alice = client(campus_hub, "student")
    courses = {c["slug"]: c for c in alice.get(API + "me/courses").json()["courses"]}
    course = courses["python-intro"]
    # the demo class held its first meeting and unlocked the first lesson only
    assert [x["locked"] for x in course["lessons"]] == [False, True, True]
    assert course["classes"][0]["status"] == "active"
    # the student's enrollment is named, and its credits are theirs to read
    enrollment_id = course["classes"][0]["enrollment_id"]
    credits = alice.get(API + f"enrollments/{enrollment_id}/credits")
    assert credits.status_code == 200, credits.text
    students = [a["name"] for a in campus_hub.demo_accounts if a["role"] == "student"]
    other = campus_hub.client(next(n for n in students if n != alice_name(campus_hub)))
    assert other.get(API + f"enrollments/{enrollment_id}/credits").status_code == 403
    c_course = courses["c-fundamentals"]  # the second demo course, its own demo class
    assert c_course["kernel"] == "c"
    assert [x["locked"] for x in c_course["lessons"]] == [False, True, True]
    listed = alice.get(API + "courses").json()["courses"]
    assert {c["slug"] for c in listed} >= {"python-intro"}
    assert all(c["status"] == "published" for c in listed)
    outline = alice.get(API + "courses/python-intro").json()
    lessons = [x for s in outline["sections"] for x in s["lessons"]]
    assert [x["slug"] for x in lessons][:3] == [
        "01-values",
        "02-control-flow",
        "03-functions-lists",
    ]


def test_openapi_document_is_generated_from_handlers(campus_hub: CampusHub) -> None:
    doc = client(campus_hub, "student").get(API + "openapi.json").json()
    assert doc["openapi"].startswith("3.")
    op = doc["paths"]["/classes/{class_id}/attendance"]["post"]
    assert op["x-permission"] == "attendance:take" and "student" not in op["x-actors"]
    assert "/grading-results" in doc["paths"] and "/access/{course}/{lesson}" in doc["paths"]


@pytest.fixture(scope="module")
def klass(campus_hub: CampusHub) -> dict:
    """A fresh group class taught by the demo instructor, with two new students."""
    staff = client(campus_hub, "staff")
    admin = client(campus_hub, "admin")
    names = []
    for i in range(2):
        name = f"api-stu-{i}"
        resp = admin.post(API + "accounts", json={"name": name, "role": "student"})
        assert resp.status_code == 201, resp.text
        names.append(name)
    resp = staff.post(
        API + "classes",
        json={
            "name": "API group",
            "course": "python-intro",
            "type": "group",
            "total_meetings": 3,
            "max_capacity": 2,
            "enrollment_deadline": "2099-12-31",
            "instructor": campus_hub.demo("instructor")["name"],
            "status": "enrollment_open",
        },
    )
    assert resp.status_code == 201, resp.text
    data = resp.json()
    for name in names:
        resp = staff.post(API + f"classes/{data['id']}/enrollments", json={"student": name})
        assert resp.status_code == 201, resp.text
    data["students"] = names
    return data


def test_attendance_credits_unlock_and_audit_over_http(campus_hub: CampusHub, klass) -> None:
    cid = klass["id"]
    teacher = client(campus_hub, "instructor")
    staff = client(campus_hub, "staff")
    a, b = klass["students"]
    # full class refuses a third student
    resp = staff.post(API + f"classes/{cid}/enrollments", json={"student": "alice"})
    assert resp.status_code == 409 and resp.json()["code"] == "CONFLICT"
    resp = teacher.post(API + f"classes/{cid}/unlock-lesson", json={})
    assert resp.status_code == 409 and resp.json()["code"] == "UNLOCK_LIMIT"
    body = {
        "meeting_number": 1,
        "meeting_date": "2026-11-23",
        "records": [{"student": a, "status": "present"}, {"student": b, "status": "absent"}],
    }
    resp = teacher.post(API + f"classes/{cid}/attendance", json=body)
    assert resp.status_code == 201, resp.text
    assert resp.json()["credits_used"] == 1
    # the same meeting again, concurrently: never counted twice
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(
                lambda _: teacher.post(API + f"classes/{cid}/attendance", json=body).status_code,
                range(8),
            )
        )
    assert codes == [409] * 8
    enrollments = {
        e["student"]: e
        for e in teacher.get(API + f"classes/{cid}/enrollments").json()["enrollments"]
    }
    assert enrollments[a]["credits_remaining"] == 2 and enrollments[b]["credits_remaining"] == 3

    def next_lesson() -> dict | None:  # what the teaching tools' Unlock button names
        taught = teacher.get(API + "classes?teaching=1").json()["classes"]
        return next(c for c in taught if c["id"] == cid)["next_lesson"]

    assert next_lesson()["slug"] == "01-values"
    resp = teacher.post(API + f"classes/{cid}/unlock-lesson", json={})
    assert resp.status_code == 201 and resp.json()["lesson"]["slug"] == "01-values"
    assert next_lesson()["slug"] not in (None, "01-values")
    # edit present -> absent gives the credit back, audited
    resp = staff.put(
        API + f"classes/{cid}/attendance/1",
        json={"records": [{"student": a, "status": "absent"}], "notes": "marked wrongly"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["changes"] == [
        {"student": a, "from": "present", "to": "absent", "credit_change": 1}
    ]
    edits = teacher.get(API + f"classes/{cid}/attendance/edits").json()["edits"]
    assert edits[-1]["edited_by"] == campus_hub.demo("staff")["name"]
    # manual adjustment with reason, before/after and who
    eid = enrollments[b]["id"]
    resp = staff.post(
        API + f"enrollments/{eid}/credits/adjust",
        json={"adjustment": -1, "reason": "makeup_class", "reason_detail": "Tue makeup"},
    )
    assert resp.status_code == 201, resp.text
    history = client(campus_hub, "admin").get(API + f"enrollments/{eid}/credits/history").json()
    assert [
        (h["credits_before"], h["credits_after"], h["reason"], h["adjusted_by"])
        for h in history["history"]
    ] == [(3, 2, "makeup_class", campus_hub.demo("staff")["name"])]
    resp = staff.post(
        API + f"enrollments/{eid}/credits/adjust", json={"adjustment": 1, "reason": "other"}
    )
    assert resp.status_code == 400 and resp.json()["code"] == "VALIDATION_ERROR"
    # the student sees their own credits, not someone else's
    mine = campus_hub.client(b).get(API + f"enrollments/{eid}/credits")
    assert mine.status_code == 200 and mine.json()["credits_remaining"] == 2
    other = campus_hub.client(a).get(API + f"enrollments/{eid}/credits")
    assert other.status_code == 403 and other.json()["code"] == "FORBIDDEN"
    # reports
    url = campus_hub.url + API + f"classes/{cid}/attendance/report"
    csv = teacher.session.get(url, timeout=30)
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "student,M1,credits_used,credits_remaining,rate"
    pdf = teacher.session.get(url + "?format=pdf", timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


def test_object_level_permissions(campus_hub: CampusHub, klass, make_user) -> None:
    cid = klass["id"]
    other_teacher = make_user("instructor")["client"]
    body = {"meeting_number": 2, "meeting_date": "2026-11-24", "records": []}
    resp = other_teacher.post(API + f"classes/{cid}/attendance", json=body)
    assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"
    assert other_teacher.get(API + f"classes/{cid}/enrollments").status_code == 403
    alice = client(campus_hub, "student")
    assert alice.get(API + f"classes/{cid}").status_code == 403  # not her class
    assert alice.post(API + "classes", json={"name": "x"}).status_code == 403
    assert alice.get(API + f"classes/{cid}/attendance").status_code == 403
    assert alice.get(API + f"users/{klass['students'][0]}/progress").status_code == 403
    assert alice.get(API + "access/python-intro/01-values?user=bob").status_code == 403
    # a student lists only the classes they are in
    mine = alice.get(API + "classes").json()["classes"]
    assert mine and cid not in {c["id"] for c in mine}
    # staff may not unlock (instructor of the class or admin only, per the seed)
    resp = client(campus_hub, "staff").post(API + f"classes/{cid}/unlock-lesson", json={})
    assert resp.status_code == 403


@pytest.mark.parametrize(
    "path_body",
    [
        ("classes", b"{not json"),
        ("classes", b"[1, 2]"),
        ("classes", json.dumps({"name": 5, "course": "python-intro", "total_meetings": 3})),
        ("classes", json.dumps({"name": "x", "course": "python-intro", "total_meetings": "3"})),
        ("classes", json.dumps({"name": "x" * 1_000_000, "course": "python-intro"})),
        (
            "classes",
            json.dumps({"name": "x", "course": "nope", "total_meetings": 3, "max_capacity": 2}),
        ),
        ("classes/999999/enrollments", json.dumps({"student": "alice"})),
        ("classes/abc/enrollments", json.dumps({"student": "alice"})),
        (
            "classes/1/attendance",
            json.dumps({"meeting_number": 1, "meeting_date": "23/11/2026", "records": []}),
        ),
        (
            "classes/1/attendance",
            json.dumps({"meeting_number": True, "meeting_date": "2026-11-23", "records": []}),
        ),
        (
            "classes/1/attendance",
            json.dumps(
                {
                    "meeting_number": 2,
                    "meeting_date": "2026-11-23",
                    "records": [{"student": "alice", "status": "asleep"}],
                }
            ),
        ),
        ("enrollments/1/credits/adjust", json.dumps({"adjustment": 10**9, "reason": "bonus"})),
    ],
)
def test_bad_input_gets_json_4xx_and_nothing_is_lost(campus_hub: CampusHub, path_body) -> None:
    path, body = path_body
    admin = client(campus_hub, "admin")
    before = admin.get(API + "classes").json()["classes"]
    resp = admin.post(API + path, data=body, headers={"Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["code"] in {"VALIDATION_ERROR", "NOT_FOUND", "PAYLOAD_TOO_LARGE", "CONFLICT"}
    assert admin.get(API + "classes").json()["classes"] == before


def test_access_and_grading_results_for_the_grader(campus_hub: CampusHub) -> None:
    service = campus_hub.admin_client()  # a Hub service token: the actor role "service"
    alice = campus_hub.demo("student")["name"]
    got = service.get(API + f"access/python-intro/01-values?user={alice}").json()
    assert got["unlocked"] is True and isinstance(got["class_id"], int)
    got = service.get(API + f"access/python-intro/02-control-flow?user={alice}").json()
    assert got["unlocked"] is False
    assert service.get(API + "access/python-intro/99-x?user=alice").status_code == 404
    result = {
        "submission_id": "sub-1",
        "user": alice,
        "course": "python-intro",
        "lesson": "01-values",
        "exercise": "values",
        "score": 3.0,
        "max_score": 3.0,
        "graded_at": "2026-11-23T10:00:00Z",
    }
    first = service.post(API + "grading-results", json=result)
    assert first.status_code == 201, first.text
    assert first.json()["exercise_completed"] is True
    again = service.post(API + "grading-results", json=result)
    assert again.status_code == 200 and again.json()["recorded"] is False
    assert again.json()["exercise_completed"] is False
    bad = service.post(API + "grading-results", json={**result, "score": 4.0})
    assert bad.status_code == 400
    student = client(campus_hub, "student")
    assert student.post(API + "grading-results", json=result).status_code == 403
    progress = student.get(API + f"users/{alice}/progress").json()
    assert any(e["exercise"] == "values" and e["completed"] for e in progress["exercises"])
    # a coding exercise cannot be ticked by hand; a locked lesson cannot be touched
    course = student.get(API + "courses/python-intro").json()
    lessons = [x for s in course["sections"] for x in s["lessons"]]
    welcome = lessons[0]["exercises"][0]
    # the lesson's quiz is completed by submitting an attempt (not by hand)
    quiz = next(e for e in lessons[0]["exercises"] if e["type"] == "quiz")
    resp = student.post(API + f"exercises/{quiz['id']}/complete")
    assert resp.status_code == 409 and resp.json()["code"] == "QUIZ"
    started = student.post(API + f"quizzes/{quiz['id']}/attempts")
    assert started.status_code in (200, 201), started.text
    number = started.json()["current"]
    resp = student.post(API + f"quizzes/{quiz['id']}/attempts/{number}/submit", json={})
    assert resp.status_code == 200, resp.text
    resp = student.post(API + f"exercises/{welcome['id']}/complete")
    assert resp.status_code == 200 and resp.json()["lesson_completed"] is True
    locked = lessons[1]["exercises"][0]
    resp = student.post(API + f"exercises/{locked['id']}/complete")
    assert resp.status_code == 403 and resp.json()["code"] == "LESSON_LOCKED"
    mine = student.get(API + "me/courses").json()["courses"]
    first_lesson = next(c for c in mine if c["slug"] == "python-intro")["lessons"][0]
    assert first_lesson["completed"] is True


def test_class_membership_is_a_hub_group(campus_hub: CampusHub, klass) -> None:
    admin = campus_hub.admin_client()
    deadline = time.monotonic() + 20
    while True:
        resp = admin.get(f"hub/api/groups/campus-class-{klass['id']}")
        users = set(resp.json().get("users", [])) if resp.status_code == 200 else set()
        if users >= {*klass["students"], campus_hub.demo("instructor")["name"]}:
            break
        assert time.monotonic() < deadline, resp.text
        time.sleep(0.5)
    assert resp.json()["properties"]["course"] == "python-intro"
    # accounts made through the API show their campus role as a Hub group at once
    for student in klass["students"]:
        deadline = time.monotonic() + 20
        while "campus-student" not in admin.get(f"hub/api/users/{student}").json()["groups"]:
            assert time.monotonic() < deadline
            time.sleep(0.5)


# --- engagement -------------------------------------------------------------------------------
def test_completing_work_gives_xp_notification_and_leaderboard_place(campus_hub: CampusHub) -> None:
    carol = campus_hub.demo_accounts[-1]["name"]
    assert campus_hub.demo_accounts[-1]["role"] == "student"
    me = campus_hub.client(carol)
    class_id = me.get(API + "classes").json()["classes"][0]["id"]
    before = me.get(API + f"leaderboard?class={class_id}").json()["entries"]
    mine_before = next(r for r in before if r["me"])
    level_before = me.get(API + f"users/{carol}/level").json()["total_xp"]
    result = {
        "submission_id": "carol-1",
        "user": carol,
        "course": "python-intro",
        "lesson": "01-values",
        "exercise": "values",
        "score": 3,
        "max_score": 3,
        "graded_at": "2026-11-23T11:00:00+00:00",
    }
    assert campus_hub.admin_client().post(API + "grading-results", json=result).status_code == 201
    level = me.get(API + f"users/{carol}/level").json()
    reasons = {t["reason"] for t in level["transactions"]}
    assert {"autograde_passed", "badge"} <= reasons
    assert level["total_xp"] >= level_before + 20
    kinds = {n["type"] for n in me.get(API + "notifications").json()["notifications"]}
    assert {"assignment_graded", "badge_earned"} <= kinds
    after = me.get(API + f"leaderboard?class={class_id}").json()["entries"]
    mine_after = next(r for r in after if r["me"])
    assert mine_after["xp"] > mine_before["xp"] and mine_after["rank"] <= mine_before["rank"]
    badges = me.get(API + "badges").json()["badges"]
    assert any(b["slug"] == "first-pass" and b["earned"] for b in badges)


def test_leaderboard_names_only_to_the_class_teacher_never_an_opted_out_one(
    campus_hub: CampusHub,
) -> None:
    """A classmate's name on a leaderboard is for those who teach the class (and the office);
    a student who opted out is anonymous to everyone but themselves."""
    students = [a["name"] for a in campus_hub.demo_accounts if a["role"] == "student"]
    me_name, other_name = students[:2]  # both in the demo class
    me, other = campus_hub.client(me_name), campus_hub.client(other_name)
    courses = {c["slug"]: c for c in me.get(API + "me/courses").json()["courses"]}
    class_id = courses["python-intro"]["classes"][0]["id"]
    teacher = client(campus_hub, "instructor")
    taught = {t["class_id"] for t in teacher.get(API + "me").json()["teaches"]}
    assert class_id in taught, "the demo instructor teaches the demo class"

    def names(who, query: str) -> list[str | None]:
        resp = who.get(API + f"leaderboard?{query}")
        assert resp.status_code == 200, resp.text
        return [r["user"] for r in resp.json()["entries"]]

    seen = names(me, f"class={class_id}")
    assert me_name in seen and set(seen) - {me_name} == {None}, seen
    assert set(names(me, "course=python-intro")) <= {me_name, None}
    roster = set(names(teacher, f"class={class_id}"))
    assert {me_name, other_name} <= roster and None not in roster
    assert other.put(API + "me/preferences", json={"leaderboard_opt_out": True}).ok
    try:
        for query in (f"class={class_id}", "course=python-intro"):
            assert other_name not in names(teacher, query), query
            assert other_name not in names(client(campus_hub, "staff"), query), query
        assert other_name in names(other, f"class={class_id}")  # her own row she sees
    finally:
        assert other.put(API + "me/preferences", json={"leaderboard_opt_out": False}).ok


def test_students_cannot_award_xp_or_read_others_notifications(campus_hub: CampusHub) -> None:
    alice, bob = (campus_hub.demo_accounts[i]["name"] for i in (3, 4))
    a, b = campus_hub.client(alice), campus_hub.client(bob)
    resp = a.post(API + "xp/earn", json={"user": alice, "amount": 1000, "note": "me"})
    assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"
    assert (
        a.post(API + "badges/unlock", json={"user": alice, "badge": "xp-1000"}).status_code == 403
    )
    assert a.get(API + f"users/{bob}/level").status_code == 403
    staff = client(campus_hub, "staff")
    grant = staff.post(
        API + "xp/earn", json={"user": bob, "amount": 15, "note": "helped", "ref": "g1"}
    )
    assert grant.status_code == 201, grant.text
    again = staff.post(
        API + "xp/earn", json={"user": bob, "amount": 15, "note": "helped", "ref": "g1"}
    )
    assert again.status_code == 200 and again.json()["awarded"] is False
    revoke = staff.post(
        API + "xp/revoke",
        json={"transaction_id": grant.json()["transaction"]["id"], "note": "oops"},
    )
    assert revoke.status_code == 201 and revoke.json()["transaction"]["amount"] == -15
    bob_notes = b.get(API + "notifications").json()["notifications"]
    assert bob_notes, "bob has notifications (lesson unlocked in the demo class)"
    resp = a.post(API + f"notifications/read/{bob_notes[0]['id']}")
    assert resp.status_code == 404
    assert b.post(API + f"notifications/read/{bob_notes[0]['id']}").json()["marked_read"] == 1
    assert campus_hub.admin_client().get(API + "notifications").status_code == 403  # a service


def test_announcements_permissions_sanitising_and_read_counts(campus_hub: CampusHub) -> None:
    student = client(campus_hub, "student")
    class_id = student.get(API + "classes").json()["classes"][0]["id"]
    body = {"class_id": class_id, "title": "Hi", "body": "x"}
    resp = student.post(API + "announcements", json=body)
    assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"
    teacher = client(campus_hub, "instructor")
    evil = "**Welcome** <script>alert('x')</script>\n\n<img src=x onerror=alert(1)>"
    resp = teacher.post(API + "announcements", json={**body, "body": evil})
    assert resp.status_code == 201, resp.text
    posted = resp.json()
    assert posted["sent"] and posted["notified"] >= 1
    assert "<script" not in posted["body_html"] and "<img" not in posted["body_html"]
    later = teacher.post(
        API + "announcements",
        json={**body, "title": "Later", "publish_at": "2099-01-01T00:00:00Z"},
    ).json()
    assert later["sent"] is False
    seen = {a["id"]: a for a in student.get(API + "announcements").json()["announcements"]}
    assert posted["id"] in seen and later["id"] not in seen  # not early, not even listed
    assert student.post(API + f"announcements/{later['id']}/read").status_code == 404
    assert student.post(API + f"announcements/{posted['id']}/read").status_code == 200
    counts = {a["id"]: a for a in teacher.get(API + "announcements").json()["announcements"]}
    assert counts[posted["id"]]["read_count"] == 1
    assert counts[posted["id"]]["recipient_count"] >= 3


def test_notifications_are_pushed_as_server_sent_events(campus_hub: CampusHub) -> None:
    import threading

    bob = campus_hub.demo_accounts[4]["name"]
    stream = campus_hub.client(bob).session.get(
        campus_hub.url + API + "notifications/stream", stream=True, timeout=30
    )
    assert stream.status_code == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    events: list[dict] = []

    def read() -> None:
        for line in stream.iter_lines(decode_unicode=True):
            if line and line.startswith("data: "):
                events.append(json.loads(line[6:]))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.5)
    resp = client(campus_hub, "staff").post(
        API + "badges/unlock", json={"user": bob, "badge": "streak-10"}
    )
    assert resp.status_code == 201, resp.text
    reader.join(timeout=10)
    stream.close()
    assert events and events[0]["type"] == "badge_earned", events
