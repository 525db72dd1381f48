"""One gradebook session per grading (grader/gradingbook.py) leaves the gradebook exactly as
nbgrader's steps leave it when each opens the gradebook itself, in far fewer statements.

nbgrader's own steps run on stock nbgrader's autograded ps1 notebooks (outputs included) into
two copies of the course: once the stock way, once inside a grading gradebook. A due date
before the submission with nbgrader's "zero" late policy makes AssignLatePenalties read each
notebook's score right after SaveAutoGrades wrote its grades; a manual score given before a
second grading checks that grades a person set are read as stock reads them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import nbformat
import sqlalchemy as sa
from harness.reference import PS1
from nbgrader.api import Gradebook
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from nbgrader.utils import parse_utc
from traitlets.config import Config

from nbcampus.grader.autograde import generate_assignment
from nbcampus.grader.gradingbook import grading_gradebook

COURSE, ASSIGNMENT = "course101", "ps1"
STEPS = (
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
    SaveAutoGrades,
    AssignLatePenalties,
)


def course(root: Path) -> str:
    shutil.copytree(PS1 / "source", root / "source")
    generate_assignment(root, COURSE, ASSIGNMENT)
    url = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(url, COURSE) as gb:  # due well before both students submitted
        gb.update_or_create_assignment(ASSIGNMENT, duedate="2015-01-01 00:00:00 UTC")
    return url


def config() -> Config:
    c = Config()
    c.OverwriteCells.add_missing_cells = True
    c.LateSubmissionPlugin.penalty_method = "zero"  # the penalty is the notebook's score
    return c


def autograded(student: str) -> dict[str, nbformat.NotebookNode]:
    folder = PS1 / "autograded" / student / ASSIGNMENT
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def run_steps(url: str, student: str, nb: Any, name: str) -> Any:
    resources = {
        "nbgrader": {
            "db_url": url,
            "assignment": ASSIGNMENT,
            "notebook": name,
            "student": student,
            "course_id": COURSE,
        }
    }
    for step in STEPS:
        nb, resources = step(config=config())(nb, resources)
    return nb


def grade_stock(url: str, student: str, stamp: Any) -> dict[str, Any]:
    """nbgrader's way: every step opens the gradebook and commits on its own."""
    with Gradebook(url, COURSE) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(ASSIGNMENT, student, timestamp=stamp)
    return {name: run_steps(url, student, nb, name) for name, nb in autograded(student).items()}


def grade_shared(url: str, student: str, stamp: Any) -> dict[str, Any]:
    """As Autograder does: one grading gradebook, a commit for the submission and one per
    notebook."""
    out = {}
    with grading_gradebook(url, COURSE) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(ASSIGNMENT, student, timestamp=stamp)
        gb.commit()
        for name, nb in autograded(student).items():
            out[name] = run_steps(url, student, nb, name)
            gb.commit()
    return out


def gradebook_state(url: str, student: str) -> dict[str, Any]:
    """Everything a grading writes or nbgrader computes from it, read in a fresh session."""
    with Gradebook(url, COURSE) as gb:
        sub = gb.find_submission(ASSIGNMENT, student)
        return {
            "submission": (
                sub.score,
                sub.max_score,
                sub.late_submission_penalty,
                sub.needs_manual_grade,
                sub.timestamp,
            ),
            "notebooks": {
                nb.name: {
                    "scores": (nb.score, nb.max_score, nb.late_submission_penalty),
                    "needs_manual_grade": nb.needs_manual_grade,
                    "grades": sorted(
                        (g.name, g.auto_score, g.manual_score, g.needs_manual_grade, g.score)
                        for g in nb.grades
                    ),
                    "comments": sorted((c.name, c.auto_comment) for c in nb.comments),
                }
                for nb in sub.notebooks
            },
        }


@contextmanager
def statements(url: str) -> Iterator[list[str]]:
    """The SQL statements sent to the gradebook at `url` meanwhile."""
    seen: list[str] = []

    def count(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if str(conn.engine.url) == url:
            seen.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", count)


def test_one_session_leaves_the_gradebook_as_stock_steps_do(tmp_path: Path) -> None:
    stock = course(tmp_path / "stock")
    shared = course(tmp_path / "shared")
    for student in ("bitdiddle", "hacker"):
        folder = PS1 / "submitted" / student / ASSIGNMENT
        stamp = parse_utc((folder / "timestamp.txt").read_text())
        with statements(stock) as by_stock:
            stock_nbs = grade_stock(stock, student, stamp)
        with statements(shared) as by_shared:
            shared_nbs = grade_shared(shared, student, stamp)
        assert shared_nbs == stock_nbs, student  # the notebooks the steps leave, too
        state = gradebook_state(shared, student)
        assert state == gradebook_state(stock, student), student
        # Late by "zero": each notebook's penalty is its score, read after its grades.
        assert any(nb["scores"][2] for nb in state["notebooks"].values()), state
        assert all(nb["scores"][2] == nb["scores"][0] for nb in state["notebooks"].values())
        assert len(by_shared) * 2 <= len(by_stock), (len(by_shared), len(by_stock))

        # A person grades a cell; grading again (a resubmission) reads that grade afresh.
        for url in (stock, shared):
            with Gradebook(url, COURSE) as gb:
                grade = gb.find_submission(ASSIGNMENT, student).notebooks[0].grades[0]
                grade.manual_score = 0.5
                gb.db.commit()
        later = stamp + timedelta(minutes=5)
        assert grade_shared(shared, student, later) == grade_stock(stock, student, later)
        again = gradebook_state(shared, student)
        assert again == gradebook_state(stock, student), student
        assert again != state  # the manual score counts and needs a person's review
