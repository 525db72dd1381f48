"""gcc's check of a cell is cached by the text it checks and gcc's flags: a cell run again
unchanged gets the same verdict and diagnostics without running gcc; any change runs it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nbcampus.ckernel import toolchain

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")

BROKEN = "int square(int x) { return x * x }\n"


def test_a_cell_checked_again_unchanged_costs_no_gcc(tmp_path: Path) -> None:
    gcc = toolchain.Gcc(tmp_path, str(tmp_path))
    flags = toolchain.Flags()
    first = gcc.start_check(gcc.write_check(1, BROKEN), flags)
    assert isinstance(first.proc, subprocess.Popen)  # gcc ran
    out1, _ = first.communicate()
    plain = toolchain.strip_ansi(out1)
    assert first.returncode != 0 and "expected" in plain and "unit1-check.c" in plain
    again = gcc.start_check(gcc.write_check(2, BROKEN), flags)
    assert again.proc is None  # the cached verdict, no gcc
    out2, _ = again.communicate()
    assert again.returncode == first.returncode
    assert out2 == out1.replace("unit1-check.c", "unit2-check.c")
    # other text or other flags: gcc runs again
    fixed = gcc.start_check(gcc.write_check(3, BROKEN.replace("x }", "x; }")), flags)
    assert fixed.proc is not None and fixed.communicate()[0] == "" and fixed.returncode == 0
    other = gcc.start_check(gcc.write_check(4, BROKEN), toolchain.Flags(gcc_options=["-O1"]))
    assert other.proc is not None and other.communicate() and other.returncode != 0


def test_the_cache_keeps_the_latest_checks_only(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(toolchain, "CHECK_CACHE_SIZE", 2)
    gcc = toolchain.Gcc(tmp_path, str(tmp_path))
    flags = toolchain.Flags()
    for i in range(3):
        gcc.start_check(gcc.write_check(i, f"int v{i};\n"), flags).communicate()
    assert len(gcc._checks) == 2
    assert gcc.start_check(gcc.write_check(9, "int v0;\n"), flags).proc is not None  # evicted
    assert gcc.start_check(gcc.write_check(9, "int v2;\n"), flags).proc is None
