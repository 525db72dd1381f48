"""Quizzes and timed exams through a real Hub (SQLite and PostgreSQL): no answer key in any
response before submission, scoring and feedback, a double submission counted once, refusals
as JSON errors, score visibility, a timed exam closed by the server's clock with an
accommodation, and students refused the teachers' endpoints."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from harness.hub import CampusHub

pytestmark = pytest.mark.slow
API = "services/campus/api/v1/"
RIGHT = {"type-of-int": 0, "strings": [0, 2], "celsius": 37, "assign": "="}
# Whatever would give the answer key away: its field names and the explanations' texts.
KEY_MARKS = ("correct", "solution", "accepted", "tolerance", "explanation", "Quotes, single")
# The timed-exam test waits for the campus's sweep: every second here, not every 15.
CAMPUS_HUB_ENV = {"NBCAMPUS_EXAM_SWEEP_SECONDS": "1"}


def ok(resp, status: int = 200) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    return resp.json()


def refused(resp, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == code and body["message"], body


@pytest.fixture(scope="module")
def school(campus_hub: CampusHub) -> dict[str, Any]:
    """A class of python-intro with lesson 1 unlocked, three students and one outsider."""
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    staff = campus_hub.client(campus_hub.demo("staff")["name"])
    teacher_name = campus_hub.demo("instructor")["name"]
    names = ["quiz-a", "quiz-b", "quiz-c", "quiz-out"]
    for name in names:
        ok(admin.post(API + "accounts", json={"name": name, "role": "student"}), 201)
    klass = ok(
        staff.post(
            API + "classes",
            json={
                "name": "Quiz group", "course": "python-intro", "type": "group",
                "total_meetings": 3, "max_capacity": 5, "instructor": teacher_name,
                "status": "enrollment_open", "enrollment_deadline": "2099-12-31",
            },
        ),
        201,
    )  # fmt: skip
    for name in names[:3]:
        ok(staff.post(API + f"classes/{klass['id']}/enrollments", json={"student": name}), 201)
    teacher = campus_hub.client(teacher_name)
    records = [{"student": n, "status": "present"} for n in names[:3]]
    body = {"meeting_number": 1, "meeting_date": "2026-12-01", "records": records}
    ok(teacher.post(API + f"classes/{klass['id']}/attendance", json=body), 201)
    ok(teacher.post(API + f"classes/{klass['id']}/unlock-lesson", json={}), 201)
    quizzes = ok(campus_hub.client("quiz-a").get(API + "me/quizzes"))["quizzes"]
    quiz = next(q for q in quizzes if q["slug"] == "values-quiz")
    return {"quiz": quiz["exercise_id"], "teacher": teacher, "staff": staff, "class": klass}


def test_no_answer_key_before_submission_then_scored_once(campus_hub, school) -> None:
    qid = school["quiz"]
    alice = campus_hub.client("quiz-a")
    seen: list[str] = []

    def call(method: str, path: str, **kw: Any):
        resp = alice.request(method, API + path, **kw)
        seen.append(resp.text)
        return resp

    view = ok(call("GET", f"quizzes/{qid}"))
    assert view["state"] == "open" and len(view["questions"]) == 4 and view["attempts"] == []
    assert view["settings"]["attempts"] == 2 and view["settings"]["max_score"] == 4
    call("GET", "me/quizzes")
    call("GET", "courses/python-intro")
    call("GET", f"exercises/{qid}")
    started = ok(call("POST", f"quizzes/{qid}/attempts"), 201)
    assert started["current"] == 1
    ok(call("POST", f"quizzes/{qid}/attempts"))  # the open attempt again, not a second one
    saved = ok(call("PUT", f"quizzes/{qid}/attempts/1/answers", json={"answers": {"celsius": 3}}))
    assert saved["attempts"][0]["answers"] == {"celsius": 3}
    call("GET", f"quizzes/{qid}")
    call("GET", "users/quiz-a/progress")
    for text in seen:  # every response the browser could have had before the submission
        assert not any(mark in text for mark in KEY_MARKS), text
    # options appear in a per-student order that a reload keeps
    again = ok(alice.get(API + f"quizzes/{qid}"))["questions"]
    assert again == view["questions"]

    xp_before = ok(alice.get(API + "users/quiz-a/level"))["total_xp"]
    # two submissions at once (a double click, a retry): one attempt, one score, one receipt
    url = API + f"quizzes/{qid}/attempts/1/submit"
    with ThreadPoolExecutor(4) as pool:
        answers = {"answers": {"type-of-int": 0, "assign": "="}}
        results = list(pool.map(lambda _: alice.post(url, json=answers), range(4)))
    bodies = [ok(r) for r in results]
    assert sorted(b["already_submitted"] for b in bodies) == [False, True, True, True]
    receipts = {b["attempts"][0]["receipt"] for b in bodies}
    assert len(receipts) == 1 and len(receipts.pop()) == 64
    done = bodies[0]["attempts"][0]
    assert done["score"] == 2 and done["status"] == "submitted"
    assert [f["correct"] for f in done["feedback"]] == [True, False, False, True]
    progress = ok(alice.get(API + "users/quiz-a/progress"))["exercises"]
    assert [(e["completed"], e["score"]) for e in progress if e["exercise_id"] == qid] == [
        (True, 2.0)
    ]
    level = ok(alice.get(API + "users/quiz-a/level"))
    assert level["total_xp"] - xp_before == 10  # the quiz's XP, once

    # a finished attempt refuses answers; the last attempt, then no more
    refused(alice.put(API + f"quizzes/{qid}/attempts/1/answers", json={"answers": {}}),
            409, "ATTEMPT_FINISHED")  # fmt: skip
    ok(alice.post(API + f"quizzes/{qid}/attempts"), 201)
    last = ok(alice.post(API + f"quizzes/{qid}/attempts/2/submit", json={"answers": RIGHT}))
    assert last["attempts"][1]["score"] == 4 and last["state"] == "finished"
    assert last["attempts"][1]["feedback"][2]["solution"] == {"answer": 37.0, "tolerance": 0.05}
    refused(alice.post(API + f"quizzes/{qid}/attempts"), 409, "NO_ATTEMPTS_LEFT")
    # a quiz is not marked done by hand
    refused(alice.post(API + f"exercises/{qid}/complete"), 409, "QUIZ")


def test_bad_input_and_locked_lessons_are_json_errors(campus_hub, school) -> None:
    qid = school["quiz"]
    bob = campus_hub.client("quiz-b")
    ok(bob.post(API + f"quizzes/{qid}/attempts"), 201)
    base = API + f"quizzes/{qid}/attempts/1/answers"
    for body, field in [
        ({"answers": {"type-of-int": 9}}, "answers.type-of-int"),
        ({"answers": {"nope": 1}}, "answers.nope"),
        ({"answers": {"celsius": "hot"}}, "answers.celsius"),
        ({"answers": {"strings": [0, 0]}}, "answers.strings"),
        ({"answers": "all"}, None),
        ({}, None),
    ]:
        resp = bob.put(base, json=body)
        refused(resp, 400, "VALIDATION_ERROR")
        if field:
            assert resp.json()["details"]["field"] == field, resp.text
    refused(bob.put(base, data=b"{nope"), 400, "VALIDATION_ERROR")
    refused(bob.put(API + f"quizzes/{qid}/attempts/7/answers", json={"answers": {}}),
            404, "NOT_FOUND")  # fmt: skip
    refused(bob.put(API + f"quizzes/{qid}/attempts/x/answers", json={"answers": {}}),
            400, "VALIDATION_ERROR")  # fmt: skip
    refused(bob.get(API + "quizzes/999999"), 404, "NOT_FOUND")
    values = ok(bob.get(API + "courses/python-intro"))
    coding = next(
        e["id"] for s in values["sections"] for les in s["lessons"]
        for e in les.get("exercises", []) if e["type"] == "coding"
    )  # fmt: skip
    refused(bob.get(API + f"quizzes/{coding}"), 404, "NOT_FOUND")
    # not enrolled: the lesson is locked for them
    outsider = campus_hub.client("quiz-out")
    refused(outsider.get(API + f"quizzes/{qid}"), 403, "LESSON_LOCKED")
    refused(outsider.post(API + f"quizzes/{qid}/attempts"), 403, "LESSON_LOCKED")
    # another student's attempt is not theirs: it does not exist for them
    refused(outsider.put(base, json={"answers": {}}), 404, "NOT_FOUND")


def test_students_are_refused_the_teachers_endpoints(campus_hub, school) -> None:
    qid = school["quiz"]
    bob = campus_hub.client("quiz-b")
    refused(bob.get(API + f"quizzes/{qid}/results"), 403, "FORBIDDEN")
    refused(bob.patch(API + f"quizzes/{qid}/settings", json={"scores_visible": True}),
            403, "FORBIDDEN")  # fmt: skip
    refused(bob.get(API + "courses/python-intro/accommodations"), 403, "FORBIDDEN")
    refused(bob.put(API + "courses/python-intro/accommodations/quiz-b", json={"multiplier": 5}),
            403, "FORBIDDEN")  # fmt: skip
    assert school["teacher"].get(API + f"quizzes/{qid}/results").status_code == 200
    refused(school["teacher"].patch(API + f"quizzes/{qid}/settings", json={}),
            400, "VALIDATION_ERROR")  # fmt: skip
    refused(school["teacher"].patch(API + f"quizzes/{qid}/settings",
            json={"opens_at": "2026-12-02T10:00Z", "closes_at": "2026-12-01T10:00Z"}),
            400, "VALIDATION_ERROR")  # fmt: skip
    refused(school["staff"].put(API + "courses/python-intro/accommodations/quiz-b",
            json={"multiplier": 9}), 400, "VALIDATION_ERROR")  # fmt: skip
    refused(school["staff"].put(API + "courses/python-intro/accommodations/quiz-out",
            json={"multiplier": 2}), 404, "NOT_FOUND")  # fmt: skip


def test_timed_exam_closes_by_the_servers_clock_with_an_accommodation(campus_hub, school) -> None:
    qid = school["quiz"]
    teacher, staff = school["teacher"], school["staff"]
    # visibility: the instructor hides the quiz's scores; every student view follows
    ok(teacher.patch(API + f"quizzes/{qid}/settings", json={"scores_visible": False}))
    alice = campus_hub.client("quiz-a")
    hidden = ok(alice.get(API + f"quizzes/{qid}"))
    assert all("score" not in a and "feedback" not in a for a in hidden["attempts"])
    mine = ok(alice.get(API + "users/quiz-a/progress"))["exercises"]
    assert [e["score"] for e in mine if e["exercise_id"] == qid] == [None]
    lesson = ok(alice.get(API + "courses/python-intro"))["sections"][0]["lessons"][0]["id"]
    rows = ok(alice.get(API + f"lessons/{lesson}/progress"))["progress"][0]["exercises"]
    assert [e["score"] for e in rows if e["exercise_id"] == qid] == [None]
    shown = ok(teacher.get(API + f"quizzes/{qid}/results"))
    assert {a["score"] for a in shown["attempts"] if a["user"] == "quiz-a"} == {2.0, 4.0}

    # now a timed exam: 10 s, quiz-c gets x 2 (set by the office)
    timed = {"time_limit_seconds": 10, "scores_visible": None}
    settings = ok(teacher.patch(API + f"quizzes/{qid}/settings", json=timed))
    assert settings["timed"] and settings["attempts"] == 1 and not settings["scores_visible"]
    ok(staff.put(API + "courses/python-intro/accommodations/quiz-c", json={"multiplier": 2}))
    carol = campus_hub.client("quiz-c")
    before = ok(carol.get(API + f"quizzes/{qid}"))
    assert "questions" not in before and before["multiplier"] == 2
    # the deadline and the time left come from the server's clock (the client sends none)
    c_view = ok(carol.post(API + f"quizzes/{qid}/attempts"), 201)
    c_attempt = c_view["attempts"][0]
    assert 18 < c_attempt["remaining_seconds"] <= 20
    ok(carol.put(API + f"quizzes/{qid}/attempts/1/answers", json={"answers": {"type-of-int": 0}}))
    time.sleep(11)
    ok(carol.put(API + f"quizzes/{qid}/attempts/1/answers", json={"answers": {"celsius": 37}}))
    # nobody looks: the campus's sweep submits the attempt (progress shows it done)
    for _ in range(40):
        time.sleep(1)
        mine = ok(carol.get(API + "users/quiz-c/progress"))["exercises"]
        if [e["completed"] for e in mine if e["exercise_id"] == qid] == [True]:
            break
    else:
        raise AssertionError(f"the sweep did not close the attempt: {mine}")
    refused(carol.put(API + f"quizzes/{qid}/attempts/1/answers",
                      json={"answers": {"assign": "="}}), 409, "TIME_UP")  # fmt: skip
    refused(carol.post(API + f"quizzes/{qid}/attempts/1/submit"), 409, "TIME_UP")
    closed = ok(carol.get(API + f"quizzes/{qid}"))
    attempt = closed["attempts"][0]
    assert attempt["status"] == "submitted" and attempt["auto_submitted"]
    assert attempt["answers"] == {"type-of-int": 0, "celsius": 37}
    assert attempt["submitted_at"] == attempt["deadline"]
    assert "score" not in attempt and len(attempt["receipt"]) == 64
    results = ok(teacher.get(API + f"quizzes/{qid}/results"))["attempts"]
    assert [r["score"] for r in results if r["user"] == "quiz-c"] == [2.0]
    # released: the scores show
    ok(teacher.patch(API + f"quizzes/{qid}/settings", json={"scores_visible": True}))
    assert ok(carol.get(API + f"quizzes/{qid}"))["attempts"][0]["score"] == 2.0
