"""The rubric items a teacher ticked on a manually graded cell, shown to the student below
that cell in the feedback, each with its points (as a rubric-grading LMS shows them).

Items left unticked are not shown: the feedback says what earned the points, not the whole
rubric. The feedback is rendered by nbgrader's exporter from the notebook, so each ticked
list goes in as a marker paragraph of a Markdown cell after the graded cell, replaced by the
list's HTML afterwards (linenotes.replace_markers). Labels are the teacher's text, escaped.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Mapping
from typing import Any

import nbformat
from sqlalchemy.orm import Session

from .rubric import marks_of, rubric_items

Ticked = tuple[str, float]  # (label, points)

BOX_STYLE = (
    "margin:4px 0 12px;padding:6px 12px;border-left:3px solid #2b6cb0;background:#e8f1fb;"
    "color:#102a43;font-family:system-ui,sans-serif"
)


def ticked_items(
    session: Session, course: str, assignment: str, notebook: str, student: str
) -> dict[str, list[Ticked]]:
    """{cell: [(label, points)] in rubric order} of the items ticked for the student."""
    items = rubric_items(session, course, assignment, notebook)
    ids = [i.id for cell_items in items.values() for i in cell_items]
    marked = marks_of(session, student, ids)
    out: dict[str, list[Ticked]] = {}
    for (_nb, cell), cell_items in items.items():
        ticked = [(i.label, i.points) for i in cell_items if i.id in marked]
        if ticked:
            out[cell] = ticked
    return out


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def ticked_html(ticked: list[Ticked]) -> str:
    rows = "".join(
        f'<li class="nbc-rubric-item"><span class="nbc-rubric-label">{html.escape(label)}</span>'
        f' <span class="nbc-rubric-points">(+{_points(points)})</span></li>'
        for label, points in ticked
    )
    total = round(sum(p for _, p in ticked), 6)
    return (
        f'<div class="nbc-rubric" role="note" style="{BOX_STYLE}">'
        f"<strong>Rubric ({_points(total)})</strong>"
        f'<ul style="margin:4px 0 0;padding-left:20px">{rows}</ul></div>'
    )


def mark_rubric(nb: Any, ticked: Mapping[str, list[Ticked]]) -> dict[str, str]:
    """A marker cell after each graded cell with ticked items; returns {marker: HTML}."""
    markers: dict[str, str] = {}
    token = "NBCRB" + secrets.token_hex(8).upper()
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        items = ticked.get(str(grade_id)) if grade_id else None
        if not items:
            continue
        marker = f"{token}X{len(markers)}"
        markers[marker] = ticked_html(items)
        cells.append(nbformat.v4.new_markdown_cell(marker))
    nb.cells = cells
    return markers
