"""Campus domain fixtures: a migrated campus database with the demo course and people."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import make_engine, prepare_database, session_factory, transaction
from nbcampus.hub.campus.courses import import_course
from nbcampus.hub.campus.manifest import load_manifest
from nbcampus.hub.campus.orm import MIGRATIONS, Account

COURSES = Path(__file__).resolve().parents[2] / "courses"
PEOPLE = {
    "ines": "instructor",
    "otto": "instructor",
    "sara": "staff",
    **{f"s{i:02d}": "student" for i in range(12)},
}


@pytest.fixture
def campus_db(db_url: str) -> Iterator[sessionmaker[Session]]:
    """The campus schema at head, python-intro imported, an instructor, staff and students."""
    engine = make_engine(db_url, pool_size=20, max_overflow=100) if "postgres" in db_url else None
    engine = engine or make_engine(db_url)
    prepare_database(engine, db_url, MIGRATIONS)
    factory = session_factory(engine)
    with transaction(factory) as session:
        import_course(session, load_manifest(COURSES / "python-intro"))
        session.add_all(Account(name=n, role=r, display_name=n) for n, r in PEOPLE.items())
    yield factory
    engine.dispose()
