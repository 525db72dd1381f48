"""Single-exercise benchmark: gradings per second per core, against CodeRunner's and Jobe's.

One notebook with one answer cell and three test cells (the third with a hidden region, as
an exercise with a hidden test case), in Python and in C (the campus's C kernel), graded by
the nbcampus grading pool exactly as the service grades: bubblewrap sandboxes with their
fork servers, one worker per core, nbgrader's steps and gradebook, the tamper checks, the
run without hidden tests where the student must see outputs of one, the graded notebooks
kept. Every third student answers wrong.

1. Capacity: `--count` submissions queued at once; gradings per second over the wall clock
   (divided by the cores), and the CPU-seconds each grading took (user + system of the pool's
   threads and every process under them). On a machine others share, the wall-clock figure
   is what was left over; 1 / CPU-seconds is what a core of its own would grade.
2. Latency at 80 % of that load: submissions arriving evenly at 0.8 x the measured rate for
   `--seconds`; p50 and p95 from the accepted submission to its score in the database.

The anchors are the figures their projects publish: Moodle's CodeRunner, "over 1000 Python
questions a minute" on an 8-core server (about 2.1 a second per core), and Jobe, 18 C or
Python jobs a second on 8 cores (2.25 a second per core). They run a program against tests;
a grading here also runs the notebook's kernel, nbgrader and the gradebook.

Run: .venv/bin/python bench/exercise_bench.py [--count 120] [--seconds 30]
     (as root, with bubblewrap installed; --languages python or c for one of them)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import sqlalchemy as sa
from grader_bench import CpuMeter, submit_to_score, wait_all
from jupyter_client.kernelspec import KernelSpecManager

from nbcampus.db import make_engine, prepare_database, session_factory
from nbcampus.grader.autograde import generate_assignment
from nbcampus.grader.feedback import keep_graded_hook
from nbcampus.grader.orm import MIGRATIONS
from nbcampus.grader.queue import SubmissionQueue
from nbcampus.grader.sandbox.local import BubblewrapRunner
from nbcampus.grader.storage import BlobStore
from nbcampus.grader.worker import GradingPool, course_root, sandbox_slots

COURSE, ASSIGNMENT, NOTEBOOK = "exercise101", "ex", "exercise"
CODERUNNER_PER_CORE = 1000 / 60 / 8  # "over 1000 Python questions a minute", 8 cores
JOBE_PER_CORE = 18 / 8  # 18 C or Python jobs a second on 8 cores

# language -> kernelspec, right answer, wrong answer, three tests (the third with a hidden part)
EXERCISES = {
    "python": (
        {"name": "python3", "display_name": "Python 3", "language": "python"},
        "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))",
        "def clamp(x, lo, hi):\n    return min(lo, max(x, hi))",
        (
            "assert clamp(5, 0, 10) == 5",
            "assert clamp(-3, 0, 10) == 0",
            "assert clamp(12, 0, 10) == 10\n### BEGIN HIDDEN TESTS\n"
            "assert clamp(7, 7, 7) == 7\n### END HIDDEN TESTS",
        ),
    ),
    "c": (
        {"name": "c", "display_name": "C", "language": "c"},
        "int clamp(int x, int lo, int hi)\n{\n    return x < lo ? lo : x > hi ? hi : x;\n}",
        "int clamp(int x, int lo, int hi)\n{\n    return x < lo ? hi : x > hi ? lo : x;\n}",
        (
            "assert(clamp(5, 0, 10) == 5);",
            "assert(clamp(-3, 0, 10) == 0);",
            "assert(clamp(12, 0, 10) == 10);\n/* BEGIN HIDDEN TESTS */\n"
            "assert(clamp(7, 7, 7) == 7);\n/* END HIDDEN TESTS */",
        ),
    ),
}


def exercise_notebook(language: str) -> nbformat.NotebookNode:
    kernelspec, right, _wrong, tests = EXERCISES[language]

    def meta(gid: str, grade: bool, solution: bool) -> dict:
        m = {"grade": grade, "solution": solution, "locked": not solution, "grade_id": gid}
        m["schema_version"] = 3
        if grade:
            m["points"] = 1
        return {"nbgrader": m}

    begin, end = ("### BEGIN SOLUTION", "### END SOLUTION")
    if language == "c":
        begin, end = ("/* BEGIN SOLUTION */", "/* END SOLUTION */")
    cells = []
    if language == "c":
        cells.append(
            nbformat.v4.new_code_cell("#include <assert.h>", metadata=meta("setup", False, False))
        )
    cells.append(
        nbformat.v4.new_code_cell(f"{begin}\n{right}\n{end}", metadata=meta("answer", False, True))
    )
    for i, test in enumerate(tests, start=1):
        cells.append(nbformat.v4.new_code_cell(test, metadata=meta(f"test{i}", True, False)))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = kernelspec
    nb.metadata["language_info"] = {"name": kernelspec["language"]}
    return nb


def setup(
    work: Path, language: str, name: str
) -> tuple[SubmissionQueue, Path, sa.Engine, bytes, bytes]:
    """A course with the exercise generated, its queue, and a right and a wrong submission."""
    data = work / name
    root = course_root(data, COURSE)
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(exercise_notebook(language), root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    generate_assignment(root, COURSE, ASSIGNMENT)
    url = f"sqlite:///{data / 'grader.sqlite'}"
    engine = make_engine(url)
    prepare_database(engine, url, MIGRATIONS)
    queue = SubmissionQueue(session_factory(engine), BlobStore(data / "grader" / "blobs"))
    _spec, right, wrong, _tests = EXERCISES[language]
    answers = []
    for answer in (right, wrong):
        nb = nbformat.read(root / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = answer
        answers.append(nbformat.writes(nb).encode())
    return queue, data, engine, answers[0], answers[1]


def pool_for(queue: SubmissionQueue, data: Path, runner: BubblewrapRunner) -> GradingPool:
    return GradingPool(
        queue, data, runner, workers=os.cpu_count() or 1, on_graded=keep_graded_hook(data)
    )


def submission(i: int, right: bytes, wrong: bytes) -> dict[str, bytes]:
    return {f"{NOTEBOOK}.ipynb": wrong if i % 3 == 2 else right}


def capacity(
    work: Path, language: str, runner: BubblewrapRunner, count: int
) -> tuple[float, float, str, float]:
    """(gradings per second, CPU-seconds per grading, load average, mean score) of `count`
    submissions queued at once."""
    queue, data, engine, right, wrong = setup(work, language, f"{language}-capacity")
    for i in range(count):
        queue.accept(COURSE, ASSIGNMENT, f"student{i:04d}", submission(i, right, wrong))
    pool = pool_for(queue, data, runner)
    meter = CpuMeter()
    t0 = time.perf_counter()
    pool.start()
    wait_all(engine, count, poll=0.05)
    elapsed = time.perf_counter() - t0
    cpu, load = meter.stop()
    pool.stop()
    with engine.connect() as conn:
        from nbcampus.grader.orm import Submission

        mean = conn.scalar(sa.select(sa.func.avg(Submission.score)))
    return count / elapsed, cpu / count, load, float(mean or 0.0)


def paced(
    work: Path, language: str, runner: BubblewrapRunner, rate: float, seconds: float
) -> tuple[list[float], str]:
    """Submit->score seconds of submissions arriving evenly at `rate` a second."""
    queue, data, engine, right, wrong = setup(work, language, f"{language}-paced")
    pool = pool_for(queue, data, runner)
    pool.start()
    n = max(1, int(rate * seconds))
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    for i in range(n):
        time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        queue.accept(COURSE, ASSIGNMENT, f"student{i:04d}", submission(i, right, wrong))
        pool.wake.set()
    wait_all(engine, n, poll=0.05)
    load = f"{load0:.1f}-{os.getloadavg()[0]:.1f}"
    pool.stop()
    return submit_to_score(engine), load


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=120, help="submissions for the capacity run")
    p.add_argument("--seconds", type=float, default=30, help="length of the 80 %% load run")
    p.add_argument("--languages", nargs="+", default=["python", "c"], choices=list(EXERCISES))
    args = p.parse_args()
    languages = list(args.languages)
    if "c" in languages and "c" not in KernelSpecManager().find_kernel_specs():
        print("the C kernelspec is not installed (scripts/setup.sh): C left out")
        languages.remove("c")
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="exercise-bench-"))
    rows = []
    try:
        runner = BubblewrapRunner(slots=sandbox_slots(cores))
        runner.start()
        try:
            for language in languages:
                rate, cpu, load, mean = capacity(work, language, runner, args.count)
                latencies, paced_load = paced(work, language, runner, 0.8 * rate, args.seconds)
                rows.append((language, rate, cpu, load, mean, latencies, paced_load))
        finally:
            runner.stop()
        print()
        print(
            f"one notebook, one answer cell, three tests (one with a hidden part); {cores} cores,"
            f" {cores} workers; every third answer wrong"
        )
        print(f"{'':44} " + " ".join(f"{lang:>12}" for lang, *_ in rows))

        def line(label: str, cells: list[str]) -> None:
            print(f"{label:44} " + " ".join(f"{c:>12}" for c in cells))

        line("gradings per second (wall clock)", [f"{r[1]:.2f}" for r in rows])
        line("  per core", [f"{r[1] / cores:.2f}" for r in rows])
        line("CPU-s per grading", [f"{r[2]:.3f}" for r in rows])
        line("  gradings per CPU-second (a core's own)", [f"{1 / r[2]:.2f}" for r in rows])
        line("  load average (1 min, start-end)", [r[3] for r in rows])
        line("mean score (of 3)", [f"{r[4]:.2f}" for r in rows])
        line("80 % load: submissions per second", [f"{0.8 * r[1]:.2f}" for r in rows])
        line("  submit->score p50 (s)", [f"{statistics.median(r[5]):.2f}" for r in rows])
        line("  submit->score p95 (s)", [f"{percentile(r[5], 0.95):.2f}" for r in rows])
        line("  load average (1 min, start-end)", [r[6] for r in rows])
        print(
            f"CodeRunner (published): {CODERUNNER_PER_CORE:.2f} Python gradings per second per"
            f" core; Jobe (published): {JOBE_PER_CORE:.2f} C or Python jobs per second per core"
        )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
