"""nbgrader's instructor commands over the HTTP exchange, against a running Hub: nbgrader's own
example course imported unchanged, then `release_assignment`, `list --inbound`, `collect`,
nbgrader's own `autograde` and `generate_feedback`, `release_feedback` from an instructor's
terminal (the real nbgrader CLI in a subprocess), students' `fetch_assignment`, `submit` and
`fetch_feedback`, and a student refused every instructor command."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from harness.hub import CampusHub
from harness.reference import PS1

pytestmark = pytest.mark.slow
CAMPUS = "services/campus/api/v1/"
GRADER = "services/grader/api/v1/"
COURSE = "ps1-course"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")
NBCAMPUS = str(Path(sys.executable).parent / "nbcampus")
CONFIG = """
from nbcampus.grader.exchange import configure
c = configure(get_config())
c.CourseDirectory.course_id = {course!r}
"""


class Terminal:
    """Someone's terminal: a home folder with an nbgrader_config.py and their Hub token."""

    def __init__(self, hub: CampusHub, user: str, home: Path) -> None:
        home.mkdir(parents=True)
        (home / "nbgrader_config.py").write_text(CONFIG.format(course=COURSE))
        self.home = home
        self.env = {
            **os.environ,
            "NBCAMPUS_GRADER_URL": hub.url + "services/grader/",
            "JUPYTERHUB_API_TOKEN": hub.token_for(user),
            "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
            "HOME": str(home),
            # an activated environment, as in a Lab terminal (nbgrader calls `alembic`)
            "PATH": str(Path(NBGRADER).parent) + os.pathsep + os.environ.get("PATH", ""),
        }

    def nbgrader(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [NBGRADER, *args], cwd=self.home, env=self.env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip

    def ok(self, *args: str) -> str:
        out = self.nbgrader(*args)
        assert out.returncode == 0, f"nbgrader {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
        return out.stdout + out.stderr


@pytest.fixture(scope="module")
def ps1_class(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """nbgrader's example course imported with one command into the running campus, and a
    class of it: an instructor, two students; no lesson unlocked yet."""
    course = tmp_path_factory.mktemp("ps1") / COURSE
    shutil.copytree(PS1 / "source", course / "source")
    out = subprocess.run(
        [NBCAMPUS, "course", "import", str(course / "source")],
        env=campus_hub.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["exercises"] == 2
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    names = {"teacher": "ps1-teacher", "a": "ps1-ann", "b": "ps1-ben"}
    for key, name in names.items():
        role = "instructor" if key == "teacher" else "student"
        resp = admin.post(CAMPUS + "accounts", json={"name": name, "role": role})
        assert resp.status_code == 201, resp.text
    # The class (staff's work) straight through the campus's domain functions, on the
    # running campus's database.
    from nbcampus.db import make_engine, session_factory, transaction
    from nbcampus.hub.campus import classes
    from nbcampus.settings import Settings

    engine = make_engine(Settings.from_env(campus_hub.env).database_url("campus"))
    try:
        with transaction(session_factory(engine)) as s:
            klass = classes.create_class(
                s,
                name="PS1 group",
                course_slug=COURSE,
                type="group",
                total_meetings=2,
                max_capacity=5,
                instructor=names["teacher"],
                created_by="tests",
                status="enrollment_open",
            )
            cid = klass.id
        with transaction(session_factory(engine)) as s:
            for key in ("a", "b"):
                classes.enroll(s, cid, names[key], "tests")
    finally:
        engine.dispose()
    return {"id": cid, "course_dir": course, **names}


# A dozen nbgrader commands, each a fresh Python process, two of them running notebooks: more
# than the suite's default limit on a loaded machine.
@pytest.mark.timeout(900)
def test_instructor_commands_over_http(
    campus_hub: CampusHub, ps1_class: dict, tmp_path: Path
) -> None:
    teacher = Terminal(campus_hub, ps1_class["teacher"], tmp_path / "teacher")
    ann = Terminal(campus_hub, ps1_class["a"], tmp_path / "ann")
    # The instructor's course folder is nbgrader's: source/ps1/ (they edit problem2)
    shutil.copytree(ps1_class["course_dir"] / "source", teacher.home / "source")
    problem2 = teacher.home / "source" / "ps1" / "problem2.ipynb"
    nb = json.loads(problem2.read_text())
    note = "A note the instructor added before releasing."
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": [note]})
    problem2.write_text(json.dumps(nb))

    # release_assignment: the grader generates the student version from the sources sent
    log = teacher.ok("release_assignment", "ps1")
    assert "Released as: ps1-course ps1" in log and "jupyter.png" in log
    # ...and release follows the class's unlocks: not yet unlocked, ann cannot fetch it
    assert "ps1-course ps1 " not in ann.ok("list")
    locked = ann.nbgrader("fetch_assignment", "ps1")
    assert locked.returncode != 0 and "locked" in locked.stdout + locked.stderr
    instructor = campus_hub.client(ps1_class["teacher"])
    body = {
        "meeting_number": 1,
        "meeting_date": "2026-12-01",
        "records": [
            {"student": ps1_class["a"], "status": "present"},
            {"student": ps1_class["b"], "status": "present"},
        ],
    }
    resp = instructor.post(CAMPUS + f"classes/{ps1_class['id']}/attendance", json=body)
    assert resp.status_code == 201, resp.text
    resp = instructor.post(CAMPUS + f"classes/{ps1_class['id']}/unlock-lesson", json={})
    assert resp.status_code in (200, 201), resp.text

    # ann fetches: jupyter.png comes with problem1, and the released edit is there
    assert "ps1-course ps1 released" in ann.ok("list")
    ann.ok("fetch_assignment", "ps1")
    fetched = ann.home / "ps1"
    assert sorted(p.name for p in fetched.iterdir()) == [
        "jupyter.png",
        "problem1.ipynb",
        "problem2.ipynb",
    ]
    assert (fetched / "jupyter.png").read_bytes() == (PS1 / "source/ps1/jupyter.png").read_bytes()
    assert note in (fetched / "problem2.ipynb").read_text()
    assert "BEGIN SOLUTION" not in (fetched / "problem1.ipynb").read_text()
    # she hands in Ben Bitdiddle's answers from nbgrader's example
    for name in ("problem1.ipynb", "problem2.ipynb"):
        shutil.copy(PS1 / "submitted" / "bitdiddle" / "ps1" / name, fetched / name)
    ann.ok("submit", "ps1")

    # list --inbound: every student's submissions, as nbgrader's own list prints them
    inbound = teacher.ok("list", "--inbound")
    assert f"ps1-course {ps1_class['a']} ps1 " in inbound
    assert ps1_class["b"] not in inbound  # ben never submitted

    # collect: nbgrader's layout submitted/<student>/<assignment>/ with timestamp.txt
    teacher.ok("collect", "ps1")
    collected = teacher.home / "submitted" / ps1_class["a"] / "ps1"
    assert sorted(p.name for p in collected.iterdir()) == [
        "jupyter.png",
        "problem1.ipynb",
        "problem2.ipynb",
        "timestamp.txt",
    ]
    assert (collected / "problem1.ipynb").read_bytes() == (
        PS1 / "submitted/bitdiddle/ps1/problem1.ipynb"
    ).read_bytes()
    assert "already exists" in teacher.ok("collect", "ps1")
    assert "No newer submission" in teacher.ok("collect", "--update", "ps1")

    # nbgrader's own autograde and generate_feedback, locally; release_feedback over HTTP
    teacher.ok("generate_assignment", "ps1")
    teacher.ok("autograde", "ps1")
    teacher.ok("generate_feedback", "ps1")
    html = teacher.home / "feedback" / ps1_class["a"] / "ps1" / "problem1.html"
    assert html.is_file()
    assert "Releasing feedback for student" in teacher.ok("release_feedback", "ps1")
    ann.ok("fetch_feedback", "ps1")
    got = list((fetched / "feedback").rglob("problem1.html"))
    assert len(got) == 1 and got[0].read_text() == html.read_text()

    # the gradebook CSV lists every enrolled student, ben (who never submitted) too
    resp = instructor.get(GRADER + f"courses/{COURSE}/gradebook.csv")
    assert resp.status_code == 200, resp.text
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(io.StringIO(resp.text))}
    assert rows[(ps1_class["b"], "ps1")]["status"] == "missing"
    assert rows[(ps1_class["b"], "ps1")]["submissions"] == "0"
    assert rows[(ps1_class["a"], "ps1")]["submissions"] == "1"


def test_a_student_is_refused_every_instructor_command(
    campus_hub: CampusHub, ps1_class: dict, tmp_path: Path
) -> None:
    ben = Terminal(campus_hub, ps1_class["b"], tmp_path / "ben")
    shutil.copytree(ps1_class["course_dir"] / "source", ben.home / "source")
    feedback = ben.home / "feedback" / ps1_class["a"] / "ps1"
    feedback.mkdir(parents=True)
    (feedback / "problem1.html").write_text("<p>forged feedback</p>")
    (feedback / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    for command in (
        ["release_assignment", "ps1"],
        ["list", "--inbound"],
        ["collect", "ps1"],
        ["release_feedback", "ps1"],
    ):
        out = ben.nbgrader(*command)
        text = out.stdout + out.stderr
        assert out.returncode != 0, f"nbgrader {' '.join(command)} was not refused:\n{text}"
        assert "do not teach course 'ps1-course' (403)" in text, text
    assert not (ben.home / "submitted").exists()
    # straight at the API as well, and bad input is a JSON 400 for the instructor
    client = campus_hub.client(ps1_class["b"])
    path = GRADER + f"courses/{COURSE}/assignments/ps1/"
    for url, body in (
        (path + "release", {"files": {"a.ipynb": "e30="}}),
        (path + f"students/{ps1_class['a']}/feedback", {"timestamp": "x", "notebooks": {"a": ""}}),
    ):
        resp = client.post(url, json=body)
        assert resp.status_code == 403 and resp.json()["message"], resp.text
    teacher = campus_hub.client(ps1_class["teacher"])
    for body in ({"files": {"../x.ipynb": "e30="}}, {"files": {"notes.txt": "eA=="}}, {}):
        resp = teacher.post(path + "release", json=body)
        assert resp.status_code == 400 and resp.json()["message"], resp.text
    resp = teacher.post(
        GRADER + f"courses/{COURSE}/assignments/ps9/release", json={"files": {"a.ipynb": "e30="}}
    )
    assert resp.status_code == 404 and resp.json()["code"] == "NO_LESSON", resp.text
    # a notebook the campus's lesson does not have: its grades would have nowhere to go
    resp = teacher.post(path + "release", json={"files": {"problem3.ipynb": "e30="}})
    assert resp.status_code == 409 and "problem3.ipynb" in resp.json()["message"], resp.text
    resp = teacher.post(
        path + "students/not-in-class/feedback", json={"timestamp": "x", "notebooks": {"a": "<p>"}}
    )
    assert resp.status_code == 403, resp.text
