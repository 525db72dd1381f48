"""Grader benchmark: stock `nbgrader autograde` against nbcampus on the same 50 submissions.

A reference assignment of 3 notebooks (autograded answers with visible and hidden tests);
50 students: some right, some wrong, one with a syntax error, one with an infinite loop.

1. Throughput: stock nbgrader, one `nbgrader autograde` invocation for all 50, against the
   nbcampus grading pool (in-process nbgrader, sandboxed fork-server kernels, one worker per
   core). Scores must be identical, student by student.
2. Latency: 50 students submitting within 10 seconds; time from the accepted submission to the
   score being visible in the grader's database. And one student at a time on an idle grader.
3. CPU-seconds per submission (user + system), stock and nbcampus: wall-clock ratios move with
   whatever else the machine runs, CPU time much less. nbcampus's figure is every thread of
   the grading pool (all of this process but its main thread, which only submits and polls)
   and every process under it: fork servers, kernels, bubblewrap. Stock's is the
   `nbgrader autograde` process and its kernels. The load average is printed beside each.
   Beneath, the grading process's own share (its threads: nbgrader, gradebook, kernel
   protocol), without the processes under it.

Run: .venv/bin/python bench/grader_bench.py  (as root, with bubblewrap installed)
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import sqlalchemy as sa
from nbgrader.api import Gradebook

from nbcampus.db import make_engine, prepare_database, session_factory
from nbcampus.grader.autograde import generate_assignment
from nbcampus.grader.feedback import keep_graded_hook
from nbcampus.grader.orm import GRADED, MIGRATIONS, Submission
from nbcampus.grader.queue import SubmissionQueue
from nbcampus.grader.sandbox.base import Limits
from nbcampus.grader.sandbox.local import BubblewrapRunner
from nbcampus.grader.storage import BlobStore
from nbcampus.grader.worker import GradingPool, course_root, sandbox_slots

COURSE, ASSIGNMENT = "bench101", "ref"
CELL_TIMEOUT = 5  # the same for stock and nbcampus


def _times(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    # children_*: its children that have ended and been waited for (kernels reaped by their
    # fork server, a fork server by this process)
    return t.user + t.system + t.children_user + t.children_system


class CpuMeter:
    """CPU-seconds spent since it was made by this process (but its main thread) and every
    process below it, alive or ended. A process that ended is counted in its parent's
    children times once waited for, and no longer appears in the tree: nothing twice."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.start = self._now()
        self.own_start = self._own()
        self.load_start = os.getloadavg()[0]

    def _own(self) -> float:
        """The grader process's own share: its threads but the main one, no process below."""
        t = self.me.cpu_times()
        return t.user + t.system - self._main_thread()

    def _main_thread(self) -> float:
        for t in self.me.threads():
            if t.id == self.me.pid:
                return t.user_time + t.system_time
        return 0.0

    def _now(self) -> float:
        total = _times(self.me) - self._main_thread()
        for child in self.me.children(recursive=True):
            try:
                total += _times(child)
            except psutil.NoSuchProcess:
                pass  # ended meanwhile: its parent counts it
        return total

    def stop(self) -> tuple[float, str]:
        """(CPU-seconds since start, the 1-minute load average at start and at the end)."""
        used = self._now() - self.start
        self.own = self._own() - self.own_start
        return used, f"{self.load_start:.1f}-{os.getloadavg()[0]:.1f}"


# notebook -> (right answer, wrong answer, visible test, hidden test)
PROBLEMS = {
    "squares": (
        "def squares(n):\n    return [i * i for i in range(1, n + 1)]",
        "def squares(n):\n    return [i * 2 for i in range(1, n + 1)]",
        "assert squares(3) == [1, 4, 9]",
        "assert squares(1) == [1]\n### BEGIN HIDDEN TESTS\nassert squares(0) == []\n"
        "### END HIDDEN TESTS",
    ),
    "words": (
        "def count_words(s):\n    return len(s.split())",
        "def count_words(s):\n    return s.count(' ')",
        "assert count_words('a b c') == 3",
        "assert count_words('') == 0\n### BEGIN HIDDEN TESTS\n"
        "assert count_words('  x   y ') == 2\n### END HIDDEN TESTS",
    ),
    "fib": (
        "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n"
        "    return a",
        "def fib(n):\n    return n",
        "assert fib(1) == 1",
        "assert fib(10) == 55\n### BEGIN HIDDEN TESTS\nassert fib(20) == 6765\n"
        "### END HIDDEN TESTS",
    ),
}


def source_notebook(answer: str, visible: str, hidden: str) -> nbformat.NotebookNode:
    def meta(gid: str, grade: bool, solution: bool, points: float = 0) -> dict:
        m = {"grade": grade, "solution": solution, "locked": not solution, "grade_id": gid}
        m["schema_version"] = 3
        if grade:
            m["points"] = points
        return {"nbgrader": m}

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "### BEGIN SOLUTION\n" + answer + "\n### END SOLUTION",
                metadata=meta("answer", False, True),
            ),
            nbformat.v4.new_code_cell(visible, metadata=meta("visible", True, False, 1)),
            nbformat.v4.new_code_cell(hidden, metadata=meta("hidden", True, False, 2)),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nb


def student_answers(i: int) -> dict[str, str]:
    """Student i's answer per notebook: a fixed, varied mix."""
    out = {}
    for k, (name, (right, wrong, _v, _h)) in enumerate(PROBLEMS.items()):
        out[name] = right if (i + k) % 3 != 0 else wrong
    if i == 7:
        out["squares"] = "def squares(n)\n    return n"  # syntax error
    if i == 13:
        out["words"] = "while True:\n    pass"  # infinite loop
    return out


def build_course(root: Path) -> None:
    src = root / "source" / ASSIGNMENT
    src.mkdir(parents=True)
    for name, (right, _w, visible, hidden) in PROBLEMS.items():
        nbformat.write(source_notebook(right, visible, hidden), src / f"{name}.ipynb")


def submissions(release: Path, n: int) -> dict[str, dict[str, bytes]]:
    subs = {}
    for i in range(n):
        files = {}
        for name, answer in student_answers(i).items():
            nb = nbformat.read(release / f"{name}.ipynb", as_version=4)
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("solution"):
                    cell.source = answer
            files[f"{name}.ipynb"] = nbformat.writes(nb).encode()
        subs[f"student{i:02d}"] = files
    return subs


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_stock(
    work: Path, subs: dict[str, dict[str, bytes]]
) -> tuple[float, dict[str, float], float, str]:
    root = work / "stock"
    build_course(root)
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = {COURSE!r}\n"
        f"c.Execute.timeout = {CELL_TIMEOUT}\n"
    )
    nbgrader = [str(Path(sys.executable).parent / "nbgrader")]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    subprocess.run(
        [*nbgrader, "generate_assignment", ASSIGNMENT, "--force"],
        cwd=root,
        check=True,
        capture_output=True,
        env=env,
    )
    for student, files in subs.items():
        d = root / "submitted" / student / ASSIGNMENT
        d.mkdir(parents=True)
        for name, data in files.items():
            (d / name).write_bytes(data)
    load0, cpu0 = os.getloadavg()[0], _children_cpu()
    t0 = time.perf_counter()
    subprocess.run(
        [*nbgrader, "autograde", ASSIGNMENT, "--force"],
        cwd=root,
        check=True,
        capture_output=True,
        env=env,
    )
    elapsed = time.perf_counter() - t0
    # nbgrader waits for each kernel it started: their time is in the autograde process's
    cpu = _children_cpu() - cpu0
    load = f"{load0:.1f}-{os.getloadavg()[0]:.1f}"
    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE) as gb:
        for student in subs:
            scores[student] = float(gb.find_submission(ASSIGNMENT, student).score)
    return elapsed, scores, cpu, load


def setup_ours(work: Path, name: str) -> tuple[SubmissionQueue, Path, sa.Engine]:
    data = work / name
    root = course_root(data, COURSE)
    build_course(root)
    generate_assignment(root, COURSE, ASSIGNMENT)
    url = f"sqlite:///{data / 'grader.sqlite'}"
    engine = make_engine(url)
    prepare_database(engine, url, MIGRATIONS)
    queue = SubmissionQueue(session_factory(engine), BlobStore(data / "grader" / "blobs"))
    return queue, data, engine


def grading_pool(
    queue: SubmissionQueue, data: Path, runner: BubblewrapRunner, workers: int
) -> GradingPool:
    # As the service does: the graded notebooks are kept for the grading view and feedback.
    return GradingPool(
        queue,
        data,
        runner,
        workers=workers,
        limits=Limits(cell_timeout=CELL_TIMEOUT),
        on_graded=keep_graded_hook(data),
    )


def wait_all(engine: sa.Engine, n: int, timeout: float = 600, poll: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            done = conn.scalar(
                sa.select(sa.func.count())
                .select_from(Submission)
                .where(Submission.status.in_([GRADED, "failed"]))
            )
        if done >= n:
            return
        time.sleep(poll)
    raise TimeoutError("grading did not finish")


def run_ours(
    work: Path, subs: dict[str, dict[str, bytes]], runner: BubblewrapRunner, workers: int
) -> tuple[float, dict[str, float], float, str, float]:
    queue, data, engine = setup_ours(work, "ours")
    pool = grading_pool(queue, data, runner, workers)
    t0 = time.perf_counter()
    uids = {queue.accept(COURSE, ASSIGNMENT, s, files): s for s, files in subs.items()}
    meter = CpuMeter()
    pool.start()
    wait_all(engine, len(subs))
    elapsed = time.perf_counter() - t0
    cpu, load = meter.stop()
    pool.stop()
    with session_factory(engine)() as s:
        scores = {uids[sub.uid]: sub.score for sub in s.scalars(sa.select(Submission))}
    return elapsed, scores, cpu, load, meter.own


def submit_to_score(engine: sa.Engine) -> list[float]:
    """Seconds from each accepted submission to its score in the grader's database, sorted."""
    with session_factory(engine)() as s:
        return sorted(
            (sub.graded_at - sub.submitted_at).total_seconds()
            for sub in s.scalars(sa.select(Submission))
        )


def run_latency(
    work: Path, subs: dict[str, dict[str, bytes]], runner: BubblewrapRunner, workers: int
) -> tuple[list[float], str]:
    queue, data, engine = setup_ours(work, "latency")
    pool = grading_pool(queue, data, runner, workers)
    load0 = os.getloadavg()[0]
    pool.start()
    spacing = 10.0 / len(subs)
    t0 = time.monotonic()
    for i, (student, files) in enumerate(subs.items()):
        time.sleep(max(0.0, t0 + i * spacing - time.monotonic()))
        queue.accept(COURSE, ASSIGNMENT, student, files)
        pool.wake.set()
    wait_all(engine, len(subs))
    load = f"{load0:.1f}-{os.getloadavg()[0]:.1f}"
    pool.stop()
    return submit_to_score(engine), load


def run_one_at_a_time(
    work: Path, subs: dict[str, dict[str, bytes]], runner: BubblewrapRunner, workers: int
) -> list[float]:
    """A student submitting to an idle grader: submit -> score visible, one after another."""
    queue, data, engine = setup_ours(work, "single")
    pool = grading_pool(queue, data, runner, workers)
    pool.start()
    picked = [s for s in subs if s not in ("student07", "student13")][:10]
    for n, student in enumerate(picked, start=1):
        queue.accept(COURSE, ASSIGNMENT, student, subs[student])
        pool.wake.set()
        wait_all(engine, n)
    pool.stop()
    return submit_to_score(engine)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=50)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--skip-stock", action="store_true")
    p.add_argument("--skip-latency", action="store_true", help="throughput and CPU only")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    try:
        tmp = work / "release"
        build_course(tmp)
        generate_assignment(tmp, COURSE, ASSIGNMENT)
        subs = submissions(tmp / "release" / ASSIGNMENT, args.students)
        runner = BubblewrapRunner(slots=sandbox_slots(args.workers))
        runner.start()
        lat, lat_load, single = [float("nan")], "-", [float("nan")]
        try:
            ours_t, ours_scores, ours_cpu, ours_load, ours_own = run_ours(
                work, subs, runner, args.workers
            )
            if not args.skip_latency:
                lat, lat_load = run_latency(work, subs, runner, args.workers)
                single = run_one_at_a_time(work, subs, runner, args.workers)
        finally:
            runner.stop()
        if args.skip_stock:
            stock_t, stock_scores, stock_cpu, stock_load = float("nan"), {}, float("nan"), "-"
        else:
            stock_t, stock_scores, stock_cpu, stock_load = run_stock(work, subs)
        n = args.students
        same = all(stock_scores.get(s) == ours_scores.get(s) for s in subs)
        diffs = [s for s in subs if stock_scores.get(s) != ours_scores.get(s)]
        p50 = statistics.median(lat)
        p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
        print()
        print(
            f"{n} submissions x {len(PROBLEMS)} notebooks, {args.workers} workers, "
            f"{os.cpu_count()} cores, cell timeout {CELL_TIMEOUT} s"
        )
        print(f"{'':38} {'stock nbgrader':>16} {'nbcampus':>12}")
        print(f"{'autograde all (s)':38} {stock_t:16.1f} {ours_t:12.1f}")
        print(
            f"{'throughput (submissions/min)':38} {n / stock_t * 60:16.1f} {n / ours_t * 60:12.1f}"
        )
        print(f"{'speed-up':38} {'1.0x':>16} {stock_t / ours_t:11.1f}x")
        print(f"{'CPU-s per submission':38} {stock_cpu / n:16.3f} {ours_cpu / n:12.3f}")
        print(f"{'  of it in the grading process itself':38} {'':>16} {ours_own / n:12.3f}")
        print(f"{'CPU ratio':38} {'1.0x':>16} {stock_cpu / ours_cpu:11.1f}x")
        print(f"{'load average (1 min, start-end)':38} {stock_load:>16} {ours_load:>12}")
        print(f"{'scores identical':38} {'-':>16} {str(same if stock_scores else 'n/a'):>12}")
        print(f"{f'submit->score p50 (s), {n} in 10 s':38} {'n/a':>16} {p50:12.2f}")
        print(f"{f'submit->score p95 (s), {n} in 10 s':38} {'n/a':>16} {p95:12.2f}")
        print(f"{'  load average (1 min, start-end)':38} {'':>16} {lat_load:>12}")
        print(
            f"{'submit->score median (s), idle grader':38} {'n/a':>16} "
            f"{statistics.median(single):12.2f}"
        )
        print(
            f"{'total score (all students)':38} {sum(stock_scores.values()):16.1f} "
            f"{sum(ours_scores.values()):12.1f}"
        )
        if stock_scores and diffs:
            print("differing:", {s: (stock_scores[s], ours_scores[s]) for s in diffs})
        return 0 if (same or not stock_scores) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
