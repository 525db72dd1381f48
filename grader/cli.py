"""`nbcampus grader ...`: regrade from the command line, with a progress bar.

`nbcampus grader regrade COURSE [--assignment A] [--student S]` puts the counted submissions
back in the durable queue; the running grader service grades them and this command shows
the progress until they are done. With `--here` it grades them in this process instead
(when no service runs, e.g. during maintenance).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TextIO

import sqlalchemy as sa


def progress_bar(done: int, total: int, started: float, out: TextIO = sys.stderr) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    rate = done / max(time.monotonic() - started, 1e-6)
    line = f"\rregrading [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
    line += f" {rate:.1f}/s"
    out.write(line + ("\n" if done >= total else ""))
    out.flush()


def cmd_regrade(args: argparse.Namespace) -> int:
    from nbcampus.db import make_engine, prepare_database, session_factory
    from nbcampus.settings import Settings

    from .orm import FAILED, GRADED, MIGRATIONS, Submission
    from .queue import SubmissionQueue
    from .storage import BlobStore

    settings = Settings.from_env()
    url = settings.database_url("grader")
    engine = make_engine(url)
    prepare_database(engine, url, MIGRATIONS)
    factory = session_factory(engine)
    queue = SubmissionQueue(factory, BlobStore(settings.data_dir / "grader" / "blobs"))
    uids = queue.requeue(args.course, args.assignment, args.student)
    if not uids:
        print("nothing to regrade", file=sys.stderr)
        return 0
    pool = runner = None
    if args.here:
        from .sandbox.local import BubblewrapRunner
        from .worker import GradingPool, sandbox_slots

        workers = args.workers or os.cpu_count() or 1
        runner = BubblewrapRunner(slots=sandbox_slots(workers))
        runner.start()
        from .feedback import keep_graded_hook

        pool = GradingPool(
            queue,
            settings.data_dir,
            runner,
            workers=workers,
            keep_graded=keep_graded_hook(settings.data_dir),
        )
        pool.start()
    started = time.monotonic()
    deadline = started + args.timeout
    done = -1
    try:
        while True:
            with factory() as s:
                now = s.scalar(
                    sa.select(sa.func.count())
                    .select_from(Submission)
                    .where(Submission.uid.in_(uids), Submission.status.in_([GRADED, FAILED]))
                )
            if now != done:
                done = now
                progress_bar(done, len(uids), started)
            if done >= len(uids):
                break
            if time.monotonic() > deadline:
                print(f"\n{len(uids) - done} still queued; the grader keeps going", file=sys.stderr)
                return 1
            time.sleep(0.2)
    finally:
        if pool is not None:
            pool.stop()
        if runner is not None:
            runner.stop()
    with factory() as s:
        failed = s.scalar(
            sa.select(sa.func.count())
            .select_from(Submission)
            .where(Submission.uid.in_(uids), Submission.status == FAILED)
        )
    print(f"regraded {len(uids) - failed} submissions" + (f", {failed} failed" if failed else ""))
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    grader = sub.add_parser("grader", help="the grader: regrade submissions")
    gsub = grader.add_subparsers(dest="grader_command", metavar="ACTION", required=True)
    rg = gsub.add_parser(
        "regrade",
        help="grade the counted submissions of a course, an assignment or a student again",
    )
    rg.add_argument("course")
    rg.add_argument("--assignment", help="only this assignment (lesson)")
    rg.add_argument("--student", help="only this student")
    rg.add_argument(
        "--here", action="store_true", help="grade in this process (no grader service running)"
    )
    rg.add_argument("--workers", type=int, default=0, help="with --here: workers (default cores)")
    rg.add_argument("--timeout", type=float, default=3600, help="give up waiting after seconds")
    rg.set_defaults(func=cmd_regrade)
