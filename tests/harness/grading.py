"""Waiting for the grader through its API, as a student's client does after a submit."""

from __future__ import annotations

import time
from typing import Any

GRADER_API = "services/grader/api/v1/"


def wait_graded(client: Any, uid: str, timeout: float = 120, poll: float = 0.3) -> dict[str, Any]:
    """The submission once graded (or failed); an AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sub = client.get(GRADER_API + f"submissions/{uid}").json()
        if sub["status"] in ("graded", "failed"):
            return sub
        time.sleep(poll)
    raise AssertionError(f"submission {uid} not graded in {timeout} s")
