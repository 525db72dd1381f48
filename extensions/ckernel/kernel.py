"""The Jupyter kernel: ipykernel's Kernel speaking for a C session."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from ipykernel.kernelbase import Kernel
from IPython.core.error import StdinNotImplementedError
from traitlets import Bool, Enum, Float, Int, default

from . import __version__, build, completion
from .outcomes import Failure
from .session import Session, Settings
from .streams import OutputSink


def _env(name: str, fallback: Any, kind: type) -> Any:
    value = os.environ.get(name)
    if value is None or value == "":
        return fallback
    if kind is bool:
        return value.lower() in ("1", "true", "yes", "on")
    return kind(value)


def _tcc_version() -> str:
    tcc = shutil.which("tcc")
    if not tcc:
        return "libtcc"
    out = subprocess.run([tcc, "-v"], capture_output=True, text=True, check=False).stdout
    return out.split("(")[0].strip() or "tcc"


class CKernel(Kernel):
    implementation = "nbcampus-ckernel"
    implementation_version = __version__
    language = "c"
    language_version = "C17"
    language_info = {
        "name": "c",
        "version": "C17",
        "mimetype": "text/x-csrc",
        "file_extension": ".c",
        "codemirror_mode": "text/x-csrc",
        "pygments_lexer": "c",
    }
    banner = (
        "C kernel (nbcampus): the cells of a notebook form one program. Functions, types "
        "and globals of earlier cells stay defined; top-level statements run when their "
        "cell runs. Magics: //%cflags -lm, //%timeout 30, //%args a b, //%compiler gcc."
    )
    help_links = [{"text": "C reference", "url": "https://en.cppreference.com/w/c"}]

    timeout = Float(
        help="Seconds a cell may run before it is stopped (0: no limit). A cell can set "
        "its own with `//%timeout N`. Environment: NBCAMPUS_CKERNEL_TIMEOUT.",
    ).tag(config=True)
    output_limit = Int(
        help="Bytes of output shown per cell; the rest is dropped with a note, so an "
        "endless printf loop cannot freeze the Lab. Environment: "
        "NBCAMPUS_CKERNEL_OUTPUT_LIMIT.",
    ).tag(config=True)
    memory_limit_mb = Int(
        help="Address-space limit (RLIMIT_AS) of the process running the cells, in MiB; "
        "0 for none. The container's own limit still applies. Environment: "
        "NBCAMPUS_CKERNEL_MEMORY_MB.",
    ).tag(config=True)
    max_processes = Int(
        help="RLIMIT_NPROC for the process running the cells (counts all processes of "
        "the user, so it stops a fork bomb early); 0 for none. Environment: "
        "NBCAMPUS_CKERNEL_MAX_PROCESSES.",
    ).tag(config=True)
    compiler = Enum(
        ["tcc", "gcc"],
        help="Default compiler for cells: 'tcc' compiles in memory in about a "
        "millisecond; 'gcc' compiles each cell with gcc (slower, full GNU C). gcc "
        "always explains compile errors when it is installed. A cell can choose with "
        "`//%compiler gcc`. Environment: NBCAMPUS_CKERNEL_COMPILER.",
    ).tag(config=True)
    gcc_warnings = Bool(
        help="Check every cell with `gcc -Wall -fsyntax-only` (next to tcc's compile, before "
        "the cell runs): C that gcc rejects is not run and gcc's errors are shown, and "
        "gcc's warnings (printf format mismatches, unused variables, ...) replace tcc's, "
        "all with the cell's own lines. On by default when gcc is installed; see "
        "bench/ckernel_bench.py for its cost per cell. Environment: "
        "NBCAMPUS_CKERNEL_GCC_WARNINGS (0 to turn it off).",
    ).tag(config=True)

    @default("timeout")
    def _timeout_default(self) -> float:
        return _env("NBCAMPUS_CKERNEL_TIMEOUT", 10.0, float)

    @default("output_limit")
    def _output_limit_default(self) -> int:
        return _env("NBCAMPUS_CKERNEL_OUTPUT_LIMIT", 1_000_000, int)

    @default("memory_limit_mb")
    def _memory_default(self) -> int:
        return _env("NBCAMPUS_CKERNEL_MEMORY_MB", 2048, int)

    @default("max_processes")
    def _nproc_default(self) -> int:
        return _env("NBCAMPUS_CKERNEL_MAX_PROCESSES", 1024, int)

    @default("compiler")
    def _compiler_default(self) -> str:
        return _env("NBCAMPUS_CKERNEL_COMPILER", "tcc", str)

    @default("gcc_warnings")
    def _gcc_warnings_default(self) -> bool:
        return _env("NBCAMPUS_CKERNEL_GCC_WARNINGS", True, bool)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # ipykernel sleeps 0.5 ms before each reply to let captured Python output
        # flush; this kernel sends its output itself, so the pause is only latency.
        self._execute_sleep = 0.0
        self._silent_count = 0
        self._setup_error: str | None = None
        self.c_session: Session | None = None
        try:
            executable = str(build.runner_path())
            self.c_session = Session(self._settings(), executable)
            self.c_session.start()
        except Exception as exc:  # reported on every cell rather than a dead kernel
            self.log.exception("C kernel setup failed")
            self._setup_error = str(exc)
        self.banner = f"{self.banner}\nCompiler: {_tcc_version()} (gcc for diagnostics)."

    def _settings(self) -> Settings:
        return Settings(
            timeout=self.timeout,
            output_limit=self.output_limit,
            memory_mb=self.memory_limit_mb,
            max_processes=self.max_processes,
            compiler=self.compiler,
            gcc_warnings=self.gcc_warnings,
            cwd=os.getcwd(),
        )

    # -------------------------------------------------------------- execute
    def _stream(self, name: str, text: str) -> None:
        self.send_response(self.iopub_socket, "stream", {"name": name, "text": text})

    async def do_execute(  # type: ignore[override]
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool = False,
        *,
        cell_meta: dict[str, Any] | None = None,
        cell_id: str | None = None,
    ) -> dict[str, Any]:
        if silent:
            self._silent_count += 1
            label = f"silent[{self._silent_count}]"
        else:
            label = f"In[{self.execution_count}]"
        sink = OutputSink((lambda name, text: None) if silent else self._stream, self.output_limit)

        self._allow_stdin = allow_stdin  # ipykernel's raw_input() checks it

        def ask_input() -> str | None:
            if not allow_stdin:
                return None  # like a program run with </dev/null
            try:
                return self.raw_input("") + "\n"
            except (EOFError, StdinNotImplementedError):
                return None

        failure: Failure | None
        if self.c_session is None:
            failure = Failure("KernelSetupError", self._setup_error or "the kernel did not start")
        else:
            try:
                failure = self.c_session.execute(code, label, sink, ask_input)
            except KeyboardInterrupt:
                self.c_session.restart_runner()
                failure = Failure("KeyboardInterrupt", "the cell was interrupted")
            except Exception as exc:  # a kernel bug must not take the session down
                self.log.exception("executing a cell failed")
                failure = Failure("KernelError", f"{type(exc).__name__}: {exc}")
            finally:
                sink.close()
        if failure is None:
            return {
                "status": "ok",
                "execution_count": self.execution_count,
                "payload": [],
                "user_expressions": {},
            }
        if not silent:
            self.send_response(self.iopub_socket, "error", failure.content())
        return {"status": "error", "execution_count": self.execution_count, **failure.content()}

    # ------------------------------------------------------- editor support
    async def do_complete(self, code: str, cursor_pos: int) -> dict[str, Any]:  # type: ignore[override]
        program = self.c_session.program if self.c_session else None
        if program is None:
            return {
                "status": "ok",
                "matches": [],
                "cursor_start": cursor_pos,
                "cursor_end": cursor_pos,
                "metadata": {},
            }
        return completion.complete(code, cursor_pos, program)

    async def do_inspect(  # type: ignore[override]
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> dict[str, Any]:
        if self.c_session is None:
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}
        return completion.inspect(code, cursor_pos, self.c_session.program)

    async def do_is_complete(self, code: str) -> dict[str, str]:  # type: ignore[override]
        return completion.is_complete(code)

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:  # type: ignore[override]
        if self.c_session is not None:
            self.c_session.shutdown()
        return {"status": "ok", "restart": restart}
