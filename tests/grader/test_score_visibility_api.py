"""Score visibility per assessment through a real Hub, on SQLite and PostgreSQL.

A notebook exercise and a written assignment whose scores are hidden until released: once
graded, their student gets no score, per-test result, comment or feedback on any path — the
grader's submissions, feedback and written endpoints, the campus's progress, course total,
notifications, XP, score-visibility — while the instructor sees everything. Students cannot
release. The instructor releases one from the grading view's control and the other through the
campus API; then the student sees both."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pytest
import yaml
from harness.classroom import open_class
from harness.grading import wait_graded
from harness.hub import CampusHub

pytestmark = pytest.mark.slow
API = "services/grader/api/v1/"
CAMPUS = "services/campus/api/v1/"
COURSE = "shy-scores"
LESSON = "01-work"
REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "courses/python-intro/lessons/01-values/values.ipynb"
NAMES = {"teacher": "sv-teacher", "ann": "sv-ann", "bob": "sv-bob"}
MANIFEST = {
    "slug": COURSE,
    "title": "Scores shown later",
    "published": True,
    "sections": [
        {
            "slug": "all",
            "lessons": [
                {
                    "slug": LESSON,
                    "exercises": [
                        {"slug": "values", "type": "coding", "scores": "hidden"},
                        {"slug": "essay", "type": "assignment", "scores": "hidden", "points": 10},
                    ],
                }
            ],
        }
    ],
}
ESSAY = API + f"courses/{COURSE}/assignments/{LESSON}/written/essay"
SUBS = API + f"courses/{COURSE}/assignments/{LESSON}/submissions"


@pytest.fixture(scope="module")
def graded(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """ann's notebook (a full score) and essay (7 of 10, with a comment), both graded."""
    course = tmp_path_factory.mktemp("shy") / COURSE
    (course / "lessons" / LESSON).mkdir(parents=True)
    shutil.copy(VALUES, course / "lessons" / LESSON / "values.ipynb")
    (course / "course.yaml").write_text(yaml.safe_dump(MANIFEST))
    open_class(campus_hub, course, COURSE, "Shy class", NAMES)
    ann = campus_hub.client(NAMES["ann"])
    teacher = campus_hub.client(NAMES["teacher"])
    body = {"files": {"values.ipynb": base64.b64encode(VALUES.read_bytes()).decode()}}
    resp = ann.post(SUBS, json=body)
    assert resp.status_code == 202, resp.text
    sub = wait_graded(ann, resp.json()["id"])
    assert sub["status"] == "graded", sub
    essay = ann.post(ESSAY, json={"text": "Loops repeat work."})
    assert essay.status_code == 201, essay.text
    grade = teacher.post(
        API + f"written-submissions/{essay.json()['id']}/grade",
        json={"score": 7, "comment": "Clear, but say why."},
    )
    assert grade.status_code == 200, grade.text
    return {"notebook": sub["id"], "essay": essay.json()["id"]}


def _nbgrader_list(campus_hub: CampusHub, home: Path) -> dict:
    """nbgrader's `list --cached` (what the Lab's Assignment List shows) as ann, over the
    grader's HTTP exchange."""
    from nbgrader.coursedir import CourseDirectory

    from nbcampus.grader.exchange import HTTPList

    listing = HTTPList(
        coursedir=CourseDirectory(course_id=COURSE),
        grader_url=campus_hub.url + "services/grader/",
        api_token=campus_hub.token_for(NAMES["ann"]),
        assignment_dir=str(home),
        cached=True,
    )
    (item,) = listing.list_files()
    return item["submissions"][-1]


def _ann_sees(campus_hub: CampusHub, graded: dict, home: Path) -> dict:
    """Every path by which a score reaches ann, as she gets it."""
    ann = campus_hub.client(NAMES["ann"])
    me = NAMES["ann"]
    out = {
        "nbgrader_list": _nbgrader_list(campus_hub, home),
        "list": ann.get(SUBS).json()["submissions"][-1],
        "one": ann.get(API + f"submissions/{graded['notebook']}").json(),
        "feedback": ann.get(API + f"submissions/{graded['notebook']}/feedback?format=json"),
        "released_feedback": ann.get(
            API + f"courses/{COURSE}/assignments/{LESSON}/feedback"
        ).json(),
        "written": ann.get(ESSAY).json()["submissions"][-1],
        "written_one": ann.get(API + f"written-submissions/{graded['essay']}").json(),
        "progress": {
            e["exercise"]: e for e in ann.get(CAMPUS + f"users/{me}/progress").json()["exercises"]
        },
        "total": ann.get(CAMPUS + f"courses/{COURSE}/scores").json()["students"][0],
        "notes": [n["body"] for n in ann.get(CAMPUS + "notifications").json()["notifications"]],
        "xp": ann.get(CAMPUS + f"me/submissions/{graded['notebook']}/xp").json()["xp"],
        "visibility": {
            e["exercise"]: e
            for e in ann.get(CAMPUS + f"courses/{COURSE}/score-visibility").json()["exercises"]
        },
    }
    assert out["feedback"].status_code in (200, 403), out["feedback"].text
    return out


def test_hidden_scores_reach_no_student_path_and_the_teacher_sees_them(
    campus_hub: CampusHub, graded: dict, tmp_path: Path
) -> None:
    seen = _ann_sees(campus_hub, graded, tmp_path)
    # nbgrader's Assignment List offers no feedback and shows no score
    listed = seen["nbgrader_list"]
    assert listed["grading"] == "graded" and listed["score"] is None
    assert listed["has_exchange_feedback"] is False
    for key in ("list", "one"):
        sub = seen[key]
        assert sub["status"] == "graded" and sub["score_hidden"] is True
        assert sub["score"] is None and sub["result"] is None, sub
    assert seen["feedback"].status_code == 403
    assert seen["feedback"].json()["code"] == "SCORES_HIDDEN"
    assert seen["released_feedback"]["code"] == "SCORES_HIDDEN"
    for key in ("written", "written_one"):
        sub = seen[key]
        assert sub["score_hidden"] is True and sub["graded"] is False
        assert sub["score"] is None and sub["comment"] is None, sub
    for name in ("values", "essay"):
        row = seen["progress"][name]
        assert row["score"] is None and row["score_hidden"] is True and not row["completed"]
        assert seen["visibility"][name]["visible"] is False
        assert seen["visibility"][name]["scores"] == "hidden"
    total = seen["total"]
    assert total["hidden"] == 2 and total["total"] == 0.0
    assert {h["exercise"] for h in total["hidden_exercises"]} == {"values", "essay"}
    assert not any(re.search(r"\d+ of \d+ points", n) for n in seen["notes"]), seen["notes"]
    assert seen["xp"] == 0  # the full score's XP would tell it

    # the instructor sees every score
    teacher = campus_hub.client(NAMES["teacher"])
    mine = teacher.get(SUBS + f"?student={NAMES['ann']}").json()["submissions"][-1]
    assert mine["score"] == mine["max_score"] > 0 and "score_hidden" not in mine
    essay = teacher.get(ESSAY + f"?student={NAMES['ann']}").json()["submissions"][-1]
    assert essay["score"] == 7 and essay["comment"] == "Clear, but say why."
    totals = teacher.get(CAMPUS + f"courses/{COURSE}/scores").json()["students"]
    row = next(r for r in totals if r["user"] == NAMES["ann"])
    assert row["hidden"] == 0 and row["total"] > 0
    page = teacher.get(f"services/grader/courses/{COURSE}/grading", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Release scores" in page.text

    # students release nothing, by either door
    for who in ("ann", "bob"):
        client = campus_hub.client(NAMES[who])
        body = {"lesson": LESSON, "exercise": "values", "released": True}
        resp = client.put(CAMPUS + f"courses/{COURSE}/score-visibility", json=body)
        assert resp.status_code == 403 and resp.json()["code"], resp.text
        resp = client.put(
            CAMPUS + f"courses/{COURSE}/score-visibility",
            json={**body, "on_behalf_of": NAMES["teacher"]},
        )
        assert resp.status_code == 403
        resp = client.post(
            f"services/grader/courses/{COURSE}/grading/score-release",
            data={"lesson": LESSON, "exercise": "values", "released": "1"},
        )
        assert resp.status_code == 403 and "teach" in resp.json()["message"], resp.text
    # bad input: a JSON error naming the field
    resp = teacher.put(
        CAMPUS + f"courses/{COURSE}/score-visibility",
        json={"lesson": LESSON, "exercise": "nope", "released": True},
    )
    assert resp.status_code == 404 and resp.json()["code"]
    resp = teacher.put(
        CAMPUS + f"courses/{COURSE}/score-visibility",
        json={"lesson": LESSON, "exercise": "values", "released": "yes"},
    )
    assert resp.status_code == 400 and resp.json()["code"]
    assert _ann_sees(campus_hub, graded, tmp_path)["visibility"]["values"]["visible"] is False


def test_a_release_shows_the_scores_and_completes_the_work(
    campus_hub: CampusHub, graded: dict, tmp_path: Path
) -> None:
    teacher = campus_hub.client(NAMES["teacher"])
    body = {"lesson": LESSON, "exercise": "essay", "released": True}
    resp = teacher.put(CAMPUS + f"courses/{COURSE}/score-visibility", json=body)
    assert resp.status_code == 200, resp.text
    essay = next(e for e in resp.json()["exercises"] if e["exercise"] == "essay")
    assert essay["visible"] and essay["released_at"]
    seen = _ann_sees(campus_hub, graded, tmp_path)
    assert seen["written"]["score"] == 7 and seen["written"]["comment"] == "Clear, but say why."
    assert seen["progress"]["essay"]["score"] == 7
    assert seen["one"]["score_hidden"] is True  # the notebook is still hidden

    # the grading view's control: the page's own form, with its XSRF token
    page = teacher.get(f"services/grader/courses/{COURSE}/grading", headers={"Accept": "text/html"})
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    resp = teacher.post(
        f"services/grader/courses/{COURSE}/grading/score-release",
        data={"_xsrf": xsrf, "lesson": LESSON, "exercise": "values", "released": "1"},
        headers={"Accept": "text/html"},
        allow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    seen = _ann_sees(campus_hub, graded, tmp_path)
    assert seen["nbgrader_list"]["has_exchange_feedback"] is True
    assert seen["nbgrader_list"]["score"] == seen["one"]["score"]
    assert seen["one"]["score"] == seen["one"]["max_score"] > 0
    assert seen["list"]["result"]["notebooks"] and "score_hidden" not in seen["one"]
    assert seen["feedback"].status_code == 200
    assert seen["progress"]["values"]["completed"] is True  # held back, completed now
    assert seen["xp"] > 0
    assert seen["total"]["hidden"] == 0 and seen["total"]["total"] > 0
    assert all(e["visible"] for e in seen["visibility"].values())
