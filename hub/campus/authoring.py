"""Publishing a course from an instructor's own folder: check, dry run, publish.

The Course view in an instructor's JupyterLab sends the course folder's files (course.yaml and
its lessons' files); the campus unpacks them into a scratch folder and runs the same import as
`nbcampus course import` (courses.import_course, then the grader's register_course), so every
student's progress is kept exactly as with the command.

- `plan` (the dry run) lists the lessons publishing would add, change and retire, and how many
  students have progress in each lesson it changes or retires; its `revision` is the course as
  the dry run saw it.
- `publish` imports in one transaction: the grader's registration runs inside it, so a failure
  anywhere leaves the campus as it was. A publish names the revision it was planned on; when
  the course changed in between (another instructor published first) it is a 409 conflict.
  Publishes of one course take turns (a lock per course in this process, and the course row
  locked in the database), so of two at once one wins and the other gets the conflict.
- Course review: an admin's publish takes the course's `published:` as it is; an instructor's
  sends a course that is not yet published for review (course_review.py), and an already
  published course stays published with the new content.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from importlib import import_module
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session

from nbcampus.settings import Settings
from nbcampus.web import APIError

from . import audit
from .courses import import_course
from .manifest import (
    MAX_FILE_BYTES,
    MAX_LESSON_BYTES,
    CourseManifest,
    LessonSpec,
    ManifestError,
    nbgrader_course_yaml,
    nbgrader_root,
)
from .manifest_check import Problem, check_folder, check_text
from .orm import (
    AuditEntry,
    CampusClass,
    Course,
    Exercise,
    ExerciseProgress,
    GradingResult,
    Lesson,
    Section,
)
from .teaching import teaches_course

INSTRUCTOR = frozenset({"instructor"})
AUTHOR_ROLES = ("instructor", "admin")  # school roles that may start a new course
MAX_FILES = 1000
MAX_COURSE_BYTES = 4 * MAX_LESSON_BYTES


class PublishConflict(APIError):
    def __init__(self, message: str) -> None:
        super().__init__(409, message, code="CONFLICT")


def unpack(files: dict[str, bytes], dest: Path) -> None:
    """Write an uploaded course folder (already safe relative names) under `dest`."""
    if "course.yaml" not in files and not any(name.startswith("source/") for name in files):
        raise APIError(
            400,
            "the course folder has no course.yaml, nor nbgrader's source/<assignment>/ folders",
            field="files",
        )
    if len(files) > MAX_FILES:
        raise APIError(400, f"a course folder may hold at most {MAX_FILES} files", field="files")
    total = 0
    for name, data in files.items():
        if len(data) > MAX_FILE_BYTES:
            raise APIError(400, f"{name} is larger than {MAX_FILE_BYTES} bytes", field="files")
        total += len(data)
        if total > MAX_COURSE_BYTES:
            raise APIError(400, f"the course holds more than {MAX_COURSE_BYTES} bytes")
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _folder_name(name: str) -> bool:
    """One folder name the file system takes: no separator, no control character, at most
    100 characters and 255 bytes of UTF-8 (mkdir's own errors would be 500s)."""
    try:
        size = len(name.encode())
    except UnicodeEncodeError:  # a lone surrogate, as JSON's "\\ud800" gives
        return False
    return (
        name not in (".", "..")
        and name.isprintable()
        and not any(ch in name for ch in "/\\")
        and len(name) <= 100
        and size <= 255
    )


@contextmanager
def unpacked(files: dict[str, bytes], name: str | None = None) -> Iterator[Path]:
    """The uploaded folder in a scratch folder named `name`, the author's folder's own name:
    an nbgrader course without a course_id in its nbgrader_config.py is named after it."""
    name = name or "course"
    if not _folder_name(name):
        raise APIError(400, "name must be the course folder's own name", field="name")
    with tempfile.TemporaryDirectory(prefix="nbcampus-course-") as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        unpack(files, folder)
        yield folder


def _unscratched(message: str, course_dir: Path) -> str:
    """A message without the scratch folder's path (the author knows their folder by its own
    name): `<scratch>/source/ps1` reads `source/ps1`."""
    for prefix in {str(course_dir), str(course_dir.resolve())}:
        message = message.replace(prefix + "/", "")
    return message


def exercises_read(manifest: CourseManifest) -> dict[str, list[dict[str, Any]]]:
    """Each lesson's exercises as the importer reads them (a lesson without `exercises:` has
    one coding exercise per notebook of its folder, with the notebook's points)."""
    return {
        lesson.slug: [
            {"slug": e.slug, "title": e.title, "type": e.type, "points": e.points, "xp": e.xp}
            for e in lesson.exercises
        ]
        for lesson in manifest.lessons
    }


def generated(course_dir: Path) -> dict[str, Any]:
    """The course.yaml the importer makes for an nbgrader course folder without one
    (manifest.nbgrader_course_data, as `nbcampus course manifest` prints it); the importer's
    own message as a 400 when it finds no assignment."""
    root = nbgrader_root(course_dir)
    if root is None:
        raise APIError(
            400, "the folder has a course.yaml, or no nbgrader source/ folder", field="files"
        )
    try:
        text = nbgrader_course_yaml(root)
    except ManifestError as err:
        raise APIError(400, _unscratched(str(err), course_dir), field="files") from None
    data = yaml.safe_load(text)
    return {"course": data["slug"], "yaml": text, "data": data}


def check(course_dir: Path) -> tuple[CourseManifest | None, list[Problem]]:
    """Every problem of the folder's course.yaml with its line; for an nbgrader folder without
    one, of the course.yaml the importer makes for it (the lines are that text's)."""
    if nbgrader_root(course_dir) is None:
        manifest, problems = check_folder(course_dir)
    else:
        try:
            text = nbgrader_course_yaml(nbgrader_root(course_dir) or course_dir)
        except ManifestError as err:
            manifest, problems = None, [Problem(1, str(err))]
        else:
            manifest, problems = check_text(text, course_dir)
    return manifest, [Problem(p.line, _unscratched(p.message, course_dir)) for p in problems]


def require_manifest(course_dir: Path) -> CourseManifest:
    manifest, problems = check(course_dir)
    if manifest is None:
        first = problems[0] if problems else Problem(1, "course.yaml is not valid")
        raise APIError(
            400,
            f"line {first.line} of {first.message}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            field="files",
        )
    return manifest


def revision(course: Course | None) -> str:
    """The course as a dry run saw it: its last change (every import and review move sets it)."""
    if course is None or course.updated_at is None:
        return ""
    at = course.updated_at
    if at.tzinfo is not None:  # SQLite hands it back without its zone: compare as naive UTC
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat()


def may_author(session: Session, course: Course | None, name: str, role: str) -> bool:
    """Admins author every course; an instructor account authors a new course, and an
    existing one only when they teach one of its classes as instructor."""
    if role == "admin":
        return True
    if course is None:
        return role == "instructor"
    if teaches_course(session, course.id, name, INSTRUCTOR):
        return True
    # A course no class teaches yet stays its author's: the one whose publish created it
    # (the audit records it), until staff open a class of it with its instructors.
    has_class = session.scalar(
        sa.select(CampusClass.id).where(CampusClass.course_id == course.id).limit(1)
    )
    if has_class is not None or role != "instructor":
        return False
    created = session.scalar(
        sa.select(AuditEntry.id)
        .where(
            AuditEntry.target_type == "course",
            AuditEntry.target == course.slug,
            AuditEntry.actor == name,
            AuditEntry.action.in_(("course.submit", "course.import")),
        )
        .limit(1)
    )
    return created is not None


# --- the dry run ------------------------------------------------------------------------
def _grader_source(settings: Settings | None, course: str, lesson: str) -> Path | None:
    if settings is None:
        return None
    try:
        worker = import_module("nbcampus.grader.worker")
    except ModuleNotFoundError:
        return None
    return worker.course_root(settings.data_dir, course) / "source" / lesson


def _files_of(lesson: LessonSpec) -> dict[str, bytes]:
    files = {nb.name: nb.read_bytes() for nb in lesson.notebooks}
    if lesson.directory is not None:
        files.update({rel: (lesson.directory / rel).read_bytes() for rel in lesson.files})
    return files


def _published_files(folder: Path | None) -> dict[str, bytes] | None:
    if folder is None or not folder.is_dir():
        return None
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _students(session: Session, lesson_id: int) -> int:
    """How many students have progress (an exercise done or a grade) in a lesson."""
    exercises = sa.select(Exercise.id).where(Exercise.lesson_id == lesson_id)
    users = sa.union(
        sa.select(ExerciseProgress.user).where(ExerciseProgress.exercise_id.in_(exercises)),
        sa.select(GradingResult.user).where(GradingResult.exercise_id.in_(exercises)),
    ).subquery()
    return int(session.scalar(sa.select(sa.func.count()).select_from(users)) or 0)


def _lesson_changes(
    session: Session,
    lesson: Lesson,
    spec: LessonSpec,
    section_slug: str,
    order: int,
    settings: Settings | None,
    course_slug: str,
) -> list[str]:
    what = []
    if (lesson.title, lesson.description, lesson.duration_minutes) != (
        spec.title,
        spec.description,
        spec.duration_minutes,
    ):
        what.append("title or description")
    section = session.get(Section, lesson.section_id)
    if section is None or section.slug != section_slug:
        what.append("section")
    if lesson.order_index != order:
        what.append("order")
    have = [
        (e.slug, e.title, e.type, e.notebook, e.xp, float(e.points))
        for e in session.scalars(
            sa.select(Exercise)
            .where(Exercise.lesson_id == lesson.id, Exercise.retired.is_(False))
            .order_by(Exercise.order_index)
        )
    ]
    want = [
        (e.slug, e.title, e.type, e.notebook.name if e.notebook else None, e.xp, e.points)
        for e in spec.exercises
    ]
    if have != want:
        what.append("exercises")
    if spec.notebooks:
        published = _published_files(_grader_source(settings, course_slug, spec.slug))
        if published is not None and published != _files_of(spec):
            what.append("notebooks or files")
    return what


def plan(
    session: Session, manifest: CourseManifest, settings: Settings | None = None
) -> dict[str, Any]:
    """What publishing `manifest` would change (nothing is written)."""
    course = session.scalar(sa.select(Course).where(Course.slug == manifest.slug))
    lessons = (
        {
            lesson.slug: lesson
            for lesson in session.scalars(sa.select(Lesson).where(Lesson.course_id == course.id))
        }
        if course is not None
        else {}
    )
    new, changed, unchanged = [], [], []
    order = 0
    for section in manifest.sections:
        for spec in section.lessons:
            order += 1
            lesson = lessons.get(spec.slug)
            if lesson is None or lesson.retired:
                new.append({"slug": spec.slug, "title": spec.title})
                continue
            what = _lesson_changes(
                session, lesson, spec, section.slug, order, settings, manifest.slug
            )
            row = {"slug": spec.slug, "title": spec.title}
            if what:
                changed.append({**row, "what": what, "students": _students(session, lesson.id)})
            else:
                unchanged.append(row)
    kept = {spec.slug for spec in manifest.lessons}
    removed = [
        {"slug": lesson.slug, "title": lesson.title, "students": _students(session, lesson.id)}
        for lesson in sorted(lessons.values(), key=lambda x: x.order_index)
        if not lesson.retired and lesson.slug not in kept
    ]
    return {
        "course": manifest.slug,
        "title": manifest.title,
        "exists": course is not None,
        "status": course.status if course is not None else None,
        "revision": revision(course),
        "new": new,
        "changed": changed,
        "removed": removed,
        "unchanged": unchanged,
    }


# --- publishing -------------------------------------------------------------------------
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def course_lock(slug: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(slug, threading.Lock())


@dataclass(frozen=True)
class Published:
    slug: str
    status: str
    revision: str
    lessons: int
    exercises: int
    retired: int
    created: bool


def publish(
    session: Session,
    manifest: CourseManifest,
    *,
    actor: str,
    role: str,
    base_revision: str,
    register: Any = None,
) -> Published:
    """Import `manifest` in the caller's transaction (the caller holds course_lock(slug)).

    `register(manifest)` (the grader's registration) runs last, inside the transaction: if it
    fails, nothing of the campus import is committed."""
    course = session.scalar(sa.select(Course).where(Course.slug == manifest.slug).with_for_update())
    if not may_author(session, course, actor, role):
        raise APIError(403, f"only the instructors of {manifest.slug!r} may publish it")
    if revision(course) != base_revision:
        who = "has been published" if course is not None else "does not exist any more"
        if course is not None and not base_revision:
            who = "was created"
        raise PublishConflict(
            f"the course {manifest.slug!r} {who} since your dry run (someone else published "
            "it meanwhile): run the dry run again to see their changes, then publish"
        )
    if course is not None and course.status == "archived":
        raise PublishConflict(f"the course {manifest.slug!r} is archived; an admin restores it")
    before = {"status": course.status, "revision": revision(course)} if course is not None else {}
    was_status = course.status if course is not None else None
    was_published_at = course.published_at if course is not None else None
    summary = import_course(session, manifest)
    course = session.get(Course, summary.course_id)
    assert course is not None
    if role != "admin":
        # Through review: only an admin publishes a course that is not published yet.
        if was_status == "published":
            course.status = "published"
        else:
            course.status = "in_review" if manifest.published else "draft"
            course.published_at = was_published_at
    session.flush()
    after = {"status": course.status, "revision": revision(course), "lessons": summary.lessons}
    action = "course.submit" if course.status == "in_review" and was_status != "in_review" else ""
    audit.record(session, actor, action or "course.import", "course", course.slug, before, after)
    if register is not None:
        try:
            register(manifest)
        except Exception as err:  # the transaction rolls back: nothing is half-published
            raise APIError(
                500,
                f"the grader could not take the course, nothing was published ({err})",
                code="GRADER_ERROR",
            ) from err
    return Published(
        slug=course.slug,
        status=course.status,
        revision=revision(course),
        lessons=summary.lessons,
        exercises=summary.exercises,
        retired=summary.retired,
        created=summary.created,
    )


def decode_files(raw: Any) -> dict[str, bytes]:
    """{relative path: base64} -> {path: bytes}; plain relative paths only."""
    import base64
    import binascii

    if not isinstance(raw, dict) or not raw:
        raise APIError(400, "'files' must be an object of path: base64 content", field="files")
    out: dict[str, bytes] = {}
    for name, content in raw.items():
        parts = name.split("/") if isinstance(name, str) else []
        if (
            not parts
            or len(name) > 255
            or "\\" in name
            or any(ord(ch) < 32 for ch in name)
            or any(p in ("", ".", "..") for p in parts)
        ):
            raise APIError(400, f"file name must be a plain relative path: {name!r}", field="files")
        try:
            out[name] = base64.b64decode(content, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise APIError(400, f"file {name!r} is not base64", field="files") from None
    return out
