"""An nbgrader course imports as it is: nbgrader's example course (its `source/` folder copied
unchanged) with one command, its other files released, and imports that find nothing fail
naming what is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from harness.reference import PS1

from nbcampus.grader.courses import generate_pending
from nbcampus.hub.campus import manifest as mf
from nbcampus.hub.campus.manifest import ManifestError, load_manifest


@pytest.fixture
def ps1(tmp_path: Path) -> Path:
    """nbgrader's example course: its source/ folder, copied unchanged."""
    dest = tmp_path / "ps1-course"
    shutil.copytree(PS1 / "source", dest / "source")
    return dest


def test_the_source_folder_or_its_parent_reads_as_a_course(ps1: Path) -> None:
    for folder in (ps1, ps1 / "source"):
        m = load_manifest(folder)
        assert m.slug == "ps1-course"
        (lesson,) = m.lessons
        assert lesson.slug == "ps1" and lesson.directory == ps1 / "source" / "ps1"
        assert [e.slug for e in lesson.exercises] == ["problem1", "problem2"]
        assert all(e.type == "coding" and e.points > 0 for e in lesson.exercises)
        assert lesson.files == ("jupyter.png",)  # released with problem1, which shows it


def test_nbgrader_config_names_the_course_and_assignment_names_are_kept(ps1: Path) -> None:
    (ps1 / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'Course101.Fall'\n"
        "c.Exchange.root = '/srv/nbgrader/exchange'\n"
    )
    shutil.copytree(ps1 / "source" / "ps1", ps1 / "source" / "Week.2")
    (ps1 / "source" / "Week.2" / "data").mkdir()
    (ps1 / "source" / "Week.2" / "data" / "points.csv").write_text("x,y\n1,2\n")
    (ps1 / "source" / "Week.2" / ".ipynb_checkpoints").mkdir()
    (ps1 / "source" / "Week.2" / ".ipynb_checkpoints" / "x.png").write_bytes(b"old")
    m = load_manifest(ps1)
    assert m.slug == "course101-fall" and m.title == "Course101.Fall"
    assert [lesson.slug for lesson in m.lessons] == ["Week.2", "ps1"]
    assert m.lessons[0].files == ("data/points.csv", "jupyter.png")


def test_a_course_yaml_may_keep_the_folders_in_source(ps1: Path) -> None:
    (ps1 / "course.yaml").write_text(
        "slug: ps1-course\ntitle: PS1\npublished: true\n"
        "sections:\n  - slug: all\n    lessons:\n      - slug: ps1\n"
    )
    (lesson,) = load_manifest(ps1).lessons
    assert [e.slug for e in lesson.exercises] == ["problem1", "problem2"]
    assert lesson.files == ("jupyter.png",)


@pytest.mark.parametrize(
    ("yaml_lessons", "message"),
    [
        ("      - slug: ps2\n", r"lesson ps2: its folder is missing .*source/ps2"),
        ("      - slug: empty\n", r"lesson empty: no notebook \(\*\.ipynb\) in .*empty"),
    ],
)
def test_a_lesson_without_its_folder_or_notebooks_names_it(
    ps1: Path, yaml_lessons: str, message: str
) -> None:
    (ps1 / "source" / "empty").mkdir()
    (ps1 / "course.yaml").write_text(
        "slug: ps1-course\ntitle: PS1\nsections:\n  - slug: all\n    lessons:\n" + yaml_lessons
    )
    with pytest.raises(ManifestError, match=message):
        load_manifest(ps1)


def test_an_import_that_finds_no_exercise_fails(tmp_path: Path) -> None:
    (tmp_path / "source" / "ps1").mkdir(parents=True)
    (tmp_path / "source" / "ps1" / "notes.txt").write_text("no notebook here")
    with pytest.raises(ManifestError, match=r"no assignment found .*source/<assignment>"):
        load_manifest(tmp_path)
    (tmp_path / "course.yaml").write_text("slug: x\ntitle: X\n")
    with pytest.raises(ManifestError, match="at least one lesson .*lessons.*source"):
        load_manifest(tmp_path)
    (tmp_path / "course.yaml").write_text(
        "slug: x\ntitle: X\nsections:\n  - slug: s\n    lessons:\n"
        "      - {slug: l1, exercises: [{slug: intro, type: material}]}\n"
        "      - {slug: l2, exercises: []}\n"
    )
    assert [e.type for e in load_manifest(tmp_path).lessons[0].exercises] == ["material"]


def test_release_limits_name_the_file(ps1: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mf, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ManifestError, match=r"jupyter\.png is larger than 1000 bytes"):
        load_manifest(ps1)
    monkeypatch.setattr(mf, "MAX_FILE_BYTES", 10**8)
    monkeypatch.setattr(mf, "MAX_LESSON_FILES", 0)
    with pytest.raises(ManifestError, match="more than 0 files"):
        load_manifest(ps1)


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "nbcampus.cli", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)


def test_cli_imports_nbgrader_example_course_and_releases_its_image(
    ps1: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    env = {**os.environ, "NBCAMPUS_DATA_DIR": str(data), "NBCAMPUS_PROFILE": "local"}
    env.pop("NBCAMPUS_DB_URL", None)
    out = run_cli(env, "course", "import", str(ps1 / "source"))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.splitlines()[-1])
    assert summary["course"] == "ps1-course" and summary["lessons"] == 1
    assert summary["exercises"] == 2 and summary["grader_registered"]
    # the grader generates the student version: jupyter.png goes with problem1
    assert ("ps1-course", "ps1") in generate_pending(data)
    release = data / "grader" / "courses" / "ps1-course" / "release" / "ps1"
    assert sorted(p.name for p in release.iterdir()) == [
        "jupyter.png",
        "problem1.ipynb",
        "problem2.ipynb",
    ]
    assert (release / "jupyter.png").read_bytes() == (
        ps1 / "source" / "ps1" / "jupyter.png"
    ).read_bytes()
    assert "jupyter.png" in (release / "problem1.ipynb").read_text()
    # the manifest made for it, to save and edit
    made = run_cli(env, "course", "manifest", str(ps1))
    assert made.returncode == 0 and "slug: ps1\n" in made.stdout
    # nothing to import: a failure naming what is missing, not a success with 0 exercises
    empty = tmp_path / "empty-course"
    (empty / "source" / "ps1").mkdir(parents=True)
    bad = run_cli(env, "course", "import", str(empty))
    assert bad.returncode == 2 and "no assignment found" in bad.stderr
