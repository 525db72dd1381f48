"""LTI Advantage services end to end against the test platform: deep linking into a lesson,
a launch landing in JupyterLab, AGS grade passback with retries, NRPS roster sync (in pages),
and LTI 1.1 launches with Basic Outcomes.

The last tests go all the way: a student launches the deep-linked exercise (LTI 1.3, and
LTI 1.1), joins the campus class the instructor's first launch created (its Hub group
follows), submits the lesson's notebook to the grader service over its HTTP API, the grader
grades it in its sandbox, and the grader's LTI passback hook posts the score to the platform
(AGS line item and score with a client-credentials token, or a Basic Outcomes
replaceResult); the score endpoint failing first shows the retry path.

The platform stands in for Moodle/Canvas (their network cannot exist here); the Hub, the
campus and grader services, nbgrader, the sandbox, the databases and every key are real."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests
from lti_env import LtiHub, nbcampus
from lti_flows import (
    EXERCISE,
    INSTRUCTOR,
    LEARNER,
    deep_link,
    error,
    lti11_form,
    run_async,
    token_headers,
    whoami,
)
from lti_platform import LTI

from nbcampus.hub.lti.passback import LtiPassbackHook

pytestmark = pytest.mark.slow


def test_student_cannot_deep_link(lti: LtiHub) -> None:
    resp = lti.platform.launch(
        requests.Session(), lti.url, "kid-1", LEARNER, message_type="LtiDeepLinkingRequest"
    )
    assert error(resp) == "FORBIDDEN"


def test_deep_link_launch_lands_in_lab_and_grade_reaches_lms(lti: LtiHub) -> None:
    item = deep_link(lti)
    custom = {LTI + "custom": item["custom"]}
    # the instructor's first launch of the link opens a campus class for the LMS course
    teacher = requests.Session()
    resp = lti.platform.launch(
        teacher, lti.url, "teacher-1", INSTRUCTOR, link_id="dl-link-1", **custom
    )
    assert resp.status_code == 302, resp.text
    session = requests.Session()
    # the LMS sends the content item's custom parameters with every launch of the link
    resp = lti.platform.launch(session, lti.url, "stu-dl", LEARNER, link_id="dl-link-1", **custom)
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].endswith(
        "/hub/user-redirect/nbcampus/open/python-intro/01-values/values"
    )
    name = whoami(lti, session)
    staff_api = lti.hub.client(lti.hub.demo("staff")["name"])
    classes = staff_api.get("services/campus/api/v1/classes").json()
    classes = classes["classes"] if isinstance(classes, dict) else classes
    (klass,) = [c for c in classes if c["name"] == "C programming"]
    assert klass["course"] == "python-intro" and klass["instructor"] == whoami(lti, teacher)
    enrolled = staff_api.get(f"services/campus/api/v1/classes/{klass['id']}/enrollments").json()
    enrolled = enrolled["enrollments"] if isinstance(enrolled, dict) else enrolled
    assert [e["student"] for e in enrolled] == [name]

    # the student's Lab opens on the lesson's notebook
    admin = lti.hub.admin_client()
    assert admin.post(f"hub/api/users/{name}/server").status_code in (201, 202)
    deadline = time.monotonic() + 60
    while not admin.get(f"hub/api/users/{name}").json()["servers"].get("", {}).get("ready"):
        assert time.monotonic() < deadline, "the student's server did not start"
        time.sleep(0.5)
    lab = session.get(lti.url.rsplit("/@/", 1)[0] + resp.headers["Location"], timeout=30)
    assert lab.status_code == 200, lab.url
    # the lesson is not unlocked yet: the Lab opens on the Campus panel with the lesson named
    # (test_lti_lms_courses.py follows a launch of an unlocked lesson onto its notebook)
    assert f"/user/{name}/lab?nbcampus-lesson=python-intro%2F01-values" in lab.url, lab.url
    assert "JupyterLab" in lab.text

    # grading: the grader's result hook queues the score; the first post meets a 503
    lti.platform.fail_scores = 1
    hook = LtiPassbackHook(lti.settings())
    # the shape of the grader's GradedResult: a lesson's submission with its notebooks
    result = {
        "submission_id": "sub-1",
        "user": name,
        "course": EXERCISE["course"],
        "assignment": EXERCISE["lesson"],
        "score": 5.0,
        "max_score": 10.0,
        "graded_at": datetime.now(UTC).isoformat(),
        "notebooks": [
            {"name": "values", "score": 3.0, "max_score": 4.0},
            {"name": "other", "score": 2.0, "max_score": 6.0},
        ],
    }
    run_async(hook.on_result(result))
    assert lti.platform.scores == []
    staff = lti.hub.demo("staff")["name"]
    outbox = requests.get(
        lti.url + "hub/lti/outbox", headers=token_headers(lti, staff), timeout=10
    ).json()["items"]
    mine = [i for i in outbox if i["user"] == name]
    assert mine[0]["status"] == "pending" and mine[0]["attempts"] == 1
    assert "503" in mine[0]["last_error"]
    # students may not look at the outbox
    resp = requests.get(lti.url + "hub/lti/outbox", headers=token_headers(lti, name), timeout=10)
    assert error(resp) == "FORBIDDEN"

    # the retry (here: as if the back-off had passed) reaches the platform's gradebook
    later = datetime.now(UTC) + timedelta(hours=2)
    assert run_async(hook.sender.drain(now=later)) == 1
    (score,) = lti.platform.scores
    assert score["userId"] == "stu-dl" and score["scoreGiven"] == 3.0
    assert score["scoreMaximum"] == 4.0 and score["gradingProgress"] == "FullyGraded"
    (line_item,) = lti.platform.line_items["course-1"]
    assert line_item["id"].endswith(score["lineitem"])
    assert line_item["resourceId"] == "python-intro/01-values/values"
    request = lti.platform.token_requests[-1]
    assert request["grant_type"] == "client_credentials"
    # the same grading reported twice is not sent twice
    run_async(hook.on_result(result))
    assert len(lti.platform.scores) == 1
    # operators see the same outbox on the command line
    listing = nbcampus(lti.hub, "lti", "outbox")
    assert '"status": "sent"' in listing and name in listing


def test_roster_sync_marks_leavers(lti: LtiHub) -> None:
    session = requests.Session()
    assert (
        lti.platform.launch(session, lti.url, "leaver", LEARNER, context_id="course-2").status_code
        == 302
    )
    leaver = whoami(lti, session)
    teacher_session = requests.Session()
    lti.platform.launch(teacher_session, lti.url, "teacher-2", INSTRUCTOR, context_id="course-2")
    teacher = whoami(lti, teacher_session)
    lti.platform.members["course-2"] = [
        {"user_id": "teacher-2", "roles": INSTRUCTOR, "status": "Active", "name": "T"},
        {
            "user_id": "newcomer",
            "roles": LEARNER,
            "status": "Active",
            "name": "New Comer",
            "email": "new@lms.example.org",
        },
    ]
    staff = token_headers(lti, lti.hub.demo("staff")["name"])
    contexts = requests.get(lti.url + "hub/lti/contexts", headers=staff, timeout=10).json()
    pk = next(c["id"] for c in contexts["contexts"] if c["context_id"] == "course-2")
    # a student may not sync; the course's instructor may
    resp = requests.post(
        lti.url + f"hub/lti/contexts/{pk}/roster", headers=token_headers(lti, leaver), timeout=10
    )
    assert error(resp) == "FORBIDDEN"
    resp = requests.post(
        lti.url + f"hub/lti/contexts/{pk}/roster", headers=token_headers(lti, teacher), timeout=30
    )
    assert resp.status_code == 200, resp.text
    # no lesson is linked in this LMS course: no campus class to enroll anyone in
    assert resp.json() == {"active": 2, "joined": 1, "left": 1, "enrolled": 0, "class_id": None}
    members = requests.get(
        lti.url + f"hub/lti/contexts/{pk}/roster", headers=staff, timeout=10
    ).json()["members"]
    status = {m["user"]: m["status"] for m in members}
    assert status[leaver] == "left" and status[teacher] == "active"
    assert any(name.startswith("new-") and s == "active" for name, s in status.items())
    # the leaver's account is kept
    assert lti.hub.admin_client().get(f"hub/api/users/{leaver}").status_code == 200


# --- LTI 1.1 -------------------------------------------------------------------------------
def test_lti11_launch_and_basic_outcomes(lti: LtiHub) -> None:
    session = requests.Session()
    form = lti11_form(lti, "u11")
    resp = session.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].endswith("/nbcampus/open/python-intro/01-values/values")
    name = whoami(lti, session)
    assert name.startswith("u11-") or name.startswith("old-school-")
    # the same signed form again is a replay
    resp = requests.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False)
    assert error(resp) == "REPLAYED_NONCE"
    # a second link to the same exercise in the same LMS course has its own result id
    form = lti11_form(lti, "u11", link_id="rl-12")
    assert session.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False).ok
    hook = LtiPassbackHook(lti.settings())
    result = {"submission_id": "s11", "user": name, **EXERCISE, "score": 3.0, "max_score": 4.0}
    run_async(hook.on_result(result))
    assert sorted(lti.platform.outcomes, key=lambda o: o["sourcedid"]) == [
        {"sourcedid": "src-u11-rl-11", "score": "0.7500"},
        {"sourcedid": "src-u11-rl-12", "score": "0.7500"},
    ]


def test_lti11_bad_signature_and_old_timestamp(lti: LtiHub) -> None:
    url = lti.url + "hub/lti11/launch"
    resp = requests.post(url, data=lti11_form(lti, "u12", secret="wrong"), allow_redirects=False)
    assert error(resp) == "BAD_SIGNATURE"
    old = lti11_form(lti, "u12", timestamp=int(time.time()) - 3600)
    assert error(requests.post(url, data=old, allow_redirects=False)) == "OLD_TIMESTAMP"


# --- from a launch to the LMS gradebook, through the grader service -----------------------
GRADER = "services/grader/api/v1/"
CAMPUS = "services/campus/api/v1/"
REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "courses" / EXERCISE["course"] / "lessons" / EXERCISE["lesson"]


def eventually(check: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    """The first truthy answer of `check`, polled until `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout} s")


def class_of(lti: LtiHub, instructor: str) -> dict:
    """The campus class an instructor's launch created (as staff see it in the campus API)."""
    staff = lti.hub.client(lti.hub.demo("staff")["name"])
    listed = staff.get(CAMPUS + "classes").json()
    listed = listed["classes"] if isinstance(listed, dict) else listed
    (klass,) = [c for c in listed if c["instructor"] == instructor]
    return klass


def hub_group(lti: LtiHub, class_id: int) -> dict:
    resp = lti.hub.admin_client().get(f"hub/api/groups/campus-class-{class_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def open_lesson(lti: LtiHub, teacher: str, class_id: int, students: list[str]) -> None:
    """The class's instructor holds the first meeting and unlocks the linked lesson."""
    api = lti.hub.client(teacher)
    resp = api.post(
        CAMPUS + f"classes/{class_id}/attendance",
        json={
            "meeting_number": 1,
            "meeting_date": date.today().isoformat(),
            "records": [{"student": s, "status": "present"} for s in students],
        },
    )
    assert resp.status_code == 201, resp.text
    resp = api.post(CAMPUS + f"classes/{class_id}/unlock-lesson", json={"lesson": "01-values"})
    assert resp.status_code == 201, resp.text


def submit_solution(lti: LtiHub, student: str) -> dict:
    """The student submits the lesson's notebook (with its solutions) over the grader's API
    and waits for the grade; returns the graded submission."""
    api = lti.hub.client(student)
    nb = SOURCE / (EXERCISE["exercise"] + ".ipynb")
    body = {"files": {nb.name: base64.b64encode(nb.read_bytes()).decode()}}
    url = GRADER + f"courses/{EXERCISE['course']}/assignments/{EXERCISE['lesson']}/submissions"
    resp = api.post(url, json=body)
    assert resp.status_code == 202, resp.text
    uid = resp.json()["id"]

    def graded() -> dict | None:
        sub = api.get(GRADER + f"submissions/{uid}").json()
        return sub if sub["status"] in ("graded", "failed") else None

    sub = eventually(graded, "grading", timeout=120)
    assert sub["status"] == "graded", sub
    assert sub["score"] == sub["max_score"] > 0
    return sub


def notebook_score(sub: dict) -> tuple[float, float]:
    (nb,) = [n for n in sub["result"]["notebooks"] if n["name"].startswith(EXERCISE["exercise"])]
    return float(nb["score"]), float(nb["max_score"])


def outbox_of(lti: LtiHub, user: str, status: str | None = None) -> list[dict]:
    staff = token_headers(lti, lti.hub.demo("staff")["name"])
    query = f"?status={status}" if status else ""
    resp = requests.get(lti.url + "hub/lti/outbox" + query, headers=staff, timeout=10)
    assert resp.status_code == 200, resp.text
    return [i for i in resp.json()["items"] if i["user"] == user]


def cli_outbox(lti: LtiHub, *args: str) -> list[dict]:
    lines = nbcampus(lti.hub, "lti", "outbox", *args).splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_lti13_graded_submission_reaches_the_gradebook_through_failures(lti: LtiHub) -> None:
    platform = lti.platform
    item = deep_link(lti, teacher="teacher-g", context_id="course-g")
    custom = {LTI + "custom": item["custom"], "context_id": "course-g", "link_id": "link-g"}

    # the instructor's first launch creates the campus class; its Hub group follows at once
    teacher_session = requests.Session()
    resp = platform.launch(teacher_session, lti.url, "teacher-g", INSTRUCTOR, **custom)
    assert resp.status_code == 302, resp.text
    teacher = whoami(lti, teacher_session)
    klass = class_of(lti, teacher)
    assert klass["course"] == EXERCISE["course"]
    group = hub_group(lti, klass["id"])
    assert group["users"] == [teacher]
    assert group["properties"]["course"] == EXERCISE["course"]

    # a student's launch joins the class (and its group) and opens the exercise
    session = requests.Session()
    resp = platform.launch(session, lti.url, "stu-g", LEARNER, **custom)
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].endswith("/nbcampus/open/python-intro/01-values/values")
    student = whoami(lti, session)
    assert sorted(hub_group(lti, klass["id"])["users"]) == sorted([teacher, student])

    # locked until the instructor unlocks it, as in any campus class
    resp = lti.hub.client(student).get(
        GRADER + f"courses/{EXERCISE['course']}/assignments/{EXERCISE['lesson']}/files"
    )
    assert resp.status_code == 403 and resp.json()["code"] == "LOCKED"
    open_lesson(lti, teacher, klass["id"], [student])

    # the LMS is down for the first three score posts
    platform.fail_scores = 3
    posts_before = platform.score_posts
    sub = submit_solution(lti, student)
    score, maximum = notebook_score(sub)
    assert 0 < score == maximum

    # the grader's hook tried at once and failed: staff see the item waiting, with its error
    (waiting,) = eventually(
        lambda: [i for i in outbox_of(lti, student) if i["attempts"] >= 1], "first attempt"
    )
    assert waiting["status"] == "pending" and "503" in waiting["last_error"]
    assert (waiting["course"], waiting["lesson"], waiting["exercise"]) == tuple(EXERCISE.values())
    assert [s for s in platform.scores if s["userId"] == "stu-g"] == []
    assert [i["id"] for i in outbox_of(lti, student, "pending")] == [waiting["id"]]
    assert outbox_of(lti, student, "failed") == []
    staff = token_headers(lti, lti.hub.demo("staff")["name"])
    resp = requests.get(lti.url + "hub/lti/outbox?status=lost", headers=staff, timeout=10)
    assert error(resp) == "BAD_STATUS"
    # students may not look at the outbox
    resp = requests.get(lti.url + "hub/lti/outbox", headers=token_headers(lti, student))
    assert error(resp) == "FORBIDDEN"

    # an operator sends now rather than waiting for the back-off, until the LMS answers;
    # the command line lists the outbox after each try
    for _ in range(3):
        (mine,) = [i for i in cli_outbox(lti, "--retry") if i["user"] == student]
        assert mine["id"] == waiting["id"]
        if mine["status"] == "sent":
            break
        assert mine["status"] == "pending" and "503" in mine["last_error"]
    assert mine["status"] == "sent" and mine["attempts"] == 4
    # three refusals and one score: sent once, whoever retried (the Hub's loop may have too)
    assert platform.score_posts - posts_before == 4
    (posted,) = [s for s in platform.scores if s["userId"] == "stu-g"]
    assert posted["scoreGiven"] == score and posted["scoreMaximum"] == maximum
    assert posted["gradingProgress"] == "FullyGraded"
    assert posted["activityProgress"] == "Completed"
    # the line item was created for the deep-linked exercise in the LMS course
    (line_item,) = platform.line_items["course-g"]
    assert line_item["id"].endswith(posted["lineitem"])
    assert line_item["resourceId"] == "/".join(EXERCISE.values())
    assert line_item["resourceLinkId"] == "link-g"
    token_request = platform.token_requests[-1]
    assert token_request["grant_type"] == "client_credentials"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in token_request["scope"]

    # The LMS has the grade; the outbox marks it sent once the LMS's answer is in.
    eventually(
        lambda: [i["status"] for i in outbox_of(lti, student)] == ["sent"], "the outbox: sent"
    )


def test_lti11_graded_submission_reaches_basic_outcomes(lti: LtiHub) -> None:
    teacher_session = requests.Session()
    form = lti11_form(lti, "t-g11", roles="Instructor", context_id="c-g11", link_id="rl-g11")
    resp = teacher_session.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    teacher = whoami(lti, teacher_session)
    klass = class_of(lti, teacher)
    session = requests.Session()
    form = lti11_form(lti, "u-g11", context_id="c-g11", link_id="rl-g11")
    resp = session.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].endswith("/nbcampus/open/python-intro/01-values/values")
    student = whoami(lti, session)
    assert sorted(hub_group(lti, klass["id"])["users"]) == sorted([teacher, student])
    open_lesson(lti, teacher, klass["id"], [student])

    sub = submit_solution(lti, student)
    score, maximum = notebook_score(sub)

    def reported() -> list[dict]:
        return [o for o in lti.platform.outcomes if o["sourcedid"] == "src-u-g11-rl-g11"]

    (outcome,) = eventually(reported, "the Basic Outcomes post")
    assert outcome["score"] == f"{score / maximum:.4f}" == "1.0000"
    # The LMS has the grade; the outbox marks it sent once the LMS's answer is in.
    eventually(
        lambda: [i["status"] for i in outbox_of(lti, student)] == ["sent"], "the outbox: sent"
    )


def test_a_teachers_score_change_reaches_the_lms_and_the_campus(lti: LtiHub) -> None:
    """The autograde score, then a teacher's changes in the gradebook: each new score goes to
    the LMS (the grader's LTI hook) and to the campus (progress, XP once); a repeat does not."""
    teacher_session = requests.Session()
    form = lti11_form(lti, "t-m11", roles="Instructor", context_id="c-m11", link_id="rl-m11")
    resp = teacher_session.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    teacher = whoami(lti, teacher_session)
    klass = class_of(lti, teacher)
    session = requests.Session()
    form = lti11_form(lti, "u-m11", context_id="c-m11", link_id="rl-m11")
    assert session.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False).ok
    student = whoami(lti, session)
    open_lesson(lti, teacher, klass["id"], [student])

    # a submission whose greeting is wrong: 2 of 3 points
    api = lti.hub.client(student)
    nb = nbformat.read(SOURCE / (EXERCISE["exercise"] + ".ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "greeting":
            cell.source = "def greeting(name):\n    return 'Hi'"
    body = {"files": {"values.ipynb": base64.b64encode(nbformat.writes(nb).encode()).decode()}}
    url = GRADER + f"courses/{EXERCISE['course']}/assignments/{EXERCISE['lesson']}/submissions"
    resp = api.post(url, json=body)
    assert resp.status_code == 202, resp.text
    uid = resp.json()["id"]
    sub = eventually(
        lambda: (s := api.get(GRADER + f"submissions/{uid}").json())["status"] == "graded" and s,
        "grading",
    )
    assert notebook_score(sub) == (2.0, 3.0)

    def outcomes() -> list[str]:
        return [o["score"] for o in lti.platform.outcomes if o["sourcedid"] == "src-u-m11-rl-m11"]

    def campus_values() -> dict:
        progress = api.get(CAMPUS + f"users/{student}/progress").json()
        (values,) = [e for e in progress["exercises"] if e["exercise"] == EXERCISE["exercise"]]
        return values

    def passes() -> int:
        level = api.get(CAMPUS + f"users/{student}/level").json()
        return [t["reason"] for t in level["transactions"]].count("autograde_passed")

    eventually(lambda: outcomes() == ["0.6667"], "the autograde score in the LMS")
    eventually(lambda: campus_values()["score"] == 2.0, "the autograde score in the campus")
    assert not campus_values()["completed"] and passes() == 0

    # the teacher gives the failed test its point: the answer comes at once, the rest follows
    cell = (
        GRADER + f"courses/{EXERCISE['course']}/assignments/{EXERCISE['lesson']}"
        f"/grades/{student}/values/test_greeting"
    )
    teacher_api = lti.hub.client(teacher)
    resp = teacher_api.put(cell, json={"manual_score": 1})
    assert resp.status_code == 200 and resp.json()["total"] == 3.0, resp.text
    eventually(lambda: outcomes() == ["0.6667", "1.0000"], "the teacher's score in the LMS")
    eventually(lambda: campus_values()["completed"], "the exercise passed in the campus")
    assert campus_values()["score"] == 3.0 and passes() == 1
    # the student's own view of the submission shows the new score
    seen = api.get(GRADER + f"submissions/{uid}").json()
    assert seen["score"] == 3.0 and notebook_score(seen) == (3.0, 3.0)
    (test,) = [t for t in seen["result"]["notebooks"][0]["tests"] if t["name"] == "test_greeting"]
    assert test["score"] == 1.0

    # the same score again sends nothing new; a lower one goes on, and XP is never doubled
    assert teacher_api.put(cell, json={"manual_score": 1}).status_code == 200
    assert teacher_api.put(cell, json={"manual_score": 0.5}).status_code == 200
    eventually(lambda: outcomes() == ["0.6667", "1.0000", "0.8333"], "the lowered score")
    eventually(lambda: campus_values()["score"] == 2.5, "the lowered score in the campus")
    assert campus_values()["completed"] and passes() == 1


def test_roster_sync_follows_pages_enrolls_and_marks_leavers(lti: LtiHub) -> None:
    platform = lti.platform
    # the LMS course has a linked lesson (so a campus class), its instructor and a student
    linked = {LTI + "custom": {"nbcampus_" + k: v for k, v in EXERCISE.items()}}
    sessions = {sub: requests.Session() for sub in ("teacher-p", "gone-p")}
    for sub, session in sessions.items():
        roles = INSTRUCTOR if sub.startswith("teacher") else LEARNER
        resp = platform.launch(session, lti.url, sub, roles, context_id="course-p", **linked)
        assert resp.status_code == 302, resp.text
    teacher, gone = (whoami(lti, s) for s in sessions.values())
    klass = class_of(lti, teacher)
    # the LMS roster: the instructor and five students, two to a page; one student left
    platform.members["course-p"] = [
        {"user_id": "teacher-p", "roles": INSTRUCTOR, "status": "Active", "name": "T P"},
        *(
            {"user_id": f"p-{i}", "roles": LEARNER, "status": "Active", "name": f"Pupil {i}"}
            for i in range(4)
        ),
        {"user_id": "inactive-p", "roles": LEARNER, "status": "Inactive", "name": "Away"},
    ]
    platform.members_page_size = 2
    staff = token_headers(lti, lti.hub.demo("staff")["name"])
    contexts = requests.get(lti.url + "hub/lti/contexts", headers=staff, timeout=10).json()
    pk = next(c["id"] for c in contexts["contexts"] if c["context_id"] == "course-p")
    requests_before = len(platform.membership_requests)
    url = lti.url + f"hub/lti/contexts/{pk}/roster"
    resp = requests.post(url, headers=token_headers(lti, teacher), timeout=60)
    assert resp.status_code == 200, resp.text
    expected = {"active": 5, "joined": 4, "left": 1, "enrolled": 4, "class_id": klass["id"]}
    assert resp.json() == expected
    pages = platform.membership_requests[requests_before:]
    assert pages == [
        "/nrps/course-p/memberships",
        "/nrps/course-p/memberships?page=1",
        "/nrps/course-p/memberships?page=2",
    ]
    members = requests.get(url, headers=staff, timeout=10).json()["members"]
    status = {m["user"]: m["status"] for m in members}
    assert status.pop(gone) == "left"  # marked, not deleted
    assert status.pop(teacher) == "active"
    assert sorted(status.values()) == ["active"] * 4
    pupils = sorted(status)
    assert all(name.startswith("pupil-") for name in pupils)
    # the pupils are in the campus class and its Hub group; the leaver keeps the Hub account,
    # the campus account and the enrollment, with their work and credits
    api = lti.hub.client(lti.hub.demo("staff")["name"])
    enrolled = api.get(CAMPUS + f"classes/{klass['id']}/enrollments").json()
    enrolled = enrolled["enrollments"] if isinstance(enrolled, dict) else enrolled
    assert sorted((e["student"], e["status"]) for e in enrolled) == sorted(
        (name, "active") for name in [gone, *pupils]
    )
    assert sorted(hub_group(lti, klass["id"])["users"]) == sorted([teacher, gone, *pupils])
    assert lti.hub.admin_client().get(f"hub/api/users/{gone}").status_code == 200
    accounts = api.get(CAMPUS + "accounts").json()
    assert gone in [a["name"] for a in accounts["accounts"]]
    # a second sync changes nothing
    resp = requests.post(url, headers=token_headers(lti, teacher), timeout=60)
    assert resp.json() == {**expected, "joined": 0, "left": 0, "enrolled": 0}
    platform.members_page_size = 0
    # an LMS answering nonsense is a clear refusal, and nobody is marked as gone for it
    platform.members["course-p"] = "not a roster"
    resp = requests.post(url, headers=token_headers(lti, teacher), timeout=60)
    assert error(resp) == "LMS_UNAVAILABLE" and "member list" in resp.json()["message"]
    members = requests.get(url, headers=staff, timeout=10).json()["members"]
    assert sorted(m["status"] for m in members) == ["active"] * 5 + ["left"]
