"""A course of the tests' own, taught to a class of new accounts: what grading, similarity and
written-assignment tests need before any student can hand anything in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .hub import CampusHub

CAMPUS = "services/campus/api/v1/"
NBCAMPUS = str(Path(sys.executable).parent / "nbcampus")


def open_class(
    hub: CampusHub, course_dir: Path, course: str, class_name: str, names: dict[str, str]
) -> tuple[int, dict[str, str]]:
    """Import `course_dir` with `nbcampus course import`, create names["teacher"] as an
    instructor and every other name as a student, put them in a group class, hold its first
    meeting and unlock lesson 1. Returns the class's id and each key's password."""
    out = subprocess.run(
        [NBCAMPUS, "course", "import", str(course_dir)],
        env=hub.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    admin = hub.client(hub.demo("admin")["name"])
    passwords = {}
    for key, name in names.items():
        role = "instructor" if key == "teacher" else "student"
        resp = admin.post(CAMPUS + "accounts", json={"name": name, "role": role})
        assert resp.status_code == 201, resp.text
        passwords[key] = resp.json()["password"]
    students = [name for key, name in names.items() if key != "teacher"]
    from nbcampus.db import make_engine, session_factory, transaction
    from nbcampus.hub.campus import classes
    from nbcampus.settings import Settings

    engine = make_engine(Settings.from_env(hub.env).database_url("campus"))
    try:
        with transaction(session_factory(engine)) as s:
            cid = classes.create_class(
                s, name=class_name, course_slug=course, type="group", total_meetings=2,
                max_capacity=5, instructor=names["teacher"], created_by="tests",
                status="enrollment_open",
            ).id  # fmt: skip
        with transaction(session_factory(engine)) as s:
            for student in students:
                classes.enroll(s, cid, student, "tests")
    finally:
        engine.dispose()
    teacher = hub.client(names["teacher"])
    records = [{"student": student, "status": "present"} for student in students]
    body = {"meeting_number": 1, "meeting_date": "2026-12-01", "records": records}
    assert teacher.post(CAMPUS + f"classes/{cid}/attendance", json=body).status_code == 201
    resp = teacher.post(CAMPUS + f"classes/{cid}/unlock-lesson", json={})
    assert resp.status_code in (200, 201), resp.text
    return cid, passwords
