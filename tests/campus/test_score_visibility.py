"""Score visibility per assessment (hub/campus/visibility.py) on SQLite and PostgreSQL: the
manifest's `scores:` (visible, after_due, hidden), what a hidden score does to progress, XP,
the course total, notifications, the data export and the digest, and an instructor's release."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import make_engine, prepare_database, session_factory, transaction
from nbcampus.hub.campus import digest, profile, scores, visibility
from nbcampus.hub.campus.courses import course_by_slug, import_course
from nbcampus.hub.campus.manifest import ManifestError, load_manifest
from nbcampus.hub.campus.orm import (
    MIGRATIONS,
    Exercise,
    ExerciseProgress,
    Notification,
    XpTransaction,
)
from nbcampus.hub.campus.results import ResultPayload, record_result

VALUES = Path(__file__).resolve().parents[2] / "courses/python-intro/lessons/01-values/values.ipynb"
PAST = (datetime.now(UTC) - timedelta(days=1)).isoformat()
FUTURE = (datetime.now(UTC) + timedelta(days=30)).isoformat()


def _course(root: Path, essay: dict | None = None, values: dict | None = None) -> Path:
    """One lesson: values (coding, 3 points, hidden until released), essay (written, 10
    points, after its due date), and more (coding, visible at once)."""
    (root / "lessons/01-a").mkdir(parents=True, exist_ok=True)
    shutil.copy(VALUES, root / "lessons/01-a/values.ipynb")
    shutil.copy(VALUES, root / "lessons/01-a/more.ipynb")
    exercises = [
        {"slug": "values", "type": "coding", "scores": "hidden", **(values or {})},
        {"slug": "essay", "type": "assignment", "scores": "after_due", "due": FUTURE}
        | (essay or {}),
        {"slug": "more", "type": "coding"},
    ]
    data = {
        "slug": "shy",
        "title": "Shy",
        "published": True,
        "sections": [{"slug": "a", "lessons": [{"slug": "01-a", "exercises": exercises}]}],
    }
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


def _result(db: sessionmaker[Session], exercise: str, score: float, top: float, sub: str) -> None:
    payload = ResultPayload(
        submission_id=sub,
        user="ann",
        course="shy",
        lesson="01-a",
        exercise=exercise,
        score=score,
        max_score=top,
        graded_at=datetime.now(UTC),
    )
    with transaction(db) as s:
        record_result(s, payload)


def _ex(s: Session, slug: str) -> Exercise:
    return s.scalars(sa.select(Exercise).filter_by(slug=slug)).one()


def _xp(db: sessionmaker[Session]) -> int:
    with db() as s:
        return sum(s.scalars(sa.select(XpTransaction.amount).filter_by(user="ann")))


def test_the_manifest_says_when_scores_show(tmp_path: Path) -> None:
    manifest = load_manifest(_course(tmp_path / "shy"))
    modes = {e.slug: e.scores for e in manifest.lessons[0].exercises}
    assert modes == {"values": "hidden", "essay": "after_due", "more": "visible"}
    for bad, reason in [
        ({"scores": "later"}, "scores must be one of visible, after_due, hidden"),
        ({"scores": "after_due"}, "scores after_due needs a due time"),
    ]:
        with pytest.raises(ManifestError, match=reason):
            load_manifest(_course(tmp_path / f"bad{len(reason)}", values=bad))


def test_a_hidden_score_is_kept_but_not_shown_until_released(db, tmp_path: Path) -> None:
    _import(db, _course(tmp_path / "shy"))
    _result(db, "values", 3, 3, "sub-1")  # a full score, hidden
    _result(db, "more", 3, 3, "sub-1")  # a full score, visible
    with db() as s:
        values, more = _ex(s, "values"), _ex(s, "more")
        assert not visibility.scores_visible(s, values) and visibility.scores_visible(s, more)
        rows = {
            r.exercise_id: r for r in s.scalars(sa.select(ExerciseProgress).filter_by(user="ann"))
        }
        # kept for the instructor, not completed (its completion and XP would tell the score)
        assert rows[values.id].score == 3 and not rows[values.id].completed
        assert rows[more.id].completed
        items = visibility.mask_hidden_scores(
            s,
            [
                {"exercise_id": values.id, "score": 3.0, "max_score": 3.0},
                {"exercise_id": more.id, "score": 3.0, "max_score": 3.0},
            ],
        )
        assert items[0] == {
            "exercise_id": values.id,
            "score": None,
            "max_score": None,
            "score_hidden": True,
        }
        assert items[1]["score"] == 3.0 and "score_hidden" not in items[1]
        course = course_by_slug(s, "shy", published_only=False)
        own = scores.course_totals(s, course, ["ann"], own_view=True)["ann"]
        teacher = scores.course_totals(s, course, ["ann"])["ann"]
        notes = [n.body for n in s.scalars(sa.select(Notification).filter_by(user="ann"))]
        export = profile.export(s, "ann")
        mail = digest.build(s, "ann", datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
    xp_before = _xp(db)
    # the student's total counts the hidden score as not graded yet and names it
    assert own["hidden"] == 2 and own["total"] < teacher["total"]
    assert [h["exercise"] for h in own["hidden_exercises"]] == ["values", "essay"]
    assert teacher["hidden"] == 0 and teacher["hidden_exercises"] == []
    assert "3 of 3 points" in notes and any("releases it" in n for n in notes)
    masked = [r for r in export["grading_results"] if r.get("score_hidden")]
    assert len(masked) == 1 and masked[0]["score"] is None
    assert [g["exercise"] for g in mail.grades] == ["more"]

    with transaction(db) as s:
        done = visibility.release_scores(s, _ex(s, "values"), "ines")
    assert done == ["ann"]
    assert _xp(db) > xp_before  # its XP comes with the release
    with db() as s:
        values = _ex(s, "values")
        assert visibility.scores_visible(s, values)
        row = s.scalars(sa.select(ExerciseProgress).filter_by(exercise_id=values.id)).one()
        assert row.completed
        info = visibility.visibility_dict(s, values)
        assert info["scores"] == "hidden" and info["visible"] and info["released_at"]
        course = course_by_slug(s, "shy", published_only=False)
        own = scores.course_totals(s, course, ["ann"], own_view=True)["ann"]
        assert [h["exercise"] for h in own["hidden_exercises"]] == ["essay"]
    # taken back: hidden again (what was completed stays completed)
    with transaction(db) as s:
        assert visibility.release_scores(s, _ex(s, "values"), "ines", released=False) == []
    with db() as s:
        assert not visibility.scores_visible(s, _ex(s, "values"))
    # a written assignment graded 7 of 10 while hidden completes at its release (a graded
    # written assignment is done whatever its points)
    _result(db, "essay", 7, 10, "w-1")
    with transaction(db) as s:
        assert visibility.release_scores(s, _ex(s, "essay"), "ines") == ["ann"]


def test_after_due_shows_once_the_due_date_passed(db, tmp_path: Path) -> None:
    _import(db, _course(tmp_path / "shy", essay={"due": PAST}))
    with db() as s:
        essay = _ex(s, "essay")
        assert visibility.scores_visible(s, essay)
        before = datetime.fromisoformat(PAST) - timedelta(minutes=1)
        assert not visibility.scores_visible(s, essay, now=before)
    _import(db, _course(tmp_path / "shy", essay={"due": FUTURE}))  # a re-import moves it
    with db() as s:
        assert visibility.hidden_exercise_ids(s, [_ex(s, "essay").id]) == {_ex(s, "essay").id}
