"""Compiler flags, the gcc driver and how diagnostics are shown.

Cells are compiled in memory by libtcc inside the runner (about a millisecond each).
gcc is used where it is better: to explain a compile error (its messages point at the
exact column and show the line), to compile what tcc does not support (the unit is
then loaded as an object file), for `//%compiler gcc`, and optionally to add gcc's
warnings.  Diagnostics are rewritten so they name the cell's own lines ("line 3:5")
instead of generated file names.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import shutil
import subprocess
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_GENERATED_FN = re.compile(
    r"(?m)^[^\n]*In function ‘(?:\x1b\[[0-9;]*[A-Za-z])*__nbc_run\b[^\n]*\n?"
)
_TCC_PASS = ("-D", "-U", "-I", "-L", "-W", "-w", "-std=", "-O", "-g")
_DIAG_HEAD = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<kind>[a-z ]+?): ")


@dataclass
class Flags:
    tcc_options: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)
    gcc_options: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.tcc_options or self.libraries or self.gcc_options)


class FlagError(ValueError):
    """A `//%cflags` line that cannot be split like a shell command."""


def parse_flags(text: str) -> Flags:
    """Splits `//%cflags` text: -l goes to the loader, the rest to the compilers."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise FlagError(f"cannot read the flags {text!r}: {exc}") from exc
    flags = Flags()
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("-l", "-D", "-U", "-I", "-L") and i + 1 < len(words):
            w = w + words[i + 1]
            i += 1
        i += 1
        if w.startswith("-l") and len(w) > 2:
            flags.libraries.append(w[2:])
            continue
        flags.gcc_options.append(w)
        if w.startswith(_TCC_PASS):
            flags.tcc_options.append(w)
    return flags


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def present(diagnostics: str, label: str) -> str:
    """Diagnostics as a student reads them: "line 3:5: error: ..." for this cell."""
    text = re.sub(re.escape(label) + r":(\d+):", r"line \1:", diagnostics)
    text = re.sub(re.escape(label) + r":((?:\x1b\[[0-9;]*[A-Za-z])*) In ", r"\1In ", text)
    # The cell's top-level statements run in a generated function: no need to name it.
    text = _GENERATED_FN.sub("", text)
    return re.sub(r"(?m)^tcc: error: ", "error: ", text)


def groups(diagnostics: str) -> list[tuple[str, str, list[str]]]:
    """Splits compiler output into (file, kind, lines) groups, one per diagnostic."""
    result: list[tuple[str, str, list[str]]] = []
    context: list[str] = []
    for line in diagnostics.splitlines():
        plain = strip_ansi(line)
        m = _DIAG_HEAD.match(plain)
        if m:
            result.append((m.group("file"), m.group("kind"), context + [line]))
            context = []
        elif plain.endswith(":") and ": In " in plain or plain.startswith("In file included"):
            context.append(line)
        elif result and not plain.startswith(("tcc:", "error:")):
            result[-1][2].append(line)
        else:
            kind = "error" if "error" in plain else "note"
            result.append(("", kind, context + [line]))
            context = []
    return result


def select(diagnostics: str, label: str, kinds: tuple[str, ...]) -> str:
    """The diagnostics of the given kinds; warnings only for this cell's own lines
    (a warning about an earlier cell was shown when that cell ran)."""
    kept = []
    for file, kind, lines in groups(diagnostics):
        base = "warning" if "warning" in kind else ("error" if "error" in kind else kind)
        if base not in kinds:
            continue
        if base == "warning" and file != label:
            continue
        kept.extend(lines)
    return "\n".join(kept)


def merge_warnings(gcc: str, tcc: str, label: str) -> str:
    """gcc's diagnostics of a cell, and tcc's warnings on the cell's lines gcc said nothing
    about: `gcc -fsyntax-only` does no flow analysis, so tcc's "function might return no
    value" stays."""
    said = set()
    for file, _kind, lines in groups(strip_ansi(gcc)):
        m = next((_DIAG_HEAD.match(x) for x in lines if _DIAG_HEAD.match(x)), None)
        if file == label and m:
            said.add(m.group("line"))
    extra = []
    for file, kind, lines in groups(tcc):
        m = next(
            (_DIAG_HEAD.match(strip_ansi(x)) for x in lines if _DIAG_HEAD.match(strip_ansi(x))),
            None,
        )
        if file == label and "warning" in kind and m and m.group("line") not in said:
            extra.extend(lines)
    return "\n".join([gcc.rstrip("\n"), *extra]) if extra else gcc


def first_error(diagnostics: str, label: str) -> str:
    """One line for an error's evalue, e.g. "line 3: 'x' undeclared"."""
    for file, kind, lines in groups(strip_ansi(diagnostics)):
        if "error" not in kind:
            continue
        head = next((x for x in lines if _DIAG_HEAD.match(x)), None)
        m = _DIAG_HEAD.match(head) if head else None
        if head is None or m is None:
            return re.sub(r"^(tcc: )?error: ", "", lines[-1].strip())
        where = "line" if file == label else f"{file} line"
        return f"{where} {m.group('line')}: {head[m.end() :].strip()}"
    text = strip_ansi(diagnostics).strip()
    return text.splitlines()[0] if text else "the cell did not compile"


def is_link_error(diagnostics: str) -> bool:
    return "undefined symbol" in diagnostics or "library not found" in diagnostics


CHECK_FILE = "\0check\0"  # the check file's name in a cached verdict
CHECK_CACHE_SIZE = 256


class Check:
    """A running (or cached) gcc check: `communicate()` and `returncode` as a Popen's. A
    finished run's verdict goes into the cache it came with."""

    def __init__(
        self,
        proc: subprocess.Popen[str] | None,
        returncode: int = 0,
        output: str = "",
        store: tuple[OrderedDict[str, tuple[int, str]], str, str] | None = None,
    ) -> None:
        self.proc = proc
        self.returncode = returncode
        self.output = output
        self.store = store

    def communicate(self) -> tuple[str, None]:
        if self.proc is not None:
            out, _ = self.proc.communicate()
            self.output, self.returncode, self.proc = out or "", self.proc.returncode, None
            if self.store is not None:
                cache, key, name = self.store
                cache[key] = (self.returncode, self.output.replace(name, CHECK_FILE))
                while len(cache) > CHECK_CACHE_SIZE:
                    cache.popitem(last=False)
        return self.output, None


class Gcc:
    """gcc, when it is installed, run in the session's scratch directory."""

    def __init__(self, workdir: Path, cwd: str) -> None:
        self.path = shutil.which("gcc") or shutil.which("cc")
        self._pch: dict[str, subprocess.Popen[bytes] | bool] = {}
        self._checks: OrderedDict[str, tuple[int, str]] = OrderedDict()  # key -> verdict
        self.workdir = workdir
        self.cwd = cwd

    @property
    def available(self) -> bool:
        return self.path is not None

    def _base(self, flags: Flags, warnings: bool) -> list[str]:
        assert self.path is not None
        args = [self.path, "-fPIC", "-fdiagnostics-color=always", "-iquote", self.cwd]
        args += ["-I", self.cwd, "-Wall"] if warnings else ["-I", self.cwd]
        return args + flags.gcc_options

    def write_sources(self, unit_id: int, label: str, code: str, source: str) -> Path:
        """The unit as a file, and the cell under its label so gcc can quote its lines."""
        (self.workdir / label).write_text(code)
        path = self.workdir / f"unit{unit_id}.c"
        path.write_text(source)
        return path

    def precompiled(self, key: str, lines: list[str], flags: Flags) -> str | None:
        """A header of the notebook's system #includes (and feature macros), precompiled
        once per set and flags, for the check of every cell: parsing stdio.h, stdlib.h,
        string.h and math.h is most of what `gcc -fsyntax-only` costs a cell. It is built in
        the background; until it is there (and if it cannot be built), None: the cell is
        checked with the plain #include lines. gcc reads the header's text when the .gch
        does not fit, so the check's verdict never depends on it."""
        opts = self._base(flags, True)
        name = f"pch-{hashlib.sha256(chr(0).join([key, *opts]).encode()).hexdigest()[:16]}.h"
        state = self._pch.get(name)
        if state is None:
            header = self.workdir / name
            header.write_text("\n".join(lines) + "\n")
            self._pch[name] = subprocess.Popen(
                [*opts, "-x", "c-header", str(header), "-o", str(header) + ".gch"],
                cwd=self.workdir,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            return None
        if isinstance(state, subprocess.Popen):
            if state.poll() is None:
                return None  # still building
            self._pch[name] = state.returncode == 0
        return name if self._pch[name] else None

    def write_check(self, unit_id: int, source: str) -> Path:
        """The unit as gcc checks it (Unit.check_source), beside the unit's file."""
        path = self.workdir / f"unit{unit_id}-check.c"
        path.write_text(source)
        return path

    def start_check(self, path: Path, flags: Flags) -> Check:
        """`gcc -Wall -fsyntax-only` of a check file, started (it runs beside tcc's compile),
        or its verdict from the cache when the same text was checked with the same flags:
        a cell run again unchanged costs no gcc at all."""
        args = [*self._base(flags, True), "-fsyntax-only"]
        text = path.read_text()
        key = hashlib.sha256(chr(0).join([*args, text]).encode()).hexdigest()
        hit = self._checks.get(key)
        if hit is not None:
            self._checks.move_to_end(key)
            return Check(None, hit[0], hit[1].replace(CHECK_FILE, path.name))
        proc = subprocess.Popen(
            [*args, str(path)],
            cwd=self.workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return Check(proc, store=(self._checks, key, path.name))

    def check(self, path: Path, flags: Flags) -> tuple[bool, str]:
        proc = self.start_check(path, flags)
        out, _ = proc.communicate()
        return proc.returncode == 0, out

    def compile_object(self, path: Path, flags: Flags, warnings: bool) -> tuple[bool, str, Path]:
        obj = path.with_suffix(".o")
        proc = subprocess.run(
            [*self._base(flags, warnings), "-O0", "-c", str(path), "-o", str(obj)],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.returncode == 0, proc.stderr, obj
