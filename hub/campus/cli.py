"""`nbcampus course import`, and the demo campus the local profile creates on first start."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date, timedelta
from importlib import import_module
from pathlib import Path

import sqlalchemy as sa

from nbcampus.db import make_engine, prepare_database, session_factory, transaction
from nbcampus.settings import Settings
from nbcampus.web import APIError

from . import attendance, classes
from .courses import ImportSummary, import_course
from .manifest import (
    CourseManifest,
    ManifestError,
    load_manifest,
    nbgrader_course_yaml,
    nbgrader_root,
)
from .orm import MIGRATIONS, Account, Course

log = logging.getLogger("nbcampus.campus")

DEMO_COURSES = ("python-intro", "c-fundamentals")
DEMO_INSTRUCTOR = "instructor"
DEMO_DEADLINE_DAYS = 60  # the demo group classes take enrollments for two months


class CourseImportError(RuntimeError):
    """A course could not be imported; one line for the operator."""


def _factory(settings: Settings):  # type: ignore[no-untyped-def]
    url = settings.database_url("campus")
    engine = make_engine(url)
    prepare_database(engine, url, MIGRATIONS)
    return engine, session_factory(engine)


def register_with_grader(manifest: CourseManifest, settings: Settings) -> bool:
    """Hand the course to the grader's hook when the grader provides one."""
    try:
        module = import_module("nbcampus.grader.courses")
    except ModuleNotFoundError:
        return False
    hook = getattr(module, "register_course", None)
    if hook is None:
        return False
    hook(manifest, settings)
    return True


def import_course_dir(settings: Settings, course_dir: Path) -> tuple[ImportSummary, bool]:
    try:
        manifest = load_manifest(course_dir)
    except ManifestError as err:
        raise CourseImportError(str(err)) from None
    engine, factory = _factory(settings)
    try:
        with transaction(factory) as session:
            summary = import_course(session, manifest)
    finally:
        engine.dispose()
    return summary, register_with_grader(manifest, settings)


def cmd_course_import(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    for course_dir in args.course_dirs:
        try:
            summary, graded = import_course_dir(settings, Path(course_dir))
        except CourseImportError as err:
            print(f"nbcampus: course import: {err}", file=sys.stderr)
            return 2
        print(
            json.dumps(
                {
                    "course": summary.slug,
                    "id": summary.course_id,
                    "created": summary.created,
                    "lessons": summary.lessons,
                    "exercises": summary.exercises,
                    "retired": summary.retired,
                    "grader_registered": graded,
                }
            )
        )
    return 0


def cmd_course_manifest(args: argparse.Namespace) -> int:
    """Print the course.yaml made for an nbgrader course folder (to save and edit)."""
    root = nbgrader_root(Path(args.course_dir))
    if root is None:
        print(
            f"nbcampus: course manifest: {args.course_dir} is not an nbgrader course folder "
            "(source/<assignment>/*.ipynb without a course.yaml)",
            file=sys.stderr,
        )
        return 2
    try:
        text = nbgrader_course_yaml(root)
    except ManifestError as err:
        print(f"nbcampus: course manifest: {err}", file=sys.stderr)
        return 2
    print(text, end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    course = sub.add_parser("course", help="manage course content")
    course_sub = course.add_subparsers(dest="course_command", metavar="ACTION", required=True)
    imp = course_sub.add_parser(
        "import",
        help="create or update courses from their folders (course.yaml + lessons/, or an "
        "nbgrader course's source/)",
        description="Reads courses/<slug>/course.yaml and creates or updates the course, "
        "keeping every student's progress; then registers it with the grader. An nbgrader "
        "course folder (source/<assignment>/, optional nbgrader_config.py) imports as it is, "
        "with the manifest `nbcampus course manifest` prints.",
    )
    imp.add_argument("course_dirs", nargs="+", metavar="COURSE_DIR")
    imp.set_defaults(func=cmd_course_import)
    man = course_sub.add_parser(
        "manifest",
        help="print the course.yaml made for an nbgrader course folder",
        description="One lesson per source/<assignment>/ folder, one coding exercise per "
        "notebook; save it as course.yaml beside source/ to edit titles, XP and sections.",
    )
    man.add_argument("course_dir", metavar="COURSE_DIR")
    man.set_defaults(func=cmd_course_manifest)


def ensure_demo_campus(settings: Settings, courses_dir: Path) -> list[str]:
    """On a campus without courses: import the demo courses and open one group class per
    course with the demo students, its first meeting held and first lesson unlocked (so a
    demo student sees one open lesson and the rest locked). Returns the imported slugs."""
    engine, factory = _factory(settings)
    imported: list[str] = []
    try:
        with factory() as session:
            if session.scalar(sa.select(sa.func.count()).select_from(Course)):
                return []
            students = session.scalars(
                sa.select(Account.name).where(Account.role == "student").order_by(Account.name)
            ).all()
            has_instructor = session.scalar(
                sa.select(Account.id).where(Account.name == DEMO_INSTRUCTOR)
            )
        for slug in DEMO_COURSES:
            try:
                manifest = load_manifest(courses_dir / slug)
            except ManifestError as err:
                log.warning("demo course %s not imported: %s", slug, err)
                continue
            with transaction(factory) as session:
                import_course(session, manifest)
                klass = classes.create_class(
                    session,
                    name=f"{manifest.title} (demo group)",
                    course_slug=slug,
                    type="group",
                    total_meetings=max(len(manifest.lessons), 1),
                    max_capacity=30,
                    instructor=DEMO_INSTRUCTOR if has_instructor else None,
                    created_by="nbcampus",
                    status="enrollment_open",
                    # A group class closes its enrollment on a known day (domain rules).
                    enrollment_deadline=date.today() + timedelta(days=DEMO_DEADLINE_DAYS),
                )
                class_id = klass.id
            with transaction(factory) as session:
                for name in students:
                    classes.enroll(session, class_id, name, "nbcampus")
                if students:
                    attendance.take_attendance(
                        session,
                        class_id,
                        1,
                        date.today(),
                        [attendance.Mark(n, "present") for n in students],
                        DEMO_INSTRUCTOR,
                    )
                    classes.unlock_lesson(session, class_id, None, DEMO_INSTRUCTOR)
            try:
                register_with_grader(manifest, settings)
            except Exception as err:  # the grader's store is its own; the campus still starts
                log.warning("grader could not register demo course %s: %s", slug, err)
            imported.append(slug)
    except APIError as err:
        log.warning("demo campus incomplete: %s", err.message)
    finally:
        engine.dispose()
    return imported
