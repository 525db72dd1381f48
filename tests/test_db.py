"""The schema check every service runs at start: create fresh, accept current, refuse old."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from nbcampus.db import (
    DatabaseSchemaMismatch,
    MigrationSet,
    current_revision,
    make_engine,
    prepare_database,
    upgrade,
)

FIXTURE = MigrationSet("fixture", "schema_fixture", "fixture_alembic_version")


def test_fresh_database_is_created_then_current(db_url: str) -> None:
    engine = make_engine(db_url)
    assert prepare_database(engine, db_url, FIXTURE) == "created"
    assert current_revision(engine, FIXTURE) == "r2"
    assert prepare_database(engine, db_url, FIXTURE) == "current"
    engine.dispose()


def test_old_schema_is_refused_until_upgraded(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(db_url, FIXTURE, "r1")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO fixture_things (id) VALUES (7)"))
    with pytest.raises(DatabaseSchemaMismatch, match="nbcampus upgrade-db"):
        prepare_database(engine, db_url, FIXTURE)
    upgrade(db_url, FIXTURE)
    assert prepare_database(engine, db_url, FIXTURE) == "current"
    with engine.connect() as conn:  # the upgrade kept the data
        assert conn.execute(sa.text("SELECT id FROM fixture_things")).scalar() == 7
    engine.dispose()


def test_unknown_revision_is_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    prepare_database(engine, db_url, FIXTURE)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE fixture_alembic_version SET version_num = 'zz99'"))
    with pytest.raises(DatabaseSchemaMismatch, match="does not know"):
        prepare_database(engine, db_url, FIXTURE)
    engine.dispose()
