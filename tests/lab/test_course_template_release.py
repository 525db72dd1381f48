"""The Course view's new-course template, released as it is: what its students receive
(nbgrader's generate_assignment, as the grader runs it) holds no note to the author and no
answer. The author's notes live in course.yaml's comments, which no student sees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nbcampus.grader.autograde import generate_assignment

TEMPLATE = Path(__file__).resolve().parents[2] / "extensions/lab/nbcampus_lab/course_template"
LESSON = "01-first-steps"
# Words only an author's instructions use: none may reach a student.
AUTHORING = (
    "Create Assignment", "Course view", "Autograded", "nbgrader", "Replace this", "preview",
)  # fmt: skip


def released_text(root: Path) -> dict[str, str]:
    """Each released file's student-visible text (a notebook's cell sources)."""
    out = {}
    for path in sorted((root / "release" / LESSON).rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            out[path.name] = "\n".join("".join(c["source"]) for c in cells)
        else:
            out[path.name] = path.read_text()
    return out


@pytest.mark.slow
def test_a_template_released_as_it_is_tells_students_nothing_meant_for_the_author(
    tmp_path: Path,
) -> None:
    root = tmp_path / "course"
    shutil.copytree(TEMPLATE / "lessons" / LESSON, root / "source" / LESSON)
    generate_assignment(root, "template", LESSON)
    released = released_text(root)
    assert set(released) == {"hello.ipynb", "welcome.md"}, released
    for name, text in released.items():
        found = [w for w in AUTHORING if w.lower() in text.lower()]
        assert not found, f"{name} tells students {found}: {text}"
    # the exercise's task is there; no answer is
    assert "greet(name)" in released["hello.ipynb"]
    assert 'return f"Hello' not in released["hello.ipynb"], released["hello.ipynb"]
    # the author's steps are in course.yaml's comments
    manifest = (TEMPLATE / "course.yaml").read_text()
    notes = "\n".join(line for line in manifest.splitlines() if line.startswith("#"))
    assert "Create Assignment" in notes and "welcome.md" in notes and "SOLUTION" in notes
