"""Turning what happened to a cell into an error a student understands.

Each failure becomes (ename, evalue, traceback) exactly like a Python exception in
an execute reply and an `error` output, which is what nbgrader looks for.
"""

from __future__ import annotations

import signal as _signal
from dataclasses import dataclass, field

from .runner import Crash, RunResult

RED, RESET = "\x1b[0;31m", "\x1b[0m"
RESTART_NOTE = (
    "The C runner was restarted: functions, types and globals from earlier cells were "
    "loaded again (globals hold their initial values)."
)


@dataclass
class Failure:
    ename: str
    evalue: str
    details: list[str] = field(default_factory=list)

    @property
    def traceback(self) -> list[str]:
        return [f"{RED}{self.ename}{RESET}: {self.evalue}", *self.details]

    def content(self) -> dict[str, object]:
        return {"ename": self.ename, "evalue": self.evalue, "traceback": self.traceback}


def compile_failure(first: str, diagnostics: str) -> Failure:
    return Failure("CompileError", first, diagnostics.splitlines())


def link_failure(diagnostics: str) -> Failure:
    names = []
    for line in diagnostics.splitlines():
        if "undefined symbol" in line:
            names.append(line.split("undefined symbol", 1)[1].strip(" '\""))
    if names:
        listed = ", ".join(f"'{n}'" for n in dict.fromkeys(names))
        return Failure(
            "LinkError",
            f"undefined symbol {listed}",
            [
                "No cell defines it: run the cell that defines it first, or check the name.",
                *diagnostics.splitlines(),
            ],
        )
    return Failure("LinkError", diagnostics.strip().splitlines()[0], diagnostics.splitlines())


def _where(crash: Crash | None, labels: dict[int, str]) -> str:
    if crash is None or not crash.function:
        return ""
    label = labels.get(crash.unit or -1, "")
    cell = f" ({label})" if label else ""
    if crash.function == "__nbc_run":
        place = f"in the top-level code of the cell{cell}"
    else:
        place = f"in {crash.function}(){cell}"
    if crash.in_library:
        return f" inside a library function called {place}"
    return f" {place}"


def _signal_failure(sig: int, crash: Crash | None, labels: dict[int, str]) -> Failure:
    where = _where(crash, labels)
    if crash and crash.stack_overflow:
        return Failure(
            "StackOverflow",
            f"the stack overflowed{where}: is there a recursion without an end?",
        )
    if sig == _signal.SIGSEGV:
        hint = ""
        if crash and crash.address < 4096:
            hint = " (a NULL pointer was dereferenced)"
        elif crash and crash.code == 2:
            hint = " (a write to read-only memory, such as a string literal?)"
        return Failure("SegmentationFault", f"invalid memory access{where}{hint}")
    if sig == _signal.SIGFPE:
        if crash and crash.code in (1, 2):  # FPE_INTDIV, FPE_INTOVF
            what = "integer division by zero" if crash.code == 1 else "integer overflow"
            return Failure("ZeroDivisionError", f"{what}{where}")
        return Failure("FloatingPointError", f"arithmetic error{where}")
    if sig == _signal.SIGBUS:
        return Failure("BusError", f"misaligned or invalid memory access{where}")
    if sig == _signal.SIGILL:
        return Failure("IllegalInstruction", f"the program executed an invalid instruction{where}")
    if sig == _signal.SIGABRT:
        return Failure(
            "Abort",
            f"the program aborted{where} (the C library found corrupted memory, "
            "for example a double free or a write past the end of an array)",
        )
    if sig == _signal.SIGKILL:
        return Failure(
            "Killed",
            "the program was killed (out of memory, or a resource limit was reached)",
        )
    try:
        name = _signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    return Failure("Crash", f"the program was stopped by {name}{where}")


def run_failure(result: RunResult, labels: dict[int, str], timeout: float | None) -> Failure | None:
    """The failure a run ended with, or None when it went well."""
    kind = result.kind
    if kind == "ok":
        return None
    if kind == "exit":
        return Failure("NonZeroExit", f"the program exited with status {result.status}")
    if kind == "abort":
        return Failure("Abort", "abort() was called")
    if kind == "assert":
        expr, file, line, func = (result.detail + ["", "", "", ""])[:4]
        place = f"{file}, line {line}" if file else f"line {line}"
        if func and func != "__nbc_run":
            place += f", in {func}()"
        return Failure("AssertionError", f"{expr}", [f"assertion failed at {place}"])
    if kind == "fell_off":
        func = result.detail[0] if result.detail else "a function"
        return Failure(
            "MissingReturnError",
            f"{func}() reached the end of its body without returning a value",
        )
    if kind == "undefined":
        name = result.detail[0] if result.detail else "a function"
        return Failure(
            "UndefinedFunctionError",
            f"{name}() is declared but no cell defines it yet",
            ["Run the cell that defines it, then this cell again."],
        )
    if kind == "timeout":
        limit = f"{timeout:g} s" if timeout else "the time limit"
        return Failure(
            "TimeoutError",
            f"the cell ran longer than {limit} and was stopped (an endless loop?)",
            [RESTART_NOTE],
        )
    if kind == "interrupted":
        return Failure("KeyboardInterrupt", "the cell was interrupted", [RESTART_NOTE])
    sig = result.crash.signal if result.crash else result.signal
    if sig is None:
        failure = Failure("Crash", "the C runner stopped unexpectedly")
    else:
        failure = _signal_failure(sig, result.crash, labels)
    failure.details.append(RESTART_NOTE)
    return failure
