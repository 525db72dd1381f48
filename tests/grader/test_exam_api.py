"""A notebook lesson taken as a timed exam through a real Hub, on SQLite and PostgreSQL: the
notebook is released only once the student starts it, the deadline comes from the server's
clock and the student's extra time (whatever the client's clock says), the work the Lab saved
is submitted at the deadline and anything later is refused with a JSON error, one attempt, a
double submission counted once, a receipt, the graded score held back from the student, and
the sittings for the class's teacher alone."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest
import yaml
from harness.classroom import open_class
from harness.grading import wait_graded
from harness.hub import CampusHub

from .notebooks import source_notebook, student_version, write

pytestmark = pytest.mark.slow
CAMPUS = "services/campus/api/v1/"
API = "services/grader/api/v1/"
COURSE = "exam-demo"
NAMES = {"teacher": "ex-teacher", "ann": "ex-ann", "bob": "ex-bob", "cid": "ex-cid"}
EXAM = API + f"courses/{COURSE}/assignments/01-final/exam"
RELEASE = API + f"courses/{COURSE}/assignments/01-final/files"
SUBMIT = API + f"courses/{COURSE}/assignments/01-final/submissions"
LIMIT_S = 20  # bob's time, time enough for his start and save (ann has three times as long)
GRACE_S = 10  # the grader's default exam_grace_seconds
ANSWER = "def double(x):\n    return 2 * x"
TESTS = [("t1", "assert double(2) == 4", 1.0), ("t2", "assert double(5) == 10", 1.0)]


def notebook_files(release: dict, answer: str, tmp: Path) -> dict[str, str]:
    path = tmp / "final.ipynb"
    path.write_bytes(base64.b64decode(release["files"]["final.ipynb"]))
    nb = student_version(path, answer)
    return {"final.ipynb": base64.b64encode(nbformat.writes(nb).encode()).decode()}


@pytest.fixture(scope="module")
def exam_class(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict:
    course = tmp_path_factory.mktemp("exam-course")
    write(source_notebook(ANSWER, TESTS), course / "lessons" / "01-final" / "final.ipynb")
    now = datetime.now(UTC)
    exam = {
        "opens": (now - timedelta(hours=1)).isoformat(),
        "closes": (now + timedelta(hours=2)).isoformat(),
        "time_limit": LIMIT_S / 60,
    }
    manifest = {
        "slug": COURSE, "title": "Exam demo", "published": True,
        "sections": [{"slug": "all", "lessons": [{"slug": "01-final", "exercises": [
            {"slug": "final", "title": "Final exam", "type": "coding", "xp": 30, "exam": exam},
        ]}]}],
    }  # fmt: skip
    (course / "course.yaml").write_text(yaml.safe_dump(manifest))
    cid, passwords = open_class(campus_hub, course, COURSE, "Exam class", NAMES)
    teacher = campus_hub.client(NAMES["teacher"])
    # nbgrader generates the student version at the first release (slow on a busy machine):
    # a teacher's fetch does it before any student's clock runs
    assert teacher.get(RELEASE, timeout=600).status_code == 200
    resp = teacher.put(CAMPUS + f"courses/{COURSE}/accommodations/{NAMES['ann']}",
                       json={"multiplier": 3})  # fmt: skip
    assert resp.status_code == 200, resp.text
    return {"class_id": cid, "passwords": passwords}


def test_the_exam_starts_on_the_servers_clock_and_releases_then(
    campus_hub: CampusHub, exam_class: dict, tmp_path: Path
) -> None:
    bob = campus_hub.client(NAMES["bob"])
    refused = bob.get(RELEASE)
    assert refused.status_code == 409 and refused.json()["code"] == "EXAM_NOT_STARTED"
    before = bob.get(EXAM).json()
    assert before["state"] == "open" and before["sitting"] is None
    assert before["time_limit_seconds"] == LIMIT_S
    # a client whose clock is a day ahead (or behind) changes nothing: no time is read from it
    wrong = {"Date": "Tue, 08 Dec 2026 09:00:00 GMT", "X-Client-Time": "2026-12-08T09:00:00Z"}
    started = bob.post(EXAM, json={}, headers=wrong)
    assert started.status_code == 201, started.text
    sitting = started.json()["sitting"]
    assert LIMIT_S - 5 < sitting["remaining_seconds"] <= LIMIT_S
    deadline = datetime.fromisoformat(sitting["deadline"])
    assert deadline - datetime.fromisoformat(sitting["started_at"]) == timedelta(seconds=LIMIT_S)
    again = bob.post(EXAM, json={})
    assert again.status_code == 200
    assert again.json()["sitting"]["started_at"] == sitting["started_at"]
    release = bob.get(RELEASE)
    assert release.status_code == 200
    # his Lab saves at once: this is what the deadline will submit
    files = notebook_files(release.json(), ANSWER, tmp_path)
    saved = bob.put(EXAM + "/saved", json={"files": files})
    assert saved.status_code == 200, saved.text
    assert saved.json()["saved_files"] == ["final.ipynb"]
    bad = bob.put(EXAM + "/saved", json={"files": {"final.ipynb": "not base64!"}})
    assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_ERROR"
    ann = campus_hub.client(NAMES["ann"]).post(EXAM, json={}).json()["sitting"]
    assert ann["multiplier"] == 3 and ann["remaining_seconds"] > 3 * LIMIT_S - 5


def test_saved_work_is_submitted_at_the_deadline_and_later_refused(
    campus_hub: CampusHub, exam_class: dict, tmp_path: Path
) -> None:
    bob = campus_hub.client(NAMES["bob"])
    sitting = bob.get(EXAM).json()["sitting"]
    files = notebook_files(bob.get(RELEASE).json(), ANSWER, tmp_path)  # what he saved
    assert sitting["saved_files"] == ["final.ipynb"]
    # after the deadline and its grace the first request closes the exam with the saved work
    deadline = datetime.fromisoformat(sitting["deadline"])
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + GRACE_S + 1)
    late = bob.put(EXAM + "/saved", json={"files": notebook_files(
        bob.get(RELEASE).json(), "def double(x):\n    return 0", tmp_path)})  # fmt: skip
    assert late.status_code == 409 and late.json()["code"] == "TIME_UP", late.text
    view = bob.get(EXAM).json()
    closed = view["sitting"]
    assert view["state"] == "submitted" and closed["auto_submitted"] and closed["receipt"]
    assert closed["submitted_at"] == sitting["deadline"]
    assert bob.post(SUBMIT, json={"files": files}).json()["code"] == "TIME_UP"
    kept = bob.get(API + f"submissions/{closed['submission_id']}/files").json()["files"]
    assert kept == files  # exactly what the Lab saved
    # a submission without a start is refused: the time counts from the start
    cid = campus_hub.client(NAMES["cid"])
    assert cid.post(SUBMIT, json={"files": files}).json()["code"] == "EXAM_NOT_STARTED"


def test_one_attempt_counted_once_with_its_receipt_and_hidden_score(
    campus_hub: CampusHub, exam_class: dict, tmp_path: Path
) -> None:
    ann = campus_hub.client(NAMES["ann"])
    files = notebook_files(ann.get(RELEASE).json(), ANSWER, tmp_path)
    first = ann.post(SUBMIT, json={"files": files})
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["exam"]["status"] == "submitted" and not body["exam"]["auto_submitted"]
    receipt = body["exam"]["receipt"]
    again = ann.post(SUBMIT, json={"files": files})
    assert again.status_code == 200 and again.json()["already_submitted"]
    assert again.json()["id"] == body["id"] and again.json()["exam"]["receipt"] == receipt
    other = notebook_files(ann.get(RELEASE).json(), "def double(x):\n    return x + x", tmp_path)
    refused = ann.post(SUBMIT, json={"files": other})
    assert refused.status_code == 409 and refused.json()["code"] == "ATTEMPT_FINISHED"
    mine = ann.get(SUBMIT).json()["submissions"]
    assert [s["id"] for s in mine] == [body["id"]]
    # graded in full, and the score stays the teachers' until released
    teacher = campus_hub.client(NAMES["teacher"])
    graded = wait_graded(teacher, body["id"], timeout=180, poll=1)
    assert graded["status"] == "graded" and graded["score"] == 2.0, graded
    for _ in range(30):
        progress = ann.get(CAMPUS + f"users/{NAMES['ann']}/progress").json()["exercises"]
        final = [e for e in progress if e["exercise"] == "final"]
        if final:
            break
        time.sleep(1)
    assert final and all(e["score"] is None and e["score_hidden"] for e in final), final
    assert not any(e["completed"] for e in final)  # completion (and XP) would tell the score
    # the grader's answers to the student hold no score either, a repeated submit included
    for seen in (ann.get(API + f"submissions/{body['id']}").json(),
                 ann.post(SUBMIT, json={"files": files}).json()):  # fmt: skip
        assert seen["score"] is None and seen["result"] is None and seen["score_hidden"], seen


def test_the_teacher_sees_every_sitting_and_students_are_refused(
    campus_hub: CampusHub, exam_class: dict, make_user
) -> None:
    teacher = campus_hub.client(NAMES["teacher"])
    view = teacher.get(EXAM + "/sittings")
    assert view.status_code == 200, view.text
    by = {s["student"]: s for s in view.json()["sittings"]}
    assert set(by) == {NAMES["ann"], NAMES["bob"]}
    assert by[NAMES["bob"]]["auto_submitted"] and by[NAMES["ann"]]["multiplier"] == 3
    for name in (NAMES["ann"], NAMES["cid"]):
        refused = campus_hub.client(name).get(EXAM + "/sittings")
        assert refused.status_code == 403 and json.loads(refused.text)["code"]
    exams = teacher.get(API + f"courses/{COURSE}/exams").json()["exams"]
    assert [e["assignment"] for e in exams] == ["01-final"] and len(exams[0]["sittings"]) == 2
    assert campus_hub.client(NAMES["cid"]).get(API + f"courses/{COURSE}/exams").status_code == 403
    outsider = campus_hub.client(make_user("student")["name"])
    assert outsider.post(EXAM, json={}).status_code in (403, 404)
    assert outsider.get(EXAM + "/sittings").status_code == 403
