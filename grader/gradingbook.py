"""One gradebook session for every nbgrader step of a grading.

Stock nbgrader's autograde steps (OverwriteKernelspec, OverwriteCells, SaveAutoGrades,
AssignLatePenalties) each open the gradebook anew, look every cell up with a query of its own
(a five-table join for a grade) and commit after every cell: some 110 statements for a
three-notebook submission, half of the grader process's own CPU. During a grading, those
steps (nbgrader's own code, unchanged) get the grading's one `GradingGradebook` instead:

- the assignment, its notebooks and their source, grade, solution and task cells are read
  once per grading (a grading never changes them), and each step's lookup is a dict hit;
- the student's grades and comments are read once per submission, for all its notebooks;
- a step's commit flushes new rows only (changed ones go together, in one batched UPDATE):
  the grading commits once when the submission is recorded and once per notebook, after its
  grades, so no write lock is held while a kernel runs;
- a submission or submitted notebook found again has its scores (nbgrader computes them in
  SQL from the grades) read anew from the database, as stock's new gradebook would.

A lookup that misses the cache is stock's own query, with stock's MissingEntry.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

import nbgrader.preprocessors.latesubmissions as _latesubmissions
import nbgrader.preprocessors.overwritecells as _overwritecells
import nbgrader.preprocessors.overwritekernelspec as _overwritekernelspec
import nbgrader.preprocessors.saveautogrades as _saveautogrades
import sqlalchemy as sa
from nbgrader.api import (
    Assignment,
    Comment,
    Grade,
    Gradebook,
    GradeCell,
    Notebook,
    SolutionCell,
    SourceCell,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
    TaskCell,
)
from sqlalchemy.orm import Session, selectinload, undefer

_active = threading.local()


class _Batched:
    """The session as nbgrader's steps see it: their commits are at most flushes (the grading
    commits), everything else is the session's own."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def commit(self) -> None:
        # New rows now, so that a clash is raised where nbgrader catches it (its rollback and
        # InvalidEntry); changed ones with the next query or the grading's commit, together.
        if self._session.new or self._session.deleted:
            self._session.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class GradingGradebook(Gradebook):
    """nbgrader's Gradebook over one session for a whole grading, with its lookups cached."""

    def __init__(self, db_url: str, course_id: str = "default_course") -> None:
        super().__init__(db_url, course_id)
        self.db_url = db_url
        self.db.remove()  # the scoped session nbgrader made: this one has its own
        # Not expired on commit: the assignment's cells stay loaded between notebooks; what a
        # grading writes is read again through find_submission(_notebook), which refresh.
        self.session = Session(bind=self.engine, autoflush=True, expire_on_commit=False)
        self.db = _Batched(self.session)
        self._assignments: dict[str, Assignment] = {}
        self._students: dict[str, Student] = {}
        self._cells: dict[tuple[str, str], dict[str, Any]] = {}
        self._submitted: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._submissions: dict[tuple[str, str], SubmittedAssignment] = {}
        self._submitted_notebooks: dict[tuple[str, str], dict[str, SubmittedNotebook]] = {}

    # The grading opens and closes it; nbgrader's `with Gradebook(...)` leaves it open.
    def __enter__(self) -> GradingGradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:
        self.session.commit()

    def close(self) -> None:
        self.session.close()

    # -- the assignment's side: never changed by a grading, read once -------------------

    def find_assignment(self, name: str) -> Assignment:
        if name not in self._assignments:
            # With its notebooks and their cells (the cell kinds' own columns too): a handful
            # of queries for the whole assignment instead of several per notebook.
            found = (
                self.session.query(Assignment)
                .filter(Assignment.name == name)
                .options(
                    selectinload(Assignment.notebooks).options(
                        selectinload(Notebook.source_cells),
                        selectinload(Notebook._base_cells).selectin_polymorphic(
                            [GradeCell, SolutionCell, TaskCell]
                        ),
                    )
                )
                .one_or_none()
            )
            self._assignments[name] = found or super().find_assignment(name)  # stock's error
        return self._assignments[name]

    def find_student(self, student_id: str) -> Student:
        if student_id not in self._students:
            self._students[student_id] = super().find_student(student_id)
        return self._students[student_id]

    def add_student(self, student_id: str, **kwargs: Any) -> Student:
        self._students[student_id] = super().add_student(student_id, **kwargs)
        return self._students[student_id]

    def _notebook_cells(self, notebook: str, assignment: str) -> dict[str, Any]:
        key = (assignment, notebook)
        if key not in self._cells:
            nbs = {nb.name: nb for nb in self.find_assignment(assignment).notebooks}
            if notebook not in nbs:
                return {}
            nb = nbs[notebook]
            self._cells[key] = {
                "notebook": nb,
                "source": {c.name: c for c in nb.source_cells},
                "base": {c.name: c for c in nb._base_cells},
            }
        return self._cells[key]

    def find_notebook(self, name: str, assignment: str) -> Notebook:
        cells = self._notebook_cells(name, assignment)
        return cells["notebook"] if cells else super().find_notebook(name, assignment)

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> SourceCell:
        cell = self._notebook_cells(notebook, assignment).get("source", {}).get(name)
        return cell if cell is not None else super().find_source_cell(name, notebook, assignment)

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> GradeCell | TaskCell:
        cell = self._notebook_cells(notebook, assignment).get("base", {}).get(name)
        if isinstance(cell, GradeCell | TaskCell):
            return cell
        return super().find_graded_cell(name, notebook, assignment)

    # -- the student's side --------------------------------------------------------------

    def _read_again(self, *classes: type) -> None:
        """Flush what the steps wrote and expire the loaded rows of `classes`: the next query
        reads them anew, scores included (SQL over the grades), as stock's new gradebook
        would."""
        self.session.flush()
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, classes):
                self.session.expire(obj)

    def _fresh_scores(self, obj: Any) -> Any:
        """`obj` with its scores (SQL over the grades: score, max_score, needs_manual_grade...)
        read anew on their next use, after what the steps wrote; its own columns stay."""
        self.session.flush()
        self.session.expire(obj, _computed(type(obj)))
        return obj

    def find_submission(self, assignment: str, student: str) -> SubmittedAssignment:
        key = (assignment, student)
        if key not in self._submissions:
            self._submissions[key] = super().find_submission(assignment, student)
        return self._fresh_scores(self._submissions[key])

    def add_submission(self, assignment: str, student: str, **kwargs: Any) -> SubmittedAssignment:
        sub = super().add_submission(assignment, student, **kwargs)
        self._submissions[(assignment, student)] = sub
        return sub

    def find_submission_notebook(
        self, notebook: str, assignment: str, student: str
    ) -> SubmittedNotebook:
        key = (assignment, student)
        if key not in self._submitted_notebooks:
            sub = self.find_submission(assignment, student)
            # A query, not the collection: it also loads the columns a new row left unloaded
            # (setting those to what they already are would be an UPDATE each).
            self._submitted_notebooks[key] = {
                snb.notebook.name: snb
                for snb in self.session.query(SubmittedNotebook).filter(
                    SubmittedNotebook.assignment_id == sub.id
                )
            }
        snb = self._submitted_notebooks[key].get(notebook)
        if snb is None:
            return super().find_submission_notebook(notebook, assignment, student)
        return self._fresh_scores(snb)

    def submission_scores(
        self, assignment: str, student: str
    ) -> tuple[SubmittedAssignment, dict[str, SubmittedNotebook], dict[str, list[Grade]]]:
        """The submission, its notebooks and their grades by notebook name, with their scores
        (nbgrader's own SQL expressions) read in three queries rather than one per score."""
        self._read_again(SubmittedAssignment, SubmittedNotebook, Grade)
        sub = (
            self.session.query(SubmittedAssignment)
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
            .filter(Assignment.name == assignment, SubmittedAssignment.student_id == student)
            .options(
                undefer(SubmittedAssignment.score),
                undefer(SubmittedAssignment.max_score),
                undefer(SubmittedAssignment.late_submission_penalty),
                undefer(SubmittedAssignment.needs_manual_grade),
            )
            .one()
        )
        notebooks = {
            snb.notebook.name: snb
            for snb in self.session.query(SubmittedNotebook)
            .filter(SubmittedNotebook.assignment_id == sub.id)
            .options(undefer(SubmittedNotebook.score), undefer(SubmittedNotebook.max_score))
        }
        names = {snb.id: name for name, snb in notebooks.items()}
        grades: dict[str, list[Grade]] = {name: [] for name in notebooks}
        for grade in (
            self.session.query(Grade)
            .filter(Grade.notebook_id.in_(list(names)))
            .options(undefer(Grade.max_score))
        ):
            grades[names[grade.notebook_id]].append(grade)
        return sub, notebooks, grades

    def _submitted_cells(self, notebook: str, assignment: str, student: str) -> dict[str, Any]:
        """The student's grades and comments of one notebook by cell name: read for every
        notebook of the submission at its first use (two queries, not two per notebook)."""
        key = (assignment, notebook, student)
        if key not in self._submitted:
            if not self._notebook_cells(notebook, assignment).get("base"):
                return {}
            self.find_submission_notebook(notebook, assignment, student)  # loads them all
            notebooks = self._submitted_notebooks[(assignment, student)]
            names = {snb.id: name for name, snb in notebooks.items()}
            cells = {
                name: {
                    c.id: c for c in self._notebook_cells(name, assignment).get("base", {}).values()
                }
                for name in notebooks
            }
            found: dict[str, dict[str, Any]] = {
                n: {"grades": {}, "comments": {}} for n in notebooks
            }
            for grade in self.session.query(Grade).filter(Grade.notebook_id.in_(list(names))):
                name = names[grade.notebook_id]
                cell = cells[name].get(grade.cell_id)
                if isinstance(cell, GradeCell | TaskCell):
                    found[name]["grades"][cell.name] = grade
            for comment in self.session.query(Comment).filter(Comment.notebook_id.in_(list(names))):
                name = names[comment.notebook_id]
                cell = cells[name].get(comment.cell_id)
                if isinstance(cell, SolutionCell | TaskCell):
                    found[name]["comments"][cell.name] = comment
            for name, entries in found.items():
                self._submitted[(assignment, name, student)] = entries
        return self._submitted.get(key, {})

    def find_grade(self, grade_cell: str, notebook: str, assignment: str, student: str) -> Grade:
        found = self._submitted_cells(notebook, assignment, student).get("grades", {})
        grade = found.get(grade_cell)
        if grade is not None:
            return grade
        return super().find_grade(grade_cell, notebook, assignment, student)

    def find_comment(
        self, solution_cell: str, notebook: str, assignment: str, student: str
    ) -> Comment:
        found = self._submitted_cells(notebook, assignment, student).get("comments", {})
        comment = found.get(solution_cell)
        if comment is not None:
            return comment
        return super().find_comment(solution_cell, notebook, assignment, student)

    def forget_submitted(self) -> None:
        """Drop the cached grades and comments (after a rollback, or to read them anew)."""
        self._submitted.clear()


@functools.cache
def _computed(cls: type) -> list[str]:
    """The attributes of a gradebook class that nbgrader computes in SQL from other rows."""
    return [
        prop.key
        for prop in sa.inspect(cls).column_attrs
        if not all(isinstance(col, sa.Column) for col in prop.columns)
    ]


@contextlib.contextmanager
def grading_gradebook(db_url: str, course_id: str) -> Iterator[GradingGradebook]:
    """The gradebook of the grading running in this thread: nbgrader's steps that open
    `db_url` get it; rolled back on an error, closed at the end."""
    gb = GradingGradebook(db_url, course_id)
    _active.gradebook = gb
    try:
        yield gb
    except BaseException:
        gb.session.rollback()
        raise
    finally:
        _active.gradebook = None
        gb.close()


def gradebook(db_url: str, course_id: str = "default_course", authenticator: Any = None) -> Any:
    """`Gradebook(...)` as nbgrader's steps call it: this thread's grading gradebook when one
    is open on `db_url`, otherwise a gradebook of their own."""
    active = getattr(_active, "gradebook", None)
    if active is not None and active.db_url == db_url:
        return active
    return Gradebook(db_url, course_id, authenticator)


for _module in (_overwritekernelspec, _overwritecells, _saveautogrades, _latesubmissions):
    _module.Gradebook = gradebook  # type: ignore[attr-defined]

__all__ = ["GradingGradebook", "gradebook", "grading_gradebook"]
