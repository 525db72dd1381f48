"""Build small nbgrader source notebooks and student submissions for the grader tests."""

from __future__ import annotations

from pathlib import Path

import nbformat

# The one-function assignment of the sandbox tests: the instructor's answer and its tests (one
# visible, one with a hidden part), with their points.
ANSWER = "def add(a, b):\n    return a + b"
TESTS = [
    ("t_visible", "assert add(1, 2) == 3", 1.0),
    (
        "t_hidden",
        "assert add(2, 2) == 4\n### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n"
        "### END HIDDEN TESTS",
        2.0,
    ),
]


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0) -> dict:
    meta = {
        "grade": grade,
        "solution": solution,
        "locked": locked,
        "grade_id": grade_id,
        "schema_version": 3,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook(answer: str, tests: list[tuple[str, str, float]]) -> nbformat.NotebookNode:
    """An nbgrader source notebook: one solution cell and graded test cells."""
    cells = [
        nbformat.v4.new_code_cell(
            "### BEGIN SOLUTION\n" + answer + "\n### END SOLUTION",
            metadata=_meta("answer", grade=False, solution=True, locked=False),
        )
    ]
    for name, source, points in tests:
        cells.append(
            nbformat.v4.new_code_cell(
                source, metadata=_meta(name, grade=True, solution=False, locked=True, points=points)
            )
        )
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python", "language": "python"}
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def student_version(release: Path, answer: str) -> nbformat.NotebookNode:
    """The released notebook with the student's code in the solution cell."""
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answer
    return nb
