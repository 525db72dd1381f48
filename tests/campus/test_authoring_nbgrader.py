"""An nbgrader course folder without a course.yaml over the campus's authoring API (issue 16,
part 2, "the same works from the Course view"), against a real Hub on SQLite and PostgreSQL:
the manifest the importer makes for it, checked and dry-run as a course.yaml folder, named
after the author's folder, and the importer's own message when no exercise is found."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import yaml
from harness.hub import CampusHub
from harness.reference import PS1

C = "services/campus/api/v1/"


def call(client, action: str, files: dict[str, bytes], **extra: Any):  # type: ignore[no-untyped-def]
    encoded = {k: base64.b64encode(v).decode() for k, v in files.items()}
    return client.post(C + f"authoring/{action}", json={"files": encoded, **extra})


def ps1_files() -> dict[str, bytes]:
    """nbgrader's example course as the Course view's server part sends it: source/ unchanged."""
    source = PS1 / "source"
    return {
        "source/" + p.relative_to(source).as_posix(): p.read_bytes()
        for p in sorted(source.rglob("*"))
        if p.is_file()
    }


def test_nbgrader_folder_gets_the_importers_manifest(campus_hub: CampusHub, make_user) -> None:
    teacher = make_user("instructor")["client"]
    name = "ps1-" + uuid.uuid4().hex[:6]
    files = ps1_files()
    resp = call(teacher, "manifest", files, name=name)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["course"] == name and yaml.safe_load(body["yaml"]) == body["data"]
    lessons = body["data"]["sections"][0]["lessons"]
    assert lessons == [{"slug": "ps1", "title": "ps1"}]
    # checked as a course.yaml folder: valid, the course named after the folder
    resp = call(teacher, "check", files, name=name)
    body = resp.json()
    assert body["valid"] is True and body["course"] == name and body["errors"] == [], resp.text
    # ...with the exercises the importer reads: one per notebook, with its points
    read = body["exercises"]["ps1"]
    assert [e["slug"] for e in read] == ["problem1", "problem2"]
    assert all(e["type"] == "coding" for e in read)
    assert all(e["points"] > 0 for e in read)
    # nbgrader_config.py's course_id names it, as with `nbcampus course import`
    config = {"nbgrader_config.py": b"c = get_config()\nc.CourseDirectory.course_id = 'Py.101'\n"}
    resp = call(teacher, "manifest", {**files, **config}, name=name)
    assert resp.json()["course"] == "py-101" and resp.json()["data"]["title"] == "Py.101"
    # the dry run: one new lesson (nothing is written)
    plan = call(teacher, "dry-run", files, name=name).json()
    assert plan["course"] == name and plan["exists"] is False
    assert [row["slug"] for row in plan["new"]] == ["ps1"]


def test_no_exercise_found_is_the_importers_message(campus_hub: CampusHub, make_user) -> None:
    teacher = make_user("instructor")["client"]
    student = make_user()["client"]
    # the image without its notebooks: no assignment
    only_image = {"source/ps1/jupyter.png": (PS1 / "source/ps1/jupyter.png").read_bytes()}
    resp = call(teacher, "manifest", only_image, name="ps1")
    assert resp.status_code == 400, resp.text
    err = resp.json()
    assert err["code"] == "VALIDATION_ERROR"
    assert err["message"].startswith("source: no assignment found"), err  # no scratch path
    resp = call(teacher, "check", only_image, name="ps1")
    assert resp.json()["valid"] is False
    assert resp.json()["errors"] == [
        {
            "line": 1,
            "where": "source",
            "message": "no assignment found (an nbgrader course has its notebooks in "
            "source/<assignment>/*.ipynb)",
        }
    ]
    resp = call(teacher, "dry-run", only_image, name="ps1")
    assert resp.status_code == 400 and "no assignment found" in resp.json()["message"]
    # neither a course.yaml nor source/, a folder name with a slash: 400 JSON
    resp = call(teacher, "manifest", {"notes.txt": b"x"}, name="ps1")
    assert resp.status_code == 400 and "nor nbgrader's source/" in resp.json()["message"]
    resp = call(teacher, "manifest", ps1_files(), name="../x")
    assert resp.status_code == 400 and resp.json()["code"] == "VALIDATION_ERROR"
    # a course.yaml folder has its own manifest
    resp = call(teacher, "manifest", {**ps1_files(), "course.yaml": b"slug: x\n"}, name="x")
    assert resp.status_code == 400 and "has a course.yaml" in resp.json()["message"]
    # students may not author
    resp = call(student, "manifest", ps1_files(), name="ps1")
    assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"
