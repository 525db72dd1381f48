"""Migration 0004 (roles per class) on SQLite and PostgreSQL: each class's single
`classes.instructor` becomes the class's first instructor row in `class_staff`, and every
class, enrollment, attendance record and grade stays as it was, up to the newest revision;
downgrade puts the instructor back on the class."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from nbcampus.db import alembic_config, current_revision, make_engine, upgrade
from nbcampus.hub.campus.orm import MIGRATIONS

REVISION = "0004"
BEFORE = "0003"

SETUP = [
    "INSERT INTO courses (id, slug, title, description, kernel, status, created_at, updated_at) "
    "VALUES (1, 'py', 'Py', '', 'python3', 'published', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO sections (id, course_id, slug, title, description, order_index) "
    "VALUES (1, 1, 's1', 'S1', '', 0)",
    "INSERT INTO lessons (id, course_id, section_id, slug, title, description, order_index, "
    "retired) VALUES (1, 1, 1, 'l1', 'L1', '', 0, false)",
    "INSERT INTO exercises (id, lesson_id, slug, title, type, notebook, xp, points, "
    "order_index, retired) VALUES (1, 1, 'e1', 'E1', 'coding', 'e1.ipynb', 10, 3, 0, false)",
    # class 7 has an instructor, class 8 had none yet
    "INSERT INTO classes (id, name, course_id, instructor, type, max_capacity, "
    "current_capacity, total_meetings, meetings_completed, lessons_unlocked, status, "
    "created_by, created_at, updated_at) VALUES (7, 'A', 1, 'ines', 'group', 5, 2, 4, 1, 1, "
    "'active', 'sara', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO classes (id, name, course_id, instructor, type, max_capacity, "
    "current_capacity, total_meetings, meetings_completed, lessons_unlocked, status, "
    "created_by, created_at, updated_at) VALUES (8, 'B', 1, NULL, 'private', 1, 0, 2, 0, 0, "
    "'draft', 'sara', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO class_enrollments (id, class_id, student, meeting_credits, credits_used, "
    "credits_adjusted, status, enrolled_at) "
    "VALUES (3, 7, 'alice', 4, 1, 0, 'active', CURRENT_TIMESTAMP)",
    "INSERT INTO class_enrollments (id, class_id, student, meeting_credits, credits_used, "
    "credits_adjusted, status, enrolled_at) "
    "VALUES (4, 7, 'bob', 4, 0, 0, 'active', CURRENT_TIMESTAMP)",
    "INSERT INTO class_attendance (id, class_id, enrollment_id, meeting_number, meeting_date, "
    "status, credit_deducted, marked_by, marked_at, notes) "
    "VALUES (1, 7, 3, 1, '2026-12-01', 'present', true, 'ines', CURRENT_TIMESTAMP, '')",
    'INSERT INTO exercise_progress (id, "user", exercise_id, completed, score, max_score, '
    "updated_at) VALUES (1, 'alice', 1, true, 2.5, 3, CURRENT_TIMESTAMP)",
    'INSERT INTO grading_results (id, submission_id, exercise_id, "user", score, max_score, '
    "graded_at, received_at) "
    "VALUES (1, 'sub-1', 1, 'alice', 2.5, 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
]
KEPT = {
    "classes": "SELECT id, name, course_id, status, meetings_completed, lessons_unlocked "
    "FROM classes ORDER BY id",
    "enrollments": "SELECT id, class_id, student, meeting_credits, credits_used, status "
    "FROM class_enrollments ORDER BY id",
    "attendance": "SELECT id, enrollment_id, meeting_number, status FROM class_attendance",
    "progress": 'SELECT "user", exercise_id, completed, score, max_score FROM exercise_progress',
    "grades": 'SELECT submission_id, "user", score, max_score FROM grading_results',
}


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {k: [tuple(r) for r in conn.execute(sa.text(q)).all()] for k, q in KEPT.items()}


def test_the_class_instructor_becomes_class_staff_and_nothing_is_lost(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(db_url, MIGRATIONS, BEFORE)
    with engine.begin() as conn:
        for sql in SETUP:
            conn.execute(sa.text(sql))
    before = _snapshot(engine)
    assert len(before["classes"]) == 2 and len(before["grades"]) == 1

    upgrade(db_url, MIGRATIONS, REVISION)
    assert current_revision(engine, MIGRATIONS) == REVISION
    with engine.connect() as conn:
        staff = [
            tuple(r)
            for r in conn.execute(
                sa.text('SELECT class_id, "user", role, added_by FROM class_staff ORDER BY id')
            )
        ]
    assert staff == [(7, "ines", "instructor", "sara")]  # class 8 had no instructor
    assert "instructor" not in {c["name"] for c in sa.inspect(engine).get_columns("classes")}
    assert _snapshot(engine) == before

    command.downgrade(alembic_config(MIGRATIONS, db_url), BEFORE)
    with engine.connect() as conn:
        back = [
            tuple(r)
            for r in conn.execute(sa.text("SELECT id, instructor FROM classes ORDER BY id"))
        ]
    assert back == [(7, "ines"), (8, None)]
    assert "class_staff" not in set(sa.inspect(engine).get_table_names())
    assert _snapshot(engine) == before

    # up again and through the rest of the chain: still every row, the staff row back
    upgrade(db_url, MIGRATIONS, "head")
    assert _snapshot(engine) == before
    with engine.connect() as conn:
        roles = conn.execute(sa.text('SELECT class_id, "user", role FROM class_staff')).all()
    assert [tuple(r) for r in roles] == [(7, "ines", "instructor")]
    engine.dispose()
