"""The grader's side of `nbcampus course import`: every campus course is an nbgrader course.

nbgrader course_id = course slug, assignment_id = lesson slug, the assignment's notebooks are
the lesson's coding-exercise notebooks (exercise slug = notebook stem). Importing copies them
into the course's nbgrader `source/` folder and runs nbgrader's generate_assignment in-process,
which fills the course gradebook and writes the student versions into `release/`.
"""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from nbcampus.db import make_engine, prepare_database, session_factory, transaction
from nbcampus.settings import Settings

from .exam import register_exams
from .orm import MIGRATIONS, Assignment
from .written import register_written

log = logging.getLogger(__name__)


def course_root(data_dir: Path, course: str) -> Path:
    """The nbgrader course folder of a campus course."""
    return data_dir / "grader" / "courses" / course


def register_course(manifest: Any, settings: Settings) -> list[str]:
    """Take a course's lesson notebooks as nbgrader assignments; returns the lesson slugs.

    Fast on purpose (it runs during `nbcampus course import` and the demo set-up at start):
    it copies the source notebooks and records the assignments; nbgrader's generate_assignment
    runs later, in the grader service (`ensure_generated`), before the first release or grade.
    """
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
                with transaction(factory) as s:  # written assignments: no notebook
                    register_written(s, manifest.slug, lesson)
                    register_exams(s, manifest.slug, lesson)
                if not notebooks:
                    continue
                src = root / "source" / lesson.slug
                changed = _sync_sources(notebooks, _other_files(lesson), src)
                if changed:  # generate again from the new sources
                    shutil.rmtree(root / "release" / lesson.slug, ignore_errors=True)
                    shutil.rmtree(root / "material" / lesson.slug, ignore_errors=True)
                with transaction(factory) as s:
                    row = s.scalar(
                        sa.select(Assignment).where(
                            Assignment.course == manifest.slug, Assignment.name == lesson.slug
                        )
                    )
                    if row is None:
                        row = Assignment(
                            course=manifest.slug,
                            name=lesson.slug,
                            max_score=0.0,
                            late_penalty_per_hour=0.0,
                            late_penalty_max_fraction=1.0,
                            counts="newest",
                        )
                        s.add(row)
                    row.title = lesson.title
                    row.notebooks = sorted(nb.stem for nb in notebooks)
                    row.released = True
                done.append(lesson.slug)
    finally:
        engine.dispose()
    return done


def _other_files(lesson: Any) -> dict[str, Path]:
    """The lesson folder's files besides its notebooks (an image a notebook shows): nbgrader's
    generate_assignment copies them into the release with the notebooks."""
    folder = getattr(lesson, "directory", None)
    if folder is None:
        return {}
    return {rel: folder / rel for rel in getattr(lesson, "files", ())}


def _sync_sources(notebooks: list[Path], others: dict[str, Path], src: Path) -> bool:
    """Make src hold exactly these notebooks and files; True if anything changed."""
    src.mkdir(parents=True, exist_ok=True)
    want = {nb.name: nb.read_bytes() for nb in notebooks}
    want.update({rel: path.read_bytes() for rel, path in others.items()})
    have = {
        p.relative_to(src).as_posix(): p.read_bytes()
        for p in sorted(src.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
    if want == have:
        return False
    for name in set(have) - set(want):
        (src / name).unlink()
    for name, data in want.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    return True


_generate_lock = threading.Lock()


def ensure_generated(root: Path, course: str, assignment: str) -> bool:
    """Run nbgrader's generate_assignment once per change of sources; True if it ran."""
    # nbgrader's import (~1 s of CPU) here, not for register_course (`nbcampus run` and
    # `nbcampus course import` call it, and grade nothing).
    from .autograde import generate_assignment

    with _generate_lock:
        if (root / "release" / assignment).exists() or not (root / "source" / assignment).exists():
            return False
        generate_assignment(root, course, assignment)
        return True


def generate_pending(
    data_dir: Path, stopping: threading.Event | None = None
) -> list[tuple[str, str]]:
    """Generate every assignment whose sources changed (the service runs this at start);
    `stopping` set ends the work between two assignments (the rest waits for the next start)."""
    done: list[tuple[str, str]] = []
    courses = data_dir / "grader" / "courses"
    if not courses.exists():
        return done
    for course in sorted(p for p in courses.iterdir() if p.is_dir()):
        source = course / "source"
        if not source.exists():
            continue
        for assignment in sorted(p for p in source.iterdir() if p.is_dir()):
            if stopping is not None and stopping.is_set():
                return done
            try:
                if ensure_generated(course, course.name, assignment.name):
                    done.append((course.name, assignment.name))
            except Exception:  # one broken lesson must not keep the others from grading
                log.exception("could not generate %s/%s", course.name, assignment.name)
    return done
