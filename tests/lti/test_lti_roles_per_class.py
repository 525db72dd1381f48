"""Roles per LMS course: a student in one LMS course who teaches another stays a student there.

The audit's sequence: Mallory is a Learner in LMS course X (campus class X, with her
classmate Bob) and an Instructor in LMS course Y, linked to the same campus course (class Y).
She teaches class Y and nothing else: every grader call about Bob, and grading her own
submission, is refused; the campus agrees. The platform stands in for Moodle or Canvas (their
network cannot exist here); the Hub, services, grader and signatures are real.
"""

from __future__ import annotations

import requests
from lti_env import LtiHub
from lti_flows import EXERCISE, lti11_form, whoami
from test_lti_services import CAMPUS, GRADER, class_of, open_lesson, submit_solution

COURSE, LESSON, NOTEBOOK = EXERCISE["course"], EXERCISE["lesson"], EXERCISE["exercise"]


def launch(lti: LtiHub, user_id: str, context_id: str, roles: str = "Learner") -> str:
    session = requests.Session()
    form = lti11_form(lti, user_id, roles=roles, context_id=context_id, link_id="rl-" + context_id)
    resp = session.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    return whoami(lti, session)


def test_a_student_who_teaches_elsewhere_grades_nobody_of_her_own_class(lti: LtiHub) -> None:
    teacher = launch(lti, "t-rx", "c-rx", roles="Instructor")
    class_x = class_of(lti, teacher)
    mallory = launch(lti, "mal-rx", "c-rx")
    bob = launch(lti, "bob-rx", "c-rx")
    # In LMS course Y Mallory is the Instructor: the campus class Y is hers.
    assert launch(lti, "mal-rx", "c-ry", roles="Instructor") == mallory
    class_y = class_of(lti, mallory)
    assert class_y["id"] != class_x["id"] and class_y["course"] == COURSE

    # The campus: a student of class X (no teacher's view), the instructor of class Y.
    me = lti.hub.client(mallory).get(CAMPUS + "me").json()
    assert me["role"] == "student"
    assert me["teaches"] == [{"class_id": class_y["id"], "role": "instructor"}]
    staff = lti.hub.client(lti.hub.demo("staff")["name"])
    roster = staff.get(CAMPUS + f"classes/{class_x['id']}/enrollments").json()["enrollments"]
    assert {e["student"] for e in roster} == {mallory, bob}
    mine = lti.hub.client(mallory)
    assert mine.get(CAMPUS + f"classes/{class_x['id']}/enrollments").status_code == 403
    assert mine.get(CAMPUS + f"classes/{class_y['id']}/enrollments").status_code == 200

    open_lesson(lti, teacher, class_x["id"], [mallory, bob])
    bobs = submit_solution(lti, bob)
    submit_solution(lti, mallory)

    refused = []
    about = {"bob": bob, "herself": mallory}
    for who, name in about.items():
        grades = GRADER + f"courses/{COURSE}/assignments/{LESSON}/grades/{name}"
        cell = f"{grades}/{NOTEBOOK}/greeting"
        calls = [
            ("GET", grades, None),
            ("PUT", cell, {"manual_score": 0}),
            ("PUT", cell.replace("/grades/", "/comments/"), {"comment": "mine now"}),
            ("POST", GRADER + f"courses/{COURSE}/regrade", {"student": name}),
            ("GET", f"services/grader/courses/{COURSE}/grading/{LESSON}/{name}", None),
        ]
        for method, url, body in calls:
            resp = mine.request(method, url, json=body)
            if resp.status_code != 403:
                refused.append((who, method, url, resp.status_code, resp.text[:200]))
    # her classmate's submission does not exist for her, and his work is in none of her lists
    assert mine.get(GRADER + f"submissions/{bobs['id']}").status_code == 404
    listed = mine.get(GRADER + f"courses/{COURSE}/assignments/{LESSON}/submissions").json()
    assert {s["student"] for s in listed["submissions"]} <= {mallory}
    listed = mine.get(GRADER + f"courses/{COURSE}/assignments/{LESSON}/submissions?student={bob}")
    assert listed.status_code == 403
    csv = mine.get(GRADER + f"courses/{COURSE}/gradebook.csv")
    assert csv.status_code == 200 and bob not in csv.text and mallory not in csv.text
    assert refused == [], refused

    # Bob's grade was never touched: still full marks in the grader.
    teacher_view = lti.hub.client(teacher).get(
        GRADER + f"courses/{COURSE}/assignments/{LESSON}/grades/{bob}"
    )
    assert teacher_view.status_code == 200
    assert teacher_view.json()["score"] == bobs["score"]
