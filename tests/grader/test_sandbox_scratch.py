"""The local sandbox's scratch folders: a runner that died leaves nothing behind for long.

A runner keeps its slots under /run/nbcg-*/ with an owner file it holds locked while it runs;
the next runner to start removes the folders of runners that are gone (kill -9, a crash) and
leaves live runners' folders alone.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest
from harness.ci import unavailable

from nbcampus.grader.sandbox.local import BubblewrapRunner


@pytest.fixture
def runner_base() -> Path:
    if shutil.which("bwrap") is None:
        unavailable("bubblewrap (bwrap) is not installed")
    return Path("/run") if os.access("/run", os.W_OK) else Path("/var/tmp")


def test_a_new_runner_removes_abandoned_scratch_and_keeps_live_ones(runner_base: Path) -> None:
    # A runner that died: its owner file exists, nobody holds the lock.
    dead = runner_base / f"nbcg-dead-{os.getpid()}"
    (dead / "s0" / "tmp").mkdir(parents=True)
    (dead / "s0" / "tmp" / "leftover.ipynb").write_text("{}")
    (dead / ".owner").write_text("")
    # A live one (another process's runner): its owner file is locked.
    live = runner_base / f"nbcg-live-{os.getpid()}"
    live.mkdir()
    (live / ".owner").write_text("")
    fd = os.open(live / ".owner", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    first = BubblewrapRunner(slots=1)
    second = BubblewrapRunner(slots=1)
    try:
        first.start()
        assert not dead.exists()
        assert live.exists()
        # A second runner starting while the first runs leaves the first one's folder alone.
        second.start()
        assert first.root is not None and (first.root / "s0").is_dir()
    finally:
        second.stop()
        first.stop()
        os.close(fd)
        shutil.rmtree(live, ignore_errors=True)
        shutil.rmtree(dead, ignore_errors=True)
    assert first.root is not None and not first.root.exists()
