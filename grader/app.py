"""The grader service: HTTP exchange, autograde queue and workers, gradebook, passback."""

from __future__ import annotations

import asyncio
import inspect
import os
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from traitlets import Bool, Float, Integer, List, Unicode, default

from nbcampus.db import transaction
from nbcampus.service import ServiceApp
from nbcampus.settings import Settings

from .autograde import SubmissionResult
from .campus import CampusClient
from .feedback import keep_graded_hook
from .hooks import GradedResult, ResultHook, load_hooks, run_hooks
from .orm import GRADED, MIGRATIONS, Submission, utcnow
from .queue import LEASE_SECONDS, Claimed, SubmissionQueue
from .sandbox.base import Limits, SandboxRunner
from .storage import BlobStore
from .uploads import UploadLimits
from .worker import GradingPool, sandbox_slots


class GraderService(ServiceApp):
    name = "nbcampus-grader"
    description = "The grader Hub service (started by the Hub)."
    service_name = "grader"
    migrations = MIGRATIONS

    workers = Integer(
        0,
        help="Grading workers in this process; 0 means one per CPU core. One more sandbox "
        "slot and worker stand by for gradings whose kernel runs long (see worker.py).",
    ).tag(config=True)

    sandbox_runner = Unicode(
        "nbcampus.grader.sandbox.local:BubblewrapRunner",
        help="The sandbox runner class, as module:Class (the docker profile picks a container "
        "runner). It is created with slots=<workers + 1>.",
    ).tag(config=True)

    result_hooks = List(
        Unicode(),
        help="Hooks run after each grading, as module:Class with `async def on_result(result)` "
        "(e.g. nbcampus.hub.lti.passback:LtiPassbackHook). A failing hook never loses a grade: "
        "all hooks run again (they must be idempotent) until every one returned for it. "
        "Default: the LTI grade passback when NBCAMPUS_LTI is on, else none.",
    ).tag(config=True)

    @default("result_hooks")
    def _result_hooks_default(self) -> list[str]:
        if os.environ.get("NBCAMPUS_LTI", "").strip().lower() in ("1", "true", "yes", "on"):
            return ["nbcampus.hub.lti.passback:LtiPassbackHook"]
        return []

    require_unlock = Bool(
        True,
        help="Release and accept an assignment only when the campus says its lesson is "
        "unlocked for the student's class (teachers always may).",
    ).tag(config=True)

    post_to_campus = Bool(
        True, help="Send every grade to the campus service (exercise progress and XP)."
    ).tag(config=True)

    resend_interval = Float(
        help="Seconds between rounds that send on the grades the campus or a result hook has "
        "not taken yet (it was down, a hook raised, or the process stopped before sending). "
        "Default: NBCAMPUS_GRADER_RESEND_SECONDS, or 60.",
    ).tag(config=True)

    @default("resend_interval")
    def _resend_interval_default(self) -> float:
        # The Hub starts the grader with a command of its own: the operator's setting comes
        # as an environment variable (hub/services.py passes it on).
        return float(os.environ.get("NBCAMPUS_GRADER_RESEND_SECONDS") or 60.0)

    exam_grace_seconds = Float(
        10.0,
        help="Seconds after a student's exam deadline during which their Lab's last save or "
        "submit, already on its way, is still taken; the exam is then submitted with the work "
        "saved by then, and anything later is refused.",
    ).tag(config=True)

    exam_sweep_interval = Float(
        15.0,
        help="Seconds between rounds that submit the saved work of every exam sitting past "
        "its deadline (a request about the sitting does it sooner).",
    ).tag(config=True)

    cell_timeout = Float(10.0, help="Wall-clock seconds one cell may run.").tag(config=True)
    cpu_seconds = Integer(60, help="CPU seconds one kernel may use.").tag(config=True)
    memory_bytes = Integer(2 * 1024**3, help="Address space of one kernel, bytes.").tag(config=True)
    processes = Integer(64, help="Processes (and threads) of one sandbox user.").tag(config=True)
    output_bytes = Integer(1024 * 1024, help="Output one notebook may produce, bytes.").tag(
        config=True
    )
    notebook_timeout = Float(
        60.0,
        help="Wall-clock seconds one notebook may take in all; its kernel is then stopped and "
        'the notebook\'s result is "time limit".',
    ).tag(config=True)
    submission_timeout = Float(
        180.0,
        help="Wall-clock seconds all the notebooks of one submission may take together.",
    ).tag(config=True)
    output_kill_bytes = Integer(
        32 * 1024 * 1024,
        help="Output past `output_bytes` is dropped with a note while the cell runs on; a "
        "notebook whose output goes on past this many bytes has its kernel stopped "
        '("output limit").',
    ).tag(config=True)
    scratch_bytes = Integer(
        512 * 1024 * 1024,
        help="Size of each sandbox's scratch space (its /tmp, a tmpfs; the grader must run as "
        'root to mount it). A submission that fills it gets "disk limit". 0: no tmpfs, '
        "only the per-file size limit.",
    ).tag(config=True)
    memory_total_bytes = Integer(
        4 * 1024**3,
        help="Memory of all the processes of one sandbox together (a memory cgroup: v2 when "
        "delegated to the grader, else v1's memory controller; skipped where neither can be "
        "made). 0: none, only the per-process address space limit.",
    ).tag(config=True)
    max_notebook_bytes = Integer(
        16 * 1024 * 1024,
        help="Largest notebook file accepted at submit, bytes; larger ones get a 413.",
    ).tag(config=True)
    max_notebook_cells = Integer(
        2000,
        help="Most cells a submitted notebook may have; more get a 413 at submit.",
    ).tag(config=True)
    max_notebook_output_bytes = Integer(
        8 * 1024 * 1024,
        help="Most output (JSON bytes of all its cells' outputs) a submitted notebook may "
        "carry; more gets a 413 at submit.",
    ).tag(config=True)
    lease_seconds = Integer(
        LEASE_SECONDS,
        help="Seconds a worker's claim on a submission lasts unless renewed. Workers renew their "
        "claims while they grade; one that dies or loses its Hub stops renewing, and its "
        "submissions are graded by another worker once their claims expire.",
    ).tag(config=True)

    queue: SubmissionQueue | None = None
    pool: GradingPool | None = None
    runner: SandboxRunner | None = None
    hooks: list[ResultHook]
    # Sends of grades to the campus and the hooks (see result_changed).
    _changed: set[int]
    _sending: set[int]
    _send_tasks: set[asyncio.Future[None]]

    @property
    def data_dir(self) -> Path:
        return Settings.from_env().data_dir

    def handlers(self) -> list[Any]:
        from .handlers import default_handlers

        return default_handlers

    def extra_settings(self) -> dict[str, Any]:
        # The manual grading pages: tornado templates and their script and style sheet.
        here = Path(__file__).parent
        return {"template_path": str(here / "templates"), "static_path": str(here / "static")}

    def limits(self) -> Limits:
        return Limits(
            cpu_seconds=self.cpu_seconds,
            memory_bytes=self.memory_bytes,
            processes=self.processes,
            output_bytes=self.output_bytes,
            cell_timeout=self.cell_timeout,
            notebook_timeout=self.notebook_timeout,
            submission_timeout=self.submission_timeout,
            output_kill_bytes=self.output_kill_bytes,
            notebook_cells=self.max_notebook_cells,
            notebook_bytes=self.max_notebook_bytes,
        )

    def upload_limits(self) -> UploadLimits:
        return UploadLimits(
            notebook_bytes=self.max_notebook_bytes,
            notebook_cells=self.max_notebook_cells,
            output_bytes=self.max_notebook_output_bytes,
        )

    def init_db(self) -> None:
        super().init_db()
        self.keep_graded = keep_graded_hook(self.data_dir)
        self.queue = SubmissionQueue(
            self.db, BlobStore(self.data_dir / "grader" / "blobs"), self.lease_seconds
        )
        self.campus = CampusClient()
        self.hooks = load_hooks(self.result_hooks)
        self._changed, self._sending, self._send_tasks = set(), set(), set()
        self._resend_after = 0  # where the next retry round goes on (see resend_due)

    async def on_start(self) -> None:
        from .courses import generate_pending

        loop = asyncio.get_running_loop()
        module, _, cls = self.sandbox_runner.partition(":")
        nworkers = self.workers or os.cpu_count() or 1
        runner_class = getattr(import_module(module), cls)
        options: dict[str, Any] = {"slots": sandbox_slots(nworkers)}
        accepted = inspect.signature(runner_class).parameters
        for name in ("scratch_bytes", "memory_total_bytes"):  # the runners that have them
            if name in accepted:
                options[name] = getattr(self, name)
        self.runner = runner_class(**options)
        self.pool = GradingPool(
            self.queue,
            self.data_dir,
            self.runner,
            workers=nworkers,
            limits=self.limits(),
            keep_graded=self.keep_graded,
            on_graded=lambda c, r: self.on_graded(c, r, loop),
        )
        try:
            await loop.run_in_executor(None, self.runner.start)
        except Exception:
            # Keep accepting (and storing) submissions; they are graded once a sandbox works.
            self.log.exception("the grading sandbox could not start; submissions stay queued")
        else:
            if self.stopping.is_set():
                return  # stopped while the sandboxes started: no workers to stop again
            self.pool.start()
        done = await loop.run_in_executor(None, generate_pending, self.data_dir, self.stopping)
        if done:
            self.log.info("generated %d nbgrader assignments", len(done))
        asyncio.ensure_future(self.resend_loop())
        asyncio.ensure_future(self.exam_loop())

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            # Stop the workers (an interrupted grading is requeued at the next start) and the
            # sandboxes with their scratch folders.
            loop = asyncio.get_running_loop()
            if getattr(self, "pool", None) is not None:
                self.pool.stopping.set()
            if getattr(self, "runner", None) is not None:
                await loop.run_in_executor(None, self.runner.stop)

    def on_graded(
        self, claimed: Claimed, result: SubmissionResult, loop: asyncio.AbstractEventLoop
    ) -> None:
        """In the worker thread, once a grade is saved (its graded notebooks were kept before,
        see GradingPool.keep_graded): send the result on from the event loop."""
        loop.call_soon_threadsafe(self.result_changed, claimed.id)

    def result_changed(self, sub_id: int) -> asyncio.Future[None] | None:
        """A submission's grade was saved (an autograde, a regrade, a teacher's manual grade):
        send it to the campus, then to the result hooks, in the background.

        What is sent is the submission's row as it is when the send starts, one send at a time
        per submission: several quick changes end with the latest sent last, never an older
        one after it. Only what the row says is still due is sent (`posted`, `hooks_due`, set
        when the grade is saved); a failure is logged and retried by `resend_due`.

        Returns the new send, or None when a running send takes the change along."""
        self._changed.add(sub_id)
        if sub_id in self._sending:
            return None  # the running send goes round once more
        self._sending.add(sub_id)
        task = asyncio.ensure_future(self._send_latest(sub_id))
        self._send_tasks.add(task)  # a reference, so that the task is not collected mid-way
        task.add_done_callback(self._send_tasks.discard)
        return task

    async def _send_latest(self, sub_id: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            while sub_id in self._changed:
                self._changed.discard(sub_id)
                try:
                    loaded = await loop.run_in_executor(None, self._load_due, sub_id)
                    if loaded is None:
                        continue
                    graded, version, campus_due, hooks_due = loaded
                    if campus_due:
                        await self.post_result(sub_id, graded, version)
                    if hooks_due and await run_hooks(self.hooks, graded):
                        await loop.run_in_executor(None, self._hooks_done, sub_id, version)
                except Exception:
                    self.log.exception("could not send the grade of submission %s on", sub_id)
        finally:
            self._sending.discard(sub_id)

    def _load_due(self, sub_id: int) -> tuple[GradedResult, datetime | None, bool, bool] | None:
        """The submission's grade, its version, and whether the campus and the hooks still
        need it; None when it is not graded."""
        with self.db() as s:
            sub = s.get(Submission, sub_id)
            if sub is None or sub.status != GRADED:
                return None
            campus_due = self.post_to_campus and not sub.posted
            return _graded_from_row(sub), sub.graded_at, campus_due, sub.hooks_due

    def _hooks_done(self, sub_id: int, version: datetime | None) -> None:
        # Only for the grade the hooks ran with: a newer one saved meanwhile stays due.
        with self.db() as s, s.begin():
            s.execute(
                sa.update(Submission)
                .where(Submission.id == sub_id, Submission.graded_at == version)
                .values(hooks_due=False)
            )

    async def post_result(
        self, sub_id: int, graded: GradedResult, version: datetime | None = None
    ) -> None:
        """Post to the campus; on its answer, mark the submission sent, unless its grade
        changed meanwhile (`version` is the grading time the post was made from)."""
        if not self.post_to_campus:
            return
        try:
            await self.campus.post_result(graded)
        except Exception as err:  # retried by resend_due; the grade itself is safe
            self.log.warning("could not post %s to the campus: %s", graded.submission_id, err)
            return

        def mark() -> None:
            with self.db() as s, s.begin():
                s.execute(
                    sa.update(Submission)
                    .where(Submission.id == sub_id, Submission.graded_at == version)
                    .values(posted=True)
                )

        await asyncio.get_running_loop().run_in_executor(None, mark)

    async def resend_loop(self) -> None:
        """Every `resend_interval` seconds, send on the grades the campus has not acknowledged
        or the hooks have not all taken, from this process or an earlier one."""
        while True:
            await asyncio.sleep(self.resend_interval)
            try:
                await self.resend_due()
                from .handlers.written import resend_written  # the written grades too

                await resend_written(self)
            except Exception:  # e.g. the database is away: the next round tries again
                self.log.exception("could not send the waiting grades on")

    async def exam_loop(self) -> None:
        """Every `exam_sweep_interval` seconds, submit the exams whose deadline has passed
        with the work their students saved (grader/exam.py)."""
        from . import exam

        def sweep() -> int:
            with transaction(self.db) as s:
                return len(exam.close_expired(s, utcnow(), self.exam_grace_seconds))

        loop = asyncio.get_running_loop()
        while not self.stopping.is_set():
            await asyncio.sleep(self.exam_sweep_interval)
            try:
                if await loop.run_in_executor(None, sweep):
                    self.pool.wake.set()
            except Exception:  # logged; the next round (or a request) closes them
                self.log.exception("closing exams past their deadline failed")

    async def resend_due(self, limit: int = 100, wait: float = 60.0) -> int:
        """One round: send every waiting grade (at most `limit`), one after the other, through
        the same path as a fresh grade; returns how many sends were started.

        A send that takes longer than `wait` seconds (a hook that hangs) goes on in the
        background, skipped by later rounds while it runs, and the round moves on. Each round
        goes on after the last one's final submission, back to the start at the end, so grades
        that keep failing never starve the ones behind them."""

        def load() -> list[int]:
            due = Submission.hooks_due.is_(True)
            if self.post_to_campus:
                due = sa.or_(due, Submission.posted.is_(False))
            waiting = sa.select(Submission.id).where(Submission.status == GRADED, due)
            with self.db() as s:
                after = waiting.where(Submission.id > self._resend_after)
                ids = list(s.scalars(after.order_by(Submission.id).limit(limit)))
                if len(ids) < limit:  # the end: on from the start
                    before = waiting.where(Submission.id <= self._resend_after)
                    ids += s.scalars(before.order_by(Submission.id).limit(limit - len(ids)))
            self._resend_after = ids[-1] if ids else 0
            return ids

        started = 0
        for sub_id in await asyncio.get_running_loop().run_in_executor(None, load):
            task = self.result_changed(sub_id)
            if task is not None:  # else a send of it is under way already
                started += 1
                await asyncio.wait([task], timeout=wait)
        return started


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _graded_from_row(sub: Submission) -> GradedResult:
    nbs = (sub.result or {}).get("notebooks", [])
    return GradedResult(
        submission_id=sub.uid,
        user=sub.student,
        course=sub.course,
        assignment=sub.assignment,
        score=sub.score or 0.0,
        max_score=sub.max_score or 0.0,
        graded_at=(sub.graded_at.isoformat() if sub.graded_at else _now_iso()),
        notebooks=tuple(
            {"name": n["name"], "score": n["score"], "max_score": n["max_score"]} for n in nbs
        ),
    )


main = GraderService.launch
