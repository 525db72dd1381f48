"""Rubrics, marks, line comments and extensions kept by the grader (grader/rubric.py), on
SQLite and PostgreSQL: the migration matches the ORM, a rubric above the cell's points is
refused, marks add up, and an extension recomputes the late penalty."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nbcampus.db import make_engine, prepare_database, session_factory, upgrade
from nbcampus.grader.orm import (
    GRADED,
    MIGRATIONS,
    Assignment,
    Base,
    Extension,
    RubricMark,
    Submission,
    utcnow,
)
from nbcampus.grader.rubric import (
    RubricError,
    due_for,
    recompute_late_penalty,
    replace_rubric,
    rubric_items,
    set_marks,
)

NEW_TABLES = (
    "grader_rubric_items",
    "grader_rubric_marks",
    "grader_comment_bank",
    "grader_line_comments",
    "grader_extensions",
)


def test_the_migration_adds_the_tables_the_orm_declares(db_url: str) -> None:
    upgrade(db_url, MIGRATIONS, "g0003")
    upgrade(db_url, MIGRATIONS)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(sa.inspect(conn).get_table_names())
    assert set(NEW_TABLES) <= tables
    assert [d for d in diff if any(t in repr(d) for t in NEW_TABLES)] == []


@pytest.fixture
def db(db_url: str):  # noqa: ANN201
    engine = make_engine(db_url)
    prepare_database(engine, db_url, MIGRATIONS)
    return session_factory(engine)


def test_a_rubric_above_the_cells_points_is_refused(db) -> None:  # noqa: ANN001
    with db() as s, s.begin():
        with pytest.raises(RubricError) as err:
            replace_rubric(
                s, "c", "a", "nb", "cell", [{"label": "x", "points": 1.5}] * 2, max_score=2
            )
        assert "3 points, more than the cell's 2" in str(err.value) and err.value.field == "points"
        with pytest.raises(RubricError):
            replace_rubric(s, "c", "a", "nb", "cell", [{"label": " ", "points": 1}], 2)
        items = replace_rubric(
            s,
            "c",
            "a",
            "nb",
            "cell",
            [{"label": "States the formula", "points": 1}, {"label": "Says why", "points": 1}],
            max_score=2,
        )
    with db() as s, s.begin():
        assert set_marks(s, "c", "a", "nb", "cell", "ann", [items[0].id], by="t") == 1
        assert set_marks(s, "c", "a", "nb", "cell", "bob", [i.id for i in items], by="t") == 2
        with pytest.raises(RubricError):
            set_marks(s, "c", "a", "nb", "cell", "ann", [items[0].id + 999], by="t")
    with db() as s, s.begin():
        # Dropping an item drops its marks; the kept one keeps them.
        kept = replace_rubric(
            s, "c", "a", "nb", "cell", [{"id": items[1].id, "label": "Why", "points": 2}], 2
        )
        assert [(i.id, i.label, i.points) for i in kept] == [(items[1].id, "Why", 2.0)]
        marks = s.execute(sa.select(RubricMark.student, RubricMark.item_id)).all()
        assert sorted(marks) == [("bob", items[1].id)]
        assert list(rubric_items(s, "c", "a")) == [("nb", "cell")]


def test_an_extension_recomputes_the_late_penalty(db) -> None:  # noqa: ANN001
    due = utcnow() - timedelta(hours=10)
    with db() as s, s.begin():
        s.add(
            Assignment(
                course="c",
                name="a",
                due_at=due,
                late_penalty_per_hour=0.5,
                late_penalty_max_fraction=1.0,
            )
        )
        # 3 hours (started) late: 1.5 points off a raw 8
        s.add(
            Submission(
                uid="u1",
                course="c",
                assignment="a",
                student="ann",
                submitted_at=due + timedelta(hours=2, minutes=30),
                status=GRADED,
                score=6.5,
                max_score=10,
                late_penalty=1.5,
                result={"score": 6.5, "late_penalty": 1.5},
                posted=True,
            )
        )
    with db() as s, s.begin():
        s.add(
            Extension(
                course="c",
                assignment="a",
                student="ann",
                due_at=due + timedelta(hours=1),
                granted_by="t",
            )
        )
    with db() as s, s.begin():
        assert due_for(s, "c", "a", "ann") is not None
        (changed,) = recompute_late_penalty(s, "c", "a", "ann")
    with db() as s:
        sub = s.get(Submission, changed)
        assert (sub.score, sub.late_penalty, sub.result["score"]) == (7.0, 1.0, 7.0)
        assert sub.posted is False and sub.hooks_due is True  # sent on again
    with db() as s, s.begin():  # a due date past the submission: no penalty at all
        ext = s.scalar(sa.select(Extension))
        ext.due_at = due + timedelta(hours=5)
    with db() as s, s.begin():
        assert recompute_late_penalty(s, "c", "a", "ann") == [changed]
    with db() as s, s.begin():
        assert recompute_late_penalty(s, "c", "a", "ann") == []  # nothing left to change
    with db() as s:
        sub = s.get(Submission, changed)
        assert (sub.score, sub.late_penalty) == (8.0, 0.0)
