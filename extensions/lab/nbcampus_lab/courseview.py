"""The Course view's server part: an instructor's course folders in their own server.

Under `<server prefix>/nbcampus-courses/`:

- `GET folders`: the course folders in the home (a `course.yaml` in it or one or two levels
  down), and nbgrader course folders without one (a `source/` folder of assignments:
  nbgrader's layout), the home itself (path ".") included: ~/source is nbgrader's standard
  place;
- `POST new {title}`: a new course folder from the template (course_template/);
- `GET course?path=`: the folder's course.yaml (text and data) and its lessons' files; for an
  nbgrader folder without one, the course.yaml the campus's importer makes for it
  (api/v1/authoring/manifest, `generated: true`), or the importer's own message;
  `PUT course?path= {data}`: the Course view's form written back to course.yaml (for an
  nbgrader folder, the generated one written into it: later edits are the author's);
- `POST preview?path= {lesson}`: nbgrader's generate_assignment run here on a scratch copy of
  the lesson, and the student version as HTML; when nbgrader fails, its own message;
- `POST check|dry-run|publish?path=`: the folder's files and its name sent to the campus
  (api/v1/authoring/..., with this server's Hub token, so the campus sees the instructor as
  the caller and decides from its own records whether they may). An nbgrader folder goes as
  it is: the campus reads it with the importer of `nbcampus course import`.

Every path stays inside the server's root folder; every error is JSON {code, message}.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .services import ServiceConfigError, target_for

TEMPLATE = Path(__file__).parent / "course_template"
# What of a course folder is the course (nbgrader's own work folders stay home).
COURSE_PARTS = ("course.yaml", "nbgrader_config.py", "lessons", "source")
SKIPPED = (".ipynb_checkpoints", "__pycache__")
MAX_FILES = 1000
MAX_BYTES = 128 * 1024 * 1024
PREVIEW_TIMEOUT = 120.0


class CourseViewError(web.HTTPError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status)
        self.code = code
        self.message = message


def slug_for(title: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", title.lower()).strip("-_")[:60]
    return slug or "new-course"


def course_files(folder: Path) -> dict[str, bytes]:
    """The course's files (course.yaml, lessons/, source/), hidden ones and checkpoints left
    out, within the upload limits."""
    out: dict[str, bytes] = {}
    total = 0
    for part in COURSE_PARTS:
        top = folder / part
        paths = [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []
        for path in paths:
            rel = path.relative_to(folder)
            if path.is_symlink() or not path.is_file():
                continue
            if any(p.startswith(".") or p in SKIPPED for p in rel.parts):
                continue
            data = path.read_bytes()
            total += len(data)
            out[rel.as_posix()] = data
            if len(out) > MAX_FILES or total > MAX_BYTES:
                raise CourseViewError(
                    400,
                    "TOO_LARGE",
                    f"the course folder holds more than {MAX_FILES} files or {MAX_BYTES} bytes",
                )
    return out


def is_nbgrader_folder(folder: Path) -> bool:
    """nbgrader's layout without a course.yaml: the campus's importer makes the manifest."""
    return not (folder / "course.yaml").exists() and (folder / "source").is_dir()


def lesson_listing(folder: Path) -> dict[str, list[str]]:
    """Each lesson folder's files (lessons/<slug>/ or nbgrader's source/<slug>/)."""
    out: dict[str, list[str]] = {}
    for parent in ("source", "lessons"):
        root = folder / parent
        if not root.is_dir():
            continue
        for lesson in sorted(p for p in root.iterdir() if p.is_dir()):
            if lesson.name.startswith("."):
                continue
            out[lesson.name] = sorted(
                p.relative_to(lesson).as_posix()
                for p in lesson.rglob("*")
                if p.is_file()
                and not any(x.startswith(".") or x in SKIPPED for x in p.relative_to(lesson).parts)
            )
    return out


def _merge(old: Any, new: Any) -> Any:
    """`new` laid over the round-trip node `old`, so that what did not change keeps its
    comments and style: mappings key by key, lists of slugged items by slug (a reordered item
    keeps its own comments), other lists item by item."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(old, CommentedMap) and isinstance(new, dict):
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            old[key] = _merge(old[key], value) if key in old else value
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        slugged = all(isinstance(x, dict) and "slug" in x for x in [*old, *new])
        if slugged:
            by_slug = {x["slug"]: x for x in old}
            items = [_merge(by_slug[x["slug"]], x) if x["slug"] in by_slug else x for x in new]
        else:
            items = [_merge(o, n) for o, n in zip(old, new, strict=False)] + new[len(old) :]
        old[:] = items
        return old
    return new


def write_back(text: str, data: dict[str, Any]) -> str:
    """course.yaml's text with the form's data, its comments and layout kept where the data
    did not change (ruamel.yaml's round trip)."""
    from io import StringIO

    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 100
    rt.indent(mapping=2, sequence=4, offset=2)
    try:
        doc = rt.load(text)
    except YAMLError:
        doc = None
    out = StringIO()
    rt.dump(_merge(doc, data) if doc is not None else data, out)
    return out.getvalue()


def generate_preview(folder: Path, lesson: str) -> dict[str, Any]:
    """nbgrader's generate_assignment on a scratch copy of one lesson: the student version of
    each notebook as HTML, or nbgrader's own message when it fails."""
    from nbconvert import HTMLExporter
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    if shutil.which("alembic") is None:
        # nbgrader's gradebook runs the `alembic` command of its own environment
        here = str(Path(sys.executable).parent)
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")
    src = folder / "lessons" / lesson
    if not src.is_dir():
        src = folder / "source" / lesson
    if not src.is_dir() or lesson.startswith(".") or "/" in lesson:
        raise CourseViewError(404, "NOT_FOUND", f"no lesson folder {lesson!r} in the course")
    with tempfile.TemporaryDirectory(prefix="nbcampus-preview-") as tmp:
        root = Path(tmp)
        shutil.copytree(
            src, root / "source" / lesson, ignore=shutil.ignore_patterns(".*", *SKIPPED)
        )
        c = Config()
        c.CourseDirectory.root = str(root)
        c.CourseDirectory.course_id = "preview"
        c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
        (root / ".exchange").mkdir()
        c.Exchange.root = str(root / ".exchange")
        try:  # the C kernel's stubs too, as the grader generates with them
            from nbcampus.ckernel.nbgrader_config import code_stubs

            c.ClearSolutions.code_stub = code_stubs()
        except ImportError:
            pass
        result = NbGraderAPI(config=c).generate_assignment(lesson, force=True, create=True)
        if not result.get("success"):
            # nbgrader's log names the cell and the reason (its own error lines included)
            message = (result.get("log") or result.get("error") or "").strip()
            raise CourseViewError(
                400, "NBGRADER_ERROR", message or "nbgrader generate_assignment failed"
            )
        exporter = HTMLExporter(template_name="lab")
        notebooks = []
        for nb in sorted((root / "release" / lesson).glob("*.ipynb")):
            html, _ = exporter.from_filename(str(nb))
            notebooks.append({"name": nb.name, "html": html})
        released = sorted(
            p.relative_to(root / "release" / lesson).as_posix()
            for p in (root / "release" / lesson).rglob("*")
            if p.is_file()
        )
        return {"lesson": lesson, "notebooks": notebooks, "files": released, "log": result["log"]}


class CourseViewHandler(APIHandler):
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, CourseViewError):
            body = {"code": exc.code, "message": exc.message}
        elif isinstance(exc, web.HTTPError) and exc.log_message and status_code < 500:
            body = {"code": "ERROR", "message": exc.log_message}
        else:
            body = {"code": "ERROR", "message": "the course view failed; see the server log"}
        self.finish(json.dumps(body))

    @property
    def root(self) -> Path:
        return Path(self.settings.get("server_root_dir") or ".").expanduser().resolve()

    def folder(self, must_exist: bool = True) -> Path:
        rel = self.get_query_argument("path", "")
        path = (self.root / rel).resolve()
        if not rel or (path != self.root and self.root not in path.parents):
            raise CourseViewError(400, "VALIDATION_ERROR", "path must be a folder in your home")
        if must_exist and not (path / "course.yaml").is_file() and not is_nbgrader_folder(path):
            raise CourseViewError(
                404, "NOT_FOUND", f"{rel} has no course.yaml, nor nbgrader's source/ folder"
            )
        return path

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise CourseViewError(400, "VALIDATION_ERROR", "the body is not JSON") from None
        if not isinstance(data, dict):
            raise CourseViewError(400, "VALIDATION_ERROR", "the body must be a JSON object")
        return data

    async def campus(self, action: str, folder: Path, **extra: Any) -> tuple[int, bytes]:
        """The folder's files (and its name) to the campus's api/v1/authoring/<action>."""
        files = await asyncio.to_thread(course_files, folder)
        payload = {
            "files": {k: base64.b64encode(v).decode() for k, v in files.items()},
            "name": folder.name,
            **extra,
        }
        try:
            target = target_for("campus")
        except ServiceConfigError as err:
            raise CourseViewError(503, "UNAVAILABLE", str(err)) from None
        request = HTTPRequest(
            target.url(f"api/v1/authoring/{action}"),
            method="POST",
            headers={"Authorization": f"token {target.token}", "Content-Type": "application/json"},
            body=json.dumps(payload),
            request_timeout=300.0,
        )
        resp = await AsyncHTTPClient().fetch(request, raise_error=False)
        if resp.code == 599 or "json" not in resp.headers.get("Content-Type", ""):
            raise CourseViewError(
                502, "SERVICE_ERROR", f"the campus service answered {resp.code}: {resp.reason}"
            )
        return resp.code, resp.body

    async def generated_course(self, folder: Path) -> dict[str, Any]:
        """An nbgrader folder's course as the campus's importer makes it; its error as is."""
        code, body = await self.campus("manifest", folder)
        made = json.loads(body)
        if code != 200:
            raise CourseViewError(code, made.get("code", "ERROR"), made.get("message", ""))
        return {
            "path": self.rel(folder),
            "yaml": made["yaml"],
            "data": made["data"],
            "lessons": lesson_listing(folder),
            "generated": True,
        }

    def course(self, folder: Path) -> dict[str, Any]:
        text = (folder / "course.yaml").read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None
        return {
            "path": self.rel(folder),
            "yaml": text,
            "data": data if isinstance(data, dict) else None,
            "lessons": lesson_listing(folder),
            "generated": False,
        }


class FoldersHandler(CourseViewHandler):
    @web.authenticated
    def get(self) -> None:
        found = []
        # "source" itself: the home is the course folder, nbgrader's standard place
        for pattern in ("source", "*/source", "*/*/source"):
            for path in sorted(self.root.glob(pattern)):
                rel = path.parent.relative_to(self.root)
                if any(p.startswith(".") for p in rel.parts) or not is_nbgrader_folder(path.parent):
                    continue
                found.append({"path": rel.as_posix(), "slug": "", "title": "", "nbgrader": True})
        # "course.yaml": the home's own, e.g. once an nbgrader home's manifest is written
        for pattern in ("course.yaml", "*/course.yaml", "*/*/course.yaml"):
            for path in sorted(self.root.glob(pattern)):
                rel = path.parent.relative_to(self.root)
                if any(p.startswith(".") for p in rel.parts):
                    continue
                try:
                    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                except (OSError, yaml.YAMLError):
                    data = {}
                data = data if isinstance(data, dict) else {}
                found.append(
                    {
                        "path": rel.as_posix(),
                        "slug": str(data.get("slug", "")),
                        "title": str(data.get("title", "")),
                    }
                )
        found.sort(key=lambda f: f["path"])
        self.finish(json.dumps({"folders": found}))


class NewCourseHandler(CourseViewHandler):
    @web.authenticated
    def post(self) -> None:
        title = self.body().get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > 200:
            raise CourseViewError(400, "VALIDATION_ERROR", "give the course a title")
        slug = slug_for(title)
        target = self.root / slug
        if target.exists():
            raise CourseViewError(409, "CONFLICT", f"{slug}/ exists already in your home")
        shutil.copytree(TEMPLATE, target, ignore=shutil.ignore_patterns("__pycache__"))
        manifest = target / "course.yaml"
        text = manifest.read_text(encoding="utf-8")
        text = text.replace("__SLUG__", slug).replace("__TITLE__", json.dumps(title.strip()))
        manifest.write_text(text, encoding="utf-8")
        self.set_status(201)
        self.finish(json.dumps(self.course(target)))


class CourseHandler(CourseViewHandler):
    @web.authenticated
    async def get(self) -> None:
        folder = self.folder()
        if is_nbgrader_folder(folder):
            self.finish(json.dumps(await self.generated_course(folder)))
            return
        self.finish(json.dumps(self.course(folder)))

    @web.authenticated
    def put(self) -> None:
        folder = self.folder()
        data = self.body().get("data")
        if not isinstance(data, dict):
            raise CourseViewError(400, "VALIDATION_ERROR", "data must be the course as an object")
        path = folder / "course.yaml"
        # an nbgrader folder's first course.yaml: the generated manifest, as the form has it
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        text = write_back(old, data)
        path.write_text(text, encoding="utf-8")
        self.finish(json.dumps(self.course(folder)))


class PreviewHandler(CourseViewHandler):
    @web.authenticated
    async def post(self) -> None:
        folder = self.folder()
        lesson = self.body().get("lesson")
        if not isinstance(lesson, str) or not lesson:
            raise CourseViewError(400, "VALIDATION_ERROR", "name the lesson to preview")
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(generate_preview, folder, lesson), PREVIEW_TIMEOUT
            )
        except TimeoutError:
            raise CourseViewError(
                504, "TIMEOUT", "nbgrader's generate_assignment took too long"
            ) from None
        self.finish(json.dumps(result))


class CampusCallHandler(CourseViewHandler):
    """check, dry-run and publish: the folder's files to the campus's authoring API."""

    @web.authenticated
    async def post(self, action: str) -> None:
        folder = self.folder()
        extra = {}
        if action == "publish":
            revision = self.body().get("revision", "")
            if not isinstance(revision, str):
                raise CourseViewError(400, "VALIDATION_ERROR", "revision must be a string")
            extra["revision"] = revision
        code, body = await self.campus(action, folder, **extra)
        self.set_status(code)
        self.finish(body)


def handlers(base: str) -> list[tuple[str, type]]:
    def at(path: str) -> str:
        return url_path_join(base, "nbcampus-courses", path)

    return [
        (at("folders"), FoldersHandler),
        (at("new"), NewCourseHandler),
        (at("course"), CourseHandler),
        (at("preview"), PreviewHandler),
        (at("(check|dry-run|publish)"), CampusCallHandler),
    ]
