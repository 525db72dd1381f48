"""What the manual grading view shows, read from the gradebook and the kept graded notebooks.

Plain functions returning plain data; the handlers turn it into pages. Student content is
never trusted here: cells are rendered as nbconvert does with the Markdown's HTML cut to an
allow-list (rendering.py), and outputs become text, an error's name, message and traceback
(ANSI colours stripped), a PNG/JPEG image, or HTML cut to the same allow-list (tables and
text); SVG and JavaScript outputs are shown as their plain-text form only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import is_grade, is_solution, is_task

from .feedback import graded_notebooks, graded_submission_id
from .rendering import code_html, markdown_html, output_html

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")
MAX_TEXT = 20_000  # characters of one output shown; the rest is cut with a note
MAX_IMAGE = 2 * 1024 * 1024


def gradebook_url(course_root: Path) -> str:
    return f"sqlite:///{course_root / 'gradebook.db'}"


@dataclass
class StudentRow:
    student: str
    score: float | None = None
    max_score: float | None = None
    auto_score: float | None = None
    needs_manual_grade: bool = False
    graded: bool = False


@dataclass
class Output:
    kind: str  # text, error, image, html (already cut to an allow-list)
    text: str = ""
    mime: str = ""
    data: str = ""


@dataclass
class CellView:
    index: int
    cell_type: str
    source: str
    grade_id: str = ""
    kind: str = ""  # test, answer (manually graded), task, solution, or "" for plain cells
    outputs: list[Output] = field(default_factory=list)
    grade: dict[str, Any] | None = None
    comment: dict[str, Any] | None = None
    html: str = ""  # the source rendered as nbconvert does (rendering.py), safe to show


@dataclass
class NotebookView:
    name: str
    score: float
    max_score: float
    cells: list[CellView]


def gradebook_rows(course_root: Path, course: str, assignment: str) -> dict[str, StudentRow]:
    """Per student with a graded submission: score, autograde score, needs-manual-grade."""
    if not (course_root / "gradebook.db").exists():
        return {}
    rows = {}
    with Gradebook(gradebook_url(course_root), course) as gb:
        try:
            subs = gb.find_assignment(assignment).submissions
        except MissingEntry:
            return {}
        for sub in subs:
            auto = 0.0
            for nb in sub.notebooks:
                auto += sum(float(g.auto_score or 0.0) for g in nb.grades)
            rows[sub.student_id] = StudentRow(
                student=sub.student_id,
                score=float(sub.score),
                max_score=float(sub.max_score),
                auto_score=auto,
                needs_manual_grade=bool(sub.needs_manual_grade),
                graded=True,
            )
    return rows


def assignment_counts(course_root: Path, course: str) -> dict[str, tuple[int, int]]:
    """Per assignment: (graded students, students needing a manual grade)."""
    if not (course_root / "gradebook.db").exists():
        return {}
    out = {}
    with Gradebook(gradebook_url(course_root), course) as gb:
        for a in gb.assignments:
            subs = a.submissions
            out[a.name] = (len(subs), sum(1 for s in subs if s.needs_manual_grade))
    return out


def submission_view(
    course_root: Path, course: str, assignment: str, student: str
) -> tuple[str | None, list[NotebookView]]:
    """The kept graded notebooks of a student's graded submission, with grades and comments."""
    if not (course_root / "gradebook.db").exists():
        raise MissingEntry()  # nothing graded in this course yet (and no gradebook to create)
    uid = graded_submission_id(course_root, student, assignment)
    notebooks = graded_notebooks(course_root, student, assignment)
    views = []
    with Gradebook(gradebook_url(course_root), course) as gb:
        sub = gb.find_submission(assignment, student)  # MissingEntry when never graded
        for snb in sub.notebooks:
            grades = {
                g.name: {
                    "auto_score": g.auto_score,
                    "manual_score": g.manual_score,
                    "score": float(g.score),
                    "max_score": float(g.max_score),
                    "needs_manual_grade": bool(g.needs_manual_grade),
                }
                for g in snb.grades
            }
            comments = {
                c.name: {"auto_comment": c.auto_comment, "manual_comment": c.manual_comment}
                for c in snb.comments
            }
            nb = notebooks.get(snb.name)
            cells = _cells(nb, grades, comments) if nb is not None else []
            views.append(NotebookView(snb.name, float(snb.score), float(snb.max_score), cells))
    return uid, views


def _cells(
    nb: nbformat.NotebookNode, grades: dict[str, dict], comments: dict[str, dict]
) -> list[CellView]:
    out = []
    meta_nb = nb.get("metadata") or {}
    language = str(
        (meta_nb.get("kernelspec") or {}).get("language")
        or (meta_nb.get("language_info") or {}).get("name")
        or "python"
    )
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader") or {}
        grade_id = str(meta.get("grade_id") or "") if isinstance(meta, dict) else ""
        kind = ""
        if is_grade(cell):
            kind = "answer" if is_solution(cell) or cell.cell_type != "code" else "test"
        elif is_task(cell):
            kind = "task"
        elif is_solution(cell):
            kind = "solution"
        out.append(
            CellView(
                index=i,
                cell_type=str(cell.cell_type),
                source=str(cell.source or ""),
                grade_id=grade_id,
                kind=kind,
                outputs=[o for o in map(_output, cell.get("outputs", [])) if o is not None],
                grade=grades.get(grade_id) if kind in ("test", "answer", "task") else None,
                comment=comments.get(grade_id) if grade_id else None,
                html=_rendered(cell, language),
            )
        )
    return out


def _rendered(cell: Any, language: str) -> str:
    source = str(cell.source or "")
    if cell.cell_type == "markdown":
        return markdown_html(source)
    if cell.cell_type == "code":
        return code_html(source, language)
    return ""  # raw cells stay plain text


def _text(value: Any) -> str:
    text = "".join(value) if isinstance(value, list) else str(value or "")
    text = ANSI.sub("", text)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n… ({len(text) - MAX_TEXT} more characters not shown)"
    return text


def _output(out: Any) -> Output | None:
    kind = out.get("output_type")
    if kind == "stream":
        return Output("text", _text(out.get("text")))
    if kind == "error":
        lines = [_text(line) for line in out.get("traceback") or []]
        head = f"{out.get('ename', 'Error')}: {_text(out.get('evalue'))}"
        return Output("error", _text("\n".join(lines)) or head, data=head)
    if kind in ("execute_result", "display_data"):
        data = out.get("data") or {}
        for mime in ("image/png", "image/jpeg"):
            raw = data.get(mime)
            if isinstance(raw, str) and len(raw) <= MAX_IMAGE and BASE64.match(raw):
                return Output("image", mime=mime, data=re.sub(r"\s", "", raw))
        raw_html = data.get("text/html")
        if isinstance(raw_html, (str, list)) and len(_text(raw_html)) < MAX_TEXT:
            return Output("html", data=output_html(_text(raw_html)))
        if "text/plain" in data:
            return Output("text", _text(data["text/plain"]))
        if data:
            return Output("text", f"({', '.join(sorted(data))} output not shown here)")
    return None
