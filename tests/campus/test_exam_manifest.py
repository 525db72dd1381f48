"""A notebook exam in course.yaml: parsed with the quiz exam's rules (one `exam:` parser), its
scores hidden, and refused when it is not a notebook, shows its scores or shares its lesson."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from nbcampus.hub.campus.manifest import ManifestError, load_manifest
from nbcampus.hub.campus.quizspec import QuizError, parse_quiz

EXAM = {"opens": "2026-12-20T09:00Z", "closes": "2026-12-20T12:00Z", "time_limit": 90}


def course(tmp_path: Path, exercises: list[dict[str, Any]]) -> Path:
    for name in ("final", "other"):
        path = tmp_path / "lessons" / "01-final" / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(), path)
    manifest = {"slug": "exams", "title": "Exams", "sections": [{"slug": "s", "lessons": [
        {"slug": "01-final", "exercises": exercises}]}]}  # fmt: skip
    (tmp_path / "course.yaml").write_text(yaml.safe_dump(manifest))
    return tmp_path


def test_a_notebook_exam_is_parsed_and_its_scores_hidden(tmp_path: Path) -> None:
    spec = load_manifest(course(tmp_path, [{"slug": "final", "exam": EXAM}])).lessons[0]
    exam = spec.exercises[0]
    assert exam.exam == {
        "opens": "2026-12-20T09:00:00+00:00",
        "closes": "2026-12-20T12:00:00+00:00",
        "time_limit_seconds": 5400,
    }
    assert exam.scores == "hidden"
    # the same mapping gives a quiz exam the same window and limit
    quiz = parse_quiz({"exam": EXAM, "questions": [{"id": "q", "type": "text", "prompt": "?",
                                                    "accepted": ["a"]}]}, "quiz")  # fmt: skip
    assert quiz["exam"] == exam.exam


@pytest.mark.parametrize(
    ("exercises", "message"),
    [
        ([{"slug": "final", "exam": EXAM, "scores": "visible"}], "hidden until released"),
        ([{"slug": "page", "type": "material", "exam": EXAM}], "only a notebook exercise"),
        ([{"slug": "final", "exam": EXAM}, {"slug": "other"}], "only one"),
        ([{"slug": "final", "exam": {**EXAM, "time_limit": 0}}], "time_limit"),
        ([{"slug": "final", "exam": {**EXAM, "closes": "2026-12-20T08:00Z"}}], "before closes"),
        ([{"slug": "final", "exam": {**EXAM, "opens": "soon"}}], "ISO-8601"),
    ],
)
def test_a_wrong_exam_is_refused_with_its_reason(
    tmp_path: Path, exercises: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ManifestError, match=message):
        load_manifest(course(tmp_path, exercises))


def test_a_quiz_exam_is_refused_by_the_same_rules() -> None:
    with pytest.raises(QuizError, match="before closes"):
        parse_quiz({"exam": {**EXAM, "closes": "2026-12-20T08:00Z"},
                    "questions": [{"id": "q", "type": "text", "prompt": "?",
                                   "accepted": ["a"]}]}, "quiz")  # fmt: skip
