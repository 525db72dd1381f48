"""Fixtures of the grader suite: one pre-started local sandbox runner per module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from nbcampus.grader.sandbox.local import BubblewrapRunner


@pytest.fixture(scope="module")
def runner() -> Iterator[BubblewrapRunner]:
    if shutil.which("bwrap") is None:
        from harness.ci import unavailable

        unavailable("bubblewrap is not installed")
    r = BubblewrapRunner(slots=2)
    r.start()
    yield r
    r.stop()
