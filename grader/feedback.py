"""Graded notebooks kept after autograde, and nbgrader's HTML feedback made from them.

After each grading the executed notebooks are kept where stock nbgrader keeps them,
`<course>/autograded/<student>/<assignment>/<notebook>.ipynb`, with the id of the submission
they came from. The manual grading view shows them; the feedback is rendered from them on
request with nbgrader's GenerateFeedback steps (GetGrades, then the HTML exporter with
nbgrader's feedback template), so manual scores and comments show as soon as they are saved.

Hidden tests never reach a student: a notebook that had them is rendered from its student
copy (`<notebook>.student.ipynb`, the run in which hidden source never existed, see hidden.py)
with the gradebook's scores. Gradings kept before that copy existed are still filtered: the
hidden regions are removed from the source and the outputs of a cell that had them are
replaced by the error's name alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import html
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets.config import Config

from .autograde import HIDDEN_TESTS, NotebookResult
from .hidden import HIDDEN_PLACEHOLDER
from .linenotes import Note, mark_notebook, replace_markers
from .rubricfeedback import Ticked, mark_rubric

log = logging.getLogger(__name__)

SUBMISSION_FILE = "submission.json"
# The student's copy of a notebook that had hidden tests (see hidden.py), beside the graded one.
STUDENT_SUFFIX = ".student.ipynb"
TEMPLATE_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)
# A page that runs no script and loads nothing but its own inline styles and data: images.
FEEDBACK_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)


class FeedbackMissing(LookupError):
    """There are no graded notebooks for this submission (not graded yet, or superseded)."""


def graded_dir(course_root: Path, student: str, assignment: str) -> Path:
    # Hub user names may hold characters a path must not; quoting keeps one folder per name.
    return course_root / "autograded" / quote(student, safe="") / quote(assignment, safe="")


def store_graded(
    course_root: Path,
    assignment: str,
    student: str,
    submission_id: str,
    notebooks: Iterable[NotebookResult],
) -> Path:
    """Keep the graded notebooks of a submission, replacing the previous grading's."""
    final = graded_dir(course_root, student, assignment)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{submission_id}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    kept = []
    for result in notebooks:
        if result.notebook is None:  # missing or unreadable: nothing to show but the score
            continue
        # Kept within the feedback's bounds: reading and rendering them stays quick.
        nbformat.write(bound_for_rendering(result.notebook), tmp / f"{result.name}.ipynb")
        if result.feedback is not None:  # what the student sees: the run without hidden tests
            student_view = bound_for_rendering(result.feedback)
            nbformat.write(student_view, tmp / f"{result.name}{STUDENT_SUFFIX}")
        kept.append(result.name)
    (tmp / SUBMISSION_FILE).write_text(json.dumps({"id": submission_id, "notebooks": kept}))
    # Swap folders so that a reader sees the old grading or the new one, never a mix.
    old = final.with_name(f".{final.name}.{submission_id}.old")
    with _swap_lock:
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


_swap_lock = threading.Lock()


def keep_graded_hook(data_dir: Path) -> Callable[[Any, Any], None]:
    """An `on_graded(claimed, result)` for a GradingPool that keeps the graded notebooks."""
    from .worker import course_root

    def keep(claimed: Any, result: Any) -> None:
        try:
            store_graded(
                course_root(data_dir, claimed.course),
                claimed.assignment,
                claimed.student,
                claimed.uid,
                result.notebooks,
            )
        except Exception:  # the grade is saved already; only the feedback view is missing
            log.exception("could not keep the graded notebooks of %s", claimed.uid)

    return keep


def kept_grading(course_root: Path, student: str, assignment: str) -> dict[str, Any]:
    """`{"id": submission id, "notebooks": [names]}` of the kept grading, or {} if none."""
    try:
        info = json.loads(
            (graded_dir(course_root, student, assignment) / SUBMISSION_FILE).read_text()
        )
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def graded_submission_id(course_root: Path, student: str, assignment: str) -> str | None:
    """The id of the submission whose graded notebooks are kept, if any."""
    return kept_grading(course_root, student, assignment).get("id")


def graded_notebooks(
    course_root: Path, student: str, assignment: str
) -> dict[str, nbformat.NotebookNode]:
    """The kept graded notebooks by name (empty when there are none)."""
    folder = graded_dir(course_root, student, assignment)
    try:
        names = json.loads((folder / SUBMISSION_FILE).read_text()).get("notebooks", [])
    except (OSError, ValueError):
        return {}
    out = {}
    for name in names:
        try:
            out[name] = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        except (OSError, ValueError):
            log.warning("graded notebook %s of %s/%s is unreadable", name, student, assignment)
    return out


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden test regions and what their execution printed, keeping pass or fail.

    Code that runs after a hidden test can quote it (IPython's `In`, a traceback, the
    caller's frame): any output in the notebook that contains a line of a hidden test is
    replaced by a note as well.
    """

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        secrets: set[str] = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and HIDDEN_TESTS.search(cell.source or ""):
                before = cell.source or ""
                _clear_hidden(cell)
                kept = set(cell.source.splitlines())
                secrets.update(
                    line.strip()
                    for line in before.splitlines()
                    if line not in kept
                    and len(line.strip()) >= MIN_SECRET
                    and "HIDDEN TESTS" not in line.upper()
                )
        for cell in nb.cells:
            if cell.cell_type == "code" and secrets:
                cell.outputs = [
                    nbformat.v4.new_output("stream", name="stdout", text=QUOTED_NOTE)
                    if _quotes(out, secrets)
                    else out
                    for out in cell.get("outputs", [])
                ]
        return nb, resources


MIN_SECRET = 6  # shorter lines (`)`, `pass`) say nothing and would hide innocent outputs
QUOTED_NOTE = "[output not shown: it quotes a hidden test]\n"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _clear_hidden(cell: Any) -> None:
    """The cell without its hidden regions, and its outputs reduced to pass or fail."""
    try:
        ClearHiddenTests(enforce_metadata=False)._remove_hidden_test_region(cell)
    except RuntimeError:  # unbalanced markers: show nothing of the cell's code
        cell.source = ""
    if "HIDDEN TESTS" in (cell.source or "").upper():
        cell.source = ""  # markers nbgrader's exact-case match missed
    cell.source = (cell.source.rstrip() + "\n" if cell.source.strip() else "") + (
        HIDDEN_PLACEHOLDER
    )
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    ename = str(errors[0].get("ename", "Error")) if errors else ""
    cell.outputs = (
        [
            nbformat.v4.new_output(
                "error",
                ename=ename,
                evalue="a hidden test failed",
                traceback=[f"{ename}: a hidden test failed"],
            )
        ]
        if errors
        else []
    )
    if is_grade(cell):
        cell.metadata["nbgrader"].pop("checksum", None)


def _quotes(output: Any, secrets: set[str]) -> bool:
    """Does an output contain a hidden line, as printed, repr'd, JSON- or HTML-escaped?"""
    text = ANSI.sub("", " ".join(_strings(output)))  # tracebacks colour the quoted code
    flat = re.sub(r"\s+", " ", text)
    for line in secrets:
        variants = {
            line,
            json.dumps(line)[1:-1],
            line.replace("'", "\\'"),
            html.escape(line),
            html.escape(line, quote=False),
        }
        if any(v in text or re.sub(r"\s+", " ", v) in flat for v in variants):
            return True
    return False


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _new_exporter() -> HTMLExporter:
    """nbgrader's feedback exporter (GenerateFeedback's HTMLExporter settings)."""
    import nbgrader

    base = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.extra_template_basedirs = [str(base / "templates")]
    c.HTMLExporter.extra_template_paths = [
        str(base / "static" / "node_modules" / "bootstrap" / "dist" / "css")
    ]
    # Student outputs are untrusted: sanitized HTML, and no script or CDN (the CSP forbids it).
    c.HTMLExporter.sanitize_html = True
    return HTMLExporter(config=c)


class _Rendering(threading.local):
    """Per rendering thread: its exporter, kept because compiling the templates costs about
    0.2 s of CPU per exporter (a new one per page doubled a small page's cost), and the
    deadline of the page it is rendering (None: no page under way)."""

    exporter: HTMLExporter | None = None
    deadline: float | None = None


_rendering = _Rendering()


def _exporter() -> HTMLExporter:
    """This thread's feedback exporter; its template filters check the thread's deadline."""
    if _rendering.exporter is None:
        exporter = _new_exporter()
        env = exporter.environment

        def bounded(f: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(f)
            def call(*args: Any, **kwargs: Any) -> Any:
                deadline = _rendering.deadline
                if deadline is not None and time.monotonic() > deadline:
                    raise FeedbackTooSlow
                return f(*args, **kwargs)

            return call

        for name, f in list(env.filters.items()):
            env.filters[name] = bounded(f)
        _rendering.exporter = exporter
    return _rendering.exporter


# Rendering is bounded by what it renders: at most this many cells (graded cells always stay)
# and this much output text; the rest is replaced by a note. A notebook of 100,000 cells took
# 318 s of CPU to render; one at these bounds takes a few seconds.
FEEDBACK_MAX_CELLS = 1000
FEEDBACK_MAX_OUTPUT_CHARS = 2 * 1024 * 1024
# ... and by time: past this many seconds the page says the feedback was too large to show
# (the score stands, shown on it). An ordinary notebook renders in well under a second.
FEEDBACK_SECONDS = 20.0


class FeedbackTooSlow(Exception):  # noqa: N818 - a result, not a failure of the grader
    """Rendering a notebook's feedback went past its time bound."""


@contextlib.contextmanager
def _time_bound(seconds: float) -> Iterator[None]:
    """Raise FeedbackTooSlow in this thread once `seconds` have passed: checked before every
    template filter of this thread's exporter (each renders one cell's part: Markdown,
    highlighted code, an output), and, for one filter call that runs on past the bound, raised
    into this thread by a timer (at its next Python instruction; one long call inside C code
    still ends first)."""
    _rendering.deadline = time.monotonic() + seconds
    ident = threading.get_ident()
    done = threading.Event()

    def interrupt() -> None:
        if not done.is_set():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(ident), ctypes.py_object(FeedbackTooSlow)
            )

    timer = threading.Timer(seconds + 1.0, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        done.set()
        timer.cancel()
        _rendering.deadline = None


def too_large_page(resources: Mapping[str, Any], seconds: float) -> str:
    """The feedback page when the notebook's feedback did not render in time: its score."""
    grades = resources.get("nbgrader", {})
    score = f"{grades.get('score', 0):g} / {grades.get('max_score', 0):g}"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>"
        f"<h1>{html.escape(str(grades.get('notebook', '')))}</h1>"
        f"<p>Score: {html.escape(score)}</p>"
        f"<p>This notebook's feedback was too large to show (it took more than {seconds:g} s "
        "to render). Its score stands; ask your teacher to look at it.</p></body></html>"
    )


def bound_for_rendering(
    nb: Any, max_cells: int = FEEDBACK_MAX_CELLS, max_output: int = FEEDBACK_MAX_OUTPUT_CHARS
) -> Any:
    """The notebook cut to what feedback renders: the first `max_cells` cells plus every cell
    nbgrader knows (graded, solution, locked), and outputs up to `max_output` characters."""
    cells, left_out, budget, cut = [], 0, max_output, False
    for cell in nb.cells:
        known = isinstance(cell.get("metadata", {}).get("nbgrader"), dict)
        if len(cells) >= max_cells and not known:
            left_out += 1
            continue
        outputs = cell.get("outputs")
        if outputs:
            size = len(json.dumps(outputs))
            if size > budget:
                cell = nbformat.NotebookNode(cell)  # a copy: the caller's notebook stays
                cell.outputs = [
                    nbformat.v4.new_output(
                        "stream", name="stderr", text="[output left out of the feedback: too long]"
                    )
                ]
                cut = True
            budget -= min(size, budget)
        cells.append(cell)
    if left_out:
        cells.append(
            nbformat.v4.new_markdown_cell(f"*{left_out} more cells are left out of the feedback.*")
        )
    if left_out or cut:
        nb = nbformat.NotebookNode(nb)
        nb.cells = cells
    return nb


def render_feedback(
    course_root: Path,
    course: str,
    assignment: str,
    student: str,
    notebook: str,
    late_penalty: float = 0.0,
    line_notes: Mapping[str, list[Note]] | None = None,
    seconds: float = FEEDBACK_SECONDS,
    rubric: Mapping[str, list[Ticked]] | None = None,
) -> str:
    """nbgrader-style feedback HTML of one graded notebook, with the gradebook's scores,
    the teachers' line comments ({grade id: [(line, text)]}) at their lines and the rubric
    items ticked ({grade id: [(label, points)]}) below their cells; past `seconds` of
    rendering, a page with the score that says the feedback was too large."""
    nbs = graded_notebooks(course_root, student, assignment)
    if notebook not in nbs:
        raise FeedbackMissing(f"no graded notebook {notebook!r}")
    nb = nbs[notebook]
    student_copy = graded_dir(course_root, student, assignment) / f"{notebook}{STUDENT_SUFFIX}"
    if student_copy.exists():  # outputs of the run in which hidden tests never existed
        nb = nbformat.read(student_copy, as_version=4)
    nb = bound_for_rendering(nb)
    resources: dict[str, Any] = {
        "nbgrader": {
            "db_url": f"sqlite:///{course_root / 'gradebook.db'}",
            "assignment": assignment,
            "notebook": notebook,
            "student": student,
            "course_id": course,
        }
    }
    nb, resources = GetGrades()(nb, resources)
    nb, resources = HideHiddenTests()(nb, resources)
    if late_penalty:
        # The grader applies its late policy itself (not in the gradebook): show it here.
        resources["nbgrader"]["late_penalty"] = late_penalty
        resources["nbgrader"]["score"] = max(0.0, resources["nbgrader"]["score"] - late_penalty)
    markers = mark_notebook(nb, line_notes) if line_notes else {}
    if rubric:
        markers.update(mark_rubric(nb, rubric))
    exporter = _exporter()
    try:
        with _time_bound(seconds):
            html, _ = exporter.from_notebook_node(nb, resources=resources)
    except FeedbackTooSlow:
        log.info("feedback of %s/%s/%s: past %g s", student, assignment, notebook, seconds)
        return too_large_page(resources, seconds)
    # The template's own scripts (MathJax from a CDN) would be blocked by the CSP anyway;
    # student outputs are sanitized by the exporter, so these are the only script elements.
    return replace_markers(TEMPLATE_SCRIPT.sub("", html), markers)
