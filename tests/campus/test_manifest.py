"""Course manifests: the demo courses load, and each kind of bad manifest is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nbcampus.hub.campus.manifest import ManifestError, load_manifest

COURSES = Path(__file__).resolve().parents[2] / "courses"


def test_python_course_loads_with_notebooks_and_points() -> None:
    m = load_manifest(COURSES / "python-intro")
    assert m.slug == "python-intro" and m.published
    assert len(m.lessons) >= 3
    coding = [e for lesson in m.lessons for e in lesson.exercises if e.type == "coding"]
    assert coding and all(e.notebook is not None and e.notebook.is_file() for e in coding)
    # points are summed from the notebook's nbgrader test cells when the manifest omits them
    values = next(e for e in coding if e.slug == "values")
    assert values.points == 3.0 and values.notebook.stem == "values"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    dest = tmp_path / "python-intro"
    shutil.copytree(COURSES / "python-intro", dest)
    return dest


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("slug: python-intro", "slug: Python Intro!", "slug"),
        ("type: coding, xp: 30", "type: homework, xp: 30", "type must be one of"),
        ("xp: 30", "xp: -3", "xp must be"),
        ("slug: lists,", "slug: missing_nb,", "is missing"),
        ("published: true", "published: maybe", "published"),
        ("slug: 02-control-flow", "slug: 01-values", "appears twice"),
        ("sections:", "sections: 7\nx:", "list of mappings"),
    ],
)
def test_bad_manifest_is_refused(course: Path, old: str, new: str, message: str) -> None:
    text = (course / "course.yaml").read_text()
    assert old in text
    (course / "course.yaml").write_text(text.replace(old, new, 1))
    with pytest.raises(ManifestError, match=message):
        load_manifest(course)


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read"):
        load_manifest(tmp_path)
    (tmp_path / "course.yaml").write_text("slug: [unclosed")
    with pytest.raises(ManifestError, match="not valid YAML"):
        load_manifest(tmp_path)


def test_lessons_and_exercises_from_folders_when_not_listed(tmp_path: Path) -> None:
    course = tmp_path / "c-like"
    for lesson in ("02-loops", "01-hello"):
        shutil.copytree(
            COURSES / "python-intro/lessons/02-control-flow", course / "lessons" / lesson
        )
    (course / "lessons/03-empty").mkdir()  # a folder without notebooks is not a lesson
    (course / "course.yaml").write_text("slug: c-like\ntitle: C-like\nkernel: c\npublished: true\n")
    m = load_manifest(course)
    assert [lesson.slug for lesson in m.lessons] == ["01-hello", "02-loops"]
    assert m.lessons[0].title == "Hello"
    assert [e.slug for e in m.lessons[0].exercises] == ["count_vowels", "fizzbuzz"]
    assert all(e.type == "coding" and e.notebook for e in m.lessons[0].exercises)


def test_c_course_loads_with_the_c_kernel() -> None:
    m = load_manifest(COURSES / "c-fundamentals")
    assert m.kernel == "c" and m.published and len(m.lessons) >= 3
    for lesson in m.lessons:
        assert lesson.notebooks and all(nb.is_file() for nb in lesson.notebooks)
        assert all(e.points > 0 for e in lesson.exercises if e.type == "coding")
