"""`nbcampus course import` hands a course to the grader, which makes it an nbgrader course."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from nbgrader.api import Gradebook

from nbcampus.db import make_engine
from nbcampus.grader.courses import generate_pending, register_course
from nbcampus.grader.orm import Assignment
from nbcampus.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_python_course_becomes_nbgrader_course(tmp_path: Path) -> None:
    manifest_mod = pytest.importorskip("nbcampus.hub.campus.manifest")
    manifest = manifest_mod.load_manifest(REPO / "courses" / "python-intro")
    settings = Settings.from_env({"NBCAMPUS_DATA_DIR": str(tmp_path)})
    lessons = register_course(manifest, settings)
    assert lessons, "the Python course has coding exercises"
    generated = generate_pending(tmp_path)
    assert sorted(a for _c, a in generated) == sorted(lessons)
    assert generate_pending(tmp_path) == []  # nothing changed: nothing to do
    assert register_course(manifest, settings) == lessons and generate_pending(tmp_path) == []
    root = tmp_path / "grader" / "courses" / manifest.slug
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", manifest.slug) as gb:
        assert sorted(a.name for a in gb.assignments) == sorted(lessons)
    engine = make_engine(settings.database_url("grader"))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Assignment.name, Assignment.notebooks)).all()
    assert {r.name for r in rows} == set(lessons) and all(r.notebooks for r in rows)
    # the released notebooks carry no solutions
    for nb in (root / "release").rglob("*.ipynb"):
        assert "### BEGIN SOLUTION" not in nb.read_text()
