"""Names, slugs and amounts are checked as a whole: a trailing newline ("values\\n") is
refused. Python's `$` also matches just before a final newline, so a `re.match(r"^...$")`
check let "values\\n" through; the checks use fullmatch. Over the real Hub: the grader's name
check (a released feedback's notebook names; names in URLs are refused earlier, as control
characters) answers 400 JSON; then the checks without a Hub."""

from __future__ import annotations

from typing import Any

import pytest
from harness.hub import CampusHub

from nbcampus.hub.campus import classes, quizspec
from nbcampus.hub.isolation import system_username
from nbcampus.lab.services import safe_path
from nbcampus.web import APIError

C = "services/campus/api/v1/"
G = "services/grader/api/v1/"
COURSE, LESSON = "python-intro", "01-values"


def refused(resp: Any, field: str) -> None:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "VALIDATION_ERROR" and body["details"]["field"] == field, body


@pytest.mark.slow
@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_a_name_with_a_trailing_newline_is_a_400(campus_hub: CampusHub) -> None:
    teacher = campus_hub.client(campus_hub.demo("instructor")["name"])
    # the grader's name check: the feedback an instructor releases names its notebooks
    student = campus_hub.demo("student")["name"]
    url = G + f"courses/{COURSE}/assignments/{LESSON}/students/{student}/feedback"
    page = {"timestamp": "2026-12-01 10:00:00", "notebooks": {"values\n": "<p>Well done.</p>"}}
    refused(teacher.post(url, json=page), "notebooks")
    # nothing was released to the student
    mine = campus_hub.client(student).get(G + f"courses/{COURSE}/assignments/{LESSON}/feedback")
    assert mine.status_code == 404 and mine.json()["code"] == "NO_FEEDBACK", mine.text


def test_checks_without_a_hub_refuse_a_trailing_newline() -> None:
    from nbcampus.grader.handlers.base import slug

    assert slug("01-values", "assignment") == "01-values"
    with pytest.raises(APIError):
        slug("01-values\n", "assignment")
    with pytest.raises(APIError):
        classes.check_schedule({"days": ["mon"], "time": "19:00-21:00\n"})
    question = {"type": "single", "prompt": "?", "options": [{"text": "a", "correct": True}, "b"]}
    assert quizspec.parse_quiz({"questions": [{**question, "id": "q1"}]}, "q")
    with pytest.raises(quizspec.QuizError, match="question id"):
        quizspec.parse_quiz({"questions": [{**question, "id": "q1\n"}]}, "q")
    # a campus name never becomes a system account name with a newline in it
    assert system_username("ann") == "nbc-ann"
    assert "\n" not in system_username("ann\n")
    # the Lab's service proxy
    assert safe_path("api/v1/me") is not None and safe_path("api/v1/me\n") is None
