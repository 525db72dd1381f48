"""The grading pool: a runaway submission holds up neither a core nor a worker."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import sqlalchemy as sa

from nbcampus.db import make_engine, prepare_database, session_factory
from nbcampus.grader.autograde import generate_assignment
from nbcampus.grader.orm import GRADED, MIGRATIONS, QUEUED, Submission
from nbcampus.grader.queue import SubmissionQueue
from nbcampus.grader.sandbox.base import Limits
from nbcampus.grader.storage import BlobStore
from nbcampus.grader.worker import GradingPool, course_root, sandbox_slots

from .notebooks import ANSWER, TESTS, source_notebook, student_version, write


def test_a_runaway_gives_its_turn_to_the_spare_worker(tmp_path: Path, runner) -> None:
    """One worker (and its spare): the endless loop, demoted after a second, waits for its
    time limit while the spare grades the submission that came after it."""
    assert len(runner._slots) >= sandbox_slots(1)
    root = course_root(tmp_path, "c1")
    write(source_notebook(ANSWER, TESTS), root / "source" / "a1" / "add.ipynb")
    generate_assignment(root, "c1", "a1")
    url = f"sqlite:///{tmp_path / 'grader.sqlite'}"
    engine = make_engine(url)
    prepare_database(engine, url, MIGRATIONS)
    queue = SubmissionQueue(session_factory(engine), BlobStore(tmp_path / "blobs"))
    release = root / "release" / "a1" / "add.ipynb"

    def files(answer: str) -> dict[str, bytes]:
        return {"add.ipynb": nbformat.writes(student_version(release, answer)).encode()}

    pool = GradingPool(queue, tmp_path, runner, workers=1, limits=Limits(cell_timeout=10))
    pool.start()
    try:
        runaway = queue.accept("c1", "a1", "loop", files("while True:\n    pass\n" + ANSWER))
        pool.wake.set()
        deadline = time.monotonic() + 30
        while queue.get(runaway).status == QUEUED:  # the runaway is taken first
            assert time.monotonic() < deadline, "the runaway was never claimed"
            time.sleep(0.05)
        quick = queue.accept("c1", "a1", "quick", files(ANSWER))
        pool.wake.set()
        deadline = time.monotonic() + 90
        while True:
            with session_factory(engine)() as s:
                rows = {sub.uid: sub for sub in s.scalars(sa.select(Submission))}
            if all(rows[uid].status == GRADED for uid in (runaway, quick)):
                break
            assert time.monotonic() < deadline, {u: r.status for u, r in rows.items()}
            time.sleep(0.1)
    finally:
        pool.stop()
        engine.dispose()
    assert rows[quick].score == 3.0 and rows[runaway].score == 0.0
    # the quick one did not wait for the runaway's ten seconds
    assert rows[quick].graded_at < rows[runaway].graded_at
