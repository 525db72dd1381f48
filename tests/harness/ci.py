"""What a test does when a part it needs is missing: fail under CI, skip elsewhere.

Lives in the harness package (not in a conftest) so every suite imports the same function:
several folders have a `conftest.py`, and `from conftest import ...` may find the wrong one.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """A dependency of the test is missing: fail under CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)
