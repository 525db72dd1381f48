"""One notebook's C session: cells in, output and failures out.

Ties together the cell → unit builder (program.py), the runner process (runner.py),
gcc (toolchain.py) and the failure messages (outcomes.py), without anything Jupyter
specific, so it can be driven and tested on its own.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import cparse, outcomes, toolchain
from .headers import Block, HeaderCache
from .outcomes import Failure
from .program import FELL_OFF, Loaded, Program, Unit
from .runner import CompileResult, Runner, RunnerDied
from .streams import OutputSink
from .toolchain import Flags, Gcc

log = logging.getLogger(__name__)

COMPILERS = ("tcc", "gcc")


@dataclass
class Settings:
    timeout: float = 10.0  # seconds per cell; 0 means no limit
    output_limit: int = 1_000_000  # bytes of output per cell
    memory_mb: int = 0  # address-space limit of the runner; 0 means none
    max_processes: int = 0  # RLIMIT_NPROC for the runner; 0 means none
    compiler: str = "tcc"
    gcc_warnings: bool = True  # gcc -Wall -fsyntax-only on every cell: its errors and warnings
    cwd: str = field(default_factory=os.getcwd)


@dataclass
class CellOptions:
    flags: Flags = field(default_factory=Flags)
    compiler: str = ""
    timeout: float | None = None
    args: list[str] = field(default_factory=list)


class Session:
    def __init__(self, settings: Settings, runner_executable: str) -> None:
        self.settings = settings
        self.executable = runner_executable
        self.workdir = Path(tempfile.mkdtemp(prefix="nbc-kernel-"))
        self.gcc = Gcc(self.workdir, settings.cwd)
        self.headers = HeaderCache(self.workdir)
        self.program = Program()
        self.labels: dict[int, str] = {}
        self.runner: Runner | None = None

    # ------------------------------------------------------------ lifecycle
    def _new_runner(self) -> Runner:
        runner = Runner(
            self.executable,
            cwd=self.settings.cwd,
            memory_mb=self.settings.memory_mb,
            max_processes=self.settings.max_processes,
        )
        runner.start()
        return runner

    def start(self) -> None:
        self.runner = self._new_runner()

    def restart_runner(self) -> list[str]:
        """A fresh runner with every loaded unit loaded again; returns problems."""
        if self.runner is not None:
            self.runner.stop()
        self.runner = self._new_runner()
        problems = []
        for loaded in self.program.history:
            block = self.headers.get(loaded.block) if loaded.block else None
            if block is not None:
                self.runner.define_block(block.key, block.text)
            result = self.runner.compile(
                loaded.id,
                loaded.mode,
                loaded.options,
                loaded.libraries,
                loaded.exclude,
                loaded.text,
                block=loaded.block,
                declared=loaded.declared,
            )
            if result.ok:
                self.runner.commit(loaded.id)
            else:
                label = self.labels.get(loaded.id, "?")
                problems.append(f"{label} could not be loaded again")
                log.warning("replaying %s failed: %s", label, result.diagnostics)
        return problems

    def shutdown(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -------------------------------------------------------------- execute
    def execute(
        self,
        code: str,
        label: str,
        sink: OutputSink,
        ask_input: Callable[[], str | None],
    ) -> Failure | None:
        """Compiles, loads and runs one cell; returns its failure, if any."""
        options = self._options(code)
        if isinstance(options, Failure):
            return options
        try:
            if not cparse.tokenize(code):
                return None
            unit = self.program.build(code, label, headers=self._header_block(options))
        except cparse.Incomplete as exc:
            return Failure("CompileError", f"the cell ends inside an {exc}")
        if self.runner is None or not self.runner.alive:
            self.restart_runner()
        assert self.runner is not None
        try:
            compiled = self._compile(unit, options, sink)
        except RunnerDied:
            self.restart_runner()
            return Failure(
                "CompileError", "the compiler stopped unexpectedly", [outcomes.RESTART_NOTE]
            )
        if isinstance(compiled, Failure):
            return compiled
        unit, loaded, result = compiled
        self.program.commit(unit, loaded, result.lens)
        self.labels[unit.id] = label
        if not unit.runs_code:
            try:
                self.runner.commit(unit.id)
            except RunnerDied:
                self.restart_runner()  # the replay loads this unit too
            return None

        def ask() -> str | None:
            sink.flush()
            return ask_input()

        timeout = self.settings.timeout if options.timeout is None else options.timeout
        run = self.runner.run(
            unit.id,
            unit.main_kind,
            options.args,
            on_output=sink.write,
            on_input=ask,
            flush=sink.tick,
            timeout=timeout or None,
        )
        failure = outcomes.run_failure(run, self.labels, timeout)
        if run.kind in ("crash", "died", "timeout", "interrupted"):
            problems = self.restart_runner()
            if failure is not None:
                failure.details.extend(problems)
        return failure

    def _header_block(self, options: CellOptions) -> Callable[[list[str]], Block | None]:
        defines = [f for f in options.flags.tcc_options if f.startswith(("-D", "-U", "-I"))]
        return lambda lines: self.headers.block(lines, [*defines, "-I", self.settings.cwd])

    def _options(self, code: str) -> CellOptions | Failure:
        options = CellOptions()
        for name, value in cparse.magics(code):
            if name == "cflags":
                try:
                    more = toolchain.parse_flags(value)
                except toolchain.FlagError as exc:
                    return Failure("UsageError", str(exc))
                options.flags.tcc_options += more.tcc_options
                options.flags.libraries += more.libraries
                options.flags.gcc_options += more.gcc_options
            elif name == "compiler":
                if value not in COMPILERS:
                    return Failure(
                        "UsageError", f"//%compiler must be one of {', '.join(COMPILERS)}"
                    )
                options.compiler = value
            elif name == "timeout":
                try:
                    options.timeout = float(value)
                except ValueError:
                    return Failure("UsageError", f"//%timeout needs seconds, not {value!r}")
            elif name == "args":
                options.args = shlex.split(value)
        return options

    def _compile(
        self, unit: Unit, options: CellOptions, sink: OutputSink, reinit: bool = True
    ) -> tuple[Unit, Loaded, CompileResult] | Failure:
        assert self.runner is not None
        flags = options.flags
        engine = options.compiler or self.settings.compiler
        label = unit.label
        tcc_options = " ".join(["-Wall", *flags.tcc_options])
        libraries = " ".join(flags.libraries)
        exclude = " ".join(unit.exclude)
        path = check = None
        if self.gcc.available and (engine == "gcc" or self.settings.gcc_warnings):
            path = self.gcc.write_sources(unit.id, label, unit.code, unit.gcc_source)
            check = self.gcc.write_check(unit.id, self._check_source(unit, flags))
        warnings = ""
        if engine == "gcc":
            if path is None or check is None:
                return Failure("CompileError", "gcc is not installed")
            lint = self.gcc.start_check(check, flags)
            ok, diagnostics, obj = self.gcc.compile_object(path, flags, warnings=True)
            out, _ = lint.communicate()
            if lint.returncode != 0:
                return self._compile_failure(out, label)
            if not ok:
                return self._compile_failure(diagnostics, label)
            diagnostics = out
            mode, text, block = "obj", str(obj), ""
            declared = " ".join(unit.declared_functions(self.program))
            result = self.runner.compile(
                unit.id, mode, tcc_options, libraries, exclude, text, declared=declared
            )
            warnings = diagnostics
        else:
            lint = self.gcc.start_check(check, flags) if check is not None else None
            mode, text = "src", unit.source
            block = unit.block.key if unit.block else ""
            if unit.block is not None:
                self.runner.define_block(unit.block.key, unit.block.text)
            declared = " ".join(unit.declared_functions(self.program))
            result = self.runner.compile(
                unit.id,
                mode,
                tcc_options,
                libraries,
                exclude,
                text,
                block=block,
                declared=declared,
            )
            warnings = result.diagnostics
            if lint is not None:
                out, _ = lint.communicate()
                if result.ok and lint.returncode != 0:
                    # C that gcc rejects (a missing `;`, a string returned as a double) is not
                    # run although tcc took it: students learn C that compiles elsewhere.
                    self.runner.discard()
                    return self._compile_failure(out, label)
                if result.ok:
                    warnings = toolchain.merge_warnings(out, result.diagnostics, label)
            if not result.ok and not toolchain.is_link_error(result.diagnostics):
                fallback = self._gcc_fallback(unit, flags, tcc_options, libraries, exclude)
                if isinstance(fallback, Failure):
                    return fallback
                if fallback is not None:
                    result, mode, text, warnings = fallback
                    block = ""
        if not result.ok:
            if toolchain.is_link_error(result.diagnostics):
                return outcomes.link_failure(toolchain.present(result.diagnostics, label))
            return self._compile_failure(result.diagnostics, label)
        if reinit and self.program.reinit_conflicts(unit, result.lens):
            # A global changed size (say `int a[N]` with a new N): new storage after all.
            self.runner.discard()
            rebuilt = self.program.build(
                unit.code, label, reinit=False, headers=self._header_block(options)
            )
            return self._compile(rebuilt, options, sink, reinit=False)
        shown = toolchain.select(warnings, label, ("warning",))
        if shown:
            sink.write("stderr", toolchain.present(shown, label) + "\n")
        declared = " ".join(unit.declared_functions(self.program))
        loaded = Loaded(unit.id, mode, block, tcc_options, libraries, exclude, text, declared)
        return unit, loaded, result

    def _check_source(self, unit: Unit, flags: Flags) -> str:
        """What gcc checks: the cell as written, after the notebook's system headers (as
        tcc gets them), precompiled once per set, so a cell's check costs little more
        than gcc's start; the plain #include lines when they cannot be precompiled."""
        if unit.block is not None and unit.header_lines:
            header = self.gcc.precompiled(unit.block.key, unit.header_lines, flags)
            if header is not None:
                return f'#include "{header}"\n' + unit.source.replace(FELL_OFF, "")
        return unit.check_source

    def _gcc_fallback(
        self, unit: Unit, flags: Flags, tcc_options: str, libraries: str, exclude: str
    ) -> tuple[CompileResult, str, str, str] | Failure | None:
        """gcc's view of a unit tcc rejected: its error message, or its object file
        when gcc accepts the code (GNU C that tcc does not know)."""
        assert self.runner is not None
        if not self.gcc.available:
            return None
        path = self.gcc.write_sources(unit.id, unit.label, unit.code, unit.gcc_source)
        check = self.gcc.write_check(unit.id, self._check_source(unit, flags))
        ok, diagnostics = self.gcc.check(check, flags)
        if not ok:
            return self._compile_failure(diagnostics, unit.label)
        ok, compiled, obj = self.gcc.compile_object(path, flags, warnings=False)
        if not ok:
            return None
        declared = " ".join(unit.declared_functions(self.program))
        result = self.runner.compile(
            unit.id, "obj", tcc_options, libraries, exclude, str(obj), declared=declared
        )
        if not result.ok and not toolchain.is_link_error(result.diagnostics):
            return None
        return result, "obj", str(obj), diagnostics

    @staticmethod
    def _compile_failure(diagnostics: str, label: str) -> Failure:
        kinds = ("error", "warning", "note")
        shown = toolchain.select(diagnostics, label, kinds) or diagnostics
        return outcomes.compile_failure(
            toolchain.first_error(diagnostics, label), toolchain.present(shown, label)
        )
