"""Course content as files: read and check a course's `course.yaml`.

A course is a folder `courses/<slug>/` with a `course.yaml` and one folder per lesson under
`lessons/<lesson-slug>/` holding nbgrader *source* notebooks. The nbgrader course_id is the
course slug, the assignment_id the lesson slug, and a coding exercise's slug is its notebook's
stem. This module only parses and validates; it touches no database, so the grader may import
it too.

```yaml
slug: python-intro
title: Introduction to Python
description: ...
kernel: python3          # the Jupyter kernel of the coding notebooks
published: true
category: programming    # optional, the public catalog's filters
level: beginner          # beginner | intermediate | advanced
language: en             # the language the course is taught in (a BCP 47 tag)
sections:
  - slug: basics
    title: Basics
    lessons:
      - slug: 01-values
        title: Values and variables
        duration: 45     # optional, minutes (shown on the public course page)
        exercises:
          - {slug: welcome, title: Welcome, type: material, xp: 5}
          - {slug: values, title: Values, type: coding, xp: 20}   # lessons/01-values/values.ipynb
          - {slug: intro, type: material, file: intro.md}         # or a read-only .ipynb
          - {slug: clip, type: video, file: clip.mp4, complete_at: 0.9}  # or url: https://...
      - slug: 02-essay
        exercises:
          - slug: reflection       # a written assignment: no notebook, graded by hand
            type: assignment
            points: 10             # default 10
            due: 2026-12-20T23:59:00Z   # optional; resubmittable until then, refused after
            scores: hidden         # visible (default) | after_due | hidden (until released)
            submit: {kinds: [text, link, file], max_bytes: 5242880, extensions: [.pdf, .md]}
badges:                  # optional, course badges (see the engagement rules)
  - {slug: py-finisher, name: Finisher, rarity: rare, criteria: {kind: course_complete}}
```

An `assignment` exercise with a notebook (`notebook:`, or `<slug>.ipynb` in the lesson folder) is
graded by nbgrader as a coding one; without one it is a *written* assignment: the student submits
text, a link or a file (the `submit` limits; defaults in WRITTEN_DEFAULTS) and a teacher grades it
by hand in the grading view.

Score visibility: every graded exercise may say when its student sees the score and the
feedback with `scores:` — `visible` at once (the default), `after_due` once its `due:` has
passed, or `hidden` until an instructor releases it (hub/campus/visibility.py). A quiz with
questions says it in its quiz file (quizspec.py), the same words.

Timed exams: a notebook exercise with `exam: {opens, closes, time_limit}` (ISO times, minutes)
is taken once within its window and time limit; it must be its lesson's only notebook, and its
scores are hidden until released (docs/exams.md; a quiz says `exam:` in its quiz file).

Scores out of 100: every exercise and every section may have a `weight` (a non-negative number).
An exercise's weight defaults to its points (so material and video, with no points, count
nothing); a section's weight defaults to the sum of its exercises' weights. A student's course
total is the sum over sections of section weight x (the section's weighted share of points
earned), divided by the sum of the section weights, times 100 (hub/campus/scores.py).

Without `sections`, the course has one section whose lessons are the folders under `lessons/`
in name order; a lesson without `exercises` has one coding exercise per notebook in its folder.
A lesson's folder is `lessons/<slug>/`, or nbgrader's `source/<slug>/`.

An nbgrader course folder (`source/<assignment>/*.ipynb`, an optional `nbgrader_config.py`, no
`course.yaml`) is read as it is: `nbgrader_course_data` makes the manifest for it, one lesson
per assignment folder with its name kept (capitals and dots included). Every file of a lesson's
folder is released with its notebooks, within the limits below.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .exam import ExamSpecError, parse_exam
from .quizspec import QUIZ_SUFFIX, QuizError, load_quiz, max_points

EXERCISE_TYPES = ("video", "quiz", "material", "assignment", "coding")
# Exercises graded by nbgrader from a notebook in the lesson folder.
NOTEBOOK_TYPES = ("coding", "assignment")
RARITIES = ("common", "rare", "epic", "legendary")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
LEVELS = ("beginner", "intermediate", "advanced")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# Lessons are nbgrader assignments and exercises their notebooks: nbgrader's names are kept as
# they are (the grader accepts the same names).
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# What a lesson folder may release besides its notebooks (nbgrader's own ignore list, dotfiles).
IGNORED_PARTS = (".ipynb_checkpoints", "__pycache__", "feedback")
MAX_LESSON_FILES = 100
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LESSON_BYTES = 64 * 1024 * 1024
DEFAULT_XP = {"video": 5, "quiz": 10, "material": 5, "assignment": 30, "coding": 20}
# What a material or video exercise shows: a file of the lesson folder (served by the campus,
# not released with the notebooks) or, for a video, an external URL.
MATERIAL_SUFFIXES = (".md", ".markdown", ".ipynb")
VIDEO_SUFFIXES = (".mp4", ".webm", ".ogv", ".ogg", ".m4v")
DEFAULT_COMPLETE_AT = 0.9  # share of a video watched that completes it
# A written assignment's submission limits when the manifest names none.
WRITTEN_KINDS = ("text", "link", "file")
WRITTEN_DEFAULTS: dict[str, Any] = {
    "kinds": list(WRITTEN_KINDS),
    "max_bytes": 10 * 1024 * 1024,
    "max_chars": 50_000,
    "extensions": [".pdf", ".txt", ".md", ".py", ".c", ".ipynb", ".png", ".jpg", ".jpeg", ".zip"],
    "prompt": "",  # what to hand in, shown above the form (plain text)
}
WRITTEN_MAX_BYTES = 32 * 1024 * 1024  # the most a manifest may allow (the grader's body limit)
WRITTEN_POINTS = 10.0
# When a student sees a graded exercise's score: at once, after its due date, once released.
SCORE_VISIBILITY = ("visible", "after_due", "hidden")


class ManifestError(ValueError):
    """The course folder or its course.yaml is not a valid course."""


@dataclass(frozen=True)
class ExerciseSpec:
    slug: str
    title: str
    type: str
    notebook: Path | None
    xp: int
    points: float
    weight: float | None = None  # None: its points (see the module doc)
    # A written assignment's limits (kinds, max_bytes, max_chars, extensions); None otherwise.
    submit: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    due: str | None = None  # ISO-8601 in UTC, or None
    # material/video: what it shows (file or url) and when a video is complete (complete_at)
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    # A quiz's checked questions and settings (quizspec.parse_quiz), from its .quiz.yaml file.
    quiz: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    scores: str = "visible"  # SCORE_VISIBILITY: when its student sees the score
    # A notebook exercise taken as a timed exam (exam.parse_exam: opens, closes, time limit).
    exam: dict[str, Any] | None = field(default=None, hash=False, compare=False)

    @property
    def written(self) -> bool:
        return self.submit is not None


@dataclass(frozen=True)
class LessonSpec:
    slug: str
    title: str
    description: str
    exercises: tuple[ExerciseSpec, ...]
    duration_minutes: int | None = None
    directory: Path | None = None  # the lesson's folder, when it has one
    files: tuple[str, ...] = ()  # its other files (relative paths), released with the notebooks

    @property
    def notebooks(self) -> tuple[Path, ...]:
        return tuple(e.notebook for e in self.exercises if e.notebook is not None)


@dataclass(frozen=True)
class SectionSpec:
    slug: str
    title: str
    description: str
    lessons: tuple[LessonSpec, ...]
    weight: float | None = None  # None: the sum of its exercises' weights


@dataclass(frozen=True)
class BadgeSpec:
    slug: str
    name: str
    description: str
    rarity: str
    image: str
    criteria: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class CourseManifest:
    slug: str
    title: str
    description: str
    kernel: str
    published: bool
    sections: tuple[SectionSpec, ...]
    directory: Path
    badges: tuple[BadgeSpec, ...] = ()
    category: str = ""
    level: str = ""
    language: str = ""

    @property
    def lessons(self) -> tuple[LessonSpec, ...]:
        return tuple(lesson for s in self.sections for lesson in s.lessons)


def _str(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise ManifestError(f"{where}: '{key}' must be a non-empty string")
    return value


def _slug(data: dict[str, Any], where: str, pattern: re.Pattern[str] = SLUG_RE) -> str:
    slug = data.get("slug")
    if not isinstance(slug, str) or not pattern.fullmatch(slug):
        raise ManifestError(f"{where}: 'slug' must match {pattern.pattern}, got {slug!r}")
    return slug


def _list(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ManifestError(f"{where}: '{key}' must be a list of mappings")
    return items


def notebook_points(path: Path) -> float:
    """The total points of an nbgrader source notebook's graded cells."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ManifestError(f"{path}: not a readable notebook ({err})") from None
    total = 0.0
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("task"):
            total += float(meta.get("points", 0) or 0)
    return total


def _content_file(name: Any, lesson_dir: Path, suffixes: tuple[str, ...], where: str) -> str:
    """A material or video file: a relative path inside the lesson folder that exists."""
    if not isinstance(name, str) or not name or name.startswith("/") or "\\" in name:
        raise ManifestError(f"{where}: file must be a path inside the lesson folder")
    rel = Path(name)
    if ".." in rel.parts or _ignored(rel) or rel.suffix.lower() not in suffixes:
        raise ManifestError(f"{where}: file must be a {', '.join(suffixes)} file of the lesson")
    path = lesson_dir / rel
    if not path.is_file() or path.is_symlink():
        raise ManifestError(f"{where}: file {path} is missing")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ManifestError(f"{where}: {path} is larger than {MAX_FILE_BYTES} bytes")
    return rel.as_posix()


def _content_settings(
    kind: str, slug: str, data: dict[str, Any], lesson_dir: Path, where: str
) -> dict[str, Any]:
    """material: `file` (default <slug>.md); video: `file` or `url`, `complete_at` (0-1]."""
    if kind == "material":
        name = data.get("file", f"{slug}.md")
        if "file" not in data and not (lesson_dir / name).is_file():
            return {}  # a title alone, marked done by the student
        return {"file": _content_file(name, lesson_dir, MATERIAL_SUFFIXES, where)}
    if kind != "video":
        return {}
    share = data.get("complete_at", DEFAULT_COMPLETE_AT)
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share <= 1:
        raise ManifestError(f"{where}: complete_at must be a share of the video, 0 < x <= 1")
    out: dict[str, Any] = {"complete_at": float(share)}
    url, name = data.get("url"), data.get("file")
    if (url is None) == (name is None):
        raise ManifestError(f"{where}: a video needs one of 'file' or 'url'")
    if url is not None:
        if not isinstance(url, str) or not re.fullmatch(r"https://[^\s]{1,2000}", url):
            raise ManifestError(f"{where}: url must be an https:// address")
        out["url"] = url
    else:
        out["file"] = _content_file(name, lesson_dir, VIDEO_SUFFIXES, where)
    seconds = data.get("seconds")  # the length, for an external video (else the player's)
    if seconds is not None:
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
            raise ManifestError(f"{where}: seconds must be a positive number")
        out["seconds"] = float(seconds)
    return out


def _exercise(data: dict[str, Any], lesson_dir: Path, where: str) -> ExerciseSpec:
    slug = _slug(data, where, NAME_RE)
    where = f"{where} exercise {slug}"
    kind = data.get("type", "coding")
    if kind not in EXERCISE_TYPES:
        raise ManifestError(f"{where}: type must be one of {', '.join(EXERCISE_TYPES)}")
    notebook: Path | None = None
    submit = _written(data, lesson_dir, where) if kind == "assignment" else None
    if kind in NOTEBOOK_TYPES and submit is None:
        name = data.get("notebook", f"{slug}.ipynb")
        if not isinstance(name, str) or "/" in name or not name.endswith(".ipynb"):
            raise ManifestError(f"{where}: notebook must be a file name ending in .ipynb")
        if Path(name).stem != slug:
            raise ManifestError(f"{where}: the exercise slug must be the notebook's stem")
        notebook = lesson_dir / name
        if not notebook.is_file():
            raise ManifestError(f"{where}: notebook {notebook} is missing")
    quiz = _quiz(data, kind, lesson_dir, where)
    xp = data.get("xp", DEFAULT_XP[kind])
    if not isinstance(xp, int) or isinstance(xp, bool) or not 0 <= xp <= 10_000:
        raise ManifestError(f"{where}: xp must be an integer between 0 and 10000")
    points = data.get("points")
    if points is None and quiz is not None:
        points = max_points(quiz)
    if points is None and submit is not None:
        points = WRITTEN_POINTS
    if points is None:
        points = notebook_points(notebook) if notebook is not None else 0.0
    if not isinstance(points, int | float) or isinstance(points, bool) or points < 0:
        raise ManifestError(f"{where}: points must be a non-negative number")
    return ExerciseSpec(
        slug=slug,
        title=_str(data, "title", where, default=slug),
        type=kind,
        notebook=notebook,
        xp=xp,
        points=float(points),
        weight=_weight(data, where),
        submit=submit,
        due=_due(data, where),
        settings=_content_settings(kind, slug, data, lesson_dir, where),
        quiz=quiz,
        scores=_scores(data, quiz, where),
        exam=_exam(data, notebook, where),
    )


def _exam(data: dict[str, Any], notebook: Path | None, where: str) -> dict[str, Any] | None:
    """`exam:` on a notebook exercise: a timed exam, taken once, its scores hidden until an
    instructor releases them (so `scores:` is hidden, said or not)."""
    if "exam" not in data:
        return None
    if notebook is None:
        raise ManifestError(f"{where}: only a notebook exercise can be a timed exam (exam:)")
    try:
        return parse_exam(data["exam"], where)
    except ExamSpecError as err:
        raise ManifestError(str(err)) from None


def _scores(data: dict[str, Any], quiz: dict[str, Any] | None, where: str) -> str:
    if "exam" in data and data.get("scores", "hidden") != "hidden":
        raise ManifestError(f"{where}: an exam's scores stay hidden until released")
    value = data.get("scores", "hidden" if "exam" in data else "visible")
    if value not in SCORE_VISIBILITY:
        raise ManifestError(f"{where}: scores must be one of {', '.join(SCORE_VISIBILITY)}")
    if value != "visible" and quiz is not None:
        raise ManifestError(f"{where}: a quiz sets scores in its quiz file")
    if value == "after_due" and data.get("due") is None:
        raise ManifestError(f"{where}: scores after_due needs a due time")
    return value


def _quiz(data: dict[str, Any], kind: str, lesson_dir: Path, where: str) -> dict[str, Any] | None:
    """A quiz exercise's questions: the file `quiz:` names, else `<slug>.quiz.yaml` when the
    lesson folder has one (a quiz without a file is completed by marking it done)."""
    if kind != "quiz":
        return None
    name = data.get("quiz", f"{data['slug']}{QUIZ_SUFFIX}")
    if not isinstance(name, str) or "/" in name or not name.endswith(QUIZ_SUFFIX):
        raise ManifestError(f"{where}: quiz must be a file name ending in {QUIZ_SUFFIX}")
    path = lesson_dir / name
    if not path.is_file():
        if "quiz" in data:
            raise ManifestError(f"{where}: quiz file {path} is missing")
        return None
    try:
        return load_quiz(path)
    except QuizError as err:
        raise ManifestError(f"{where}: {err}") from None


def _weight(data: dict[str, Any], where: str) -> float | None:
    value = data.get("weight")
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 10_000:
        raise ManifestError(f"{where}: weight must be a number between 0 and 10000")
    return float(value)


def _due(data: dict[str, Any], where: str) -> str | None:
    value = data.get("due")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        raise ManifestError(f"{where}: due must be an ISO-8601 moment like 2026-12-20T23:59:00Z")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _written(data: dict[str, Any], lesson_dir: Path, where: str) -> dict[str, Any] | None:
    """The limits of a written assignment, or None for an assignment graded from a notebook."""
    has_notebook = "notebook" in data or (lesson_dir / f"{data.get('slug')}.ipynb").is_file()
    if has_notebook and "submit" not in data:
        return None
    if "notebook" in data:
        raise ManifestError(f"{where}: an assignment has either a notebook or submit limits")
    raw = data.get("submit") or {}
    if not isinstance(raw, dict) or set(raw) - set(WRITTEN_DEFAULTS):
        raise ManifestError(f"{where}: submit may name {', '.join(WRITTEN_DEFAULTS)}")
    out = {**WRITTEN_DEFAULTS, **raw}
    kinds = out["kinds"]
    if not isinstance(kinds, list) or not kinds or set(kinds) - set(WRITTEN_KINDS):
        raise ManifestError(f"{where}: submit kinds must be a list of {', '.join(WRITTEN_KINDS)}")
    for key, top in (("max_bytes", WRITTEN_MAX_BYTES), ("max_chars", 1_000_000)):
        value = out[key]
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
            raise ManifestError(f"{where}: submit {key} must be a whole number from 1 to {top}")
    exts = out["extensions"]
    if not isinstance(exts, list) or not all(
        isinstance(e, str) and re.fullmatch(r"\.[A-Za-z0-9]{1,10}", e) for e in exts
    ):
        raise ManifestError(f"{where}: submit extensions must be a list such as [.pdf, .md]")
    prompt = out["prompt"]
    if not isinstance(prompt, str) or len(prompt) > 4000:
        raise ManifestError(f"{where}: submit prompt must be text of at most 4000 characters")
    out["prompt"] = prompt.strip()
    out["kinds"] = [k for k in WRITTEN_KINDS if k in kinds]
    out["extensions"] = sorted({e.lower() for e in exts})
    return out


def _badge(data: dict[str, Any], where: str) -> BadgeSpec:
    slug = _slug(data, where)
    rarity = data.get("rarity", "common")
    if rarity not in RARITIES:
        raise ManifestError(f"{where} badge {slug}: rarity must be one of {', '.join(RARITIES)}")
    criteria = data.get("criteria") or {}
    if not isinstance(criteria, dict) or not isinstance(criteria.get("kind", ""), str):
        raise ManifestError(f"{where} badge {slug}: criteria must be a mapping with a 'kind'")
    return BadgeSpec(
        slug=slug,
        name=_str(data, "name", where, default=slug),
        description=_str(data, "description", where, default=""),
        rarity=rarity,
        image=_str(data, "image", where, default=""),
        criteria=dict(criteria),
    )


def _duration(data: dict[str, Any], where: str) -> int | None:
    value = data.get("duration")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000:
        raise ManifestError(f"{where}: duration must be a whole number of minutes (1-10000)")
    return value


def _catalog_fields(data: dict[str, Any], where: str) -> dict[str, str]:
    """category, level and language: the public catalog's filters (all optional)."""
    category = _str(data, "category", where, default="").strip()
    if len(category) > 64:
        raise ManifestError(f"{where}: category must have at most 64 characters")
    level = _str(data, "level", where, default="")
    if level and level not in LEVELS:
        raise ManifestError(f"{where}: level must be one of {', '.join(LEVELS)}")
    language = _str(data, "language", where, default="")
    if language and (len(language) > 16 or not LANGUAGE_RE.fullmatch(language)):
        raise ManifestError(f"{where}: language must be a language tag such as en or pt-BR")
    return {"category": category, "level": level, "language": language}


def _title(slug: str) -> str:
    return re.sub(r"^\d+[-_]", "", slug).replace("-", " ").replace("_", " ").capitalize()


def _notebook_exercises(lesson_dir: Path) -> list[dict[str, Any]]:
    notebooks = sorted(lesson_dir.glob("*.ipynb")) if lesson_dir.is_dir() else []
    return [{"slug": nb.stem, "title": _title(nb.stem), "type": "coding"} for nb in notebooks]


def _lesson_dir(course_dir: Path, slug: str) -> Path:
    """`lessons/<slug>/`, or nbgrader's `source/<slug>/` when only that one exists."""
    ours = course_dir / "lessons" / slug
    nbgrader = course_dir / "source" / slug
    return nbgrader if not ours.is_dir() and nbgrader.is_dir() else ours


def _ignored(rel: Path) -> bool:
    # A quiz file holds its answer key: never released to students (quizspec.py).
    return any(part.startswith(".") or part in IGNORED_PARTS for part in rel.parts) or (
        rel.suffix == ".pyc" or rel.name.endswith(QUIZ_SUFFIX)
    )


def lesson_files(lesson_dir: Path, where: str) -> tuple[str, ...]:
    """The files of a lesson folder other than its notebooks (an image a notebook shows, a data
    file it reads), within the release limits; too many or too large names the file."""
    if not lesson_dir.is_dir():
        return ()
    out: list[str] = []
    total = 0
    for path in sorted(lesson_dir.rglob("*")):
        rel = path.relative_to(lesson_dir)
        if path.is_symlink() or not path.is_file() or _ignored(rel) or path.suffix == ".ipynb":
            continue
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ManifestError(f"{where}: {path} is larger than {MAX_FILE_BYTES} bytes")
        total += size
        out.append(rel.as_posix())
    if len(out) > MAX_LESSON_FILES:
        raise ManifestError(f"{where}: {lesson_dir} has more than {MAX_LESSON_FILES} files")
    if total > MAX_LESSON_BYTES:
        raise ManifestError(f"{where}: {lesson_dir} holds more than {MAX_LESSON_BYTES} bytes")
    return tuple(out)


def _folder_sections(course_dir: Path) -> list[dict[str, Any]]:
    root = course_dir / "lessons"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    lessons = [{"slug": f.name, "title": _title(f.name)} for f in folders if any(f.glob("*.ipynb"))]
    return [{"slug": "lessons", "title": "Lessons", "lessons": lessons}] if lessons else []


def nbgrader_root(course_dir: Path) -> Path | None:
    """The nbgrader course folder at `course_dir` (one holding `source/<assignment>/`), or the
    one whose `source/` folder `course_dir` is; None when it is neither."""
    course_dir = Path(course_dir)
    if (course_dir / "course.yaml").exists():
        return None
    if (course_dir / "source").is_dir():
        return course_dir
    if course_dir.name == "source" and course_dir.is_dir():
        return course_dir.parent
    return None


def _config_course_id(config: Path) -> str | None:
    """`c.CourseDirectory.course_id = "..."` from an nbgrader_config.py, read without running it
    (a course folder is content, not code the campus executes)."""
    try:
        tree = ast.parse(config.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "course_id"
                    and isinstance(target.value, ast.Attribute)
                    and target.value.attr == "CourseDirectory"
                    and isinstance(node.value.value, str)
                ):
                    return node.value.value
    return None


def course_slug_for(name: str) -> str:
    """A campus course slug from an nbgrader course id or a folder name."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:100]
    return slug or "course"


def nbgrader_course_data(root: Path) -> dict[str, Any]:
    """The manifest made for an nbgrader course folder: one lesson per `source/<assignment>/`
    folder (its name kept), one coding exercise per notebook in it. The course slug is the
    nbgrader_config.py's course_id, else the folder's name. What `nbcampus course manifest`
    prints, for an instructor who wants to edit it."""
    root = Path(root)
    source = root / "source"
    course_id = None
    for config in (root / "nbgrader_config.py", source / "nbgrader_config.py"):
        course_id = course_id or (_config_course_id(config) if config.is_file() else None)
    name = course_id or root.resolve().name
    folders = sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))
    lessons = [{"slug": f.name, "title": f.name} for f in folders if any(f.glob("*.ipynb"))]
    if not lessons:
        raise ManifestError(
            f"{source}: no assignment found (an nbgrader course has its notebooks in "
            f"source/<assignment>/*.ipynb)"
        )
    return {
        "slug": course_slug_for(name),
        "title": name,
        "kernel": "python3",
        "published": True,
        "sections": [{"slug": "assignments", "title": "Assignments", "lessons": lessons}],
    }


def nbgrader_course_yaml(root: Path) -> str:
    """nbgrader_course_data as the course.yaml text an instructor saves and edits (what
    `nbcampus course manifest` prints and the Course view shows)."""
    return yaml.safe_dump(nbgrader_course_data(root), sort_keys=False)


def load_manifest(course_dir: Path) -> CourseManifest:
    """Read and validate `course_dir/course.yaml`, or make the manifest of an nbgrader course
    folder; raise ManifestError with the reason."""
    course_dir = Path(course_dir)
    path = course_dir / "course.yaml"
    root = nbgrader_root(course_dir)
    if root is not None:
        return _parse(nbgrader_course_data(root), root, f"{root / 'source'} (nbgrader course)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ManifestError(
            f"{path}: cannot read ({err.strerror}); nor is {course_dir} an nbgrader course "
            "(source/<assignment>/*.ipynb)"
        ) from None
    except yaml.YAMLError as err:
        raise ManifestError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: must be a mapping")
    return _parse(data, course_dir, str(path))


def _parse(data: dict[str, Any], course_dir: Path, where: str) -> CourseManifest:
    slug = _slug(data, where)
    published = data.get("published", False)
    if not isinstance(published, bool):
        raise ManifestError(f"{where}: published must be true or false")
    sections: list[SectionSpec] = []
    seen_lessons: set[str] = set()
    for sec in _list(data, "sections", where) or _folder_sections(course_dir):
        sec_slug = _slug(sec, where)
        sec_where = f"{where} section {sec_slug}"
        lessons: list[LessonSpec] = []
        for les in _list(sec, "lessons", sec_where):
            les_slug = _slug(les, sec_where, NAME_RE)
            if les_slug in seen_lessons:
                raise ManifestError(f"{where}: lesson {les_slug} appears twice")
            seen_lessons.add(les_slug)
            les_where = f"{sec_where} lesson {les_slug}"
            lesson_dir = _lesson_dir(course_dir, les_slug)
            specs = _list(les, "exercises", les_where)
            if "exercises" not in les:  # the notebooks of its folder: they must be there
                if not lesson_dir.is_dir():
                    raise ManifestError(
                        f"{les_where}: its folder is missing (looked for {lesson_dir} "
                        f"and {course_dir / 'source' / les_slug})"
                    )
                specs = _notebook_exercises(lesson_dir)
                if not specs:
                    raise ManifestError(f"{les_where}: no notebook (*.ipynb) in {lesson_dir}")
            exercises = [_exercise(e, lesson_dir, les_where) for e in specs]
            slugs = [e.slug for e in exercises]
            if len(set(slugs)) != len(slugs):
                raise ManifestError(f"{les_where}: exercise slugs must be unique")
            # A notebook exam is its lesson's one submission (nbgrader's assignment).
            if any(e.exam for e in exercises) and sum(bool(e.notebook) for e in exercises) > 1:
                raise ManifestError(f"{les_where}: an exam notebook must be its lesson's only one")
            # material and video files are served by the campus, not released to students
            shown = {e.settings["file"] for e in exercises if "file" in e.settings}
            lessons.append(
                LessonSpec(
                    slug=les_slug,
                    title=_str(les, "title", les_where, default=les_slug),
                    description=_str(les, "description", les_where, default=""),
                    exercises=tuple(exercises),
                    duration_minutes=_duration(les, les_where),
                    directory=lesson_dir if lesson_dir.is_dir() else None,
                    files=tuple(f for f in lesson_files(lesson_dir, les_where) if f not in shown),
                )
            )
        sections.append(
            SectionSpec(
                slug=sec_slug,
                title=_str(sec, "title", sec_where, default=sec_slug),
                description=_str(sec, "description", sec_where, default=""),
                lessons=tuple(lessons),
                weight=_weight(sec, sec_where),
            )
        )
    if not seen_lessons:
        raise ManifestError(
            f"{where}: a course needs at least one lesson (none listed, and no folder with "
            f"notebooks under {course_dir / 'lessons'} or {course_dir / 'source'})"
        )
    if not any(lesson.exercises for sec in sections for lesson in sec.lessons):
        raise ManifestError(f"{where}: the course has no exercise in any lesson")
    return CourseManifest(
        slug=slug,
        title=_str(data, "title", where),
        description=_str(data, "description", where, default=""),
        kernel=_str(data, "kernel", where, default="python3"),
        published=published,
        sections=tuple(sections),
        directory=course_dir.resolve(),
        badges=tuple(_badge(b, where) for b in _list(data, "badges", where)),
        **_catalog_fields(data, where),
    )
