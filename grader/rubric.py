"""Grading aids kept by the grader beside nbgrader's gradebook: rubric items per manually
graded cell, the marks a teacher ticks per student, an assignment's comment bank, comments on
one line of a student's cell, and per-student extensions of the due date.

Scores stay nbgrader's: ticking rubric items sets the cell's `manual_score` in nbgrader's
gradebook (its Grade row), and an extension recomputes the grader's late penalty of the
student's submissions with policy.late_penalty. Plain functions over a session; the handlers
in handlers/rubric.py check who may call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from nbgrader.api import Gradebook
from sqlalchemy.orm import Session

from .orm import GRADED, Assignment, Extension, LineComment, RubricItem, RubricMark, Submission
from .policy import late_penalty

MAX_ITEMS = 50


class RubricError(ValueError):
    """Input the rubric rules refuse; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ItemView:
    id: int
    label: str
    points: float

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "points": self.points}


def cell_max_score(gb: Gradebook, assignment: str, notebook: str, cell: str) -> float:
    """The points of a graded cell as the gradebook has them (MissingEntry if none)."""
    return float(gb.find_grade_cell(cell, notebook, assignment).max_score)


def check_total(items: list[tuple[str, float]], max_score: float) -> None:
    """A rubric's items: each labelled, none negative, their total within the cell's points."""
    if len(items) > MAX_ITEMS:
        raise RubricError(f"a rubric has at most {MAX_ITEMS} items", "items")
    for label, points in items:
        if not label.strip():
            raise RubricError("every rubric item needs a label", "label")
        if points < 0:
            raise RubricError("a rubric item's points must be at least 0", "points")
    total = round(sum(p for _, p in items), 6)
    if total > max_score + 1e-9:
        raise RubricError(
            f"the rubric's items add up to {total:g} points, more than the cell's {max_score:g}",
            "points",
        )


def rubric_items(
    session: Session, course: str, assignment: str, notebook: str | None = None
) -> dict[tuple[str, str], list[ItemView]]:
    """{(notebook, cell): items in order} of an assignment (or one notebook of it)."""
    query = sa.select(RubricItem).where(
        RubricItem.course == course, RubricItem.assignment == assignment
    )
    if notebook is not None:
        query = query.where(RubricItem.notebook == notebook)
    out: dict[tuple[str, str], list[ItemView]] = {}
    for row in session.scalars(query.order_by(RubricItem.position, RubricItem.id)):
        out.setdefault((row.notebook, row.cell), []).append(ItemView(row.id, row.label, row.points))
    return out


def replace_rubric(
    session: Session,
    course: str,
    assignment: str,
    notebook: str,
    cell: str,
    items: list[dict[str, Any]],
    max_score: float,
) -> list[ItemView]:
    """A cell's rubric set to `items` ([{id?, label, points}]): items named by id are kept
    (with the marks given for them), the others are new, and the ones left out go with
    their marks."""
    check_total([(str(i["label"]), float(i["points"])) for i in items], max_score)
    current = {
        row.id: row
        for row in session.scalars(
            sa.select(RubricItem).where(
                RubricItem.course == course,
                RubricItem.assignment == assignment,
                RubricItem.notebook == notebook,
                RubricItem.cell == cell,
            )
        )
    }
    kept: list[RubricItem] = []
    for pos, item in enumerate(items):
        row = current.pop(int(item["id"]), None) if item.get("id") is not None else None
        if item.get("id") is not None and row is None:
            raise RubricError(f"no rubric item {item['id']} on this cell", "items")
        if row is None:
            row = RubricItem(course=course, assignment=assignment, notebook=notebook, cell=cell)
            session.add(row)
        row.position, row.label, row.points = pos, str(item["label"]).strip(), float(item["points"])
        kept.append(row)
    if current:
        session.execute(sa.delete(RubricMark).where(RubricMark.item_id.in_(list(current))))
        session.execute(sa.delete(RubricItem).where(RubricItem.id.in_(list(current))))
    session.flush()
    return [ItemView(r.id, r.label, r.points) for r in kept]


def marks_of(session: Session, student: str, item_ids: list[int]) -> set[int]:
    if not item_ids:
        return set()
    return set(
        session.scalars(
            sa.select(RubricMark.item_id).where(
                RubricMark.student == student, RubricMark.item_id.in_(item_ids)
            )
        )
    )


def set_marks(
    session: Session,
    course: str,
    assignment: str,
    notebook: str,
    cell: str,
    student: str,
    item_ids: list[int],
    by: str,
) -> float:
    """Tick exactly `item_ids` of the cell's rubric for the student; returns their points
    (the manual score the caller writes to nbgrader's gradebook)."""
    points = points_for(session, course, assignment, notebook, cell, item_ids)
    items = rubric_items(session, course, assignment, notebook).get((notebook, cell), [])
    session.execute(
        sa.delete(RubricMark).where(
            RubricMark.student == student, RubricMark.item_id.in_([i.id for i in items])
        )
    )
    for item_id in sorted(set(item_ids)):
        session.add(RubricMark(item_id=item_id, student=student, marked_by=by))
    session.flush()
    return points


def points_for(
    session: Session, course: str, assignment: str, notebook: str, cell: str, item_ids: list[int]
) -> float:
    """The points of these items of a cell's rubric (refused: an item of another cell)."""
    items = {
        i.id: i
        for i in rubric_items(session, course, assignment, notebook).get((notebook, cell), [])
    }
    if not items:
        raise RubricError("this cell has no rubric", "items")
    unknown = sorted(set(item_ids) - set(items))
    if unknown:
        raise RubricError(f"no rubric item {unknown[0]} on this cell", "items")
    return round(sum(items[i].points for i in set(item_ids)), 6)


def line_comments(
    session: Session, course: str, assignment: str, student: str
) -> dict[tuple[str, str], list[LineComment]]:
    """{(notebook, cell): comments by line} of a student's assignment."""
    out: dict[tuple[str, str], list[LineComment]] = {}
    rows = session.scalars(
        sa.select(LineComment)
        .where(
            LineComment.course == course,
            LineComment.assignment == assignment,
            LineComment.student == student,
        )
        .order_by(LineComment.line, LineComment.id)
    )
    for row in rows:
        out.setdefault((row.notebook, row.cell), []).append(row)
    return out


def extension_of(session: Session, course: str, assignment: str, student: str) -> Extension | None:
    return session.scalar(
        sa.select(Extension).where(
            Extension.course == course,
            Extension.assignment == assignment,
            Extension.student == student,
        )
    )


def due_for(session: Session, course: str, assignment: str, student: str) -> datetime | None:
    """The due date that counts for this student: their extension's, else the assignment's."""
    ext = extension_of(session, course, assignment, student)
    if ext is not None:
        return ext.due_at
    a = session.scalar(
        sa.select(Assignment).where(Assignment.course == course, Assignment.name == assignment)
    )
    return a.due_at if a is not None else None


def recompute_late_penalty(
    session: Session, course: str, assignment: str, student: str
) -> list[int]:
    """The late penalty of every graded submission of the student counted again from the due
    date that now applies; returns the ids whose score changed (to be sent on)."""
    a = session.scalar(
        sa.select(Assignment).where(Assignment.course == course, Assignment.name == assignment)
    )
    if a is None:
        return []
    due = due_for(session, course, assignment, student)
    changed = []
    subs = session.scalars(
        sa.select(Submission).where(
            Submission.course == course,
            Submission.assignment == assignment,
            Submission.student == student,
            Submission.status == GRADED,
        )
    )
    for sub in subs:
        old = float(sub.late_penalty or 0.0)
        raw = float(sub.score or 0.0) + old  # the stored score is the raw one less the penalty
        new = late_penalty(
            raw, sub.submitted_at, due, a.late_penalty_per_hour, a.late_penalty_max_fraction
        )
        if abs(new - old) < 1e-9:
            continue
        result = dict(sub.result or {})
        result["score"] = max(0.0, raw - new)
        result["late_penalty"] = new
        session.execute(
            sa.update(Submission)
            .where(Submission.id == sub.id)
            .values(
                score=max(0.0, raw - new),
                late_penalty=new,
                result=result,
                posted=False,
                hooks_due=True,
            )
            .execution_options(synchronize_session=False)
        )
        changed.append(sub.id)
    return changed
