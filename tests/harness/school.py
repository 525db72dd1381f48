"""A term's worth of figures for the dashboards: graded submissions in the grader's database
and, for the benchmark, a school of many students in the campus's database.

The grader rows are what a finished grading leaves (scores, per-test outcomes, times), written
with the grader's own ORM; the campus side goes through the campus's domain code (enrollment,
attendance), so its rules hold. Grading a thousand notebooks for real would take hours here.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from nbcampus.db import make_engine, session_factory, transaction

REPO = Path(__file__).resolve().parents[2]


def course_tests(course: str) -> dict[str, list[tuple[str, str]]]:
    """{assignment (lesson): [(notebook, autograded test id)]} from the course's sources."""
    out: dict[str, list[tuple[str, str]]] = {}
    for nb_path in sorted((REPO / "courses" / course / "lessons").glob("*/*.ipynb")):
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution") and cell["cell_type"] == "code":
                out.setdefault(nb_path.parent.name, []).append((nb_path.stem, meta["grade_id"]))
    return out


def seed_submissions(
    grader_db_url: str,
    course: str,
    students: list[str],
    *,
    seed: int = 7,
    days: int = 12,
    skip: frozenset[str] = frozenset(),
) -> int:
    """Graded submissions of every assignment of `course` by `students` (those in `skip`
    submit nothing), spread over the last `days` days, some resubmitted; returns the count."""
    from nbcampus.grader.orm import Submission

    rng = random.Random(seed)
    tests = course_tests(course)
    now = datetime.now(UTC)
    engine = make_engine(grader_db_url)
    rows = []
    try:
        for student in students:
            if student in skip:
                continue
            skill = rng.uniform(0.35, 1.0)
            for index, (assignment, cells) in enumerate(sorted(tests.items())):
                for attempt in range(rng.choice((1, 1, 2))):
                    outcome = {cell: rng.random() < skill + 0.15 * attempt for cell in cells}
                    notebooks: dict[str, list] = {}
                    for (notebook, test), ok in outcome.items():
                        notebooks.setdefault(notebook, []).append(
                            {"name": test, "kind": "test", "hidden": False, "passed": ok}
                        )
                    age = max(0.1, days - index * days / len(tests) - rng.uniform(0, 2) - attempt)
                    submitted = now - timedelta(days=age)
                    score = float(sum(outcome.values()))
                    rows.append(
                        Submission(
                            uid=str(uuid.uuid4()),
                            course=course,
                            assignment=assignment,
                            student=student,
                            submitted_at=submitted,
                            graded_at=submitted + timedelta(seconds=rng.uniform(3, 40)),
                            status="graded",
                            attempts=1,
                            grade_count=1,
                            score=score,
                            max_score=float(len(cells)),
                            result={
                                "score": score,
                                "max_score": float(len(cells)),
                                "notebooks": [
                                    {"name": nb, "status": "ok", "tests": t}
                                    for nb, t in notebooks.items()
                                ],
                            },
                            posted=True,
                        )
                    )
        with transaction(session_factory(engine)) as s:
            s.add_all(rows)
    finally:
        engine.dispose()
    return len(rows)


def seed_school(
    campus_db_url: str,
    course: str,
    *,
    students: int,
    class_size: int,
    meetings: int,
    first_instructor: str | None = None,
    seed: int = 7,
) -> list[str]:
    """`students` new student accounts in classes of `class_size` of `course` (one instructor
    each, `inst01`..., the first class `first_instructor`'s if given), `meetings` meetings
    held with attendance; returns the student names."""
    from nbcampus.hub.campus import attendance as att
    from nbcampus.hub.campus import classes
    from nbcampus.hub.campus.orm import Account, Enrollment

    rng = random.Random(seed)
    names = [f"s{i:04d}" for i in range(students)]
    groups = [names[i : i + class_size] for i in range(0, students, class_size)]
    engine = make_engine(campus_db_url)
    factory = session_factory(engine)
    try:
        with transaction(factory) as s:
            s.add_all(Account(name=n, role="student") for n in names)
            teachers = [f"inst{c:02d}" for c in range(1 if first_instructor else 0, len(groups))]
            s.add_all(Account(name=t, role="instructor") for t in teachers)
        for c, group in enumerate(groups):
            with transaction(factory) as s:
                k = classes.create_class(
                    s,
                    name=f"Bench class {c:02d}",
                    course_slug=course,
                    type="group",
                    total_meetings=meetings + 4,
                    max_capacity=class_size + rng.randint(0, 10),
                    instructor=(first_instructor or "inst00") if c == 0 else f"inst{c:02d}",
                    created_by="bench",
                    status="enrollment_open",
                )
                for n in group:
                    classes.enroll(s, k.id, n, "bench")
                class_id = k.id
            for meeting in range(1, meetings + 1):
                with transaction(factory) as s:
                    enrolled = s.scalars(
                        sa.select(Enrollment.student).filter_by(class_id=class_id, status="active")
                    )
                    marks = [
                        att.Mark(n, rng.choice(("present", "present", "present", "late", "absent")))
                        for n in enrolled
                    ]
                    day = date.today() - timedelta(days=2 * (meetings - meeting) + 1)
                    att.take_attendance(s, class_id, meeting, day, marks, "bench")
    finally:
        engine.dispose()
    return names
