"""Migration 0007 (admin screens) on SQLite and PostgreSQL: courses keep their rows, gain the
review columns and the `in_review` status, and the old schema comes back on downgrade."""

from __future__ import annotations

import importlib

import pytest
import sqlalchemy as sa
from alembic import command

from nbcampus.db import alembic_config, current_revision, make_engine, upgrade
from nbcampus.hub.campus.orm import MIGRATIONS

REVISION = "0007"
BEFORE = importlib.import_module(
    "nbcampus.hub.campus.migrations.versions.0007_admin_screens"
).down_revision

INSERT = (
    "INSERT INTO courses (slug, title, description, kernel, status, created_at, updated_at) "
    "VALUES (:slug, 'T', '', 'python3', :status, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


def test_review_statuses_and_tables_come_with_0007(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(db_url, MIGRATIONS, BEFORE)
    with engine.begin() as conn:
        conn.execute(sa.text(INSERT), {"slug": "kept", "status": "published"})
        with pytest.raises(sa.exc.IntegrityError):  # before it, no review
            with conn.begin_nested():
                conn.execute(sa.text(INSERT), {"slug": "early", "status": "in_review"})
    upgrade(db_url, MIGRATIONS, REVISION)
    assert current_revision(engine, MIGRATIONS) == REVISION
    with engine.begin() as conn:
        conn.execute(sa.text(INSERT), {"slug": "sent", "status": "in_review"})
        row = conn.execute(
            sa.text("SELECT status, review_note, archived_from FROM courses WHERE slug='kept'")
        ).one()
        assert tuple(row) == ("published", "", None)
        with pytest.raises(sa.exc.IntegrityError):
            with conn.begin_nested():
                conn.execute(sa.text(INSERT), {"slug": "bad", "status": "deleted"})
    names = set(sa.inspect(engine).get_table_names())
    assert {"audit_log", "school_settings"} <= names

    command.downgrade(alembic_config(MIGRATIONS, db_url), BEFORE)
    assert current_revision(engine, MIGRATIONS) == BEFORE
    with engine.connect() as conn:
        statuses = dict(conn.execute(sa.text("SELECT slug, status FROM courses")).all())
    assert statuses == {"kept": "published", "sent": "draft"}  # a course in review goes back
    assert "audit_log" not in set(sa.inspect(engine).get_table_names())
    engine.dispose()
