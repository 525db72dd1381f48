"""`nbcampus grader regrade`: requeues, grades again with a progress bar, each once more."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import sqlalchemy as sa

from nbcampus.db import make_engine, prepare_database, session_factory
from nbcampus.grader.autograde import generate_assignment
from nbcampus.grader.orm import MIGRATIONS, Submission
from nbcampus.grader.queue import SubmissionQueue
from nbcampus.grader.sandbox.local import BubblewrapRunner
from nbcampus.grader.storage import BlobStore
from nbcampus.grader.worker import GradingPool, course_root

from .notebooks import source_notebook, student_version, write

ANSWER = "def add(a, b):\n    return a + b"


def test_regrade_one_assignment_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    root = course_root(data, "c1")
    write(
        source_notebook(ANSWER, [("t1", "assert add(1, 2) == 3", 1.0)]),
        root / "source" / "a1" / "add.ipynb",
    )
    generate_assignment(root, "c1", "a1")
    url = f"sqlite:///{data / 'grader.sqlite'}"
    engine = make_engine(url)
    prepare_database(engine, url, MIGRATIONS)
    queue = SubmissionQueue(session_factory(engine), BlobStore(data / "grader" / "blobs"))
    release = root / "release" / "a1" / "add.ipynb"
    for i in range(3):
        nb = student_version(release, ANSWER if i else "def add(a, b): 0")
        queue.accept("c1", "a1", f"s{i}", {"add.ipynb": nbformat.writes(nb).encode()})
    runner = BubblewrapRunner(slots=2)
    runner.start()
    pool = GradingPool(queue, data, runner, workers=2)
    pool.start()
    try:
        deadline = time.monotonic() + 120
        while queue.pending() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        pool.stop()
        runner.stop()
    nbcampus = str(Path(sys.executable).parent / "nbcampus")
    env = {**os.environ, "NBCAMPUS_DATA_DIR": str(data)}
    env.pop("NBCAMPUS_DB_URL", None)
    out = subprocess.run(
        [nbcampus, "grader", "regrade", "c1", "--assignment", "a1", "--here"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "regrading [" in out.stderr and "3/3" in out.stderr
    assert "regraded 3 submissions" in out.stdout
    with session_factory(engine)() as s:
        subs = {x.student: x for x in s.scalars(sa.select(Submission))}
    assert {k: v.score for k, v in subs.items()} == {"s0": 0.0, "s1": 1.0, "s2": 1.0}
    assert all(v.grade_count == 2 for v in subs.values())
    bad = subprocess.run(
        [nbcampus, "grader", "regrade", "nope-course"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 0 and "nothing to regrade" in bad.stderr
