"""An instructor's nbgrader commands over HTTP: `release_assignment` (the assignment's source
folder, from which the grader generates the student version) and `release_feedback` (nbgrader's
HTML from the instructor's own `generate_feedback`, which the student's `fetch_feedback` gets).

`collect` and `list --inbound` read every student's submissions (`.../submissions?all=1`).
Only the course's instructors release; what students see still follows their class's unlocks.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from nbcampus import schemas as S
from nbcampus.web import APIError, body_schema, clean_text

from ..campus import CampusNotFound
from ..courses import ensure_generated
from ..orm import Assignment, utcnow
from ..storage import UnsafePath, safe_relpath
from ..visibility import HIDDEN_MESSAGE, notebook_scores_hidden
from ..worker import course_root
from .base import INSTRUCTING, MAX_SUBMISSION_BYTES, OVERSEERS, SLUG, GraderHandler, slug

# The release limits of a course import (hub/campus/manifest.py), for the same folders.
MAX_FILES = 100
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_RELEASE_BYTES = 64 * 1024 * 1024
MAX_FEEDBACK_BYTES = 8 * 1024 * 1024
FEEDBACK_DIR = "released_feedback"
_release_lock = threading.Lock()  # one release at a time replaces a source folder


def _decode(raw: Any) -> dict[str, bytes]:
    """{name: base64} -> {safe relative name: bytes} within the release limits."""
    if not isinstance(raw, dict) or not raw:
        raise APIError(400, "'files' must be an object of name: base64 content", field="files")
    if len(raw) > MAX_FILES:
        raise APIError(400, f"at most {MAX_FILES} files per release", field="files")
    files: dict[str, bytes] = {}
    for name, content in raw.items():
        try:
            clean_text(name, "files")
            data = base64.b64decode(content, validate=True)
            files[safe_relpath(name)] = data
        except UnsafePath as err:
            raise APIError(400, str(err), field="files") from None
        except (binascii.Error, TypeError, ValueError):
            raise APIError(400, f"file {name!r} is not base64", field="files") from None
        if len(data) > MAX_FILE_BYTES:
            raise APIError(400, f"{name} is larger than {MAX_FILE_BYTES} bytes", field="files")
    if sum(len(d) for d in files.values()) > MAX_RELEASE_BYTES:
        raise APIError(400, f"the release holds more than {MAX_RELEASE_BYTES} bytes")
    return files


def _top_notebook(name: str) -> bool:
    return "/" not in name and name.endswith(".ipynb")


def _replace_tree(folder: Path, files: dict[str, bytes]) -> bool:
    """Make `folder` hold exactly `files`; True if anything changed."""
    have = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
    if have == files:
        return False
    tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=folder.parent))
    for name, data in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(data)
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return True


class ReleaseAssignmentHandler(GraderHandler):
    async def require_author(self, course: str) -> None:
        """An assignment's sources are course content: the course's instructors and admins
        (and services) replace them, not staff, who run the school's operations (the campus's
        courses:author rule, which refuses staff a course's folder too)."""
        if self.actor.role in OVERSEERS:
            return
        roles = await self.course_roles(course)
        if roles.get("school_role") == "admin" or set(roles.get("class_roles") or []) & INSTRUCTING:
            return
        raise APIError(403, f"you do not teach course {course!r}")

    @body_schema(
        S.obj(
            ["files"],
            files=S.base64_files(
                MAX_FILES, "the source folder's files: relative path -> base64 content"
            ),
        )
    )
    async def post(self, course: str, assignment: str) -> None:
        """Release an assignment (nbgrader `release_assignment`): its source notebooks and
        files; the grader generates the student version, and students of a class get it once
        the lesson is unlocked for their class. Instructors of the course only."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_author(course)
        try:  # unlocks are the campus's, per lesson: the assignment must be one of its lessons
            await self.app.campus.access(course, assignment, self.actor.name)
        except CampusNotFound:
            raise APIError(
                404,
                f"course {course!r} has no lesson {assignment!r}; add it to the course "
                "(nbcampus course import) before releasing it",
                code="NO_LESSON",
            ) from None
        except Exception as err:
            raise APIError(503, f"the campus could not confirm the lesson: {err}") from None
        files = _decode(self.json_body(max_bytes=MAX_SUBMISSION_BYTES).get("files"))
        notebooks = sorted(
            n[: -len(".ipynb")] for n in files if "/" not in n and n[-6:] == ".ipynb"
        )
        if not notebooks:
            raise APIError(400, "the release has no notebook (*.ipynb)", field="files")
        bad = [n for n in notebooks if not SLUG.fullmatch(n)]
        if bad:
            raise APIError(400, f"notebook name {bad[0]!r} is not usable", field="files")
        await self._check_exercises(course, assignment, notebooks)
        root = course_root(self.app.data_dir, course)

        def release() -> bool:
            with _release_lock:
                return locked_release()

        def locked_release() -> bool:
            src = root / "source" / assignment
            src.parent.mkdir(parents=True, exist_ok=True)
            before = {
                p.relative_to(src).as_posix(): p.read_bytes()
                for p in sorted(src.rglob("*"))
                if p.is_file() and not p.is_symlink()
            }
            changed = _replace_tree(src, files)
            if changed:  # generate again from the new sources
                shutil.rmtree(root / "release" / assignment, ignore_errors=True)
                shutil.rmtree(root / "material" / assignment, ignore_errors=True)
            try:
                ensure_generated(root, course, assignment)
            except Exception as err:  # nbgrader's own message; the previous sources stay
                if before:
                    _replace_tree(src, before)
                else:
                    shutil.rmtree(src, ignore_errors=True)
                shutil.rmtree(root / "release" / assignment, ignore_errors=True)
                raise APIError(
                    400, f"nbgrader could not generate {assignment}: {err}", code="GENERATE"
                ) from None
            with self.app.db() as s, s.begin():
                row = s.scalar(
                    sa.select(Assignment).where(
                        Assignment.course == course, Assignment.name == assignment
                    )
                )
                if row is None:
                    row = Assignment(
                        course=course,
                        name=assignment,
                        title=assignment,
                        max_score=0.0,
                        late_penalty_per_hour=0.0,
                        late_penalty_max_fraction=1.0,
                        counts="newest",
                    )
                    s.add(row)
                row.notebooks = notebooks
                row.released = True
            return changed

        changed = await self.blocking(release)
        self.write_json(
            {
                "course": course,
                "assignment": assignment,
                "notebooks": notebooks,
                "files": sorted(files),
                "changed": changed,
            }
        )

    async def _check_exercises(self, course: str, assignment: str, notebooks: list[str]) -> None:
        """Every released notebook must be an exercise of the campus's lesson, or its grades
        would have nowhere to go: a new notebook is added to the course first."""
        try:
            outline = await self.app.campus.course_outline(course)
        except Exception as err:
            raise APIError(503, f"the campus could not give the course: {err}") from None
        known = {
            str(ex.get("notebook") or "").removesuffix(".ipynb")
            for section in outline.get("sections") or []
            for lesson in section.get("lessons") or []
            if lesson.get("slug") == assignment
            for ex in lesson.get("exercises") or []
        }
        extra = sorted(set(notebooks) - known)
        if extra:
            raise APIError(
                409,
                f"{', '.join(n + '.ipynb' for n in extra)} is not an exercise of lesson "
                f"{assignment!r}; add it to the course (nbcampus course import) first",
                code="NOT_IN_COURSE",
                field="files",
            )


def _feedback_folder(root: Path, assignment: str, student: str) -> Path:
    return root / FEEDBACK_DIR / assignment / student


def read_released_feedback(root: Path, assignment: str, student: str) -> dict[str, Any] | None:
    folder = _feedback_folder(root, assignment, student)
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    pages = [
        {"name": p.stem, "html": p.read_text(encoding="utf-8")}
        for p in sorted(folder.glob("*.html"))
    ]
    return {**meta, "notebooks": pages}


class StudentFeedbackHandler(GraderHandler):
    @body_schema(
        S.obj(
            ["timestamp", "notebooks"],
            timestamp=S.text(100),
            notebooks={
                "type": "object",
                "minProperties": 1,
                "maxProperties": MAX_FILES,
                "additionalProperties": {"type": "string"},
                "description": "notebook name -> nbgrader's HTML feedback",
            },
        )
    )
    async def post(self, course: str, assignment: str, student: str) -> None:
        """Release feedback to a student (nbgrader `release_feedback`): the HTML nbgrader's
        generate_feedback made, with the submission's timestamp. It replaces what the student
        fetches for that submission. Instructors of the student's class only."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        student = slug(student, "student")
        await self.require_teacher(course, INSTRUCTING)
        await self.require_grader_of(course, student)
        body = self.json_body(max_bytes=MAX_SUBMISSION_BYTES)
        timestamp = clean_text(body.get("timestamp"), "timestamp")
        pages = body.get("notebooks")
        if not isinstance(pages, dict) or not pages:
            raise APIError(400, "'notebooks' must be an object of name: HTML", field="notebooks")
        for name, html in pages.items():
            if not isinstance(name, str) or not SLUG.fullmatch(name) or not isinstance(html, str):
                raise APIError(400, f"notebook {name!r} is not usable", field="notebooks")
            if len(html.encode()) > MAX_FEEDBACK_BYTES:
                raise APIError(400, f"{name}.html is too large", field="notebooks")
        root = course_root(self.app.data_dir, course)
        meta = {
            "course": course,
            "assignment": assignment,
            "student": student,
            "timestamp": timestamp,
            "released_by": self.actor.name,
            "released_at": utcnow().isoformat(),
        }
        files = {f"{n}.html": h.encode() for n, h in pages.items()}
        files["meta.json"] = json.dumps(meta).encode()

        def store() -> None:
            folder = _feedback_folder(root, assignment, student)
            folder.parent.mkdir(parents=True, exist_ok=True)
            _replace_tree(folder, files)

        await self.blocking(store)
        self.write_json({**meta, "notebooks": sorted(pages)}, status=201)


class MyFeedbackHandler(GraderHandler):
    async def get(self, course: str, assignment: str) -> None:
        """The feedback an instructor released to me (nbgrader `fetch_feedback`), or 404."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        await self.require_member(course)
        root = course_root(self.app.data_dir, course)
        name = self.actor.name
        if await notebook_scores_hidden(self.app, course, assignment, name):
            raise APIError(403, HIDDEN_MESSAGE, code="SCORES_HIDDEN")
        found = await self.blocking(lambda: read_released_feedback(root, assignment, name))
        if found is None:
            raise APIError(404, "no feedback has been released to you", code="NO_FEEDBACK")
        self.write_json(found)


default_handlers = [
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/release", ReleaseAssignmentHandler),
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/feedback", MyFeedbackHandler),
    (
        r"api/v1/courses/([^/]+)/assignments/([^/]+)/students/([^/]+)/feedback",
        StudentFeedbackHandler,
    ),
]
