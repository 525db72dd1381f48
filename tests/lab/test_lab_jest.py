"""The TypeScript unit tests (jest) of the lab extension, so that one pytest run runs them all."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from labserver import unavailable

LAB = Path(__file__).resolve().parents[2] / "extensions" / "lab"


def test_jest_unit_tests_pass() -> None:
    npm = shutil.which("npm")
    if npm is None or not (LAB / "node_modules" / ".bin" / "jest").exists():
        unavailable("npm or the lab extension's node_modules are missing (run scripts/setup.sh)")
    result = subprocess.run(
        [npm, "test", "--silent", "--", "--ci"],
        cwd=LAB,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Tests:" in output and "failed" not in output.split("Tests:")[1].split("\n")[0], output
