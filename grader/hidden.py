"""What a student sees of a notebook with hidden tests comes from a run without them.

Issue 19, item 1. Filtering what student code prints cannot work: code that runs after (or
during) a hidden test can read it from IPython's history (`In`, `_ih`, the history manager),
from a `pre_run_cell` hook, `linecache` or a frame, and print it in any encoding. So the
notebook is run twice in the submission's sandbox, each time in a fresh kernel:

- the *graded run* is stock nbgrader's: every cell in order, test cells with their hidden
  regions, in the student's state. It alone gives the scores (and the instructor's view);
- the *visible run* executes the same notebook with the hidden regions cut out
  (nbgrader's ClearHiddenTests), so hidden source never reaches that kernel. Every output the
  student is shown (feedback HTML, `fetch_feedback`, error names and messages in the result
  JSON) comes from this run. From the graded run the student gets only each test's score
  and pass/fail: a test that failed only with its hidden part shows "a hidden test failed".

A notebook without hidden tests runs once: its graded run never held hidden source. The
cost is a second execution of each notebook that has hidden tests.

A kernel that held hidden source can leave it behind for a later kernel of the sandbox (a
file in the scratch space, a process that outlives it): the autograder tells the session
(`hidden_source_loaded`), which clears both before the next kernel starts (local.py), and the
sandbox refuses the IPC that outlives them (seccomp.py).

What remains is inherent to showing scores at all: a student's function called by a hidden
test can make that test pass or fail depending on what it reads, one bit per graded cell
per submission.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable
from typing import Any

import nbformat
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.utils import is_grade

from .guard import TAMPER_ENAME

HIDDEN_PLACEHOLDER = "# (hidden tests: their code is not shown)"
HIDDEN_FAILED = "HiddenTestFailed"


def _is_hidden(source: str) -> bool:
    return "HIDDEN TESTS" in (source or "").upper()


def visible_copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """The notebook with every hidden test region cut out, or None if it has none."""
    if not any(c.cell_type == "code" and _is_hidden(c.source) for c in nb.cells):
        return None
    visible = copy.deepcopy(nb)
    clear = ClearHiddenTests(enforce_metadata=False)
    for cell in visible.cells:
        if not _is_hidden(cell.get("source", "")):
            continue
        try:
            clear._remove_hidden_test_region(cell)
        except RuntimeError:  # unbalanced markers: none of the cell's code
            cell.source = ""
        if _is_hidden(cell.source):  # markers nbgrader's exact-case match missed
            cell.source = ""
        cell.metadata.setdefault("nbcampus", {})["hidden"] = True
    return visible


def run_visible(
    session: Any,
    spec: Any,
    visible: nbformat.NotebookNode,
    executor: type,
    config: Any,
    limits: Any,
    resources: dict[str, Any],
    ends: float,
    on_slow_cell: Callable[[], None] | None = None,
    cancelled: threading.Event | None = None,
) -> nbformat.NotebookNode:
    """Execute the visible copy in a fresh kernel of the same sandbox session, by `ends`
    (time.monotonic()), as the graded run is: same output caps, same yielding when slow."""
    kernel = session.start_kernel(spec)
    ex = executor(config=config)
    ex.kernel = kernel
    ex.output_limit = limits.output_bytes
    if hasattr(limits, "output_kill_bytes"):
        ex.output_kill_limit = max(limits.output_kill_bytes, limits.output_bytes)
    if hasattr(limits, "slow_notebook_seconds"):
        ex.slow_notebook_seconds = limits.slow_notebook_seconds
    ex.on_slow_cell = on_slow_cell
    done = threading.Event()

    def watch() -> None:
        while not done.wait(min(0.25, max(0.01, ends - time.monotonic()))):
            if hasattr(ex, "watch_slow_cell"):
                ex.watch_slow_cell(time.monotonic())
            if (cancelled is not None and cancelled.is_set()) or time.monotonic() >= ends:
                kernel.kill("time limit")
                return
            if hasattr(session, "scratch_full") and session.scratch_full():
                kernel.kill("disk limit")
                return

    threading.Thread(target=watch, daemon=True).start()
    try:
        visible, _ = ex.preprocess(visible, dict(resources), km=kernel)
    except (DeadKernelError, RuntimeError, TimeoutError):
        pass  # cells left without output show none; the graded run says what happened
    finally:
        done.set()
        if ex.kc is not None:
            with contextlib.suppress(Exception):
                ex.kc.stop_channels()
        kernel.kill()
    return visible


def graded_run_shows_nothing_late(graded: nbformat.NotebookNode, executor: Any) -> bool:
    """Did the graded run produce outputs only before its first hidden test cell ran?

    Then everything it shows was made before hidden source reached the kernel, and the
    visible run is not needed: the student sees those outputs and, for the later cells,
    code without outputs (every one of them ran without output: passed, for a test). An
    output display that a later cell may update in place (a display id) counts as late."""
    if getattr(executor, "_display_id_map", None):
        return False
    late = False
    for cell in graded.cells:
        if cell.cell_type == "code" and _is_hidden(cell.get("source", "")):
            late = True
        if late and cell.get("outputs"):
            return False
    return True


def early_outputs(
    graded: nbformat.NotebookNode, visible: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """The visible copy with the graded run's outputs of the cells before the first hidden
    test cell (see graded_run_shows_nothing_late)."""
    for vcell, gcell in zip(visible.cells, graded.cells, strict=False):
        if gcell.cell_type == "code" and _is_hidden(gcell.get("source", "")):
            break
        if vcell.cell_type == "code":
            vcell.outputs = copy.deepcopy(gcell.get("outputs", []))
            vcell.execution_count = gcell.get("execution_count")
    return visible


def _errors(cell: Any) -> list[Any]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def student_view(
    graded: nbformat.NotebookNode, visible: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """The visible run's notebook with the graded run's cell metadata and pass or fail."""
    view = copy.deepcopy(visible)
    for vcell, gcell in zip(view.cells, graded.cells, strict=False):
        hidden = bool(vcell.metadata.get("nbcampus", {}).get("hidden"))
        vcell.metadata = copy.deepcopy(gcell.metadata)
        if vcell.cell_type != "code":
            continue
        if hidden:
            vcell.source = (vcell.source.rstrip() + "\n" if vcell.source.strip() else "") + (
                HIDDEN_PLACEHOLDER
            )
            if is_grade(vcell):
                vcell.metadata["nbgrader"].pop("checksum", None)
        if not is_grade(vcell):
            continue
        gerr = _errors(gcell)
        if gerr and gerr[0].get("ename") == TAMPER_ENAME:
            vcell.outputs = [copy.deepcopy(gerr[0])]  # the grader's words: channel names only
        elif gerr and not _errors(vcell):
            what = "a hidden test failed" if hidden else "failed when graded with hidden tests"
            vcell.outputs = list(vcell.get("outputs", [])) + [
                nbformat.v4.new_output(
                    "error",
                    ename=HIDDEN_FAILED,
                    evalue=what,
                    traceback=[f"{HIDDEN_FAILED}: {what}"],
                )
            ]
    return view


def visible_error(visible_cell: Any, graded_cell: Any) -> tuple[str, str | None]:
    """The error name and message of a failed test for the result JSON, from the visible
    run (or the grader's own words): never text produced while hidden source was loaded."""
    gerr = _errors(graded_cell)
    if gerr and gerr[0].get("ename") == TAMPER_ENAME:
        return TAMPER_ENAME, None
    verr = _errors(visible_cell) if visible_cell is not None else []
    if verr:
        return str(verr[0].get("ename", "Error")), str(verr[0].get("evalue", ""))[:500]
    return HIDDEN_FAILED, None
