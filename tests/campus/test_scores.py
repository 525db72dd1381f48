"""Course totals out of 100 from the manifest's weights (defaults: an exercise's points, a
section's exercises summed), on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import make_engine, prepare_database, session_factory, transaction
from nbcampus.hub.campus import scores
from nbcampus.hub.campus.courses import course_by_slug, import_course
from nbcampus.hub.campus.manifest import load_manifest
from nbcampus.hub.campus.orm import MIGRATIONS, Exercise, ExerciseProgress

VALUES = Path(__file__).resolve().parents[2] / "courses/python-intro/lessons/01-values/values.ipynb"


def _course(root: Path, section_weights: tuple[float | None, float | None] = (None, None)) -> Path:
    """Section a: values (coding, 3 points), essay (written, 10 points), a material (0);
    section b: more (coding, 3 points, weight 1 in the manifest)."""
    (root / "lessons/01-a").mkdir(parents=True)
    (root / "lessons/02-b").mkdir(parents=True)
    shutil.copy(VALUES, root / "lessons/01-a/values.ipynb")
    shutil.copy(VALUES, root / "lessons/02-b/more.ipynb")
    (root / "lessons/01-a/intro.md").write_text("# Hello\n")
    sec_a = {
        "slug": "a",
        "lessons": [
            {
                "slug": "01-a",
                "exercises": [
                    {"slug": "intro", "type": "material", "file": "intro.md"},
                    {"slug": "values", "type": "coding"},
                    {"slug": "essay", "type": "assignment"},
                ],
            }
        ],
    }
    sec_b = {
        "slug": "b",
        "lessons": [{"slug": "02-b", "exercises": [{"slug": "more", "weight": 1}]}],
    }
    for sec, weight in zip((sec_a, sec_b), section_weights, strict=True):
        if weight is not None:
            sec["weight"] = weight
    data = {"slug": "weighted", "title": "Weighted", "published": True, "sections": [sec_a, sec_b]}
    (root / "course.yaml").write_text(yaml.safe_dump(data))
    return root


@pytest.fixture
def db(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    prepare_database(engine, db_url, MIGRATIONS)
    yield session_factory(engine)
    engine.dispose()


def _import(db: sessionmaker[Session], root: Path) -> None:
    with transaction(db) as s:
        import_course(s, load_manifest(root))


def _grade(db: sessionmaker[Session], user: str, grades: dict[str, tuple[float, float]]) -> None:
    with transaction(db) as s:
        for slug, (score, top) in grades.items():
            ex = s.query(Exercise).filter_by(slug=slug).one()
            s.add(ExerciseProgress(user=user, exercise_id=ex.id, score=score, max_score=top))


def _totals(db: sessionmaker[Session], users: list[str]) -> dict:
    with db() as s:
        return scores.course_totals(s, course_by_slug(s, "weighted", published_only=False), users)


def test_default_weights_are_points_and_the_sum_of_a_sections(db, tmp_path: Path) -> None:
    _import(db, _course(tmp_path / "weighted"))
    _grade(db, "ann", {"values": (3, 3), "essay": (5, 10), "more": (0, 3)})
    _grade(db, "bob", {"values": (3, 3), "essay": (10, 10), "more": (3, 3)})
    got = _totals(db, ["ann", "bob", "cy"])
    # section a: (3 * 1 + 10 * 0.5) / 13; weight 13 against section b's 1 (its manifest weight)
    a = (3 * 1 + 10 * 0.5) / 13
    assert got["ann"]["total"] == round(100 * (13 * a + 1 * 0) / 14, 1)
    assert got["bob"]["total"] == 100.0
    assert got["cy"]["total"] == 0.0 and got["cy"]["graded"] == 0
    assert got["ann"]["counted"] == 3  # the material counts nothing
    assert [p["score"] for p in got["ann"]["sections"]] == [round(100 * a, 1), 0.0]
    with db() as s:
        weights = scores.weights_dict(
            scores.course_weights(s, course_by_slug(s, "weighted", published_only=False))
        )
    assert [w["weight"] for w in weights] == [round(100 * 13 / 14, 2), round(100 / 14, 2)]
    essay = next(e for e in weights[0]["exercises"] if e["exercise"] == "essay")
    assert essay["weight"] == round(100 * 10 / 14, 2)


def test_section_weights_share_the_hundred(db, tmp_path: Path) -> None:
    _import(db, _course(tmp_path / "weighted", (60, 40)))
    _grade(db, "ann", {"values": (3, 3), "essay": (0, 10), "more": (3, 3)})
    got = _totals(db, ["ann"])["ann"]
    assert got["total"] == round(60 * 3 / 13 + 40, 1)
    assert [p["weight"] for p in got["sections"]] == [60.0, 40.0]


def test_a_reimport_with_new_weights_changes_the_total(db, tmp_path: Path) -> None:
    root = _course(tmp_path / "weighted")
    _import(db, root)
    _grade(db, "ann", {"more": (3, 3)})
    before = _totals(db, ["ann"])["ann"]["total"]
    _course(tmp_path / "again", (0, 10))
    shutil.copy(tmp_path / "again/course.yaml", root / "course.yaml")
    _import(db, root)
    after = _totals(db, ["ann"])["ann"]["total"]
    assert before == round(100 / 14, 1) and after == 100.0  # section a weighs nothing now
