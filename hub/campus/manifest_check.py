"""Every error of a course.yaml with the line it is on, for the Course view.

`manifest.load_manifest` stops at the first error and names it by its place in the course
("section basics lesson 01 exercise values: xp must be ..."). An author editing the file wants
all of them at once, each beside its line. This module runs the same checks of manifest.py
item by item (a course's fields, each section, lesson, exercise and badge) and finds each
error's line in the YAML node tree; the whole-course checks (a lesson listed twice, a course
without exercises) come from `manifest._parse` itself. No rule is written twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import manifest as m

# Keys whose name in an error message places the error on that key's line.
FIELD_KEYS = (
    "notebook",
    "points",
    "xp",
    "type",
    "slug",
    "title",
    "duration",
    "rarity",
    "criteria",
    "category",
    "level",
    "language",
    "published",
    "description",
    "kernel",
    "exercises",
    "lessons",
    "sections",
    "badges",
)


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based
    message: str  # manifest.py's message: the place in the course, then the rule

    @property
    def where(self) -> str:
        return self.message.split(": ", 1)[0] if ": " in self.message else ""

    @property
    def rule(self) -> str:
        """The message without its place (shown beside the line, which says where)."""
        return self.message.split(": ", 1)[1] if ": " in self.message else self.message

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.rule, "where": self.where}


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def _key_line(node: yaml.Node | None, message: str) -> int:
    """The line of the key a message names (`'xp' must`, `xp must`), else the node's own."""
    if isinstance(node, yaml.MappingNode):
        for name in FIELD_KEYS:
            if re.search(rf"(?:^|[\s:'])'?{name}'? (?:must|is)\b", message):
                for k, _v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == name:
                        return _line(k)
    return _line(node)


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def run(self, node: yaml.Node | None, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except m.ManifestError as err:
            self.add(_key_line(node, str(err)), str(err))
            return None

    def add(self, line: int, message: str) -> None:
        if not any(p.message == message for p in self.problems):
            self.problems.append(Problem(line, message))


def _place(root: yaml.Node | None, data: dict[str, Any], message: str) -> int:
    """The line of the section, lesson or exercise a whole-course error names."""
    node, best = root, _line(root)
    sections = data.get("sections") if isinstance(data.get("sections"), list) else []
    lesson = re.search(r"lesson (\S+?)[:\s]", message + " ")
    if lesson:  # the last time it is listed (a repeated lesson is the second one)
        for si, sec in enumerate(sections):
            lessons = sec.get("lessons") if isinstance(sec, dict) else None
            for li, les in enumerate(lessons if isinstance(lessons, list) else []):
                if isinstance(les, dict) and les.get("slug") == lesson.group(1):
                    node = _child(_child(_child(_child(root, "sections"), si), "lessons"), li)
                    best = _line(node)
    return best


def check_text(text: str, course_dir: Path) -> tuple[m.CourseManifest | None, list[Problem]]:
    """Check a course.yaml's text against the folder it sits in: the manifest when it is valid,
    and every problem found with its line."""
    where = "course.yaml"
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        return None, [Problem(line, f"not valid YAML: {err.problem or err}")]
    except yaml.YAMLError as err:
        return None, [Problem(1, f"not valid YAML: {err}")]
    if not isinstance(data, dict):
        return None, [Problem(1, "course.yaml must be a mapping (slug:, title:, sections:)")]
    found = _Collector()
    found.run(root, lambda: m._slug(data, where))
    found.run(root, lambda: m._str(data, "title", where))
    if not isinstance(data.get("published", False), bool):
        found.add(_line(_child(root, "published")), f"{where}: published must be true or false")
    found.run(root, lambda: m._catalog_fields(data, where))
    sections = found.run(root, lambda: m._list(data, "sections", where)) or []
    for si, sec in enumerate(sections):
        sec_node = _child(_child(root, "sections"), si)
        sec_slug = found.run(sec_node, lambda sec=sec: m._slug(sec, where)) or f"#{si + 1}"
        sec_where = f"{where} section {sec_slug}"
        lessons = found.run(sec_node, lambda sec=sec, w=sec_where: m._list(sec, "lessons", w))
        for li, les in enumerate(lessons or []):
            les_node = _child(_child(sec_node, "lessons"), li)
            les_slug = found.run(les_node, lambda les=les, w=sec_where: m._slug(les, w, m.NAME_RE))
            les_where = f"{sec_where} lesson {les_slug or f'#{li + 1}'}"
            found.run(les_node, lambda les=les, w=les_where: m._duration(les, w))
            found.run(les_node, lambda les=les, w=les_where: m._str(les, "title", w, default=""))
            exercises = found.run(
                les_node, lambda les=les, w=les_where: m._list(les, "exercises", w)
            )
            lesson_dir = m._lesson_dir(course_dir, les_slug) if les_slug else None
            for ei, ex in enumerate(exercises or []):
                ex_node = _child(_child(les_node, "exercises"), ei)
                if lesson_dir is not None:
                    found.run(
                        ex_node, lambda ex=ex, d=lesson_dir, w=les_where: m._exercise(ex, d, w)
                    )
    for bi, badge in enumerate(found.run(root, lambda: m._list(data, "badges", where)) or []):
        found.run(_child(_child(root, "badges"), bi), lambda b=badge: m._badge(b, where))
    manifest = None
    try:
        manifest = m._parse(data, course_dir, where)
    except m.ManifestError as err:
        found.add(_place(root, data, str(err)), str(err))
    if found.problems:
        manifest = None
    problems = sorted(found.problems, key=lambda p: p.line)
    return manifest, problems


def check_folder(course_dir: Path) -> tuple[m.CourseManifest | None, list[Problem]]:
    """check_text on `course_dir/course.yaml`."""
    path = Path(course_dir) / "course.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return None, [Problem(1, f"course.yaml cannot be read ({err})")]
    return check_text(text, Path(course_dir))
