"""The grader's side of `nbcampus course import`: every campus course is an nbgrader course.

nbgrader course_id = course slug, assignment_id = lesson slug, the assignment's notebooks are
the lesson's coding-exercise notebooks (exercise slug = notebook stem). Importing copies them
into the course's nbgrader `source/` folder and runs nbgrader's generate_assignment in-process,
which fills the course gradebook and writes the student versions into `release/`.
"""

from __future__ import annotations

import shutil
from typing import Any

import sqlalchemy as sa

from nbcampus.db import make_engine, prepare_database, session_factory, transaction
from nbcampus.settings import Settings

from .autograde import generate_assignment
from .orm import MIGRATIONS, Assignment
from .worker import course_root


def register_course(manifest: Any, settings: Settings) -> list[str]:
    """Generate the nbgrader assignments of a course's lessons; returns their ids."""
    root = course_root(settings.data_dir, manifest.slug)
    url = settings.database_url("grader")
    engine = make_engine(url)
    prepare_database(engine, url, MIGRATIONS)
    factory = session_factory(engine)
    done = []
    try:
        for section in manifest.sections:
            for lesson in section.lessons:
                notebooks = [
                    ex.notebook
                    for ex in lesson.exercises
                    if ex.notebook is not None and ex.type in ("coding", "assignment")
                ]
                if not notebooks:
                    continue
                src = root / "source" / lesson.slug
                shutil.rmtree(src, ignore_errors=True)
                src.mkdir(parents=True)
                for nb in notebooks:
                    shutil.copy(nb, src / nb.name)
                shutil.rmtree(root / "material" / lesson.slug, ignore_errors=True)
                names = generate_assignment(root, manifest.slug, lesson.slug)
                with transaction(factory) as s:
                    row = s.scalar(
                        sa.select(Assignment).where(
                            Assignment.course == manifest.slug, Assignment.name == lesson.slug
                        )
                    )
                    if row is None:
                        row = Assignment(course=manifest.slug, name=lesson.slug)
                        s.add(row)
                    row.title = lesson.title
                    row.notebooks = names
                    row.late_penalty_per_hour = row.late_penalty_per_hour or 0.0
                    row.late_penalty_max_fraction = row.late_penalty_max_fraction or 1.0
                    row.counts = row.counts or "newest"
                    row.released = True
                    row.max_score = row.max_score or 0.0
                done.append(lesson.slug)
    finally:
        engine.dispose()
    return done
