"""The role matrix: every operation of the campus and grader services, called by every kind
of actor, against a table of expected outcomes written out by hand (not derived from the
permission table). Any wrong allow or wrong deny fails the test; all are listed at once.
An operation of either service's served OpenAPI document with no row (and no stated
exemption in EXEMPT) fails test_every_operation_has_a_row.

The world: the demo python course with class A (instructor I, TA T, students S1 and extras),
the demo C course with a class of another instructor J and another student S2 (in no class
of the python course), the demo staff and admin, an anonymous caller and a Hub token of S1
whose scopes do not include access to the services.
"""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import uuid
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests
import yaml
from harness.api import APIClient
from harness.classroom import open_class
from harness.grading import wait_graded
from harness.hub import CampusHub
from harness.reference import PS1

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)]

C = "services/campus/api/v1/"
G = "services/grader/api/v1/"
PAGES = "services/grader/courses/"
COURSE = "python-intro"
OTHER_COURSE = "c-fundamentals"
LESSON = "01-values"
# class B's course, lesson by lesson: (lesson, its coding exercise), to complete it
C_COURSE = [
    ("01-variables-printf", "temperatures"),
    ("02-functions-loops", "loops"),
    ("03-pointers-arrays", "arrays"),
]
ROOT = Path(__file__).resolve().parents[1]
# An operation's body that says "an endless event stream": the status is read, then it closes.
STREAM = object()
# A group class closes enrollment on a known day (domain rules); far enough not to matter here.
DEADLINE = (dt.date.today() + dt.timedelta(days=90)).isoformat()
# The smallest valid PNG (a 1x1 pixel), as a payment's proof file.
PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
    "rkJggg=="
)

# Column order of the table below.
ACTORS = ("anon", "noscope", "S1", "S2", "I", "J", "T", "staff", "admin")
WHO = {
    "anon": "anonymous",
    "noscope": "a token without the service scope",
    "S1": "the student",
    "S2": "another student (not in the class)",
    "I": "the class's instructor",
    "J": "an instructor of another course",
    "T": "a TA of the class",
    "staff": "staff",
    "admin": "admin",
}

# operation -> expected per actor, in ACTORS order. ok: 2xx; 401/403/404: that status.
# The rows run in this order: writes that change state for a later row come after it.
EXPECTED: dict[str, str] = {
    # --- campus: info, accounts, courses --------------------------------------------------
    "campus info GET":                 "401 401 ok  ok  ok  ok  ok  ok  ok",
    "campus me GET":                   "401 401 ok  ok  ok  ok  ok  ok  ok",
    "campus openapi GET":              "401 401 ok  ok  ok  ok  ok  ok  ok",
    "accounts GET":                    "401 401 403 403 403 403 403 ok  ok",
    "accounts POST":                   "401 401 403 403 403 403 403 ok  ok",
    "courses GET":                     "401 401 ok  ok  ok  ok  ok  ok  ok",
    "course GET":                      "401 401 ok  ok  ok  ok  ok  ok  ok",
    "course PATCH publish":            "401 401 403 403 ok  403 403 403 ok",
    "me/courses GET":                  "401 401 ok  ok  ok  ok  ok  ok  ok",
    # --- campus: admin screens' API (accounts, course review, settings, audit) ------------
    "account GET (S1)":                "401 401 403 403 403 403 403 ok  ok",
    "account PATCH enable (S1)":       "401 401 403 403 403 403 403 ok  ok",
    "account password POST":           "401 401 403 403 403 403 403 ok  ok",
    # the course is published: its instructor and admins are let through to the rule (409)
    "course review POST submit":       "401 401 403 403 409 403 403 403 409",
    "settings GET":                    "401 401 ok  ok  ok  ok  ok  ok  ok",
    "settings PUT":                    "401 401 403 403 403 403 403 403 ok",
    "admin audit GET":                 "401 401 403 403 403 403 403 403 ok",
    # --- campus: class A ------------------------------------------------------------------
    "classes GET":                     "401 401 ok  ok  ok  ok  ok  ok  ok",
    "classes POST":                    "401 401 403 403 403 403 403 ok  ok",
    "class GET":                       "401 401 ok  403 ok  403 ok  ok  ok",
    "class PATCH":                     "401 401 403 403 403 403 403 ok  ok",
    "class staff GET":                 "401 401 ok  403 ok  403 ok  ok  ok",
    "class staff POST":                "401 401 403 403 403 403 403 ok  ok",
    "class staff DELETE":              "401 401 403 403 403 403 403 ok  ok",
    "class unlocks GET":               "401 401 ok  403 ok  403 ok  ok  ok",
    "enrollments GET":                 "401 401 403 403 ok  403 ok  ok  ok",
    # class A is active after its first meeting and takes no enrollments: enroll into B
    "enrollments POST (class B)":      "401 401 403 403 403 403 403 ok  ok",
    "enrollment DELETE":               "401 401 403 403 403 403 403 ok  ok",
    "attendance GET":                  "401 401 403 403 ok  403 ok  ok  ok",
    "attendance POST take":            "401 401 403 403 ok  403 ok  ok  ok",
    "attendance PUT edit":             "401 401 403 403 ok  403 ok  ok  ok",
    "attendance edits GET":            "401 401 403 403 ok  403 ok  ok  ok",
    "attendance report GET":           "401 401 403 403 ok  403 ok  ok  ok",
    "unlock-lesson POST":              "401 401 403 403 ok  403 403 403 ok",
    "credits GET":                     "401 401 ok  403 ok  403 ok  ok  ok",
    "credits history GET":             "401 401 ok  403 ok  403 ok  ok  ok",
    "credits adjust POST":             "401 401 403 403 ok  403 403 ok  ok",
    # --- campus: the office's API (class A; payments of S1's enrollment) -------------------
    "attendance POST preview":         "401 401 403 403 ok  403 ok  ok  ok",
    "candidates GET":                  "401 401 403 403 403 403 403 ok  ok",
    "enroll-many POST (class B)":      "401 401 403 403 403 403 403 ok  ok",
    "class audit GET":                 "401 401 403 403 ok  403 403 ok  ok",
    "class audit CSV GET":             "401 401 403 403 ok  403 403 ok  ok",
    "class payments GET":              "401 401 403 403 403 403 403 ok  ok",
    "class payments CSV GET":          "401 401 403 403 403 403 403 ok  ok",
    "enrollment payments GET (S1's)":  "401 401 403 403 403 403 403 ok  ok",
    "enrollment payments POST (S1's)": "401 401 403 403 403 403 403 ok  ok",
    "payment proof GET":               "401 401 403 403 403 403 403 ok  ok",
    "payment verify POST":             "401 401 403 403 403 403 403 ok  ok",
    "payment refund POST":             "401 401 403 403 403 403 403 ok  ok",
    "announcement class POST":         "401 401 403 403 ok  403 403 ok  ok",
    "announcement course POST":        "401 401 403 403 ok  403 403 ok  ok",
    "announcements GET":               "401 401 ok  ok  ok  ok  ok  ok  ok",
    "user progress GET (S1)":          "401 401 ok  403 ok  403 ok  ok  ok",
    "lesson progress GET":             "401 401 ok  ok  ok  ok  ok  ok  ok",
    "access GET":                      "401 401 403 403 403 403 403 ok  ok",
    "course-roles GET":                "401 401 403 403 403 403 403 ok  ok",
    "grading-results POST":            "401 401 403 403 403 403 403 403 403",
    "xp earn POST":                    "401 401 403 403 403 403 403 ok  ok",
    "xp revoke POST":                  "401 401 403 403 403 403 403 ok  ok",
    # --- campus: content, engagement ------------------------------------------------------
    "lesson GET":                      "401 401 ok  ok  ok  ok  ok  ok  ok",
    "lesson exercises GET":            "401 401 ok  ok  ok  ok  ok  ok  ok",
    "exercise GET":                    "401 401 ok  ok  ok  ok  ok  ok  ok",
    "user level GET (S1)":             "401 401 ok  403 ok  403 ok  ok  ok",
    "badges GET (S1's)":               "401 401 ok  403 ok  403 ok  ok  ok",
    "badge award POST":                "401 401 403 403 403 403 403 ok  ok",
    "leaderboard class GET":           "401 401 ok  403 ok  403 ok  ok  ok",
    "leaderboard course GET":          "401 401 ok  403 ok  403 ok  ok  ok",
    "preferences PUT":                 "401 401 ok  ok  ok  ok  ok  ok  ok",
    "notifications GET":               "401 401 ok  ok  ok  ok  ok  ok  ok",
    # an announcement is marked read by its recipients (class A's students) only
    "announcement read POST":          "401 401 ok  404 404 404 404 404 404",
    # --- campus: quizzes and timed exams (lesson 1's quiz; taken by people in a class) -----
    "quiz GET":                        "401 401 ok  403 ok  403 ok  403 403",
    "quiz results GET":                "401 401 403 403 ok  403 ok  ok  ok",
    "course quizzes GET":              "401 401 403 403 ok  403 ok  ok  ok",
    "quiz settings PATCH":             "401 401 403 403 ok  403 403 ok  ok",
    "accommodations GET":              "401 401 403 403 ok  403 403 ok  ok",
    "accommodation PUT (S1)":          "401 401 403 403 ok  403 403 ok  ok",
    # --- campus: authoring an nbgrader folder, pre-warm records, score visibility ---------
    # any instructor account may start a course (T is an instructor account, a TA of A)
    "authoring manifest POST":         "401 401 403 403 ok  ok  ok  403 ok",
    "prewarms GET":                    "401 401 403 403 403 403 403 ok  ok",
    "class prewarms GET":              "401 401 403 403 ok  403 403 ok  ok",
    "score-visibility GET":            "401 401 ok  ok  ok  ok  ok  ok  ok",
    "score-visibility PUT release":    "401 401 403 403 ok  403 403 ok  ok",
    # --- campus: profiles, data, certificates, scores (a person's own, or the office's) ---
    "user profile GET (S1)":           "401 401 ok  403 403 403 403 ok  ok",
    "user export GET (S1)":            "401 401 ok  403 403 403 403 ok  ok",
    "deletion-requests GET":           "401 401 403 403 403 403 403 ok  ok",
    "course certificates GET":         "401 401 403 403 ok  403 403 ok  ok",
    "course scores GET (S1)":          "401 401 ok  403 ok  403 ok  ok  ok",
    # staff and admin accounts take no quizzes
    "me/quizzes GET":                  "401 401 ok  ok  ok  ok  ok  403 403",
    # --- grader ---------------------------------------------------------------------------
    "grader info GET":                 "401 401 ok  ok  ok  ok  ok  ok  ok",
    "assignments GET":                 "401 401 ok  403 ok  403 ok  ok  ok",
    "policy GET":                      "401 401 ok  403 ok  403 ok  ok  ok",
    "policy PUT":                      "401 401 403 403 ok  403 403 ok  ok",
    "release files GET":               "401 401 ok  403 ok  403 ok  ok  ok",
    "submission GET (S1's)":           "401 401 ok  404 ok  404 ok  ok  ok",
    "submission files GET (S1's)":     "401 401 ok  404 ok  404 ok  ok  ok",
    "feedback GET (S1's)":             "401 401 ok  404 ok  404 ok  ok  ok",
    "submissions list GET":            "401 401 ok  403 ok  403 ok  ok  ok",
    "grades GET (S1)":                 "401 401 403 403 ok  403 ok  ok  ok",
    "grade PUT (S1)":                  "401 401 403 403 ok  403 ok  ok  ok",
    "comment PUT (S1)":                "401 401 403 403 ok  403 ok  ok  ok",
    "gradebook.csv GET":               "401 401 403 403 ok  403 ok  ok  ok",
    "grading page course GET":         "401 401 403 403 ok  403 ok  ok  ok",
    "grading page assignment GET":     "401 401 403 403 ok  403 ok  ok  ok",
    "grading page submission GET":     "401 401 403 403 ok  403 ok  ok  ok",
    "regrade POST (S1)":               "401 401 403 403 ok  403 ok  ok  ok",
    "submissions POST":                "401 401 ok  403 ok  403 ok  ok  ok",
    # notebook exams on lesson 1, which is no exam: whoever gets past the checks learns that
    # (404); a student's exam is always the caller's own (no student in the path or body)
    "exam GET":                        "401 401 404 403 404 403 404 404 404",
    "exam POST start":                 "401 401 404 403 404 403 404 404 404",
    "exam saved PUT":                  "401 401 404 403 404 403 404 404 404",
    "exam sittings GET":               "401 401 403 403 404 403 404 404 404",
    "course exams GET":                "401 401 403 403 ok  403 ok  ok  ok",
    # --- grader: grading aids and figures (the class's graders; queue figures for admins) --
    "grader openapi GET":              "401 401 ok  ok  ok  ok  ok  ok  ok",
    "rubric GET":                      "401 401 403 403 ok  403 ok  ok  ok",
    "comment-bank GET":                "401 401 403 403 ok  403 ok  ok  ok",
    "similarity GET":                  "401 401 403 403 ok  403 ok  ok  ok",
    "line comments GET (S1)":          "401 401 403 403 ok  403 ok  ok  ok",
    "extension GET (S1)":              "401 401 403 403 ok  403 ok  ok  ok",
    "course stats GET":                "401 401 403 403 ok  403 ok  ok  ok",
    "queue stats GET":                 "401 401 403 403 403 403 403 403 ok",
    # an extension is granted by the student's instructor (not a TA) or the office
    "extension PUT (S1)":              "401 401 403 403 ok  403 403 ok  ok",
    "extension DELETE (S1)":           "401 401 403 403 ok  403 403 ok  ok",
    # a notification is marked read by its own recipient; for anyone else it does not exist
    "notification read POST (S1's)":   "401 401 ok  404 404 404 404 404 404",
    # checking a course folder: any instructor account (T's too) and admins, as the manifest
    "authoring check POST":            "401 401 403 403 ok  ok  ok  403 ok",
    "authoring dry-run POST":          "401 401 403 403 ok  ok  ok  403 ok",
    # grading aids written by the class's graders (TAs included) and the office
    "comment-bank POST":               "401 401 403 403 ok  403 ok  ok  ok",
    "line comment POST (S1)":          "401 401 403 403 ok  403 ok  ok  ok",
    # --- campus: a student's own work in an unlocked lesson (lessons 1-3 are open to A) ----
    # progress is written by people who take lessons (students; teachers trying them out);
    # lessons locked to a person are refused; staff and admin accounts take no lessons
    "exercise complete POST (material)": "401 401 ok  403 ok  403 ok  403 403",
    # every exercise of the lesson must be done first: let through to that rule (409)
    "lesson complete POST":            "401 401 409 403 409 403 409 403 403",
    "material GET":                    "401 401 ok  403 ok  403 ok  ok  ok",
    "video GET":                       "401 401 ok  403 ok  403 ok  ok  ok",
    "video watch POST":                "401 401 ok  403 ok  403 ok  403 403",
    # the signed URL S1 was given is the credential (a <video> element sends no token)
    "media GET (S1's signed URL)":     "ok  ok  ok  ok  ok  ok  ok  ok  ok",
    # the XP of a submission is always the caller's own (another's is 0 to them)
    "me/submission xp GET (S1's)":     "401 401 ok  ok  ok  ok  ok  ok  ok",
    # quiz attempts are the caller's own: start one, answer, submit (as the quiz GET row)
    "quiz attempt POST":               "401 401 ok  403 ok  403 ok  403 403",
    # attempt 1 of someone with none does not exist for them
    "quiz answers PUT (attempt 1)":    "401 401 ok  404 ok  404 ok  403 403",
    "quiz submit POST (attempt 1)":    "401 401 ok  404 ok  404 ok  403 403",
    # --- campus: publishing a course folder, data deletion, certificates ------------------
    # an existing course: its instructors and admins only, let through to the stale dry run
    "authoring publish POST (python-intro)": "401 401 403 403 409 403 403 403 409",
    "me/deletion-request POST":        "401 401 ok  ok  ok  ok  ok  ok  ok",
    "deletion-request close POST":     "401 401 403 403 403 403 403 ok  ok",
    # a certificate's public facts, for anyone signed in (the page is the Hub's, public)
    "certificate GET (S2's)":          "401 401 ok  ok  ok  ok  ok  ok  ok",
    # revoked by the course's instructors (of class B: J) and the office
    "certificate revoke POST":         "401 401 403 403 403 ok  403 ok  ok",
    # --- grader: releasing work and feedback (the course's instructors, not its TAs) ------
    # an assignment's sources are course content: its instructors and admins author it, not
    # staff (the campus's courses:author rule, as the authoring publish row)
    "release POST (lesson 1)":         "401 401 403 403 ok  403 403 403 ok",
    # feedback to a student, as scores: the office too (the campus's scores:release rule)
    "student feedback POST (S1)":      "401 401 403 403 ok  403 403 ok  ok",
    # the feedback released to the caller: S1's; teachers have none (404); outsiders 403
    "my feedback GET":                 "401 401 ok  403 404 403 404 404 404",
    # --- grader: rubric, marks, removing grading aids (the class's graders, TAs too) ------
    "rubric PUT (S1's graded cell)":   "401 401 403 403 ok  403 ok  ok  ok",
    "marks PUT (S1)":                  "401 401 403 403 ok  403 ok  ok  ok",
    "comment-bank DELETE":             "401 401 403 403 ok  403 ok  ok  ok",
    "line comment DELETE (S1)":        "401 401 403 403 ok  403 ok  ok  ok",
    # --- grader: written work (lesson 2's written assignment) -----------------------------
    # submitted by whoever may submit a notebook there (the submissions POST row)
    "written GET":                     "401 401 ok  403 ok  403 ok  ok  ok",
    "written POST text":               "401 401 ok  403 ok  403 ok  ok  ok",
    "written file PUT":                "401 401 ok  403 ok  403 ok  ok  ok",
    # S1's written submission: theirs and their teachers'; for anyone else it does not exist
    "written submission GET (S1's)":   "401 401 ok  404 ok  404 ok  ok  ok",
    "written submission file GET (S1's)": "401 401 ok  404 ok  404 ok  ok  ok",
    "written submission grade GET (S1's)": "401 401 ok  404 ok  404 ok  ok  ok",
    "written grade POST (S1's)":       "401 401 403 404 ok  404 ok  ok  ok",
    # --- campus: the notification stream (endless: only its answer's status is read) ------
    "notifications stream GET":        "401 401 ok  ok  ok  ok  ok  ok  ok",
}  # fmt: skip


def _matches(expected: str, status: int) -> bool:
    if expected == "ok":
        return 200 <= status < 300
    if expected == "ok-409":
        return 200 <= status < 300 or status == 409
    return status == int(expected)


def nbgrader_folder(tag: str) -> dict[str, Any]:
    """nbgrader's example course without a course.yaml, as the Course view sends it."""
    source = PS1 / "source"
    files = {
        "source/" + p.relative_to(source).as_posix(): base64.b64encode(p.read_bytes()).decode()
        for p in sorted(source.rglob("*"))
        if p.is_file()
    }
    return {"files": files, "name": f"ps1-{tag}"}


def course_folder(course: str, under: str = "") -> dict[str, Any]:
    """A demo course's folder (or a folder inside it) as the Course view sends it."""
    root = ROOT / "courses" / course / under
    files = {
        p.relative_to(root).as_posix(): base64.b64encode(p.read_bytes()).decode()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    return {"files": files}


@pytest.fixture(scope="module")
def world(campus_hub: CampusHub) -> dict[str, Any]:
    hub = campus_hub
    admin = hub.client(hub.demo("admin")["name"])
    tag = uuid.uuid4().hex[:6]

    def account(role: str, label: str) -> str:
        name = f"m{label.lower()}-{tag}"
        resp = admin.post(C + "accounts", json={"name": name, "role": role})
        assert resp.status_code == 201, resp.text
        return name

    names = {
        "S1": account("student", "S1"),
        "S2": account("student", "S2"),
        "I": account("instructor", "I"),
        "J": account("instructor", "J"),
        "T": account("instructor", "T"),
        "staff": hub.demo("staff")["name"],
        "admin": hub.demo("admin")["name"],
    }
    # per-actor targets of writes: students to enroll and withdraw, teachers to add/remove
    enroll = {a: account("student", f"e{a}") for a in ACTORS}
    staffer = {a: account("instructor", f"t{a}") for a in ACTORS}
    newcomer = {a: account("student", f"n{a}") for a in ACTORS}

    def klass(course: str, name: str) -> int:
        body = {
            "name": name,
            "course": course,
            "total_meetings": 20,
            "max_capacity": 50,
            "enrollment_deadline": DEADLINE,
        }
        body["status"] = "enrollment_open"
        resp = admin.post(C + "classes", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]

    a_id = klass(COURSE, f"Class A {tag}")
    b_id = klass(OTHER_COURSE, f"Class B {tag}")
    for cid, user, role in ((a_id, names["I"], "instructor"), (a_id, names["T"], "ta"),
                            (b_id, names["J"], "instructor")):  # fmt: skip
        resp = admin.post(C + f"classes/{a_id if cid == a_id else b_id}/staff",
                          json={"user": user, "role": role})  # fmt: skip
        assert resp.status_code == 201, resp.text
    for cid, student in [(a_id, names["S1"]), (b_id, names["S2"])] + [
        (a_id, enroll[a]) for a in ACTORS
    ]:
        resp = admin.post(C + f"classes/{cid}/enrollments", json={"student": student})
        assert resp.status_code == 201, resp.text
    enrollment_id = next(
        e["id"]
        for e in admin.get(C + f"classes/{a_id}/enrollments").json()["enrollments"]
        if e["student"] == names["S1"]
    )
    today = dt.date.today().isoformat()
    resp = admin.post(
        C + f"classes/{a_id}/attendance",
        json={"meeting_number": 1, "meeting_date": today,
              "records": [{"student": n, "status": "present"}
                          for n in [names["S1"], *enroll.values()]]},
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    resp = admin.post(C + f"classes/{a_id}/unlock-lesson", json={})
    assert resp.status_code == 201, resp.text

    # S1's graded submission of the released first lesson
    s1 = hub.client(names["S1"])
    # the grader generates the student version at the first fetch: slow on a busy machine
    files = s1.get(G + f"courses/{COURSE}/assignments/{LESSON}/files", timeout=600)
    assert files.status_code == 200, files.text
    body = {"files": files.json()["files"]}
    resp = s1.post(G + f"courses/{COURSE}/assignments/{LESSON}/submissions", json=body)
    assert resp.status_code == 202, resp.text
    uid = resp.json()["id"]
    sub = wait_graded(s1, uid)
    assert sub["status"] == "graded", sub
    (notebook,) = files.json()["files"]
    nb_name = notebook.rsplit(".", 1)[0]
    grades = admin.get(G + f"courses/{COURSE}/assignments/{LESSON}/grades/{names['S1']}")
    assert grades.status_code == 200, grades.text
    cell = grades.json()["grades"][0]["cell"]
    comment_cell = grades.json()["comments"][0]["cell"]
    released = nbformat.reads(base64.b64decode(files.json()["files"][notebook]).decode(), 4)
    assert released.cells

    # a Hub token of S1 that does not carry access to the services
    resp = hub.admin_client().post(
        f"hub/api/users/{names['S1']}/tokens",
        json={"note": "no service scope", "expires_in": 3600, "scopes": ["read:users:name!user"]},
    )
    assert resp.status_code == 201, resp.text
    # per-actor XP awards to revoke, a badge to award, an announcement to class A
    xp_tx = {}
    for a in ACTORS:
        earned = admin.post(C + "xp/earn", json={"user": names["S1"], "amount": 1, "note": a})
        assert earned.status_code == 201, earned.text
        xp_tx[a] = earned.json()["transaction"]["id"]
    badge = admin.get(C + "badges").json()["badges"][0]["slug"]
    posted = admin.post(C + "announcements", json={"class_id": a_id, "title": "hi", "body": "x"})
    assert posted.status_code == 201, posted.text
    announcement = posted.json()["id"]
    # per-actor payments of S1's enrollment (with a proof file) to verify, then refund
    payment = {}
    for a in ACTORS:
        paid = admin.post(
            C + f"enrollments/{enrollment_id}/payments",
            json={"amount": "10", "method": "cash", "reference": a,
                  "proof": {"name": "r.png", "type": "image/png", "data": PNG_1PX}},
        )  # fmt: skip
        assert paid.status_code == 201, paid.text
        payment[a] = paid.json()["payment"]["id"]
    # certificates of class B's course, one per actor that may revoke one: the grader (a Hub
    # service, as the Hub's own token is) posts every lesson's full score for each holder
    certificate = {}
    for a in ("J", "staff", "admin"):
        holder = names["S2"] if a == "J" else account("student", f"c{a}")
        if holder != names["S2"]:
            made = admin.post(C + f"classes/{b_id}/enrollments", json={"student": holder})
            assert made.status_code == 201, made.text
        for i, (lesson_slug, exercise) in enumerate(C_COURSE):
            result = {
                "submission_id": f"matrix-{uuid.uuid4().hex[:12]}",
                "user": holder,
                "course": OTHER_COURSE,
                "lesson": lesson_slug,
                "exercise": exercise,
                "score": 3.0,
                "max_score": 3.0,
                "graded_at": f"2026-12-0{i + 1}T10:00:00Z",
            }
            made = hub.admin_client().post(C + "grading-results", json=result)
            assert made.status_code == 201, made.text
        (issued,) = admin.get(C + f"users/{holder}/profile").json()["certificates"]
        certificate[a] = issued["id"]
    school_name = admin.get(C + "settings").json()["name"]
    mine = hub.client(names["S1"]).get(C + "notifications").json()["notifications"]
    assert mine, "S1 has notifications (XP awards)"
    notification = mine[0]["id"]
    outline = admin.get(C + f"courses/{COURSE}").json()
    lesson = outline["sections"][0]["lessons"][0]
    clients = {a: hub.client(n) for a, n in names.items()}
    clients["anon"] = APIClient(hub.url)
    clients["noscope"] = APIClient(hub.url, resp.json()["token"])
    return {
        "names": names, "clients": clients, "a": a_id, "b": b_id, "enroll": enroll,
        "staffer": staffer, "newcomer": newcomer, "enrollment": enrollment_id, "uid": uid,
        "body": body,
        "notebook": nb_name, "cell": cell, "comment_cell": comment_cell, "today": today, "tag": tag,
        "xp_tx": xp_tx, "badge": badge, "announcement": announcement, "lesson": lesson,
        "payment": payment, "school_name": school_name, "nbgrader": nbgrader_folder(tag),
        "notification": notification, "certificate": certificate,
    }  # fmt: skip


def operations(w: dict[str, Any]) -> dict[str, Any]:
    """operation -> function(actor) returning (method, path, json body or None)."""
    a, s1, eid, uid = w["a"], w["names"]["S1"], w["enrollment"], w["uid"]
    asg = f"courses/{COURSE}/assignments/{LESSON}"
    quiz = next(e["id"] for e in w["lesson"]["exercises"] if e["type"] == "quiz")

    def fixed(method: str, path: str, body: Any = None):
        return lambda actor: (method, path, body)

    def take(actor: str):
        roster = w["clients"]["admin"].get(C + f"classes/{a}/enrollments").json()["enrollments"]
        records = [
            {"student": e["student"], "status": "present"}
            for e in roster
            if e["status"] != "withdrawn"
        ]
        taken = w["clients"]["admin"].get(C + f"classes/{a}/attendance").json()["attendance"]
        number = 1 + max(r["meeting_number"] for r in taken)
        body = {"meeting_number": number, "meeting_date": w["today"], "records": records}
        return "POST", C + f"classes/{a}/attendance", body

    def announce(kind: str):
        def op(actor: str):
            body = {"title": f"matrix {actor}", "body": "hello"}
            body.update({"class_id": a} if kind == "class" else {"course": COURSE})
            return "POST", C + "announcements", body

        return op

    def preview(actor: str):
        method, path, body = take(actor)
        return method, path, {**body, "dry_run": True}

    pay = w["payment"]
    admin, certs = w["clients"]["admin"], w["certificate"]
    outline = admin.get(C + f"courses/{COURSE}").json()
    by_slug = {
        e["slug"]: e["id"]
        for section in outline["sections"]
        for lesson in section["lessons"]
        for e in lesson["exercises"]
    }
    written = f"courses/{COURSE}/assignments/02-control-flow/written/explain-fizzbuzz"

    def media(actor: str):
        video = w["clients"]["S1"].get(C + f"exercises/{by_slug['lists-video']}/video").json()
        return "GET", C + "media/" + video["src"].rsplit("/media/", 1)[1], None

    def close_deletion(actor: str):
        pending = admin.get(C + "deletion-requests").json()["deletion_requests"]
        return "POST", C + f"deletion-requests/{pending[0]['id']}", {"status": "withdrawn"}

    def bank_delete(actor: str):
        made = admin.post(G + asg + "/comment-bank", json={"text": f"to delete {actor}"})
        return "DELETE", G + asg + f"/comment-bank/{made.json()['id']}", None

    def line_comment_delete(actor: str):
        body = {"notebook": w["notebook"], "cell": w["cell"], "line": 1, "text": f"x {actor}"}
        made = admin.post(G + asg + f"/line-comments/{s1}", json=body)
        return "DELETE", G + asg + f"/line-comments/{s1}/{made.json()['id']}", None

    def s1_written(tail: str, method: str = "GET", body: Any = None):
        def op(actor: str):
            subs = w["clients"]["S1"].get(G + written).json()["submissions"]
            want = [x for x in subs if x["kind"] == "file"] if tail == "/file" else subs
            return method, G + f"written-submissions/{want[-1]['id']}{tail}", body

        return op

    ops = {
        "campus info GET": fixed("GET", C),
        "campus me GET": fixed("GET", C + "me"),
        "campus openapi GET": fixed("GET", C + "openapi.json"),
        "accounts GET": fixed("GET", C + "accounts"),
        "accounts POST": lambda actor: (
            "POST", C + "accounts", {"name": f"acc-{actor.lower()}-{w['tag']}", "role": "student"}
        ),
        "courses GET": fixed("GET", C + "courses"),
        "course GET": fixed("GET", C + f"courses/{COURSE}"),
        "course PATCH publish": fixed("PATCH", C + f"courses/{COURSE}", {"status": "published"}),
        "me/courses GET": fixed("GET", C + "me/courses"),
        "classes GET": fixed("GET", C + "classes"),
        "classes POST": lambda actor: ("POST", C + "classes", {
            "name": f"new {actor} {w['tag']}", "course": COURSE, "total_meetings": 3,
            "max_capacity": 10, "enrollment_deadline": DEADLINE}),
        "class GET": fixed("GET", C + f"classes/{a}"),
        "class PATCH": fixed("PATCH", C + f"classes/{a}", {"max_capacity": 50}),
        "class staff GET": fixed("GET", C + f"classes/{a}/staff"),
        "class staff POST": lambda actor: (
            "POST", C + f"classes/{a}/staff", {"user": w["staffer"][actor], "role": "ta"}
        ),
        "class staff DELETE": lambda actor: (
            "DELETE", C + f"classes/{a}/staff/{w['staffer'][actor]}", None
        ),
        "class unlocks GET": fixed("GET", C + f"classes/{a}/unlocks"),
        "enrollments GET": fixed("GET", C + f"classes/{a}/enrollments"),
        "enrollments POST (class B)": lambda actor: (
            "POST", C + f"classes/{w['b']}/enrollments", {"student": w["newcomer"][actor]}
        ),
        "enrollment DELETE": lambda actor: (
            "DELETE", C + f"classes/{a}/enrollments/{w['enroll'][actor]}", None
        ),
        "attendance GET": fixed("GET", C + f"classes/{a}/attendance"),
        "attendance POST take": take,
        "attendance PUT edit": fixed("PUT", C + f"classes/{a}/attendance/1", {
            "records": [{"student": s1, "status": "present"}], "notes": "matrix"}),
        "attendance edits GET": fixed("GET", C + f"classes/{a}/attendance/edits"),
        "attendance report GET": fixed("GET", C + f"classes/{a}/attendance/report"),
        "unlock-lesson POST": fixed("POST", C + f"classes/{a}/unlock-lesson", {}),
        "credits GET": fixed("GET", C + f"enrollments/{eid}/credits"),
        "credits history GET": fixed("GET", C + f"enrollments/{eid}/credits/history"),
        "credits adjust POST": fixed("POST", C + f"enrollments/{eid}/credits/adjust", {
            "adjustment": 1, "reason": "bonus", "reason_detail": "matrix"}),
        "announcement class POST": announce("class"),
        "announcement course POST": announce("course"),
        "announcements GET": fixed("GET", C + "announcements"),
        "user progress GET (S1)": fixed("GET", C + f"users/{s1}/progress"),
        "lesson progress GET": fixed("GET", C + "lessons/1/progress"),
        "access GET": fixed("GET", C + f"access/{COURSE}/{LESSON}?user={s1}"),
        "course-roles GET": fixed("GET", C + f"course-roles/{COURSE}?user={s1}"),
        "grading-results POST": fixed("POST", C + "grading-results", {}),
        "xp earn POST": fixed("POST", C + "xp/earn", {"user": s1, "amount": 1, "note": "matrix"}),
        "xp revoke POST": lambda actor: (
            "POST", C + "xp/revoke", {"transaction_id": w["xp_tx"][actor], "note": "matrix"}
        ),
        "lesson GET": fixed("GET", C + f"lessons/{w['lesson']['id']}"),
        "lesson exercises GET": fixed("GET", C + f"lessons/{w['lesson']['id']}/exercises"),
        "exercise GET": fixed("GET", C + f"exercises/{w['lesson']['exercises'][0]['id']}"),
        "user level GET (S1)": fixed("GET", C + f"users/{s1}/level"),
        "badges GET (S1's)": fixed("GET", C + f"badges?user={s1}"),
        "badge award POST": lambda actor: (
            "POST", C + "badges/unlock", {"user": w["enroll"][actor], "badge": w["badge"]}
        ),
        "leaderboard class GET": fixed("GET", C + f"leaderboard?class={a}"),
        "leaderboard course GET": fixed("GET", C + f"leaderboard?course={COURSE}"),
        "preferences PUT": fixed("PUT", C + "me/preferences", {"leaderboard_opt_out": False}),
        "notifications GET": fixed("GET", C + "notifications"),
        "announcement read POST": fixed("POST", C + f"announcements/{w['announcement']}/read", {}),
        "quiz GET": fixed("GET", C + f"quizzes/{quiz}"),
        "quiz results GET": fixed("GET", C + f"quizzes/{quiz}/results"),
        "course quizzes GET": fixed("GET", C + f"courses/{COURSE}/quizzes"),
        "quiz settings PATCH": fixed(
            "PATCH", C + f"quizzes/{quiz}/settings", {"scores_visible": True}
        ),
        "accommodations GET": fixed("GET", C + f"courses/{COURSE}/accommodations"),
        "accommodation PUT (S1)": fixed(
            "PUT", C + f"courses/{COURSE}/accommodations/{s1}", {"multiplier": 1.5}
        ),
        "grader info GET": fixed("GET", G),
        "assignments GET": fixed("GET", G + f"courses/{COURSE}/assignments"),
        "policy GET": fixed("GET", G + asg),
        "policy PUT": fixed("PUT", G + asg, {"counts": "newest"}),
        "release files GET": fixed("GET", G + asg + "/files"),
        "submission GET (S1's)": fixed("GET", G + f"submissions/{uid}"),
        "submission files GET (S1's)": fixed("GET", G + f"submissions/{uid}/files"),
        "feedback GET (S1's)": fixed("GET", G + f"submissions/{uid}/feedback?format=json"),
        "submissions list GET": fixed("GET", G + asg + "/submissions"),
        "grades GET (S1)": fixed("GET", G + asg + f"/grades/{s1}"),
        "grade PUT (S1)": fixed(
            "PUT", G + asg + f"/grades/{s1}/{w['notebook']}/{w['cell']}", {"manual_score": None}
        ),
        "comment PUT (S1)": fixed(
            "PUT",
            G + asg + f"/comments/{s1}/{w['notebook']}/{w['comment_cell']}",
            {"comment": "ok"},
        ),
        "gradebook.csv GET": fixed("GET", G + f"courses/{COURSE}/gradebook.csv"),
        "grading page course GET": fixed("GET", PAGES + f"{COURSE}/grading"),
        "grading page assignment GET": fixed("GET", PAGES + f"{COURSE}/grading/{LESSON}"),
        "grading page submission GET": fixed("GET", PAGES + f"{COURSE}/grading/{LESSON}/{s1}"),
        "regrade POST (S1)": fixed(
            "POST", G + f"courses/{COURSE}/regrade", {"assignment": LESSON, "student": s1}
        ),
        "submissions POST": fixed("POST", G + asg + "/submissions", w["body"]),
        "exam GET": fixed("GET", G + asg + "/exam"),
        "exam POST start": fixed("POST", G + asg + "/exam", {}),
        "exam saved PUT": fixed("PUT", G + asg + "/exam/saved", w["body"]),
        "exam sittings GET": fixed("GET", G + asg + "/exam/sittings"),
        "course exams GET": fixed("GET", G + f"courses/{COURSE}/exams"),
        "grader openapi GET": fixed("GET", G + "openapi.json"),
        "rubric GET": fixed("GET", G + asg + "/rubric"),
        "comment-bank GET": fixed("GET", G + asg + "/comment-bank"),
        "similarity GET": fixed("GET", G + asg + "/similarity"),
        "line comments GET (S1)": fixed("GET", G + asg + f"/line-comments/{s1}"),
        "extension GET (S1)": fixed("GET", G + asg + f"/extensions/{s1}"),
        "course stats GET": fixed("GET", G + f"courses/{COURSE}/stats"),
        "queue stats GET": fixed("GET", G + "stats"),
        "extension PUT (S1)": fixed(
            "PUT", G + asg + f"/extensions/{s1}", {"due_at": "2099-06-01T12:00:00Z",
                                                   "reason": "matrix"}),
        "extension DELETE (S1)": fixed("DELETE", G + asg + f"/extensions/{s1}"),
        "notification read POST (S1's)": fixed(
            "POST", C + f"notifications/read/{w['notification']}", {}),
        "authoring check POST": fixed("POST", C + "authoring/check", w["nbgrader"]),
        "authoring dry-run POST": fixed("POST", C + "authoring/dry-run", w["nbgrader"]),
        "comment-bank POST": fixed("POST", G + asg + "/comment-bank", {"text": "matrix"}),
        "line comment POST (S1)": fixed(
            "POST", G + asg + f"/line-comments/{s1}",
            {"notebook": w["notebook"], "cell": w["cell"], "line": 1, "text": "matrix"}),
        "user profile GET (S1)": fixed("GET", C + f"users/{s1}/profile"),
        "user export GET (S1)": fixed("GET", C + f"users/{s1}/export"),
        "deletion-requests GET": fixed("GET", C + "deletion-requests"),
        "course certificates GET": fixed("GET", C + f"courses/{COURSE}/certificates"),
        "course scores GET (S1)": fixed("GET", C + f"courses/{COURSE}/scores?user={s1}"),
        "me/quizzes GET": fixed("GET", C + "me/quizzes"),
        # a student's own work in lessons 1-3
        "exercise complete POST (material)": fixed(
            "POST", C + f"exercises/{by_slug['welcome']}/complete"),
        "lesson complete POST": fixed("POST", C + f"lessons/{w['lesson']['id']}/complete"),
        "material GET": fixed("GET", C + f"exercises/{by_slug['welcome']}/material"),
        "video GET": fixed("GET", C + f"exercises/{by_slug['lists-video']}/video"),
        "video watch POST": fixed(
            "POST", C + f"exercises/{by_slug['lists-video']}/watch",
            {"ranges": [[0, 1]], "duration": 12}),
        "media GET (S1's signed URL)": media,
        "me/submission xp GET (S1's)": fixed("GET", C + f"me/submissions/{uid}/xp"),
        "quiz attempt POST": fixed("POST", C + f"quizzes/{quiz}/attempts"),
        "quiz answers PUT (attempt 1)": fixed(
            "PUT", C + f"quizzes/{quiz}/attempts/1/answers", {"answers": {}}),
        "quiz submit POST (attempt 1)": fixed("POST", C + f"quizzes/{quiz}/attempts/1/submit", {}),
        # publishing, deletion requests, certificates
        "authoring publish POST (python-intro)": fixed(
            "POST", C + "authoring/publish", {**course_folder(COURSE), "revision": "stale"}),
        "me/deletion-request POST": fixed("POST", C + "me/deletion-request", {"reason": "matrix"}),
        "deletion-request close POST": close_deletion,
        "certificate GET (S2's)": fixed("GET", C + f"certificates/{certs['J']}"),
        "certificate revoke POST": lambda actor: (
            "POST", C + f"certificates/{certs.get(actor, certs['J'])}/revoke",
            {"reason": "matrix"}),
        # grader: release, feedback, rubric, marks, removals
        "release POST (lesson 1)": fixed(
            "POST", G + asg + "/release",
            {"files": course_folder(COURSE, f"lessons/{LESSON}")["files"]}),
        "student feedback POST (S1)": fixed(
            "POST", G + asg + f"/students/{s1}/feedback",
            {"timestamp": "2026-12-07 10:00:00", "notebooks": {w["notebook"]: "<p>matrix</p>"}}),
        "my feedback GET": fixed("GET", G + asg + "/feedback"),
        "rubric PUT (S1's graded cell)": fixed(
            "PUT", G + asg + f"/rubric/{w['notebook']}/{w['cell']}",
            {"items": [{"label": "matrix", "points": 0}]}),
        "marks PUT (S1)": fixed(
            "PUT", G + asg + f"/marks/{s1}/{w['notebook']}/{w['cell']}", {"items": []}),
        "comment-bank DELETE": bank_delete,
        "line comment DELETE (S1)": line_comment_delete,
        # written work
        "written GET": fixed("GET", G + written),
        "written POST text": fixed("POST", G + written, {"text": "matrix"}),
        "written file PUT": fixed("PUT", G + written + "/file?name=essay.txt", b"matrix essay"),
        "written submission GET (S1's)": s1_written(""),
        "written submission file GET (S1's)": s1_written("/file"),
        "written submission grade GET (S1's)": s1_written("/grade"),
        "notifications stream GET": fixed("GET", C + "notifications/stream", STREAM),
        "written grade POST (S1's)": s1_written("/grade", "POST", {"score": 1, "comment": "ok"}),
        # authoring, pre-warm, score visibility
        "authoring manifest POST": fixed("POST", C + "authoring/manifest", w["nbgrader"]),
        "prewarms GET": fixed("GET", C + "prewarms"),
        "class prewarms GET": fixed("GET", C + f"classes/{a}/prewarms"),
        "score-visibility GET": fixed("GET", C + f"courses/{COURSE}/score-visibility"),
        "score-visibility PUT release": fixed(
            "PUT", C + f"courses/{COURSE}/score-visibility",
            {"lesson": LESSON, "exercise": "values", "released": True}),
        # the admin screens' API
        "account GET (S1)": fixed("GET", C + f"accounts/{s1}"),
        "account PATCH enable (S1)": fixed("PATCH", C + f"accounts/{s1}", {"active": True}),
        "account password POST": lambda actor: (
            "POST", C + f"accounts/{w['newcomer'][actor]}/password", None),
        "course review POST submit": fixed(
            "POST", C + f"courses/{COURSE}/review", {"action": "submit"}),
        "settings GET": fixed("GET", C + "settings"),
        "settings PUT": fixed("PUT", C + "settings", {"name": w["school_name"]}),
        "admin audit GET": fixed("GET", C + "audit"),
        # the office's API
        "attendance POST preview": preview,
        "candidates GET": fixed("GET", C + f"classes/{a}/candidates?q=m"),
        "enroll-many POST (class B)": fixed(
            "POST", C + f"classes/{w['b']}/enroll-many", {"students": [f"nobody-{w['tag']}"]}),
        "class audit GET": fixed("GET", C + f"classes/{a}/audit"),
        "class audit CSV GET": fixed("GET", C + f"classes/{a}/audit?format=csv"),
        "class payments GET": fixed("GET", C + f"classes/{a}/payments"),
        "class payments CSV GET": fixed("GET", C + f"classes/{a}/payments?format=csv"),
        "enrollment payments GET (S1's)": fixed("GET", C + f"enrollments/{eid}/payments"),
        "enrollment payments POST (S1's)": fixed(
            "POST", C + f"enrollments/{eid}/payments", {"amount": "1.50", "method": "cash"}),
        "payment proof GET": fixed("GET", C + f"payments/{pay['admin']}/proof"),
        "payment verify POST": lambda actor: ("POST", C + f"payments/{pay[actor]}/verify", None),
        "payment refund POST": lambda actor: ("POST", C + f"payments/{pay[actor]}/refund", None),
    }  # fmt: skip
    return ops


def test_role_matrix(world: dict[str, Any]) -> None:
    ops = operations(world)
    assert set(ops) == set(EXPECTED), set(ops) ^ set(EXPECTED)
    clients = world["clients"]
    cells = 0
    wrong_allow: list[str] = []
    wrong_deny: list[str] = []
    for name, row in EXPECTED.items():
        expected = row.split()
        assert len(expected) == len(ACTORS), name
        for actor, want in zip(ACTORS, expected, strict=True):
            method, path, body = ops[name](actor)
            kwargs: dict[str, Any] = {} if body is None else {"json": body}
            if isinstance(body, bytes):  # a file upload: the file is the body
                kwargs = {"data": body}
            try:
                if body is STREAM:  # never read to its end (the invariant check would)
                    client = clients[actor]
                    url = client.base_url + path
                    with client.session.get(url, stream=True, timeout=30) as resp:
                        got, detail = resp.status_code, resp.headers.get("Content-Type", "")
                else:
                    resp = clients[actor].request(method, path, **kwargs)
                    got, detail = resp.status_code, resp.text[:160]
            except (AssertionError, requests.RequestException) as err:
                got, detail = 599, str(err)[:160]
            cells += 1
            if _matches(want, got):
                continue
            line = f"{name} as {actor} ({WHO[actor]}): expected {want}, got {got}: {detail}"
            (wrong_allow if 200 <= got < 300 else wrong_deny).append(line)
    print(f"\nrole matrix: {cells} cells checked, {len(wrong_allow)} wrong allows, "
          f"{len(wrong_deny)} wrong denies")  # fmt: skip
    for line in wrong_allow:
        print("WRONG ALLOW", line)
    for line in wrong_deny:
        print("WRONG DENY ", line)
    assert not wrong_allow and not wrong_deny, "\n".join(wrong_allow + wrong_deny)


NOT_YET = "not yet in the matrix"
ASG = "/courses/{course}/assignments/{assignment}"  # a grader template's common start
# Operations of the OpenAPI documents the table has no row for, each with its reason. Anything
# else the services serve must have a row: a new endpoint fails the test until it gets one.
EXEMPT: dict[tuple[str, str, str], str] = {
    ("campus", "GET", "/catalog"): "the public catalog: anyone, signed in or not, by design",
    ("campus", "GET", "/catalog/{course}"): "the public catalog: anyone, by design",
    ("campus", "PUT", "/classes/{class_id}"): "the same method as the class PATCH row",
    ("campus", "PATCH", "/classes/{class_id}/attendance/{meeting_number}"): (
        "the same method as the attendance PUT edit row"),
}  # fmt: skip


def _template(templates: list[str], path: str) -> str | None:
    """The OpenAPI path template a concrete path falls under; the most literal one wins
    (`/courses/{course}/quizzes` over `/courses/{course}/{x}`)."""
    parts = path.split("/")
    best: tuple[int, str] | None = None
    for template in templates:
        tparts = template.split("/")
        if len(tparts) != len(parts):
            continue
        literal = 0
        for t, p in zip(tparts, parts, strict=True):
            if t.startswith("{") and t.endswith("}"):
                if not p:
                    break
            elif t != p:
                break
            else:
                literal += 1
        else:
            if best is None or literal > best[0]:
                best = (literal, template)
    return best[1] if best else None


def test_every_operation_has_a_row(world: dict[str, Any]) -> None:
    """Every operation of both services' served OpenAPI documents is called by a row of the
    table, or is in EXEMPT with its reason; an exemption that is no longer needed fails too."""
    admin = world["clients"]["admin"]
    served: dict[tuple[str, str, str], None] = {}
    templates: dict[str, list[str]] = {}
    for service, base in (("campus", C), ("grader", G)):
        doc = admin.get(base + "openapi.json").json()
        templates[service] = list(doc["paths"])
        for template, item in doc["paths"].items():
            for method in item:
                served[(service, method.upper(), template)] = None
    covered: dict[tuple[str, str, str], str] = {}
    for name, op in operations(world).items():
        method, path, _ = op("admin")
        for service, base in (("campus", C), ("grader", G)):
            if path.startswith(base):
                rest = "/" + path[len(base) :].split("?", 1)[0]
                template = _template(templates[service], rest)
                assert template, f"row {name!r}: {method} {path} is in no OpenAPI path"
                covered[(service, method, template)] = name
    missing = [op for op in served if op not in covered and op not in EXEMPT]
    stale = [op for op in EXEMPT if op not in served or op in covered]
    print(f"\nrole matrix coverage: {len(served)} operations served, {len(covered)} with a row, "
          f"{len(EXEMPT)} exempt, {len(missing)} missing")  # fmt: skip
    assert not missing, "operations with no row in the role matrix:\n" + "\n".join(
        f"{s} {m} {t}" for s, m, t in missing
    )
    assert not stale, f"exemptions no longer needed (served no more, or now in a row): {stale}"


def test_new_endpoints_refuse_hostile_input(world: dict[str, Any]) -> None:
    """Today's endpoints called as an attacker would: Unicode digits, huge numbers, path
    traversal, oversized bodies, someone else's course. Each is a JSON 4xx, never a 5xx
    (APIClient raises on a 5xx) and never a 2xx."""
    c, a = world["clients"], world["a"]
    asg = G + f"courses/{COURSE}/assignments/"
    folder = world["nbgrader"]
    acc, s1 = C + f"courses/{COURSE}/accommodations/", world["names"]["S1"]
    huge = "9" * 30
    refusals: list[tuple[str, str, str, Any, tuple[int, ...]]] = [
        # pre-warm records: ids and limits are ASCII digits in range
        ("I", "GET", C + f"classes/{a}/prewarms?limit=²", None, (400,)),
        ("I", "GET", C + f"classes/{a}/prewarms?limit=١٢", None, (400,)),
        ("staff", "GET", C + "prewarms?limit=²", None, (400,)),
        ("staff", "GET", C + f"prewarms?limit={huge}", None, (400,)),
        ("staff", "GET", C + "prewarms?limit=-1", None, (400,)),
        ("staff", "GET", C + "classes/²/prewarms", None, (400,)),
        ("staff", "GET", C + "classes/1%0A/prewarms", None, (400,)),
        ("staff", "GET", C + f"classes/{huge}/prewarms", None, (400,)),
        ("J", "GET", C + f"classes/{a}/prewarms", None, (403,)),
        ("S1", "GET", C + f"classes/{a}/prewarms", None, (403,)),
        # the authoring folder's name is one folder name, nothing else
        ("I", "POST", C + "authoring/manifest", {**folder, "name": "../../etc"}, (400,)),
        ("I", "POST", C + "authoring/manifest", {**folder, "name": ".."}, (400,)),
        ("I", "POST", C + "authoring/manifest", {**folder, "name": "a\\b"}, (400,)),
        ("I", "POST", C + "authoring/manifest", {**folder, "name": "x\u0000y"}, (400,)),
        ("I", "POST", C + "authoring/manifest", {**folder, "name": "\U0001f600" * 100}, (400,)),
        ("I", "POST", C + "authoring/manifest", {**folder, "name": "x" * 101}, (400,)),
        ("I", "POST", C + "authoring/manifest", {**folder, "name": "\ud800"}, (400,)),
        ("I", "POST", C + "authoring/manifest", {"files": {"../../x.ipynb": "e30="}}, (400,)),
        ("S1", "POST", C + "authoring/manifest", folder, (403,)),
        # score visibility: someone else's course, a student, a forged relay, odd names
        ("J", "PUT", C + f"courses/{COURSE}/score-visibility",
         {"lesson": LESSON, "exercise": "values", "released": False}, (403,)),
        ("S1", "PUT", C + f"courses/{COURSE}/score-visibility",
         {"lesson": LESSON, "exercise": "values", "released": True}, (403,)),
        ("J", "PUT", C + f"courses/{OTHER_COURSE}/score-visibility",
         {"lesson": LESSON, "exercise": "values", "released": True,
          "on_behalf_of": world["names"]["I"]}, (403, 404)),
        ("I", "PUT", C + f"courses/{COURSE}/score-visibility",
         {"lesson": LESSON, "exercise": "values", "released": True,
          "on_behalf_of": world["names"]["admin"]}, (403,)),
        ("I", "PUT", C + f"courses/{COURSE}/score-visibility",
         {"lesson": "../01-values", "exercise": "values", "released": True}, (400, 404)),
        ("I", "PUT", C + f"courses/{COURSE}/score-visibility",
         {"lesson": LESSON, "exercise": "values", "released": "yes"}, (400,)),
        ("I", "PUT", C + f"courses/{COURSE}/score-visibility",
         {"lesson": LESSON, "exercise": "x" * 3_000_000, "released": True}, (400, 413)),
        ("I", "GET", C + "courses/²/score-visibility", None, (404,)),
        ("I", "GET", C + f"courses/{COURSE}%0A/score-visibility", None, (400, 404)),
        ("I", "GET", C + f"courses/{'x' * 5000}/score-visibility", None, (404,)),
        ("I", "PUT", C + f"courses/{COURSE + 'x' * 200}/score-visibility",
         {"lesson": LESSON, "exercise": "values", "released": True}, (404,)),
        # exam time accommodations (the Office's): no extra time for oneself or a stranger
        ("S1", "PUT", acc + s1, {"multiplier": 5}, (403,)),
        ("J", "PUT", acc + s1, {"multiplier": 5}, (403,)),
        ("I", "PUT", acc + world["names"]["S2"], {"multiplier": 2}, (404,)),
        ("I", "PUT", acc + "²", {"multiplier": 2}, (404,)),
        ("I", "PUT", acc + "x" * 5000, {"multiplier": 2}, (400, 404)),
        ("I", "PUT", acc + s1, {"multiplier": 1e308}, (400,)),
        ("I", "PUT", acc + s1, {"multiplier": 0.5}, (400,)),
        ("I", "PUT", acc + s1, {"multiplier": "2"}, (400,)),
        # notebook exams: bad names, another course, oversized saves, a student's sittings
        ("S1", "GET", asg + "0²-values/exam", None, (400, 404)),
        ("S1", "GET", asg + "01-values%0A/exam", None, (400, 403, 404)),
        ("S1", "POST", asg + "01-values%0A/exam", {}, (400, 403, 404)),
        ("I", "GET", asg + "01-values%0A/exam/sittings", None, (400, 404)),
        ("S1", "POST", asg + "..%2F..%2Fetc/exam", {}, (400, 404)),
        ("S1", "POST", G + f"courses/{OTHER_COURSE}/assignments/{LESSON}/exam", {}, (403, 404)),
        ("S1", "GET", asg + f"{LESSON}/exam/sittings", None, (403,)),
        ("S1", "GET", G + f"courses/{COURSE}/exams", None, (403,)),
        ("J", "GET", asg + f"{LESSON}/exam/sittings", None, (403,)),
        ("S1", "PUT", asg + f"{LESSON}/exam/saved",
         {"files": {"x.ipynb": "A" * (33 * 2**20)}}, (404, 413)),
        ("S1", "PUT", asg + f"{LESSON}/exam/saved", {"files": "nope"}, (400, 404)),
        # the grading view's release control: only the course's instructors
        ("S1", "POST", PAGES + f"{COURSE}/grading/score-release", None, (403,)),
        ("J", "POST", PAGES + f"{COURSE}/grading/score-release", None, (403,)),
        ("T", "POST", PAGES + f"{COURSE}/grading/score-release", None, (403,)),
    ]  # fmt: skip
    wrong: list[str] = []
    for actor, method, path, body, allowed in refusals:
        form = {"lesson": LESSON, "exercise": "values", "released": "1"}
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        if "score-release" in path:
            kwargs = {"data": form}
        try:
            resp = c[actor].request(method, path, **kwargs)
            got, detail = resp.status_code, resp.text[:200]
        except (AssertionError, requests.RequestException) as err:
            got, detail = 599, str(err)[:300]
        if got not in allowed:
            wrong.append(f"{method} {path[:120]} as {actor}: want {allowed}, got {got}: {detail}")
    assert not wrong, "\n".join(wrong)


EXAM_COURSE = "matrix-exam"
EXAM_API = G + f"courses/{EXAM_COURSE}/assignments/01-final/"
VALUES = Path(__file__).resolve().parents[1] / "courses/python-intro/lessons/01-values/values.ipynb"


@pytest.fixture(scope="module")
def exam_class(
    campus_hub: CampusHub, world: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, APIClient]:
    """A notebook exam open now, in a class of its own teacher and two students."""
    course = tmp_path_factory.mktemp("matrix-exam") / EXAM_COURSE
    (course / "lessons" / "01-final").mkdir(parents=True)
    shutil.copy(VALUES, course / "lessons" / "01-final" / "values.ipynb")
    now = dt.datetime.now(dt.UTC)
    exam = {"opens": (now - dt.timedelta(hours=1)).isoformat(),
            "closes": (now + dt.timedelta(hours=2)).isoformat(), "time_limit": 30}  # fmt: skip
    manifest = {
        "slug": EXAM_COURSE, "title": "Matrix exam", "published": True,
        "sections": [{"slug": "all", "lessons": [{"slug": "01-final", "exercises": [
            {"slug": "values", "title": "Final", "type": "coding", "exam": exam}]}]}],
    }  # fmt: skip
    (course / "course.yaml").write_text(yaml.safe_dump(manifest))
    tag = world["tag"]
    names = {"teacher": f"mx-t-{tag}", "ann": f"mx-ann-{tag}", "bob": f"mx-bob-{tag}"}
    open_class(campus_hub, course, EXAM_COURSE, f"Exam {tag}", names)
    clients = {key: campus_hub.client(name) for key, name in names.items()}
    # the grader generates the student version at the first fetch, before any clock runs
    assert clients["teacher"].get(EXAM_API + "files", timeout=600).status_code == 200
    return clients


def test_a_notebook_exam_is_each_students_own(
    world: dict[str, Any], exam_class: dict[str, APIClient]
) -> None:
    """One student cannot see, save into or submit another's sitting; the sittings are for
    the class's teacher alone; bad names and oversized saves are JSON 4xx."""
    ann, bob, teacher = exam_class["ann"], exam_class["bob"], exam_class["teacher"]
    w = world["clients"]
    started = ann.post(EXAM_API + "exam", json={})
    assert started.status_code == 201, started.text
    # bob sees no sitting of his own, cannot save or submit into ann's
    mine = bob.get(EXAM_API + "exam")
    assert mine.status_code == 200 and mine.json()["sitting"] is None, mine.text
    nb = base64.b64encode(VALUES.read_bytes()).decode()
    saved = bob.put(EXAM_API + "exam/saved", json={"files": {"values.ipynb": nb}})
    assert saved.status_code == 409 and saved.json()["code"] == "EXAM_NOT_STARTED", saved.text
    sub = bob.post(EXAM_API + "submissions", json={"files": {"values.ipynb": nb}})
    assert sub.status_code == 409, sub.text
    # the sittings: the class's teacher only (ann's alone there)
    for who, client in (("ann", ann), ("bob", bob), ("J", w["J"]), ("S2", w["S2"]),
                        ("I", w["I"]), ("T", w["T"])):  # fmt: skip
        for path in (EXAM_API + "exam/sittings", G + f"courses/{EXAM_COURSE}/exams"):
            resp = client.get(path)
            assert resp.status_code == 403, f"{who} {path}: {resp.status_code} {resp.text}"
    sittings = teacher.get(EXAM_API + "exam/sittings")
    assert sittings.status_code == 200, sittings.text
    students = [s["student"] for s in sittings.json()["sittings"]]
    assert students == [ann.get(C + "me").json()["name"]], students
    # students of no class of the course cannot start it
    for who in ("S1", "S2", "J"):
        resp = w[who].post(EXAM_API + "exam", json={})
        assert resp.status_code == 403, f"{who}: {resp.status_code} {resp.text}"
    # ann's own saves: only the exam's notebook, named safely, within the size limit
    bad = [
        ({"files": {"../../values.ipynb": nb}}, (400,)),
        ({"files": {"other.ipynb": nb}}, (400,)),
        ({"files": {"values.ipynb": "not base64!"}}, (400,)),
        ({"files": {}}, (400,)),
        ({"files": {"values.ipynb": "A" * (33 * 2**20)}}, (413,)),
    ]
    for body, allowed in bad:
        resp = ann.put(EXAM_API + "exam/saved", json=body)
        assert resp.status_code in allowed, f"{str(body)[:80]}: {resp.status_code} {resp.text}"
    for path in ("01-fin²l/exam", "01-final%0A/exam", "..%2Fetc/exam"):
        resp = ann.get(G + f"courses/{EXAM_COURSE}/assignments/{path}")
        assert resp.status_code in (400, 403, 404), f"{path}: {resp.status_code} {resp.text}"
    ok = ann.put(EXAM_API + "exam/saved", json={"files": {"values.ipynb": nb}})
    assert ok.status_code == 200, ok.text
    # releasing the exam's scores: not for an instructor of another course
    release = {"lesson": "01-final", "exercise": "values", "released": True}
    for who in ("J", "I", "S1"):
        resp = w[who].put(C + f"courses/{EXAM_COURSE}/score-visibility", json=release)
        assert resp.status_code == 403, f"{who}: {resp.status_code} {resp.text}"
    assert teacher.put(C + f"courses/{EXAM_COURSE}/score-visibility", json=release).ok
