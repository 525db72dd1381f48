"""The durable queue: accepted submissions survive kill -9 and are graded exactly once, and a
claim is a lease that a dead or late worker loses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import nbformat
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nbcampus.db import make_engine, prepare_database, session_factory, transaction, upgrade
from nbcampus.grader.autograde import generate_assignment
from nbcampus.grader.feedback import graded_dir, kept_grading
from nbcampus.grader.orm import (
    GRADED,
    MIGRATIONS,
    QUEUED,
    RUNNING,
    Base,
    Submission,
    utcnow,
)
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


# --- leases: many workers, none of them ever strays ------------------------------------------
def lease_queue(tmp_path: Path, db_url: str, lease: float) -> SubmissionQueue:
    engine = make_engine(db_url)
    prepare_database(engine, db_url, MIGRATIONS)
    return SubmissionQueue(
        session_factory(engine), BlobStore(tmp_path / "blobs"), lease_seconds=lease
    )


def row(queue: SubmissionQueue, sub_id: int) -> Submission:
    with queue.db() as s:
        sub = s.get(Submission, sub_id)
        assert sub is not None
        return sub


def test_an_expired_lease_is_taken_over_and_its_old_holder_refused(
    tmp_path: Path, db_url: str
) -> None:
    queue = lease_queue(tmp_path, db_url, lease=0.5)
    queue.accept("c1", "a1", "s1", {"a.ipynb": b"{}"})
    old = queue.claim("host-a:1:x/0")
    assert old is not None
    time.sleep(0.7)  # host-a stopped renewing: its lease expires
    new = queue.claim("host-b:2:y/0")
    assert new is not None and new.id == old.id and new.token == old.token + 1
    assert new.attempts == 2
    # the old holder comes back late: nothing it says counts any more
    assert not queue.renew(old.id, "host-a:1:x/0", old.token)
    assert not queue.complete(old.id, "host-a:1:x/0", 0.0, 2.0, 0.0, {}, token=old.token)
    assert not queue.fail(old.id, "host-a:1:x/0", "late", retry=True, token=old.token)
    # not even with the new holder's name and an old number (a restarted pod's pid 1)
    assert not queue.complete(old.id, "host-b:2:y/0", 0.0, 2.0, 0.0, {}, token=old.token)
    assert row(queue, old.id).status == RUNNING
    assert queue.complete(new.id, "host-b:2:y/0", 2.0, 2.0, 0.0, {"ok": 1}, token=new.token)
    sub = row(queue, new.id)
    assert (sub.status, sub.score, sub.grade_count) == (GRADED, 2.0, 1)
    assert queue.claim("host-a:1:x/0") is None


def test_a_live_lease_is_not_taken_over(tmp_path: Path, db_url: str) -> None:
    queue = lease_queue(tmp_path, db_url, lease=1.0)
    queue.accept("c1", "a1", "s1", {"a.ipynb": b"{}"})
    held = queue.claim("host-a:1:x/0")
    assert held is not None
    deadline = time.monotonic() + 2.5  # well past one lease period, renewed as it goes
    while time.monotonic() < deadline:
        assert queue.renew(held.id, "host-a:1:x/0", held.token)
        assert queue.claim("host-b:2:y/0") is None
        time.sleep(0.3)
    assert queue.complete(held.id, "host-a:1:x/0", 1.0, 2.0, 0.0, {}, token=held.token)


def test_two_claimers_never_get_the_same_row(tmp_path: Path, db_url: str) -> None:
    queue = lease_queue(tmp_path, db_url, lease=1.0)
    for i in range(24):
        queue.accept("c1", "a1", f"s{i}", {"a.ipynb": b"{}"})

    def claim_all(worker: str) -> list[tuple[int, int]]:
        got = []
        while (c := queue.claim(worker)) is not None:
            got.append((c.id, c.token))
        return got

    for round_ in (1, 2):  # fresh rows, then the same rows once all their leases expired
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(claim_all, [f"w{round_}-{i}" for i in range(6)]))
        claims = [c for got in results for c in got]
        assert len(claims) == 24 and len({i for i, _ in claims}) == 24, results
        assert {t for _, t in claims} == {round_}
        time.sleep(1.2)


def test_recover_requeues_only_what_nobody_holds(tmp_path: Path, db_url: str) -> None:
    queue = lease_queue(tmp_path, db_url, lease=30)
    for i in range(3):
        queue.accept("c1", "a1", f"s{i}", {"a.ipynb": b"{}"})
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = f"{socket.gethostname()}:{int(ended.stdout)}:z/0"  # this host, process gone
    live = queue.claim("other-host:7:x/0")  # another machine's live lease
    gone = queue.claim(dead)
    expired = queue.claim("other-host:8:y/0")
    assert live and gone and expired
    with transaction(queue.db) as s:
        s.get(Submission, expired.id).lease_expires_at = utcnow() - timedelta(seconds=1)
    assert queue.recover() == 2
    assert (row(queue, live.id).status, row(queue, live.id).claimed_by) == (
        RUNNING,
        "other-host:7:x/0",
    )
    for sub_id in (gone.id, expired.id):
        assert row(queue, sub_id).status == QUEUED
    assert not queue.complete(gone.id, dead, 1.0, 1.0, 0.0, {}, token=gone.token)
    assert queue.complete(live.id, "other-host:7:x/0", 1.0, 1.0, 0.0, {}, token=live.token)


def test_the_lease_migration_keeps_every_row(tmp_path: Path, db_url: str) -> None:
    upgrade(db_url, MIGRATIONS, "g0002")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        for i, status in enumerate((QUEUED, RUNNING, GRADED)):
            conn.execute(
                sa.text(
                    "INSERT INTO grader_submissions (uid, course, assignment, student, "
                    "submitted_at, files, status, attempts, claimed_by, grade_count, "
                    "late_penalty, posted, hooks_due) VALUES (:uid, 'c1', 'a1', :student, "
                    ":at, '{}', :status, 1, :by, 0, 0, false, false)"
                ),
                {
                    "uid": f"u{i}",
                    "student": f"s{i}",
                    "at": utcnow(),
                    "status": status,
                    "by": "old-worker" if status == RUNNING else None,
                },
            )
    upgrade(db_url, MIGRATIONS)
    queue = SubmissionQueue(session_factory(engine), BlobStore(tmp_path / "blobs"))
    with queue.db() as s:
        subs = {sub.uid: sub for sub in s.scalars(sa.select(Submission))}
    assert {u: (x.status, x.claim_token) for u, x in subs.items()} == {
        "u0": (QUEUED, 0),
        "u1": (RUNNING, 0),
        "u2": (GRADED, 0),
    }
    # the running row of the old code has no lease: the next worker takes it over, in order
    first = queue.claim("new-worker")
    second = queue.claim("new-worker")
    assert first and second and {first.uid, second.uid} == {"u0", "u1"}
    assert queue.claim("new-worker") is None
    with engine.connect() as conn:  # the migration matches the ORM's columns
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "lease" in repr(d) or "claim_token" in repr(d)] == []


# A worker that keeps the graded notebooks of its first grading, then is killed (-9) before
# the grade is committed: the crash window between the two.
KILLED_AFTER_KEEP = """
import os, signal, sys
from pathlib import Path
from nbcampus.db import make_engine, session_factory
from nbcampus.grader.feedback import keep_graded_hook
from nbcampus.grader.queue import SubmissionQueue
from nbcampus.grader.sandbox.local import BubblewrapRunner
from nbcampus.grader.storage import BlobStore
from nbcampus.grader.worker import GradingPool, sandbox_slots

db_url, data = sys.argv[1], Path(sys.argv[2])
queue = SubmissionQueue(session_factory(make_engine(db_url)), BlobStore(data / "grader" / "blobs"))
keep = keep_graded_hook(data)

def keep_then_die(claimed, result):
    keep(claimed, result)
    os.kill(os.getpid(), signal.SIGKILL)

runner = BubblewrapRunner(slots=sandbox_slots(1))
runner.start()
pool = GradingPool(queue, data, runner, workers=1, keep_graded=keep_then_die)
claimed = queue.claim(pool.name + "/0")
pool.grade_one(claimed, pool.name + "/0")
"""


def test_kill_9_between_keeping_the_notebooks_and_the_grade(tmp_path: Path, db_url: str) -> None:
    data = tmp_path / "data"
    root = course_root(data, "c1")
    write(source_notebook(ANSWER, TESTS), root / "source" / "a1" / "add.ipynb")
    generate_assignment(root, "c1", "a1")
    engine = make_engine(db_url)
    prepare_database(engine, db_url, MIGRATIONS)
    queue = SubmissionQueue(session_factory(engine), BlobStore(data / "grader" / "blobs"))
    nb = student_version(root / "release" / "a1" / "add.ipynb", ANSWER)
    uid = queue.accept("c1", "a1", "s1", {"add.ipynb": nbformat.writes(nb).encode()})

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_KEEP, db_url, str(data)], timeout=120
    )
    assert killed.returncode == -signal.SIGKILL
    # the notebooks were kept, the grade was not committed: the row is still running
    assert kept_grading(root, "s1", "a1") == {"id": uid, "notebooks": ["add"]}
    sub = queue.get(uid)
    assert sub is not None and (sub.status, sub.grade_count) == (RUNNING, 0)

    # a worker's start puts the dead worker's row back and grades it once, notebooks and all
    cmd = [sys.executable, "-m", "nbcampus.grader.worker", "--db", db_url]
    subprocess.run([*cmd, "--data-dir", str(data), "--exit-when-idle"], check=True, timeout=180)
    sub = queue.get(uid)
    assert sub is not None
    assert (sub.status, sub.grade_count, sub.score) == (GRADED, 1, 2.0), sub.error
    assert kept_grading(root, "s1", "a1") == {"id": uid, "notebooks": ["add"]}
    assert (graded_dir(root, "s1", "a1") / "add.ipynb").is_file()
