"""The grader service through a real Hub: fetch, submit, autograde on submit, teachers' views."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
import requests
from harness.grading import wait_graded
from harness.hub import CampusHub

pytestmark = pytest.mark.slow
API = "services/grader/api/v1/"
CAMPUS = "services/campus/api/v1/"
COURSE = "python-intro"
REPO = Path(__file__).resolve().parents[2]


def test_student_fetches_submits_and_sees_score_within_seconds(campus_hub: CampusHub) -> None:
    alice = campus_hub.client(campus_hub.demo("student")["name"])
    listed = alice.get(API + f"courses/{COURSE}/assignments").json()["assignments"]
    # release follows the campus unlock: the demo class unlocked the first lesson only
    assert [a["name"] for a in listed] == ["01-values"]
    files = alice.get(API + f"courses/{COURSE}/assignments/01-values/files").json()["files"]
    assert files and all(n.endswith(".ipynb") for n in files)
    released = base64.b64decode(next(iter(files.values()))).decode()
    assert "### BEGIN SOLUTION" not in released and "BEGIN HIDDEN TESTS" not in released
    locked = alice.get(API + f"courses/{COURSE}/assignments/02-control-flow/files")
    assert locked.status_code == 403 and locked.json()["code"] == "LOCKED"

    # a right answer: the instructor's source notebook, submitted as the student's file
    source = REPO / "courses" / COURSE / "lessons" / "01-values"
    nb = next(source.glob("*.ipynb"))
    body = {"files": {nb.name: base64.b64encode(nb.read_bytes()).decode()}}
    t0 = time.monotonic()
    resp = alice.post(API + f"courses/{COURSE}/assignments/01-values/submissions", json=body)
    assert resp.status_code == 202, resp.text
    sub = wait_graded(alice, resp.json()["id"], timeout=60, poll=0.2)
    elapsed = time.monotonic() - t0
    assert sub["status"] == "graded", sub
    assert sub["score"] == sub["max_score"] > 0
    tests = sub["result"]["notebooks"][0]["tests"]
    assert tests and all(t["passed"] for t in tests if t["kind"] == "test")
    assert elapsed < 30

    # a wrong answer: the released notebook as is (solutions not written)
    released_nb = {nb.name: next(iter(files.values()))}
    resp = alice.post(
        API + f"courses/{COURSE}/assignments/01-values/submissions", json={"files": released_nb}
    )
    wrong = wait_graded(alice, resp.json()["id"], timeout=60, poll=0.2)
    assert wrong["status"] == "graded" and wrong["score"] < sub["score"]

    # submitting a locked lesson is refused; bad input gets a JSON 4xx
    resp = alice.post(API + f"courses/{COURSE}/assignments/02-control-flow/submissions", json=body)
    assert resp.status_code == 403
    for bad in ({}, {"files": {"../x.ipynb": "eA=="}}, {"files": {"a.ipynb": "not base64!"}}):
        resp = alice.post(API + f"courses/{COURSE}/assignments/01-values/submissions", json=bad)
        assert resp.status_code == 400, resp.text

    # another student sees neither the submission nor the course gradebook
    bob = campus_hub.client("bob")
    assert bob.get(API + f"submissions/{sub['id']}").status_code == 404
    assert bob.get(API + f"courses/{COURSE}/regrade").status_code in (403, 405)

    # the campus recorded the exercise result (posted by the grader with its own token)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        prog = alice.get(CAMPUS + f"users/{campus_hub.demo('student')['name']}/progress").json()
        if any(e.get("score") for e in prog["exercises"]):
            break
        time.sleep(0.5)
    assert any(e.get("score") for e in prog["exercises"]), prog

    # the course's instructor sees every submission, adjusts a grade and exports the gradebook
    teacher = campus_hub.client(campus_hub.demo("instructor")["name"])
    subs = teacher.get(API + f"courses/{COURSE}/assignments/01-values/submissions").json()
    assert {s["id"] for s in subs["submissions"]} >= {sub["id"], wrong["id"]}
    name = campus_hub.demo("student")["name"]
    grades = teacher.get(API + f"courses/{COURSE}/assignments/01-values/grades/{name}").json()
    cell = grades["grades"][0]
    resp = teacher.put(
        API + f"courses/{COURSE}/assignments/01-values/grades/{name}/{cell['notebook']}"
        f"/{cell['cell']}",
        json={"manual_score": 0},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["score"] == 0
    token = campus_hub.token_for(campus_hub.demo("instructor")["name"])
    csv = requests.get(
        campus_hub.url + API + f"courses/{COURSE}/gradebook.csv",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert csv.status_code == 200 and csv.text.startswith("student,assignment,score")
    assert name in csv.text
    assert (
        alice.get(API + f"courses/{COURSE}/assignments/01-values/grades/{name}").status_code == 403
    )

    # regrade from the API: the counted submission is graded again
    resp = teacher.post(API + f"courses/{COURSE}/regrade", json={"assignment": "01-values"})
    assert resp.status_code == 202 and resp.json()["queued"]
    again = wait_graded(teacher, resp.json()["queued"][0], timeout=60, poll=0.2)
    assert again["status"] == "graded"


EXCHANGE_CONFIG = """
from nbcampus.grader.exchange import configure
c = configure(get_config())
c.CourseDirectory.course_id = "python-intro"
"""


def test_nbgrader_student_commands_over_http(campus_hub: CampusHub, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    student = "bob"
    home = tmp_path / "home"
    home.mkdir()
    (home / "nbgrader_config.py").write_text(EXCHANGE_CONFIG)
    env = {
        **os.environ,
        "NBCAMPUS_GRADER_URL": campus_hub.url + "services/grader/",
        "JUPYTERHUB_API_TOKEN": campus_hub.token_for(student),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"),
    }
    nbgrader = str(Path(sys.executable).parent / "nbgrader")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [nbgrader, *args], cwd=home, env=env, capture_output=True, text=True, timeout=120
        )

    listed = run("list")
    assert listed.returncode == 0, listed.stderr
    assert "01-values" in listed.stderr + listed.stdout
    assert "02-control-flow" not in listed.stderr + listed.stdout  # locked for bob's class
    fetched = run("fetch_assignment", "01-values")
    assert fetched.returncode == 0, fetched.stderr
    notebooks = list((home / "01-values").glob("*.ipynb"))
    assert notebooks
    # bob writes the right answers: the solution cells of the instructor's notebook
    source = REPO / "courses" / COURSE / "lessons" / "01-values" / notebooks[0].name
    notebooks[0].write_bytes(source.read_bytes())
    submitted = run("submit", "01-values")
    assert submitted.returncode == 0, submitted.stderr
    locked = run("fetch_assignment", "02-control-flow")
    assert locked.returncode != 0 and "locked" in (locked.stderr + locked.stdout)

    bob = campus_hub.client(student)
    subs = bob.get(API + f"courses/{COURSE}/assignments/01-values/submissions").json()
    sub = wait_graded(bob, subs["submissions"][-1]["id"], timeout=60, poll=0.2)
    assert sub["score"] == sub["max_score"] > 0
    feedback = run("fetch_feedback", "01-values")
    assert feedback.returncode == 0, feedback.stderr
    assert list((home / "01-values" / "feedback").rglob("results.json"))
    # nbgrader's HTML feedback of the latest graded submission, beside its results
    html = list((home / "01-values" / "feedback").rglob("values.html"))
    assert len(html) == 1 and "Test cell" in html[0].read_text()


def test_late_penalty_set_by_the_teacher(campus_hub: CampusHub) -> None:
    teacher = campus_hub.client(campus_hub.demo("instructor")["name"])
    path = API + f"courses/{COURSE}/assignments/01-values"
    resp = teacher.put(
        path,
        json={
            "due_at": "2020-01-01T00:00:00+00:00",
            "late_penalty_per_hour": 1000,
            "late_penalty_max_fraction": 0.5,
        },
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["late_penalty_max_fraction"] == 0.5
    carol = campus_hub.client("carol")
    assert carol.put(path, json={"late_penalty_per_hour": 0}).status_code == 403
    assert teacher.put(path, json={"counts": "worst"}).status_code == 400
    assert teacher.put(path, json={"due_at": "yesterday"}).status_code == 400
    source = REPO / "courses" / COURSE / "lessons" / "01-values"
    nb = next(source.glob("*.ipynb"))
    body = {"files": {nb.name: base64.b64encode(nb.read_bytes()).decode()}}
    resp = carol.post(path + "/submissions", json=body)
    assert resp.status_code == 202, resp.text
    sub = wait_graded(carol, resp.json()["id"], timeout=60, poll=0.2)
    assert sub["late_penalty"] == sub["max_score"] / 2
    assert sub["score"] == sub["max_score"] / 2
    # a manual grade keeps the late penalty in the submission's score
    grades = teacher.get(path + "/grades/carol").json()["grades"]
    cell = grades[0]
    resp = teacher.put(
        path + f"/grades/carol/{cell['notebook']}/{cell['cell']}",
        json={"manual_score": cell["max_score"]},
    )
    assert resp.status_code == 200, resp.text
    assert teacher.get(API + f"submissions/{sub['id']}").json()["score"] == sub["max_score"] / 2
    teacher.put(path, json={"due_at": None, "late_penalty_per_hour": 0})
