"""nbgrader's Assignment List in a student's server, over the grader's HTTP exchange: after a
submission the list answers 200 with the submitted assignment and the feedback keys nbgrader's
Lab extension reads (it hung on "Loading" on a 500 `KeyError: 'local_feedback_path'`)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import requests
from harness.grading import wait_graded
from harness.hub import CampusHub
from labserver import LabServer

pytestmark = pytest.mark.slow
API = "services/grader/api/v1/"
COURSE = "python-intro"
REPO = Path(__file__).resolve().parents[2]
FEEDBACK_KEYS = {"has_local_feedback", "has_exchange_feedback", "feedback_updated"}


def test_assignment_list_after_a_submission(campus_hub: CampusHub, tmp_path: Path) -> None:
    student = "bob"
    bob = campus_hub.client(student)
    source = REPO / "courses" / COURSE / "lessons" / "01-values"
    nb = next(source.glob("*.ipynb"))
    body = {"files": {nb.name: base64.b64encode(nb.read_bytes()).decode()}}
    resp = bob.post(API + f"courses/{COURSE}/assignments/01-values/submissions", json=body)
    assert resp.status_code == 202, resp.text
    uid = resp.json()["id"]
    wait_graded(bob, uid, timeout=60, poll=0.2)

    root = tmp_path / "home"
    root.mkdir()
    # nbgrader's routes as a student's server has them: served by nbcampus.lab (nbgrader_lazy)
    server = LabServer(
        root,
        {
            "NBCAMPUS_GRADER_URL": campus_hub.url + "services/grader/",
            "JUPYTERHUB_API_TOKEN": campus_hub.token_for(student),
        },
    )
    try:

        def get(path: str, **params: str) -> list:
            resp = requests.get(
                server.url + path, params=params, headers=server.headers, timeout=120
            )
            assert resp.status_code == 200, resp.text
            data = resp.json()
            assert data["success"], data["value"]
            return data["value"]

        def listing() -> list[dict]:
            # what nbgrader's Lab extension asks: the student's courses, then each one's list
            assert COURSE in get("courses")
            return get("assignments", course_id=COURSE)

        value = listing()
        submitted = [a for a in value if a["status"] == "submitted"]
        assert [(a["course_id"], a["assignment_id"]) for a in submitted] == [(COURSE, "01-values")]
        sub = submitted[0]["submissions"][-1]
        assert FEEDBACK_KEYS | {"local_feedback_path", "timestamp", "notebooks"} <= set(sub)
        assert sub["grading"] == "graded", sub
        assert sub["has_exchange_feedback"] is True and sub["local_feedback_path"] is None
        assert sub["notebooks"] and all(
            FEEDBACK_KEYS | {"notebook_id", "local_feedback_path"} <= set(n)
            for n in sub["notebooks"]
        )
        assert any(a["status"] == "released" for a in value), value

        # fetching the feedback through the Lab's action: the list then points at it
        resp = requests.post(
            server.url + "assignments/fetch_feedback",
            data={"course_id": COURSE, "assignment_id": "01-values"},
            headers=server.headers,
            timeout=120,
        )
        assert resp.status_code == 200 and resp.json()["success"], resp.text
        sub = [a for a in listing() if a["status"] == "submitted"][0]["submissions"][-1]
        assert sub["has_local_feedback"] is True and sub["feedback_updated"] is False
        assert (root / sub["local_feedback_path"]).is_dir()
    finally:
        server.stop()
