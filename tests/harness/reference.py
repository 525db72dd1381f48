"""nbgrader's own example course (ps1), kept in the repository as a test fixture
(tests/fixtures/nbgrader-ps1: its source, two submissions and stock nbgrader's results;
BSD-3-Clause, see its README), so the compatibility tests run the same on every clone."""

from __future__ import annotations

from pathlib import Path

PS1 = Path(__file__).resolve().parents[1] / "fixtures" / "nbgrader-ps1"
