"""An LMS course as a school runs it (issue 20): students added late still get in, the grade
policy is one for the campus and the LMS, a linked lesson opens on its notebook, and the LMS
may frame the tool.

The platform stands in for Moodle/Canvas (their network cannot exist here); the Hub, the
campus and grader services, the student's server, the databases and every key are real.
"""

from __future__ import annotations

import requests
from lti_env import LtiHub
from lti_flows import EXERCISE, INSTRUCTOR, LEARNER, token_headers, whoami
from lti_platform import LTI
from test_lti_services import CAMPUS, GRADER, class_of, open_lesson

COURSE, LESSON, NOTEBOOK = EXERCISE["course"], EXERCISE["lesson"], EXERCISE["exercise"]
LINKED = {LTI + "custom": {"nbcampus_" + k: v for k, v in EXERCISE.items()}}


def launch13(lti: LtiHub, sub: str, context_id: str, roles: list[str] = LEARNER) -> str:
    """A linked-exercise launch of `sub` in LMS course `context_id`; returns the user name."""
    session = requests.Session()
    resp = lti.platform.launch(session, lti.url, sub, roles, context_id=context_id, **LINKED)
    assert resp.status_code == 302, resp.text
    return whoami(lti, session)


def enrolled_in(lti: LtiHub, class_id: int) -> dict[str, str]:
    staff = lti.hub.client(lti.hub.demo("staff")["name"])
    listed = staff.get(CAMPUS + f"classes/{class_id}/enrollments").json()
    listed = listed["enrollments"] if isinstance(listed, dict) else listed
    return {e["student"]: e["status"] for e in listed}


def test_students_added_after_the_first_meeting_get_in(lti: LtiHub) -> None:
    """Item 6: the LMS roster is the authority for a class made for an LMS course, also
    once the class is active (by a late first launch, and by roster sync)."""
    teacher = launch13(lti, "teacher-late", "course-late", INSTRUCTOR)
    early = launch13(lti, "early-late", "course-late")
    klass = class_of(lti, teacher)
    open_lesson(lti, teacher, klass["id"], [early])
    staff = lti.hub.client(lti.hub.demo("staff")["name"])
    assert staff.get(CAMPUS + f"classes/{klass['id']}").json()["status"] == "active"

    # a student whose first click comes after meeting 1
    late = launch13(lti, "late-launch", "course-late")
    # a student added in the LMS after meeting 1, brought in by a roster sync
    lti.platform.members["course-late"] = [
        {"user_id": "teacher-late", "roles": INSTRUCTOR, "status": "Active", "name": "T L"},
        {"user_id": "early-late", "roles": LEARNER, "status": "Active", "name": "Early"},
        {"user_id": "late-launch", "roles": LEARNER, "status": "Active", "name": "Late"},
        {"user_id": "late-roster", "roles": LEARNER, "status": "Active", "name": "Roster Late"},
    ]
    contexts = requests.get(
        lti.url + "hub/lti/contexts", headers=lti.staff_token_headers(), timeout=10
    ).json()
    pk = next(c["id"] for c in contexts["contexts"] if c["context_id"] == "course-late")
    resp = requests.post(
        lti.url + f"hub/lti/contexts/{pk}/roster", headers=token_headers(lti, teacher), timeout=60
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["enrolled"] == 1 and resp.json()["class_id"] == klass["id"]
    members = requests.get(
        lti.url + f"hub/lti/contexts/{pk}/roster", headers=lti.staff_token_headers(), timeout=10
    ).json()["members"]
    (roster_late,) = [m["user"] for m in members if m["user"] not in (teacher, early, late)]

    assert enrolled_in(lti, klass["id"]) == {
        early: "active",
        late: "active",
        roster_late: "active",
    }
    # both open the unlocked lesson: the grader (which checks the unlock for the student)
    # hands them its released notebook
    for student in (late, roster_late):
        api = lti.hub.client(student)
        files = api.get(GRADER + f"courses/{COURSE}/assignments/{LESSON}/files")
        assert files.status_code == 200, (student, files.text)
        assert NOTEBOOK + ".ipynb" in files.json()["files"]

    # staff's manual enrollment keeps the group-class rule
    resp = staff.post(
        CAMPUS + f"classes/{klass['id']}/enrollments",
        json={"student": lti.hub.demo("student")["name"]},
    )
    assert resp.status_code in (400, 409), resp.text
