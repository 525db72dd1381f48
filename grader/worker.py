"""Grading workers: threads that take submissions from the queue and grade them in sandboxes.

As many workers as cores by default, one sandbox slot each, all in one process with
nbgrader's Python API: no `nbgrader` process per student, no kernel start-up on the
critical path (the slots' fork servers are started before the first submission arrives).

A spare worker (and its slot) stands by for runaways: a grading whose cell runs long has its
kernel demoted to the CPU left over and gives its turn to the spare, so an endless loop
waiting for its time limit holds neither a core nor a worker from the others.

Pools may be many (processes, machines, pods) on one queue. Each claim is a lease (see
queue.py): the pool's heartbeat renews the leases of its gradings; a grading whose lease is
lost (not renewed in time, or taken over) has its kernel killed and its result dropped. A
stand-alone worker whose Hub is gone stops claiming and exits (nbcampus/lifeline.py).

A grading's notebooks are kept on disk (`keep_graded`, an atomic folder swap) before its grade
is committed: a kill -9 in between leaves the row running, so it is graded again, and a
graded row always has its notebooks for the grading view and the feedback.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path

from nbgrader.api import MissingEntry

from nbcampus import lifeline
from nbcampus.db import make_engine, prepare_database, session_factory

from .autograde import Autograder, SubmissionResult
from .courses import course_root
from .orm import MIGRATIONS
from .queue import LEASE_SECONDS, Claimed, LeaseLost, SubmissionQueue
from .sandbox.base import Limits, SandboxRunner
from .storage import BlobStore

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
SPARE_WORKERS = 1


def sandbox_slots(workers: int = 0) -> int:
    """The sandbox slots a pool of `workers` (0: one per core) needs, its spare included."""
    return (workers or os.cpu_count() or 1) + SPARE_WORKERS


class _Turn:
    """One of the pool's grading turns (as many as workers), given back once: when the
    grading ends, or as soon as its kernel is demoted."""

    def __init__(self, turns: threading.Semaphore) -> None:
        self._turns = turns
        self._lock = threading.Lock()
        self._held = True

    def give_back(self) -> None:
        with self._lock:
            if self._held:
                self._held = False
                self._turns.release()


class GradingPool:
    def __init__(
        self,
        queue: SubmissionQueue,
        data_dir: Path,
        runner: SandboxRunner,
        workers: int = 0,
        limits: Limits | None = None,
        on_graded: Callable[[Claimed, SubmissionResult], None] | None = None,
        keep_graded: Callable[[Claimed, SubmissionResult], None] | None = None,
    ) -> None:
        self.queue = queue
        self.data_dir = data_dir
        self.runner = runner
        self.nworkers = workers or os.cpu_count() or 1
        # Gradings running at full speed; a demoted one gives its turn to a spare thread.
        self._turns = threading.Semaphore(self.nworkers)
        self.limits = limits or Limits()
        self.on_graded = on_graded
        # Keeps the graded notebooks before the grade is committed: a crash in between leaves
        # the row running (requeued and graded again), never graded without its notebooks.
        self.keep_graded = keep_graded
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self._graders: dict[str, Autograder] = {}
        # unique per pool, also across restarts that reuse a pid (a pod's pid 1)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # the leases this pool holds: submission id -> (worker, claim token, lost)
        self._leases: dict[int, tuple[str, int, threading.Event]] = {}
        self._leases_lock = threading.Lock()

    def grader(self, course: str) -> Autograder:
        if course not in self._graders:
            self._graders[course] = Autograder(
                course_root(self.data_dir, course), course, self.runner
            )
        return self._graders[course]

    def start(self) -> None:
        recovered = self.queue.recover()
        if recovered:
            log.info("requeued %d submissions whose grading was interrupted", recovered)
        for i in range(self.nworkers + SPARE_WORKERS):
            t = threading.Thread(target=self._loop, args=(f"{self.name}/{i}",), daemon=True)
            t.start()
            self.threads.append(t)
        beat = threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True)
        beat.start()

    def _heartbeat(self) -> None:
        """Renew the leases of the gradings in progress, three times per lease period. A lease
        that cannot be renewed (taken over, or the database unreachable until it would
        expire) is lost: its grading is cancelled."""
        lease = self.queue.lease.total_seconds()
        interval = max(0.2, lease / 3)
        renewed: dict[int, float] = {}
        while not self.stopping.wait(interval):
            with self._leases_lock:
                held = dict(self._leases)
            for sub_id in list(renewed):
                if sub_id not in held:
                    del renewed[sub_id]
            for sub_id, (worker, token, lost) in held.items():
                renewed.setdefault(sub_id, time.monotonic())
                try:
                    ok = self.queue.renew(sub_id, worker, token)
                except Exception:
                    log.exception("renewing the lease of submission %d failed", sub_id)
                    # nothing renewed for nearly a lease: presume it lost before it expires
                    ok = time.monotonic() - renewed[sub_id] < lease - interval
                else:
                    if ok:
                        renewed[sub_id] = time.monotonic()
                if not ok and not lost.is_set():
                    log.warning("lost the lease of submission %d: cancelling its grading", sub_id)
                    lost.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        for t in self.threads:
            t.join(timeout=120)

    def _loop(self, worker: str) -> None:
        while not self.stopping.is_set():
            if not self._turns.acquire(timeout=1.0):
                continue
            turn = _Turn(self._turns)
            try:
                claimed = self.queue.claim(worker)
                if claimed is None:
                    turn.give_back()
                    self.wake.wait(1.0)
                    self.wake.clear()
                    continue
                self.grade_one(claimed, worker, on_slow_cell=turn.give_back)
            finally:
                turn.give_back()

    def grade_one(
        self, claimed: Claimed, worker: str, on_slow_cell: Callable[[], None] | None = None
    ) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="nbcampus-sub-"))
        lost = threading.Event()
        with self._leases_lock:
            self._leases[claimed.id] = (worker, claimed.token, lost)
        try:
            self.queue.blobs.materialize(claimed.files, tmp)
            from .courses import ensure_generated

            ensure_generated(
                course_root(self.data_dir, claimed.course), claimed.course, claimed.assignment
            )
            result = self.grader(claimed.course).grade(
                claimed.assignment,
                claimed.student,
                tmp,
                claimed.submitted_at,
                self.limits,
                on_slow_cell=on_slow_cell,
                cancelled=lost,
            )
            if lost.is_set():
                raise LeaseLost(f"lease of {claimed.uid} lost during its grading")
            penalty = self.late_penalty(claimed, result.score)
            if penalty:
                result.late_penalty = penalty
                result.score = max(0.0, result.score - penalty)
            if self.keep_graded:
                if lost.is_set():
                    raise LeaseLost(f"lease of {claimed.uid} lost during its grading")
                self.keep_graded(claimed, result)
            ok = self.queue.complete(
                claimed.id,
                worker,
                result.score,
                result.max_score,
                result.late_penalty,
                result.public(),
                token=claimed.token,
            )
            if not ok:
                log.warning("%s: lease lost before its grade was saved; not counted", claimed.uid)
            if ok and self.on_graded:
                try:
                    self.on_graded(claimed, result)
                except Exception:  # a failing notification never loses the grade
                    log.exception("after-grading hook failed for %s", claimed.uid)
        except LeaseLost as err:
            log.warning("%s; the worker now holding it grades it", err)
        except MissingEntry as err:
            self.queue.fail(claimed.id, worker, f"unknown assignment: {err}", token=claimed.token)
        except Exception:
            if lost.is_set():  # cancelled: whoever holds the lease now grades it
                log.warning("grading %s cancelled: its lease was lost", claimed.uid)
                return
            # A sandbox or database hiccup gets two more tries before it counts as failed.
            retry = claimed.attempts < MAX_ATTEMPTS
            log.exception("grading %s failed (retry: %s)", claimed.uid, retry)
            self.queue.fail(
                claimed.id, worker, traceback.format_exc(), retry=retry, token=claimed.token
            )
        finally:
            with self._leases_lock:
                self._leases.pop(claimed.id, None)
            shutil.rmtree(tmp, ignore_errors=True)

    def late_penalty(self, claimed: Claimed, raw: float) -> float:
        """The assignment's late policy (set by its teachers) applied to this submission."""
        import sqlalchemy as sa

        from .orm import Assignment
        from .policy import late_penalty
        from .rubric import due_for

        with self.queue.db() as s:
            a = s.scalar(
                sa.select(Assignment).where(
                    Assignment.course == claimed.course, Assignment.name == claimed.assignment
                )
            )
            # A student's extension moves their due date (rubric.py).
            due = due_for(s, claimed.course, claimed.assignment, claimed.student)
        if a is None:
            return 0.0
        return late_penalty(
            raw,
            claimed.submitted_at,
            due,
            a.late_penalty_per_hour,
            a.late_penalty_max_fraction,
        )


def main(argv: list[str] | None = None) -> None:
    """Grade until the queue is empty (a stand-alone worker process; used by tests)."""
    from .sandbox.local import BubblewrapRunner

    p = argparse.ArgumentParser(prog="python -m nbcampus.grader.worker")
    p.add_argument("--db", required=True)
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--exit-when-idle", action="store_true")
    p.add_argument("--lease-seconds", type=float, default=LEASE_SECONDS)
    p.add_argument(
        "--hub-api-grace",
        type=float,
        default=60.0,
        help="with JUPYTERHUB_API_URL set: exit once the Hub's API is unreachable this long",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    lifeline.die_with_hub()
    engine = make_engine(args.db)
    prepare_database(engine, args.db, MIGRATIONS)
    blobs = BlobStore(args.data_dir / "grader" / "blobs")
    queue = SubmissionQueue(session_factory(engine), blobs, lease_seconds=args.lease_seconds)
    runner = BubblewrapRunner(slots=sandbox_slots(args.workers))
    runner.start()
    from .feedback import keep_graded_hook

    # As the service does: keep the graded notebooks for the grading view and the feedback.
    keep = keep_graded_hook(args.data_dir)
    pool = GradingPool(queue, args.data_dir, runner, workers=args.workers, keep_graded=keep)
    watch = lifeline.Lifeline.from_env(api_grace=args.hub_api_grace)

    def hub_gone(reason: str) -> None:  # stop claiming; the gradings in progress end first
        log.error("%s: the worker stops", reason)
        lifeline.exit_soon(180)
        pool.stopping.set()

    watch.start(hub_gone)
    pool.start()
    try:
        while not pool.stopping.is_set():
            pool.stopping.wait(0.5)
            if args.exit_when_idle and queue.pending() == 0:
                break
    finally:
        pool.stop()
        runner.stop()


if __name__ == "__main__":
    main()
