"""The durable queue: accepted submissions survive kill -9 and are graded exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import sqlalchemy as sa

from nbcampus.db import make_engine, prepare_database, session_factory
from nbcampus.grader.autograde import generate_assignment
from nbcampus.grader.feedback import graded_dir, kept_grading
from nbcampus.grader.orm import GRADED, MIGRATIONS, Submission
from nbcampus.grader.queue import SubmissionQueue
from nbcampus.grader.storage import BlobStore
from nbcampus.grader.worker import course_root

from .notebooks import source_notebook, student_version, write

ANSWER = "def add(a, b):\n    return a + b"
TESTS = [("t1", "assert add(1, 2) == 3", 1.0), ("t2", "assert add(2, 5) == 7", 1.0)]


def test_kill_9_mid_batch_then_every_submission_graded_once(tmp_path: Path, db_url: str) -> None:
    data = tmp_path / "data"
    root = course_root(data, "c1")
    write(source_notebook(ANSWER, TESTS), root / "source" / "a1" / "add.ipynb")
    generate_assignment(root, "c1", "a1")
    engine = make_engine(db_url)
    prepare_database(engine, db_url, MIGRATIONS)
    queue = SubmissionQueue(session_factory(engine), BlobStore(data / "grader" / "blobs"))
    release = root / "release" / "a1" / "add.ipynb"
    expected = {}
    for i in range(8):
        right = i % 2 == 0
        # Each grading takes a moment, so the kill lands while some are still queued.
        answer = "import time\ntime.sleep(0.7)\n" + (ANSWER if right else "def add(a, b): 0")
        nb = student_version(release, answer)
        uid = queue.accept("c1", "a1", f"s{i}", {"add.ipynb": nbformat.writes(nb).encode()})
        expected[uid] = 2.0 if right else 0.0

    cmd = [sys.executable, "-m", "nbcampus.grader.worker", "--db", db_url]
    cmd += ["--data-dir", str(data), "--workers", "2"]
    worker = subprocess.Popen([*cmd, "--exit-when-idle"], start_new_session=True)
    deadline = time.monotonic() + 60
    graded = 0
    while time.monotonic() < deadline and graded < 2:
        time.sleep(0.2)
        with engine.connect() as conn:
            count = sa.select(sa.func.count()).select_from(Submission)
            graded = conn.scalar(count.where(Submission.status == GRADED))
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    with engine.connect() as conn:
        left = conn.scalar(
            sa.select(sa.func.count()).select_from(Submission).where(Submission.status != GRADED)
        )
    assert 2 <= graded and left > 0, "the kill must land mid-batch"

    subprocess.run([*cmd, "--exit-when-idle"], check=True, timeout=180)
    with session_factory(engine)() as s:
        subs = {sub.uid: sub for sub in s.scalars(sa.select(Submission))}
    assert set(subs) == set(expected)
    for uid, score in expected.items():
        sub = subs[uid]
        assert sub.status == GRADED, (sub.student, sub.status, sub.error)
        assert sub.grade_count == 1, (sub.student, sub.grade_count)
        assert sub.score == score, (sub.student, sub.score)
        # the stand-alone worker keeps the graded notebooks as the service does (the grading
        # view and the feedback read them), each from the submission that was graded
        kept = kept_grading(root, sub.student, "a1")
        assert kept == {"id": uid, "notebooks": ["add"]}, (sub.student, kept)
        assert (graded_dir(root, sub.student, "a1") / "add.ipynb").is_file()
