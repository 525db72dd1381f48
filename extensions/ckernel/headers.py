"""System headers, preprocessed once per notebook instead of once per cell.

Every cell's unit starts with the `#include <...>` lines of all cells so far. tcc
compiles a cell in about a millisecond, but preprocessing stdio.h, stdlib.h, string.h
and math.h takes it 15-20 ms, every time. So the kernel preprocesses the set of system
headers once (`tcc -E` for the declarations, `tcc -E -dM` for the macros they leave
defined) and gives tcc that text instead; the set changes only when a cell includes a
new header. gcc, which only explains errors, still sees the real `#include` lines.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Block:
    """Preprocessed system headers; the runner keeps them by key, so each cell sends
    only the key instead of ~100 kB of declarations."""

    key: str
    text: str


class HeaderCache:
    def __init__(self, workdir: Path, tcc: str | None = None) -> None:
        self.workdir = workdir
        self.tcc = tcc if tcc is not None else shutil.which("tcc")
        self._blocks: dict[str, Block | None] = {}
        self._predefined: set[str] | None = None

    def _run(self, args: list[str], source: Path) -> str | None:
        assert self.tcc is not None
        proc = subprocess.run(
            [self.tcc, *args, str(source)], capture_output=True, text=True, check=False
        )
        return proc.stdout if proc.returncode == 0 else None

    def _run_both(
        self, first: list[str], second: list[str], source: Path
    ) -> tuple[str | None, str | None]:
        """Both preprocessor runs at once (they take ~10 ms each)."""
        assert self.tcc is not None
        procs = [
            subprocess.Popen(
                [self.tcc, *args, str(source)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for args in (first, second)
        ]
        outs = [p.communicate()[0] for p in procs]
        results = [out if p.returncode == 0 else None for p, out in zip(procs, outs, strict=True)]
        return results[0], results[1]

    def _builtin_macros(self) -> set[str]:
        if self._predefined is None:
            empty = self.workdir / "empty.c"
            empty.write_text("\n")
            out = self._run(["-E", "-dM"], empty) or ""
            self._predefined = set(out.splitlines())
        return self._predefined

    def block(self, lines: list[str], options: list[str]) -> Block | None:
        """The preprocessed text of `lines` (feature-test #defines and system
        #includes), or None when it cannot be made (the unit then keeps its #includes)."""
        if not self.tcc or not lines:
            return None
        key = hashlib.sha256("\n".join([*options, "", *lines]).encode()).hexdigest()[:20]
        if key in self._blocks:
            return self._blocks[key]
        source = self.workdir / f"headers-{key}.c"
        source.write_text("\n".join(lines) + "\n")
        declarations, macros = self._run_both(["-E", *options], ["-E", "-dM", *options], source)
        block = None
        if declarations is not None and macros is not None:
            builtin = {_macro_name(m) for m in self._builtin_macros()}
            defined = [m for m in macros.splitlines() if _macro_name(m) not in builtin]
            block = Block(key, declarations + "\n" + "\n".join(defined) + "\n")
        self._blocks[key] = block
        return block

    def get(self, key: str) -> Block | None:
        return self._blocks.get(key)


def _macro_name(line: str) -> str:
    parts = line.split(None, 2)
    return parts[1].split("(")[0] if len(parts) > 1 else line
