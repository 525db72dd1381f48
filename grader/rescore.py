"""A teacher's change of a graded submission's score, from nbgrader's gradebook to the grader's
submission row: the score and per-test results the student sees, and what is sent on to the
campus and the result hooks (see GraderService.result_changed)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from nbgrader.api import Gradebook
from sqlalchemy.orm import Session

from .orm import GRADED, Submission, utcnow


@dataclass(frozen=True)
class CellScore:
    score: float
    max_score: float
    needs_manual_grade: bool


@dataclass(frozen=True)
class NotebookScores:
    score: float
    max_score: float
    cells: dict[str, CellScore] = field(default_factory=dict)


@dataclass(frozen=True)
class GradebookScores:
    """A student's graded assignment as the gradebook has it (no late penalty applied)."""

    score: float
    max_score: float
    needs_manual_grade: bool
    notebooks: dict[str, NotebookScores]


def read_scores(gb: Gradebook, assignment: str, student: str) -> GradebookScores:
    sub = gb.find_submission(assignment, student)  # MissingEntry when never graded
    return GradebookScores(
        score=float(sub.score),
        max_score=float(sub.max_score),
        needs_manual_grade=bool(sub.needs_manual_grade),
        notebooks={
            nb.name: NotebookScores(
                float(nb.score),
                float(nb.max_score),
                {
                    g.name: CellScore(
                        float(g.score), float(g.max_score), bool(g.needs_manual_grade)
                    )
                    for g in nb.grades
                },
            )
            for nb in sub.notebooks
        },
    )


def rescored_result(
    result: dict[str, Any] | None, scores: GradebookScores, late_penalty: float
) -> dict[str, Any]:
    """The submission's public result with the gradebook's scores (the same shape as the
    autograder's, so the Lab, the campus post and the hooks read it unchanged)."""
    out = copy.deepcopy(result) if isinstance(result, dict) else {}
    out["score"] = max(0.0, scores.score - late_penalty)
    out["max_score"] = scores.max_score
    out["needs_manual_grade"] = scores.needs_manual_grade
    notebooks = [nb for nb in out.get("notebooks") or [] if isinstance(nb, dict)]
    listed = {nb.get("name") for nb in notebooks}
    notebooks += [
        {"name": name, "status": "ok", "tests": []}
        for name in scores.notebooks
        if name not in listed
    ]
    for nb in notebooks:
        nb_scores = scores.notebooks.get(nb.get("name"))
        if nb_scores is None:
            continue
        nb["score"], nb["max_score"] = nb_scores.score, nb_scores.max_score
        for test in nb.get("tests") or []:
            cell = nb_scores.cells.get(test.get("name"))
            if cell is not None:
                test["score"], test["max_score"] = cell.score, cell.max_score
                test["needs_manual_grade"] = cell.needs_manual_grade
    out["notebooks"] = notebooks
    return out


def apply_scores(
    session: Session, course: str, assignment: str, student: str, scores: GradebookScores
) -> int | None:
    """Give the student's newest graded submission the gradebook's scores; returns its id, or
    None if there is none.

    Its grading time becomes now (the campus orders grades by it) and it counts as not yet
    sent to the campus nor to the result hooks, so the grader's retry loop sends it even if
    the process stops before it is sent."""
    sub = session.scalar(
        sa.select(Submission)
        .where(
            Submission.course == course,
            Submission.assignment == assignment,
            Submission.student == student,
            Submission.status == GRADED,
        )
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        .limit(1)
    )
    if sub is None:
        return None
    # The grader's late penalty is not in the gradebook: it still applies.
    penalty = float(sub.late_penalty or 0.0)
    # One statement naming every column, `posted` and `hooks_due` included: set through the
    # ORM, a flag that looked unchanged here would be left out of the UPDATE, and a send of
    # the previous grade marking the row sent meanwhile would then hide this grade.
    session.execute(
        sa.update(Submission)
        .where(Submission.id == sub.id)
        .values(
            score=max(0.0, scores.score - penalty),
            max_score=scores.max_score,
            result=rescored_result(sub.result, scores, penalty),
            graded_at=utcnow(),
            posted=False,
            hooks_due=True,
        )
        .execution_options(synchronize_session=False)
    )
    return sub.id
