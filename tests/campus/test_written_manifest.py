"""Course manifests: written assignments (submit limits, due date) and score weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from nbcampus.hub.campus.manifest import WRITTEN_DEFAULTS, ManifestError, load_manifest

VALUES = Path(__file__).resolve().parents[2] / "courses/python-intro/lessons/01-values/values.ipynb"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course of two sections, the first lesson with one coding notebook."""
    dest = tmp_path / "course"
    (dest / "lessons/01-values").mkdir(parents=True)
    (dest / "lessons/02-more").mkdir(parents=True)
    shutil.copy(VALUES, dest / "lessons/01-values/values.ipynb")
    shutil.copy(VALUES, dest / "lessons/02-more/more.ipynb")
    return dest


def _with_exercise(course: Path, exercise: dict, section_weight: float | None = None) -> None:
    first = {"slug": "values", "type": "coding"}
    data = {
        "slug": "written",
        "title": "Written",
        "sections": [
            {"slug": "a", "lessons": [{"slug": "01-values", "exercises": [first, exercise]}]},
            {"slug": "b", "lessons": [{"slug": "02-more"}]},
        ],
    }
    if section_weight is not None:
        data["sections"][0]["weight"] = section_weight
    (course / "course.yaml").write_text(yaml.safe_dump(data))


def test_written_assignment_with_limits_due_and_weight(course: Path) -> None:
    _with_exercise(
        course,
        {
            "slug": "essay",
            "type": "assignment",
            "due": "2026-12-20T23:59:00+01:00",
            "weight": 25,
            "submit": {"kinds": ["file", "text"], "max_bytes": 1000, "extensions": [".PDF"]},
        },
        section_weight=60,
    )
    m = load_manifest(course)
    essay = next(e for e in m.lessons[0].exercises if e.slug == "essay")
    assert essay.written and essay.notebook is None
    assert essay.points == 10.0 and essay.weight == 25.0
    assert essay.submit == {
        "kinds": ["text", "file"],
        "max_bytes": 1000,
        "max_chars": WRITTEN_DEFAULTS["max_chars"],
        "extensions": [".pdf"],
        "prompt": "",
    }
    assert essay.due == "2026-12-20T22:59:00+00:00"
    assert m.sections[0].weight == 60.0 and m.sections[1].weight is None
    values = next(e for e in m.lessons[0].exercises if e.slug == "values")
    assert not values.written and values.weight is None


def test_assignment_with_its_notebook_stays_notebook_graded(course: Path) -> None:
    shutil.copy(course / "lessons/01-values/values.ipynb", course / "lessons/01-values/hw.ipynb")
    _with_exercise(course, {"slug": "hw", "type": "assignment"})
    hw = next(e for e in load_manifest(course).lessons[0].exercises if e.slug == "hw")
    assert not hw.written and hw.notebook is not None and hw.points == 3.0


@pytest.mark.parametrize(
    ("exercise", "message"),
    [
        ({"submit": {"kinds": ["video"]}}, "submit kinds"),
        ({"submit": {"kinds": []}}, "submit kinds"),
        ({"submit": {"max_bytes": 0}}, "max_bytes"),
        ({"submit": {"max_bytes": 10**12}}, "max_bytes"),
        ({"submit": {"extensions": ["pdf"]}}, "extensions"),
        ({"submit": {"colour": "red"}}, "submit may name"),
        ({"submit": "text"}, "submit may name"),
        ({"submit": {"prompt": 3}}, "prompt"),
        ({"due": "next friday"}, "due must be"),
        ({"weight": -1}, "weight must be"),
        ({"weight": True}, "weight must be"),
    ],
)
def test_bad_written_assignment_is_refused(course: Path, exercise: dict, message: str) -> None:
    _with_exercise(course, {"slug": "essay", "type": "assignment", **exercise})
    with pytest.raises(ManifestError, match=message):
        load_manifest(course)
