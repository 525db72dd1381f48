"""Authoring a course from an instructor's folder over the campus API, against a real Hub on
SQLite and PostgreSQL: check with line numbers, dry run with the students each change
touches, publish through review keeping progress, one transaction, a 409 for the second of
two publishes at once, and refusals for a student and an instructor who does not teach it."""

from __future__ import annotations

import base64
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from harness.hub import CampusHub

C = "services/campus/api/v1/"
TEMPLATE = Path(__file__).resolve().parents[2] / "extensions/lab/nbcampus_lab/course_template"


def template_files(slug: str) -> dict[str, bytes]:
    """The Lab's new-course template, as the Course view's server part sends it."""
    files = {
        p.relative_to(TEMPLATE).as_posix(): p.read_bytes()
        for p in TEMPLATE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    files["course.yaml"] = (
        files["course.yaml"].replace(b"__SLUG__", slug.encode()).replace(b"__TITLE__", b"Tmpl")
    )
    return files


def encoded(files: dict[str, bytes]) -> dict[str, str]:
    return {k: base64.b64encode(v).decode() for k, v in files.items()}


def with_manifest(files: dict[str, bytes], edit) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(files["course.yaml"])
    edit(data)
    return {**files, "course.yaml": yaml.safe_dump(data, sort_keys=False).encode()}


def call(client, action: str, files: dict[str, bytes], **extra: Any):  # type: ignore[no-untyped-def]
    return client.post(C + f"authoring/{action}", json={"files": encoded(files), **extra})


def test_check_reports_each_error_with_its_line(campus_hub: CampusHub, make_user) -> None:
    teacher = make_user("instructor")["client"]
    files = template_files("chk-" + uuid.uuid4().hex[:6])
    resp = call(teacher, "check", files)
    assert resp.status_code == 200 and resp.json()["valid"] is True, resp.text
    text = files["course.yaml"].decode()
    bad = text.replace("xp: 20", "xp: lots").replace("type: material", "type: movie")
    resp = call(teacher, "check", {**files, "course.yaml": bad.encode()})
    body = resp.json()
    assert resp.status_code == 200 and body["valid"] is False
    lines = bad.splitlines()
    found = {e["line"]: e["message"] for e in body["errors"]}
    assert len(found) == 2, body
    for line, message in found.items():
        assert ("xp" in message and "xp: lots" in lines[line - 1]) or (
            "type must" in message and "type: movie" in lines[line - 1]
        ), (line, message)
    # broken YAML: the parser's line
    resp = call(teacher, "check", {**files, "course.yaml": (text + "  - [oops\n").encode()})
    assert resp.json()["errors"][0]["line"] >= len(text.splitlines())
    # a lesson folder that is missing names itself, on the lesson's line
    gone = {k: v for k, v in files.items() if not k.startswith("lessons/")}
    errors = call(teacher, "check", gone).json()["errors"]
    assert errors and all("missing" in e["message"] for e in errors)
    # bad uploads are 400 JSON
    resp = teacher.post(C + "authoring/check", json={"files": {"../x": "AA=="}})
    assert resp.status_code == 400 and resp.json()["code"] == "VALIDATION_ERROR"
    resp = teacher.post(C + "authoring/check", json={"files": {"course.yaml": "%%%"}})
    assert resp.status_code == 400


def test_publish_through_review_keeps_progress_and_refuses_others(
    campus_hub: CampusHub, make_user
) -> None:
    admin = campus_hub.client(campus_hub.demo("admin")["name"])
    staff = campus_hub.client(campus_hub.demo("staff")["name"])
    teacher, other, student = make_user("instructor"), make_user("instructor"), make_user()
    t = teacher["client"]
    slug = "pub-" + uuid.uuid4().hex[:6]
    files = template_files(slug)

    # students may not author at all
    for action in ("check", "dry-run", "publish"):
        extra = {"revision": ""} if action == "publish" else {}
        resp = call(student["client"], action, files, **extra)
        assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN", (action, resp.text)

    # a new course: everything is new; the instructor's publish sends it for review
    plan = call(t, "dry-run", files).json()
    assert plan["exists"] is False and [n["slug"] for n in plan["new"]] == ["01-first-steps"]
    resp = call(t, "publish", files, revision=plan["revision"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "in_review" and resp.json()["created"] is True
    assert admin.get(C + f"courses/{slug}").json()["status"] == "in_review"
    # before any class teaches it, the course stays its author's (and no other instructor's)
    assert call(t, "dry-run", files).json()["unchanged"][0]["slug"] == "01-first-steps"
    assert call(other["client"], "dry-run", files).status_code == 403
    # the grader took it: the lesson is an nbgrader assignment of the course
    grader = admin.get(f"services/grader/api/v1/courses/{slug}/assignments")
    assert grader.status_code == 200 and "01-first-steps" in grader.text, grader.text

    # an admin publishes it; a class taught by `teacher`, a student with progress
    resp = admin.post(C + f"courses/{slug}/review", json={"action": "publish"})
    assert resp.status_code == 200 and resp.json()["status"] == "published", resp.text
    klass = staff.post(
        C + "classes",
        json={
            "name": f"{slug} class",
            "course": slug,
            "total_meetings": 3,
            "max_capacity": 5,
            "enrollment_deadline": "2099-12-31",
            "instructor": teacher["name"],
            "status": "enrollment_open",
        },
    )
    assert klass.status_code == 201, klass.text
    cid = klass.json()["id"]
    assert staff.post(C + f"classes/{cid}/enrollments", json={"student": student["name"]}).ok
    marks = {
        "meeting_number": 1,
        "meeting_date": "2026-11-23",
        "records": [{"student": student["name"], "status": "present"}],
    }
    assert t.post(C + f"classes/{cid}/attendance", json=marks).status_code == 201
    assert t.post(C + f"classes/{cid}/unlock-lesson", json={}).status_code == 201
    outline = admin.get(C + f"courses/{slug}").json()
    lesson = outline["sections"][0]["lessons"][0]
    welcome = next(e for e in lesson["exercises"] if e["slug"] == "welcome")
    resp = student["client"].post(C + f"exercises/{welcome['id']}/complete")
    assert resp.status_code in (200, 201), resp.text

    # an instructor who does not teach it is refused (and so is the student, still)
    assert call(other["client"], "dry-run", files).status_code == 403
    assert call(other["client"], "publish", files, revision="").status_code == 403

    # change the lesson's title, add a lesson: the dry run names both, with the student
    def edit(data: dict[str, Any]) -> None:
        data["sections"][0]["lessons"][0]["title"] = "First steps, again"
        data["sections"][0]["lessons"].append(
            {
                "slug": "02-more",
                "title": "More",
                "exercises": [{"slug": "reading", "type": "material", "xp": 5}],
            }
        )

    edited = with_manifest(files, edit)
    plan = call(t, "dry-run", edited).json()
    assert [n["slug"] for n in plan["new"]] == ["02-more"]
    assert plan["changed"] == [
        {
            "slug": "01-first-steps",
            "title": "First steps, again",
            "what": ["title or description"],
            "students": 1,
        }
    ]
    # a broken folder never half-publishes: 400, nothing changed
    broken = with_manifest(
        edited, lambda d: d["sections"][0]["lessons"][1]["exercises"][0].update(xp=-1)
    )
    resp = call(t, "publish", broken, revision=plan["revision"])
    assert resp.status_code == 400 and "line" in resp.json()["message"], resp.text
    assert len(admin.get(C + f"courses/{slug}").json()["sections"][0]["lessons"]) == 1

    # two at once on the same dry run: one wins, the other is a 409 conflict
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(lambda c: call(c, "publish", edited, revision=plan["revision"]), [t, admin])
        )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["code"] == "CONFLICT" and "dry run" in loser["message"]
    winner = next(r for r in results if r.status_code == 200).json()
    assert winner["status"] == "published"  # published stays published
    # the student's progress survived the publish
    progress = student["client"].get(C + f"users/{student['name']}/progress").json()
    done = {e["exercise_id"] for e in progress["exercises"] if e["completed"]}
    assert welcome["id"] in done, progress

    # removing the lesson: the dry run says one student's progress is touched
    removed = with_manifest(edited, lambda d: d["sections"][0]["lessons"].pop(0))
    plan = call(t, "dry-run", removed).json()
    assert plan["removed"] == [
        {"slug": "01-first-steps", "title": "First steps, again", "students": 1}
    ]
    # a stale revision is a conflict too
    resp = call(t, "publish", removed, revision="2000-01-01T00:00:00")
    assert resp.status_code == 409
