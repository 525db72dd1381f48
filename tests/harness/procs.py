"""What this host's /proc says about running processes (for tests of CPU priorities)."""

from __future__ import annotations

import contextlib
from pathlib import Path


def nice_values(uids: set[int], cmdline_has: str = "") -> list[int]:
    """The nice value of every process run by one of `uids` (and whose command line holds
    `cmdline_has`, when given)."""
    nices = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):  # a process that ended meanwhile
            if proc.stat().st_uid not in uids:
                continue
            if cmdline_has and cmdline_has not in (proc / "cmdline").read_bytes().decode(
                errors="replace"
            ):
                continue
            # the command name may hold spaces and parentheses: count fields after its ")"
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            nices.append(int(fields[16]))
    return nices
