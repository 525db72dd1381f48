"""Autograde one submission in-process with nbgrader's own preprocessors and gradebook.

The steps are stock `nbgrader autograde`'s (sanitize: ClearOutput, DeduplicateIds,
OverwriteKernelspec, OverwriteCells with missing cells added back, CheckCellMetadata; then
Execute, IgnorePattern, ClearMetadata, LimitOutput, SaveAutoGrades, AssignLatePenalties,
CheckCellMetadata), but without a new process per student: the notebook is executed by a
kernel forked inside the submission's sandbox, and the grades go to the course's nbgrader
gradebook directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import nbformat
import nbgrader.api as nbgrader_api
import nbgrader.nbgraderformat.common as nbgrader_format_common
import sqlalchemy as sa
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    Execute,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from nbgrader.utils import is_grade, is_solution
from sqlalchemy.orm import scoped_session, sessionmaker
from traitlets.config import Config

from . import hidden as hidden_tests
from .gradingbook import GradingGradebook, gradebook, grading_gradebook
from .guard import GUARD_CODE, GUARD_ENTRY, GUARD_FILE, Guard, run_guarded
from .sandbox.base import KernelSpec, Limits, SandboxKernel, SandboxRunner
from .sandbox.pipeclient import KernelProtocolError

log = logging.getLogger(__name__)

_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


def _gradebook_engine(url: str, *args: Any, **kwargs: Any) -> sa.Engine:
    """One engine per gradebook, shared by every Gradebook object nbgrader makes.

    nbgrader opens a new engine for each Gradebook (several per notebook); its SQL compile
    cache then never warms up, which made SQL compilation the biggest cost of a grading.
    `Gradebook.close()` disposes the pool; the engine and its caches stay.
    """
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = sa.create_engine(url, *args, **kwargs)
            if url.startswith("sqlite"):

                @sa.event.listens_for(engine, "connect")
                def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                    cur = dbapi_conn.cursor()
                    # Concurrent workers: WAL and a busy timeout; NORMAL sync is enough for a
                    # gradebook that a regrade can rebuild (submissions are in the grader DB).
                    cur.execute("PRAGMA busy_timeout=30000")  # first: the others may wait
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.close()

            _engines[url] = engine
        return engine


nbgrader_api.create_engine = _gradebook_engine

_original_gradebook_init = Gradebook.__init__
_checked: set[str] = set()
_courses_known: set[tuple[str, str]] = set()


def _gradebook_init(
    self: Gradebook, db_url: str, course_id: str = "default_course", authenticator: Any = None
) -> None:
    """nbgrader's Gradebook.__init__, minus its schema check after the first time per file and
    its course lookup after the first time per course (a gradebook never loses a course)."""
    if db_url not in _checked:
        _original_gradebook_init(self, db_url, course_id, authenticator)
        _checked.add(db_url)
        _courses_known.add((db_url, course_id))
        return
    self.engine = _gradebook_engine(db_url, echo=False, future=True)
    self.db = scoped_session(sessionmaker(autoflush=True, bind=self.engine, future=True))
    if (db_url, course_id) not in _courses_known:
        self.check_course(course_id=course_id)
        _courses_known.add((db_url, course_id))
    self.course_id = course_id
    self.authenticator = authenticator


Gradebook.__init__ = _gradebook_init  # type: ignore[method-assign]


def _gradebook_close(self: Gradebook) -> None:
    """nbgrader's Gradebook.close, keeping the shared engine's pooled connections.

    Disposing closed the SQLite connection each time, and the last close of a WAL database
    checkpoints it: 3-4 ms, some twenty times per submission."""
    self.db.remove()


Gradebook.close = _gradebook_close  # type: ignore[method-assign]


class _CachedSchemaValidation:
    """`jsonschema.validate` for nbgrader's cell metadata, compiled once per schema.

    nbgrader validates every cell's metadata with `jsonschema.validate`, which checks the
    schema itself first and then walks it in pure Python: a tenth of a second of every
    submission. Valid metadata (nearly all) is now checked by a compiled validator
    (fastjsonschema, which nbformat already uses); invalid metadata still raises
    jsonschema's own error, with stock's message."""

    # By content: nbgrader loads the schema anew for every validator object it makes.
    _validators: dict[str, tuple[Any, Any]] = {}

    @classmethod
    def validate(cls, instance: Any, schema: Any) -> None:
        key = json.dumps(schema, sort_keys=True)
        hit = cls._validators.get(key)
        if hit is None:
            validator_class = jsonschema.validators.validator_for(schema)
            validator_class.check_schema(schema)  # once per schema, as stock does every time
            hit = (validator_class(schema), fastjsonschema.compile(schema))
            cls._validators[key] = hit
        try:
            hit[1](instance)
            return
        except fastjsonschema.JsonSchemaException:
            pass  # invalid: let jsonschema say why, exactly as stock would
        error = jsonschema.exceptions.best_match(hit[0].iter_errors(instance))
        if error is not None:
            raise error


nbgrader_format_common.jsonschema = _CachedSchemaValidation  # type: ignore[attr-defined]

# nbgrader's Gradebook runs the `alembic` command when it creates a gradebook: make sure the
# one next to this interpreter is found even when the venv is not on PATH.
_bindir = os.path.dirname(sys.executable)
if _bindir not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bindir + os.pathsep + os.environ.get("PATH", "")

# A cell running longer than this is likely a runaway: its kernel yields the CPU to the other
# gradings (it keeps running until its own time limit).
SLOW_CELL_SECONDS = 1.0
# How often a notebook's watch thread looks at its limits and its running cell.
WATCH_SECONDS = 0.25
HIDDEN_TESTS = re.compile(r"###\s*BEGIN HIDDEN TESTS", re.I)


# jupyter_client's errors for a message whose signature does not check out.
FORGED_MESSAGE = ("Invalid Signature", "Duplicate Signature")
KERNEL_PROTOCOL_ERROR = "error: the kernel sent something that is not a message of its own"


class SandboxExecute(Execute):
    """nbgrader's Execute on a kernel from the sandbox, with an output size limit.

    nbgrader's Execute already records an error when a cell's execute_reply says "error"
    even if no error output arrived, which defeats overriding IPython's traceback display.
    """

    output_limit = 1024 * 1024
    # Output past `output_limit` is dropped with a note while the cell runs on; past this
    # second bound the kernel is stopped ("output limit").
    output_kill_limit = 32 * 1024 * 1024
    kernel: SandboxKernel | None = None
    _output_bytes = 0
    output_dropped = 0
    limit_hit = ""
    # A notebook still executing after this many seconds counts as a runaway too: however
    # short its cells (a hundred thousand of them), it gives its turn and yields the CPU.
    slow_notebook_seconds = 1.0
    _started = 0.0
    # A cell still running after this many seconds has its kernel demoted (see
    # SandboxKernel.demote) and `on_slow_cell` called, once per kernel.
    slow_cell_seconds = SLOW_CELL_SECONDS
    on_slow_cell: Callable[[], None] | None = None
    _demoted = False
    cell_started = 0.0  # time.monotonic() when the running cell was sent; 0: none running
    # The tamper checks around test cells (guard.py); None: cells run unchecked.
    guard: Guard | None = None

    async def async_execute_cell(
        self,
        cell: nbformat.NotebookNode,
        cell_index: int,
        execution_count: int | None = None,
        store_history: bool = True,
    ) -> nbformat.NotebookNode:
        now = time.monotonic()
        if not self._started:
            self._started = now
        elif now - self._started > self.slow_notebook_seconds:
            self._slow_cell()
        if self._demoted:
            # A runaway's own handling here (the grader's side of each cell) yields too: the
            # other gradings in this process get the interpreter first.
            await asyncio.sleep(0.002)
        self.cell_started = now  # for watch_slow_cell, in the notebook's watch thread
        try:

            def run() -> Any:
                return super(SandboxExecute, self).async_execute_cell(
                    cell, cell_index, execution_count, store_history
                )

            if self.guard is None:
                return await run()
            return await run_guarded(self, self.guard, cell, run, self._next_cell(cell_index))
        except ValueError as err:
            # A message from the kernel that fails its signature check (student code changed
            # the kernel's session key, or a kernel out of memory sent half a message and the
            # next one was joined to it), or a socket kernel's stream that is not messages:
            # either way the kernel is done, not the grader.
            if not isinstance(err, KernelProtocolError) and not str(err).startswith(FORGED_MESSAGE):
                raise
            if self.kernel is not None:
                self.kernel.kill(KERNEL_PROTOCOL_ERROR)
            raise DeadKernelError(KERNEL_PROTOCOL_ERROR.removeprefix("error: ")) from err
        finally:
            self.cell_started = 0.0

    # nbclient binds its synchronous wrapper to its own coroutine: bind it to this one.
    execute_cell = run_sync(async_execute_cell)

    def _next_cell(self, cell_index: int) -> nbformat.NotebookNode | None:
        """The next cell nbclient will send to the kernel (it skips empty and tagged ones)."""
        cells = self.nb.cells if self.nb is not None else []
        for cell in cells[cell_index + 1 :]:
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            if self.skip_cells_with_tag in cell.metadata.get("tags", []):
                continue
            return cell
        return None

    def watch_slow_cell(self, now: float) -> None:
        """Called by the notebook's watch thread a few times a second: a cell running past
        `slow_cell_seconds` has its kernel demoted (one thread per notebook, where a timer
        thread per cell cost the grader a thread start for every cell)."""
        started = self.cell_started
        if started and now - started > self.slow_cell_seconds:
            self._slow_cell()

    def _slow_cell(self) -> None:
        # In the watch thread: the kernel yields the CPU, the worker may be replaced.
        if self._demoted or self.kernel is None:
            return
        self._demoted = True
        self.kernel.demote()
        if self.on_slow_cell is not None:
            self.on_slow_cell()

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        size = len(str(msg.get("content", "")))
        self._output_bytes += size
        if self._output_bytes > self.output_limit:
            if not self.output_dropped:
                # A note, not an error: the cell runs on and its tests count as in stock.
                outs.append(
                    nbformat.v4.new_output(
                        "stream",
                        name="stderr",
                        text=f"[nbcampus: output beyond {self.output_limit} bytes dropped]\n",
                    )
                )
            self.output_dropped += size
            if self._output_bytes > self.output_kill_limit and not self.limit_hit:
                self.limit_hit = "output limit"
                outs.append(
                    nbformat.v4.new_output(
                        "error",
                        ename="OutputLimitExceeded",
                        evalue=f"more than {self.output_kill_limit} bytes of output",
                        traceback=[],
                    )
                )
                if self.kernel is not None:
                    self.kernel.kill("output limit")
            return None
        return super().output(outs, msg, display_id, cell_index)


class RestoreCellRoles(NbGraderPreprocessor):
    """Give every cell whose id the gradebook knows its instructor-given role back.

    OverwriteCells restores the source, points and checksum only of cells still marked as
    graded or locked; a submission that unmarks a test cell (grade: false) would otherwise
    keep its edited source. Run before OverwriteCells.
    """

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        info = resources["nbgrader"]
        with gradebook(info["db_url"]) as gb:
            source = gb.find_notebook(info["notebook"], info["assignment"])
            known = {c.name: c for c in source.source_cells}
            graded = {c.name for c in source.grade_cells}
            solutions = {c.name for c in source.solution_cells}
            tasks = {c.name for c in source.task_cells}
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader")
                if not isinstance(meta, dict) or meta.get("grade_id") not in known:
                    continue
                name = meta["grade_id"]
                meta["grade"] = name in graded
                meta["solution"] = name in solutions
                meta["task"] = name in tasks
                meta["locked"] = bool(known[name].locked)
                if cell.cell_type != known[name].cell_type:
                    cell.cell_type = known[name].cell_type
        return nb, resources


@dataclass
class NotebookResult:
    name: str
    score: float = 0.0
    max_score: float = 0.0
    status: str = "ok"  # ok, missing, time limit, memory limit, output limit, disk limit, error
    tests: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. output dropped past the cap
    notebook: nbformat.NotebookNode | None = None
    # What the student is shown (hidden.py): the run without hidden tests, when there were any.
    feedback: nbformat.NotebookNode | None = None
    # Test cells caught tampered with (guard.py): [{"cell": grade id, "seen": [channels]}].
    tampering: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SubmissionResult:
    score: float
    max_score: float
    late_penalty: float
    needs_manual_grade: bool
    notebooks: list[NotebookResult]

    def public(self) -> dict[str, Any]:
        """What the student may see: scores, test names and outcomes, no hidden test source."""
        return {
            "score": self.score,
            "max_score": self.max_score,
            "late_penalty": self.late_penalty,
            "needs_manual_grade": self.needs_manual_grade,
            "notebooks": [
                {
                    "name": nb.name,
                    "score": nb.score,
                    "max_score": nb.max_score,
                    "status": nb.status,
                    "tests": nb.tests,
                    "notes": nb.notes,
                    "tampering": nb.tampering,
                }
                for nb in self.notebooks
            ],
            # For the instructor's grading view: which tests were caught tampered with.
            "tampering": [
                {"notebook": nb.name, **finding}
                for nb in self.notebooks
                for finding in nb.tampering
            ],
        }


def kernel_spec(name: str, python: str = sys.executable) -> KernelSpec:
    """The sandbox command of a kernel by its kernelspec name (from the notebook's metadata):
    a copy of its own for the caller, who may add to it."""
    spec = _found_kernel_spec(name, python)
    return KernelSpec(spec.name, list(spec.argv), language=spec.language, env=dict(spec.env))


# Kernel specs found, kept a short while: the lookup walks every Jupyter data folder and reads
# the kernel's file, about 0.8 ms of the grader's CPU per notebook. A kernel installed or
# changed meanwhile is seen once its entry is this old.
KERNEL_SPEC_SECONDS = 30.0
_kernel_specs: dict[tuple[str | None, ...], tuple[float, KernelSpec]] = {}


def _found_kernel_spec(name: str, python: str) -> KernelSpec:
    now = time.monotonic()
    # The folders searched follow these variables: a spec found under others is not this one.
    key = (name, python, *(os.environ.get(v) for v in ("JUPYTER_PATH", "JUPYTER_DATA_DIR")))
    kept = _kernel_specs.get(key)
    if kept is not None and now - kept[0] < KERNEL_SPEC_SECONDS:
        return kept[1]
    try:
        found = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        if name not in ("python", "python3"):
            raise
        spec = KernelSpec(name, [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"])
    else:
        argv = list(found.argv)
        if argv and argv[0] in ("python", "python3", sys.executable):
            argv[0] = python
        spec = KernelSpec(name, argv, language=found.language, env=dict(found.env or {}))
    _kernel_specs[key] = (now, spec)  # a lost race between threads stores it twice
    return spec


_thread_preprocessors = threading.local()


def _preprocessor(cls: type, config: Config) -> Any:
    """One instance per preprocessor class and worker thread, used for every notebook.

    nbgrader's and nbconvert's preprocessors take everything per notebook from the resources
    and reset their own state in preprocess(); building a dozen traitlets objects per notebook
    was a twentieth of the grader's time. Only their configuration, the same for every
    notebook, is fixed at the first use (the executing preprocessor is made anew each time)."""
    cache = _thread_preprocessors.__dict__.setdefault("instances", {})
    instance = cache.get(cls)
    if instance is None:
        instance = cache[cls] = cls(config=config)
    return instance


def _config(limits: Limits) -> Config:
    c = Config()
    c.OverwriteCells.add_missing_cells = True
    c.Execute.timeout = int(limits.cell_timeout)
    c.Execute.interrupt_on_timeout = True
    c.SandboxExecute.timeout = int(limits.cell_timeout)
    return c


class Autograder:
    """Grades submissions of one course; one instance may serve many worker threads."""

    def __init__(self, course_root: Path, course_id: str, runner: SandboxRunner) -> None:
        self.root = course_root
        self.course_id = course_id
        self.runner = runner
        self.db_url = f"sqlite:///{course_root / 'gradebook.db'}"

    def source_dir(self, assignment: str) -> Path:
        return self.root / "source" / assignment

    def notebook_names(self, assignment: str) -> list[str]:
        with Gradebook(self.db_url, self.course_id) as gb:
            return [nb.name for nb in gb.find_assignment(assignment).notebooks]

    def grade(
        self,
        assignment: str,
        student: str,
        submission_dir: Path,
        timestamp: datetime | None,
        limits: Limits,
        on_slow_cell: Callable[[], None] | None = None,
        cancelled: threading.Event | None = None,
    ) -> SubmissionResult:
        """Grade a submission; `on_slow_cell` is called (from another thread) the first time
        a cell of it runs long enough for its kernel to be demoted. Once `cancelled` is set
        (the worker lost its lease) the running kernel is killed and no other notebook runs:
        the result is to be dropped."""
        # One gradebook session for all of the grading's nbgrader steps (gradingbook.py).
        with grading_gradebook(self.db_url, self.course_id) as gb:
            return self._grade(
                gb, assignment, student, submission_dir, timestamp, limits, on_slow_cell, cancelled
            )

    def _grade(
        self,
        gb: GradingGradebook,
        assignment: str,
        student: str,
        submission_dir: Path,
        timestamp: datetime | None,
        limits: Limits,
        on_slow_cell: Callable[[], None] | None,
        cancelled: threading.Event | None,
    ) -> SubmissionResult:
        gb.find_assignment(assignment)  # MissingEntry if never generated
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        names = [nb.name for nb in gb.find_assignment(assignment).notebooks]
        gb.commit()  # before any kernel runs: no write lock held meanwhile
        material = self._material(assignment, submission_dir)
        results: list[NotebookResult] = []
        # The submission's own time limit: every notebook's run ends by this time.
        deadline = time.monotonic() + limits.submission_timeout
        if on_slow_cell is not None:
            on_slow_cell = _once(on_slow_cell)
        with self.runner.run(submission_dir, material, limits) as session:
            # A grading still busy after this long (a notebook of a hundred thousand cells, in
            # nbgrader's preprocessors or in its kernel) yields the CPU and gives its worker's
            # turn to a spare, as a slow cell does.
            slow = None
            worker = _WorkerThread()
            if on_slow_cell is not None:

                def yield_turn(callback: Callable[[], None] = on_slow_cell) -> None:
                    for kernel in list(getattr(session, "kernels", [])):
                        kernel.demote()
                    worker.demote()
                    callback()

                slow = threading.Timer(limits.slow_notebook_seconds, yield_turn)
                slow.daemon = True
                slow.start()
            try:
                for name in names:
                    if cancelled is not None and cancelled.is_set():
                        break
                    if time.monotonic() >= deadline:
                        self._zero_missing(gb, assignment, student, name)
                        results.append(NotebookResult(name=name, status="time limit"))
                        continue
                    path = submission_dir / f"{name}.ipynb"
                    if not path.exists():
                        self._zero_missing(gb, assignment, student, name)
                        results.append(NotebookResult(name=name, status="missing"))
                        continue
                    results.append(
                        self._grade_notebook(
                            gb,
                            session,
                            assignment,
                            student,
                            name,
                            path,
                            limits,
                            on_slow_cell,
                            cancelled,
                            deadline=deadline,
                        )
                    )
            finally:
                if slow is not None:
                    slow.cancel()
                    slow.join(5)  # a demote under way ends before the restore
                worker.restore()
        return self._collect(gb, assignment, student, results)

    def _material(self, assignment: str, submission_dir: Path) -> Path | None:
        """Stock nbgrader copies the source folder's non-notebook files over the submission."""
        src = self.source_dir(assignment)
        dest = self.root / "material" / assignment
        if not dest.exists() and src.exists():
            # Never the source notebooks: they hold the solutions and hidden tests.
            tmp = dest.with_name(dest.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(
                src, tmp, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints")
            )
            tmp.rename(dest)
        return dest if dest.exists() else None

    def _zero_missing(self, gb: GradingGradebook, assignment: str, student: str, name: str) -> None:
        sub = gb.find_submission_notebook(name, assignment, student)
        for grade in sub.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        gb.commit()

    def _grade_notebook(
        self,
        gb: GradingGradebook,
        session: Any,
        assignment: str,
        student: str,
        name: str,
        path: Path,
        limits: Limits,
        on_slow_cell: Callable[[], None] | None = None,
        cancelled: threading.Event | None = None,
        deadline: float | None = None,
    ) -> NotebookResult:
        config = _config(limits)
        # The notebook's time limit (and the submission's, whichever ends first), enforced by
        # killing its kernel: a notebook of many quick cells never holds a worker for long.
        ends = time.monotonic() + limits.notebook_timeout
        if deadline is not None:
            ends = min(ends, deadline)
        resources: dict[str, Any] = {
            "nbgrader": {
                "db_url": self.db_url,
                "assignment": assignment,
                "notebook": name,
                "student": student,
                "course_id": self.course_id,
            },
            "metadata": {"path": session.workdir},
        }
        too_large = _too_large(path, limits)
        if too_large:  # refused at submit; checked again for what came another way
            log.info("notebook %s not graded: %s", path, too_large)
            self._zero_missing(gb, assignment, student, name)
            return NotebookResult(name=name, status=too_large)
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as err:  # an unreadable notebook scores zero, like a missing one
            log.info("unreadable notebook %s: %s", path, err)
            self._zero_missing(gb, assignment, student, name)
            return NotebookResult(name=name, status="unreadable notebook")
        for pp in (
            ClearOutput,
            DeduplicateIds,
            OverwriteKernelspec,
            RestoreCellRoles,
            OverwriteCells,
        ):
            nb, resources = _preprocessor(pp, config)(nb, resources)
        nb, resources = _preprocessor(CheckCellMetadata, config)(nb, resources)
        visible = hidden_tests.visible_copy(nb)  # None: no hidden tests, one run is enough

        kname = (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
        spec = kernel_spec(kname)
        if spec.argv[1:3] == ["-m", "ipykernel_launcher"]:
            spec.argv.append("--HistoryManager.hist_file=:memory:")
            spec.prepare = ((GUARD_FILE, GUARD_CODE, GUARD_ENTRY),)
        kernel = session.start_kernel(spec)
        ex = SandboxExecute(config=config)
        if spec.language == "python" or "ipykernel" in " ".join(spec.argv):
            ex.guard = Guard()  # IPython's channels; other kernels (C) have none of them
        ex.kernel = kernel
        ex.output_limit = limits.output_bytes
        ex.output_kill_limit = max(limits.output_kill_bytes, limits.output_bytes)
        ex.slow_notebook_seconds = limits.slow_notebook_seconds
        ex.on_slow_cell = on_slow_cell
        status = "ok"
        done = threading.Event()

        def watch() -> None:
            while not done.wait(min(WATCH_SECONDS, max(0.01, ends - time.monotonic()))):
                ex.watch_slow_cell(time.monotonic())
                if cancelled is not None and cancelled.is_set():
                    kernel.kill("cancelled: the lease was lost")
                    return
                if time.monotonic() >= ends:
                    kernel.kill("time limit")
                    return
                if session.scratch_full():
                    kernel.kill("disk limit")
                    return

        threading.Thread(target=watch, daemon=True).start()
        kills_before = session.memory_kills()
        try:
            nb, resources = ex.preprocess(nb, resources, km=kernel)
        except (DeadKernelError, RuntimeError, TimeoutError) as err:
            exit_ = kernel.exit_status()
            # A cell that ran out of its time while the kernel was still talking (nbclient's
            # CellTimeoutError is a TimeoutError) met the time limit, not an error.
            timed_out = "time limit" if isinstance(err, TimeoutError) else ""
            status = (exit_.reason if exit_ else "") or ex.limit_hit or timed_out or f"error: {err}"
            log.info("kernel of %s/%s/%s ended: %s", student, assignment, name, status)
            _mark_unexecuted(nb, status)
        finally:
            done.set()
            if ex.kc is not None:
                with contextlib.suppress(Exception):
                    ex.kc.stop_channels()
            kernel.kill()
            if visible is not None:
                session.hidden_source_loaded()
        if ex.limit_hit:
            status = ex.limit_hit
        elif status == "ok" and session.scratch_full():
            status = "disk limit"
        elif status == "ok" and session.memory_kills() > kills_before:
            status = "memory limit"  # the sandbox's memory total: a process of it was killed
        elif status == "ok" and _has_error(nb, "MemoryError"):
            status = "memory limit"
        elif status == "ok" and _has_error(nb, "CellTimeoutError"):
            status = "time limit"
        for pp in (
            IgnorePattern,
            ClearMetadataPreprocessor,
            LimitOutput,
            SaveAutoGrades,
            AssignLatePenalties,
            CheckCellMetadata,
        ):
            nb, resources = _preprocessor(pp, config)(nb, resources)
        gb.commit()  # the notebook's grades and late penalty, in one transaction
        notes = []
        if ex.output_dropped:
            notes.append(
                f"output beyond {ex.output_limit} bytes was dropped "
                f"({ex.output_dropped} bytes); the cells ran on"
            )
        feedback = None
        if visible is not None:
            # The second run only when it is needed (the graded run showed something after its
            # first hidden test began) and the graded run was an ordinary one: after a limit, a
            # slow (demoted) cell or a lost lease, a hostile notebook is not run twice, and the
            # student sees the outputs made before the first hidden test, pass or fail after.
            if (
                status != "ok"
                or ex._demoted
                or (cancelled is not None and cancelled.is_set())
                or hidden_tests.graded_run_shows_nothing_late(nb, ex)
            ):
                visible = hidden_tests.early_outputs(nb, visible)
            else:
                end_b = time.monotonic() + limits.notebook_timeout
                visible = hidden_tests.run_visible(
                    session,
                    spec,
                    visible,
                    SandboxExecute,
                    config,
                    limits,
                    resources,
                    ends=min(end_b, deadline) if deadline is not None else end_b,
                    on_slow_cell=on_slow_cell,
                    cancelled=cancelled,
                )
            feedback = hidden_tests.student_view(nb, visible)
        return NotebookResult(
            name=name,
            status=status,
            tests=_tests(nb, feedback, bool(visible is not None)),
            notebook=nb,
            notes=notes,
            feedback=feedback,
            tampering=list(ex.guard.findings) if ex.guard is not None else [],
        )

    def _collect(
        self, gb: GradingGradebook, assignment: str, student: str, results: list[NotebookResult]
    ) -> SubmissionResult:
        sub, notebooks, grades = gb.submission_scores(assignment, student)
        for res in results:
            snb = notebooks[res.name]
            res.score = float(snb.score)
            res.max_score = float(snb.max_score)
            scores = {g.name: g for g in grades[res.name]}
            for test in res.tests:
                g = scores.get(test["name"])
                if g is not None:
                    test["score"] = g.score
                    test["max_score"] = g.max_score
                    test["needs_manual_grade"] = bool(g.needs_manual_grade)
        return SubmissionResult(
            score=float(sub.score),
            max_score=float(sub.max_score),
            late_penalty=float(sub.late_submission_penalty or 0.0),
            needs_manual_grade=bool(sub.needs_manual_grade),
            notebooks=results,
        )


def _too_large(path: Path, limits: Limits) -> str:
    """Why a notebook file is over the size or cell limit ("" when it is not), found before
    nbformat and nbgrader spend seconds on a notebook of a hundred thousand cells."""
    try:
        if path.stat().st_size > limits.notebook_bytes:
            return "notebook too large"
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return ""  # nbformat says what is wrong with it
    cells = data.get("cells") if isinstance(data, dict) else None
    if isinstance(cells, list) and len(cells) > limits.notebook_cells:
        return "too many cells"
    return ""


class _WorkerThread:
    """The grading thread's own CPU priority: a runaway's handling in the grader (parsing and
    preprocessing a notebook of 100,000 cells) yields the CPU to the other gradings too.
    Only where it can be restored afterwards (root), since the thread grades on."""

    def __init__(self) -> None:
        self.tid = threading.get_native_id()
        self.lowered = False

    def demote(self) -> None:
        if os.geteuid() != 0 or self.lowered:
            return
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self.tid, 19)
            self.lowered = True

    def restore(self) -> None:
        if self.lowered:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, self.tid, 0)
            self.lowered = False


def _once(callback: Callable[[], None]) -> Callable[[], None]:
    """`callback`, called at most once whoever calls it (from any thread)."""
    lock = threading.Lock()

    def call() -> None:
        if lock.acquire(blocking=False):
            callback()

    return call


def _has_error(nb: nbformat.NotebookNode, ename: str) -> bool:
    return any(
        out.get("output_type") == "error" and out.get("ename") == ename
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def _mark_unexecuted(nb: nbformat.NotebookNode, reason: str) -> None:
    """After the kernel died, every graded code cell without output failed with the reason."""
    for cell in nb.cells:
        if cell.cell_type == "code" and is_grade(cell) and not cell.get("outputs"):
            cell.outputs = [
                nbformat.v4.new_output(
                    "error", ename="KernelDied", evalue=reason, traceback=[reason]
                )
            ]


def _tests(
    nb: nbformat.NotebookNode,
    feedback: nbformat.NotebookNode | None = None,
    had_hidden: bool = False,
) -> list[dict[str, Any]]:
    """Per graded cell: name, hidden or not, the error's name; never hidden tests' source.

    With hidden tests in the notebook, pass or fail is the graded run's and the error's name
    and message are the visible run's (`feedback`), never text from the graded run."""
    tests = []
    shown = list(feedback.cells) if feedback is not None else []
    for index, cell in enumerate(nb.cells):
        if not is_grade(cell):
            continue
        meta = cell.metadata["nbgrader"]
        hidden = bool(HIDDEN_TESTS.search(cell.source or ""))
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        test: dict[str, Any] = {
            "name": meta.get("grade_id"),
            "kind": "manual" if cell.cell_type != "code" or is_solution(cell) else "test",
            "hidden": hidden,
            "passed": None if cell.cell_type != "code" else not errors,
        }
        if errors and had_hidden:
            ename, message = hidden_tests.visible_error(
                shown[index] if index < len(shown) else None, cell
            )
            test["error"] = ename
            if message is not None and not hidden:
                test["message"] = message
        elif errors:
            test["error"] = errors[0].get("ename")
            if not hidden:
                test["message"] = str(errors[0].get("evalue", ""))[:500]
        tests.append(test)
    return tests


def generate_assignment(course_root: Path, course_id: str, assignment: str) -> list[str]:
    """nbgrader's generate_assignment, in-process: fills the gradebook and release/ folder."""
    from nbgrader.apps import NbGraderAPI

    c = Config()
    c.CourseDirectory.root = str(course_root)
    c.CourseDirectory.course_id = course_id
    c.CourseDirectory.db_url = f"sqlite:///{course_root / 'gradebook.db'}"
    # The API object insists on a writable exchange folder, which the HTTP exchange never uses.
    (course_root / ".exchange").mkdir(parents=True, exist_ok=True)
    c.Exchange.root = str(course_root / ".exchange")
    # nbgrader's own stubs plus the C kernel's, so C lessons generate like Python ones.
    from nbcampus.ckernel.nbgrader_config import code_stubs

    c.ClearSolutions.code_stub = code_stubs()
    api = NbGraderAPI(config=c)
    result = api.generate_assignment(assignment, force=True, create=True)
    if not result.get("success"):
        raise RuntimeError(f"generate_assignment {assignment} failed: {result.get('log')}")
    with Gradebook(c.CourseDirectory.db_url, course_id) as gb:
        try:
            return [nb.name for nb in gb.find_assignment(assignment).notebooks]
        except MissingEntry:
            return []
