"""The lifeline of managed services: pid files that never name the wrong process, a watchdog
that notices a Hub gone, and a stand-alone grading worker that exits without its Hub."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from nbcampus import lifeline
from nbcampus.ports import free_port


def sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def record(
    data: Path, name: str, pid: int, start: int | None, hub: int, hub_start: int | None
) -> Path:
    run = lifeline.run_dir(data)
    run.mkdir(parents=True, exist_ok=True)
    path = run / f"{name}.pid"
    path.write_text(
        json.dumps(
            {
                "name": name,
                "pid": pid,
                "start": start,
                "host": socket.gethostname(),
                "hub_pid": hub,
                "hub_start": hub_start,
            }
        )
    )
    return path


def test_only_orphans_of_this_host_are_stopped(tmp_path: Path) -> None:
    dead_hub = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    gone = int(dead_hub.stdout)
    orphan, reused, kept = sleeper(), sleeper(), sleeper()
    try:
        record(tmp_path, "grader", orphan.pid, lifeline.start_time(orphan.pid), gone, 1)
        # a pid that now names another process (its start time differs): never killed
        record(tmp_path, "campus", reused.pid, 1, gone, 1)
        # a service whose Hub (here: this test process) still runs: left alone
        me = os.getpid()
        record(
            tmp_path,
            "idle-culler",
            kept.pid,
            lifeline.start_time(kept.pid),
            me,
            lifeline.start_time(me),
        )
        stopped = lifeline.stop_leftovers(tmp_path, grace=5)
        assert [r.name for r in stopped] == ["grader"]
        assert orphan.wait(5) is not None
        assert reused.poll() is None and kept.poll() is None
        assert sorted(p.name for p in lifeline.run_dir(tmp_path).iterdir()) == ["idle-culler.pid"]
    finally:
        for p in (orphan, reused, kept):
            p.kill()
            p.wait()


def test_the_watchdog_notices_a_hub_api_that_refuses(tmp_path: Path) -> None:
    watch = lifeline.Lifeline(
        api_url=f"http://127.0.0.1:{free_port()}/hub/api", api_grace=1, interval=0.1
    )
    reasons: list[str] = []
    watch.start(reasons.append)
    assert watch.lost.wait(15), "the watchdog never noticed"
    assert "unreachable" in reasons[0]


def test_a_stand_alone_worker_without_its_hub_exits(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'grader.sqlite'}"
    env = dict(os.environ, JUPYTERHUB_API_URL=f"http://127.0.0.1:{free_port()}/hub/api")
    env.pop(lifeline.HUB_PID_ENV, None)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nbcampus.grader.worker",
            "--db",
            db,
            "--data-dir",
            str(tmp_path),
            "--workers",
            "1",
            "--hub-api-grace",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = time.monotonic()
    try:
        out, _ = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert "the worker stops" in out, out[-3000:]
    assert time.monotonic() - started < 60
