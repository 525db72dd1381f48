"""Migration 0013 (one audit table) on SQLite and PostgreSQL: every row of the office's audit
(`office_audit`) moves into `audit_log` with its class, enrollment, time, actor, before and
after; the admin screens' rows stay as they were; downgrade splits them back."""

from __future__ import annotations

import importlib
import json

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nbcampus.db import alembic_config, current_revision, make_engine, upgrade
from nbcampus.hub.campus.orm import MIGRATIONS, Base

REVISION = "0013"
BEFORE = importlib.import_module(
    "nbcampus.hub.campus.migrations.versions.0013_one_audit"
).down_revision

SETUP = [
    "INSERT INTO courses (id, slug, title, description, kernel, status, created_at, updated_at) "
    "VALUES (1, 'py', 'Py', '', 'python3', 'published', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO classes (id, name, course_id, type, max_capacity, current_capacity, "
    "total_meetings, meetings_completed, lessons_unlocked, status, created_at, updated_at) "
    "VALUES (7, 'A', 1, 'group', 5, 1, 4, 0, 0, 'enrollment_open', CURRENT_TIMESTAMP, "
    "CURRENT_TIMESTAMP)",
    "INSERT INTO class_enrollments (id, class_id, student, meeting_credits, credits_used, "
    "credits_adjusted, status, enrolled_at) "
    "VALUES (3, 7, 'alice', 4, 0, 0, 'active', CURRENT_TIMESTAMP)",
]
OFFICE_ROWS = [  # (class_id, enrollment_id, action, actor, at, before, after)
    (7, None, "class.create", "sara", "2026-12-01 10:00:00+00:00", "", '{"name": "A"}'),
    (7, 3, "enrollment.enroll", "sara", "2026-12-01 10:05:00+00:00", "", '{"student": "alice"}'),
    (7, None, "class.update", "ines", "2026-12-02 09:00:00+00:00", '{"name": "A"}',
     '{"name": "B"}'),
]  # fmt: skip
ADMIN_ROW = ("root", "settings.update", "settings", "school", '{"name": "x"}', '{"name": "y"}')


def _rows(conn: sa.Connection, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(sa.text(sql)).all()]


def test_office_audit_rows_move_into_audit_log_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(db_url, MIGRATIONS, BEFORE)
    with engine.begin() as conn:
        for sql in SETUP:
            conn.execute(sa.text(sql))
        for row in OFFICE_ROWS:
            conn.execute(
                sa.text(
                    "INSERT INTO office_audit (class_id, enrollment_id, action, actor, at, "
                    "before, after) VALUES (:c, :e, :a, :who, :at, :b, :af)"
                ),
                dict(zip(("c", "e", "a", "who", "at", "b", "af"), row, strict=True)),
            )
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (actor, action, target_type, target, before, after, at) "
                "VALUES (:who, :a, :t, :tg, :b, :af, '2026-11-30 08:00:00+00:00')"
            ),
            dict(zip(("who", "a", "t", "tg", "b", "af"), ADMIN_ROW, strict=True)),
        )

    upgrade(db_url, MIGRATIONS, REVISION)
    assert current_revision(engine, MIGRATIONS) == REVISION
    assert "office_audit" not in set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        moved = _rows(
            conn,
            "SELECT class_id, enrollment_id, action, actor, target_type, target, before, after "
            "FROM audit_log WHERE class_id IS NOT NULL ORDER BY id",
        )
        kept = _rows(
            conn,
            "SELECT actor, action, target_type, target, before, after, class_id "
            "FROM audit_log WHERE class_id IS NULL",
        )
        times = [
            str(t)[:16]
            for (t,) in conn.execute(
                sa.text("SELECT at FROM audit_log WHERE class_id = 7 ORDER BY id")
            )
        ]
    assert moved == [
        (c, e, a, who, "class", "7", b or "{}", af) for c, e, a, who, _, b, af in OFFICE_ROWS
    ]
    assert all(json.loads(r[6]) is not None and json.loads(r[7]) for r in moved)
    assert kept == [(*ADMIN_ROW, None)]
    assert times == ["2026-12-01 10:00", "2026-12-01 10:05", "2026-12-02 09:00"]
    with engine.connect() as conn:  # the migration matches the ORM's table
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "audit" in repr(d)] == []

    command.downgrade(alembic_config(MIGRATIONS, db_url), BEFORE)
    assert current_revision(engine, MIGRATIONS) == BEFORE
    with engine.connect() as conn:
        back = _rows(
            conn,
            "SELECT class_id, enrollment_id, action, actor, before, after FROM office_audit "
            "ORDER BY id",
        )
        left = _rows(
            conn, "SELECT actor, action, target_type, target, before, after FROM audit_log"
        )
    assert back == [(c, e, a, who, b, af) for c, e, a, who, _, b, af in OFFICE_ROWS]
    assert left == [ADMIN_ROW]
    assert "class_id" not in {c["name"] for c in sa.inspect(engine).get_columns("audit_log")}
    engine.dispose()
