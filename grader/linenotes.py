"""A teacher's comment on one line of a student's cell, shown at that line.

Code is highlighted by Pygments (nbconvert's highlight filter), which closes every span at
the end of each line: the lines of a highlighted `<pre>` are split on newlines safely. Two
ways in:

- the grading view has the cell's highlighted HTML and inserts the notes after their lines
  (`annotate_html`);
- the feedback is rendered by nbgrader's exporter from the notebook, so each note becomes a
  marker line in the cell's source before export (`mark_notebook`), and the marker's whole
  line is replaced by the note afterwards (`replace_markers`).

A Markdown answer has no lines once rendered: its notes are listed after it, each quoting
the line it is about. Note text is the teacher's, still escaped like any text.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

Note = tuple[int, str]  # (1-based line, text)

PRE = re.compile(r"(<pre[^>]*>)(.*?)(</pre>)", re.S)
NOTE_STYLE = (
    "display:inline-block;margin:2px 0;padding:2px 8px;border-left:3px solid #b7791f;"
    "background:#fff4d6;color:#3d2b00;font-family:system-ui,sans-serif;white-space:pre-wrap"
)


def note_html(line: int, text: str, inline_style: bool = False) -> str:
    style = f' style="{NOTE_STYLE}"' if inline_style else ""
    return (
        f'<span class="nbc-line-comment" role="note" data-line="{line}"{style}>'
        f"▲ Line {line}: {html.escape(text)}</span>"
    )


def _by_line(notes: Iterable[Note]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for line, text in notes:
        out.setdefault(int(line), []).append(text)
    return out


def annotate_html(highlighted: str, notes: Iterable[Note], inline_style: bool = False) -> str:
    """Highlighted code with each note after its line (notes past the end go last)."""
    by_line = _by_line(notes)
    match = PRE.search(highlighted)
    if not by_line or match is None:
        return highlighted
    lines = match.group(2).split("\n")
    count = len(lines) - (1 if lines and lines[-1] == "" else 0)
    out: list[str] = []
    for i, line in enumerate(lines, start=1):
        out.append(line)
        if i <= count:
            for text in by_line.pop(i, []):
                out.append(note_html(i, text, inline_style))
    rest = [note_html(n, t, inline_style) for n in sorted(by_line) for t in by_line[n]]
    body = "\n".join(out if not rest else [*out[:-1], *rest, out[-1]])
    return highlighted[: match.start(2)] + body + highlighted[match.end(2) :]


def notes_list(source: str, notes: Iterable[Note], inline_style: bool = False) -> str:
    """The notes of a Markdown answer as a list after it, each quoting its line."""
    by_line = _by_line(notes)
    if not by_line:
        return ""
    lines = source.splitlines()
    items = []
    for n in sorted(by_line):
        quoted = lines[n - 1].strip() if 0 < n <= len(lines) else ""
        for text in by_line[n]:
            items.append(
                "<li>"
                + note_html(n, text, inline_style)
                + (f" <q>{html.escape(quoted)}</q>" if quoted else "")
                + "</li>"
            )
    return '<ul class="nbc-line-comments">' + "".join(items) + "</ul>"


def mark_notebook(nb: Any, notes: Mapping[str, list[Note]]) -> dict[str, str]:
    """Put a marker line for each note into the notebook's cells (by grade id); returns
    {marker: note HTML} for `replace_markers` after export."""
    markers: dict[str, str] = {}
    token = "NBCLC" + secrets.token_hex(8).upper()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        cell_notes = notes.get(str(grade_id)) if grade_id else None
        if not cell_notes:
            continue
        if cell.cell_type == "code":
            lines = str(cell.source or "").split("\n")
            by_line = _by_line(cell_notes)
            out = []
            for i, line in enumerate(lines, start=1):
                out.append(line)
                for text in by_line.pop(i, []) if i < len(lines) else []:
                    marker = f"{token}X{len(markers)}"
                    markers[marker] = note_html(i, text, inline_style=True)
                    out.append(marker)
            for n in sorted(by_line):  # the last line's notes and any past the end
                for text in by_line[n]:
                    marker = f"{token}X{len(markers)}"
                    markers[marker] = note_html(n, text, inline_style=True)
                    out.append(marker)
            cell.source = "\n".join(out)
        else:
            marker = f"{token}X{len(markers)}"
            markers[marker] = notes_list(str(cell.source or ""), cell_notes, inline_style=True)
            cell.source = str(cell.source or "").rstrip() + f"\n\n{marker}\n"
    return markers


def replace_markers(page: str, markers: Mapping[str, str]) -> str:
    """The exported page with every marker's line (or paragraph) replaced by its note."""
    for marker, note in markers.items():
        para = re.compile(r"<p>\s*" + marker + r"\s*</p>")
        if para.search(page):
            page = para.sub(lambda _m, n=note: n, page)
        else:
            page = re.sub(
                r"[^\n>]*<span[^>]*>" + marker + r"</span>[^\n]*", lambda _m, n=note: n, page
            )
            page = page.replace(marker, note)  # a lexer that left it unwrapped
    return page
