"""`scores: after_due` and a student's extension, through a real Hub on SQLite and PostgreSQL.

The lesson's due date has passed: the class sees its scores (the class's rule, unchanged).
ann has an extension to a later date: until it passes her own score, per-test results and
feedback stay hidden from her on the grader's paths (submissions, one submission, feedback,
released feedback, nbgrader's list); her instructor sees them. Withdrawn, or once passed,
ann sees hers like everyone else."""

from __future__ import annotations

import base64
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from harness.classroom import open_class
from harness.grading import wait_graded
from harness.hub import CampusHub

pytestmark = pytest.mark.slow
API = "services/grader/api/v1/"
CAMPUS = "services/campus/api/v1/"
COURSE = "late-ext"
LESSON = "01-work"
REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "courses/python-intro/lessons/01-values/values.ipynb"
NAMES = {"teacher": "xv-teacher", "ann": "xv-ann", "bob": "xv-bob"}
PAST = (datetime.now(UTC) - timedelta(days=1)).isoformat()
MANIFEST = {
    "slug": COURSE,
    "title": "Scores after the due date",
    "published": True,
    "sections": [
        {
            "slug": "all",
            "lessons": [
                {
                    "slug": LESSON,
                    "exercises": [
                        {"slug": "values", "type": "coding", "scores": "after_due", "due": PAST}
                    ],
                }
            ],
        }
    ],
}
SUBS = API + f"courses/{COURSE}/assignments/{LESSON}/submissions"
EXTENSION = API + f"courses/{COURSE}/assignments/{LESSON}/extensions/"


@pytest.fixture(scope="module")
def graded(campus_hub: CampusHub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """ann's and bob's notebooks, both graded after the lesson's due date."""
    course = tmp_path_factory.mktemp("ext") / COURSE
    (course / "lessons" / LESSON).mkdir(parents=True)
    shutil.copy(VALUES, course / "lessons" / LESSON / "values.ipynb")
    (course / "course.yaml").write_text(yaml.safe_dump(MANIFEST))
    open_class(campus_hub, course, COURSE, "Extension class", NAMES)
    body = {"files": {"values.ipynb": base64.b64encode(VALUES.read_bytes()).decode()}}
    uids = {}
    for who in ("ann", "bob"):
        resp = campus_hub.client(NAMES[who]).post(SUBS, json=body)
        assert resp.status_code == 202, resp.text
        uids[who] = resp.json()["id"]
    for who, uid in uids.items():
        assert wait_graded(campus_hub.client(NAMES[who]), uid, timeout=180)["status"] == "graded"
    return uids


def _sees(campus_hub: CampusHub, who: str, uid: str, home: Path) -> dict:
    """What `who` gets of their own graded notebook on each of the grader's paths."""
    from nbgrader.coursedir import CourseDirectory

    from nbcampus.grader.exchange import HTTPList

    client = campus_hub.client(NAMES[who])
    listing = HTTPList(
        coursedir=CourseDirectory(course_id=COURSE),
        grader_url=campus_hub.url + "services/grader/",
        api_token=campus_hub.token_for(NAMES[who]),
        assignment_dir=str(home),
        cached=True,
    )
    (item,) = listing.list_files()
    return {
        "list": client.get(SUBS).json()["submissions"][-1],
        "one": client.get(API + f"submissions/{uid}").json(),
        "feedback": client.get(API + f"submissions/{uid}/feedback?format=json"),
        "released": client.get(API + f"courses/{COURSE}/assignments/{LESSON}/feedback"),
        "nbgrader": item["submissions"][-1],
    }


def _shown(seen: dict) -> bool:
    """The score is shown on every path (True) or hidden on every path (False)."""
    shown = [
        seen["list"]["score"] is not None,
        seen["one"]["score"] is not None and seen["one"]["result"] is not None,
        seen["feedback"].status_code == 200,
        seen["released"].json().get("code") != "SCORES_HIDDEN",
        seen["nbgrader"]["score"] is not None,
    ]
    assert len(set(shown)) == 1, (shown, seen["one"], seen["feedback"].text[:200])
    return shown[0]


def test_an_extension_keeps_after_due_scores_hidden_until_its_own_date(
    campus_hub: CampusHub, graded: dict[str, str], tmp_path: Path
) -> None:
    teacher = campus_hub.client(NAMES["teacher"])
    ann_url = EXTENSION + NAMES["ann"]
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert teacher.put(ann_url, json={"due_at": later, "reason": "ill"}).status_code == 200
    # the class's rule: the lesson's due date passed, its scores are visible
    (row,) = teacher.get(CAMPUS + f"courses/{COURSE}/score-visibility").json()["exercises"]
    assert row["scores"] == "after_due" and row["visible"] is True
    assert _shown(_sees(campus_hub, "bob", graded["bob"], tmp_path / "bob"))
    # ann is before her own due date: nothing of her score yet
    seen = _sees(campus_hub, "ann", graded["ann"], tmp_path / "ann")
    assert not _shown(seen)
    assert seen["one"]["score_hidden"] is True
    assert seen["feedback"].json()["code"] == "SCORES_HIDDEN"
    # her instructor sees it
    mine = teacher.get(SUBS + f"?student={NAMES['ann']}").json()["submissions"][-1]
    assert mine["score"] == mine["max_score"] > 0 and "score_hidden" not in mine
    # an extension whose date has passed hides nothing
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert teacher.put(ann_url, json={"due_at": earlier}).status_code == 200
    assert _shown(_sees(campus_hub, "ann", graded["ann"], tmp_path / "ann2"))
    # granted again, then withdrawn: the lesson's due date counts again
    assert teacher.put(ann_url, json={"due_at": later}).status_code == 200
    assert not _shown(_sees(campus_hub, "ann", graded["ann"], tmp_path / "ann3"))
    assert teacher.delete(ann_url).status_code == 204
    assert _shown(_sees(campus_hub, "ann", graded["ann"], tmp_path / "ann4"))


def test_a_release_shows_the_score_despite_the_extension(
    campus_hub: CampusHub, graded: dict[str, str], tmp_path: Path
) -> None:
    teacher = campus_hub.client(NAMES["teacher"])
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert teacher.put(EXTENSION + NAMES["ann"], json={"due_at": later}).status_code == 200
    assert not _shown(_sees(campus_hub, "ann", graded["ann"], tmp_path / "a"))
    release = {"lesson": LESSON, "exercise": "values", "released": True}
    assert teacher.put(CAMPUS + f"courses/{COURSE}/score-visibility", json=release).ok
    assert _shown(_sees(campus_hub, "ann", graded["ann"], tmp_path / "b"))
