"""The runner process and the framed protocol the kernel speaks with it.

The runner (runner/nbc_runner.c) holds every loaded cell.  It is a child in its own
process group, so a time limit or an interrupt can kill it and whatever it forked
without touching the kernel; it dies with the kernel (PR_SET_PDEATHSIG), so a busy
loop never outlives a Lab session.
"""

from __future__ import annotations

import codecs
import os
import selectors
import signal
import struct
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_HEAD = struct.Struct("<cI")


class RunnerDied(RuntimeError):
    """The runner exited or could not be started."""


@dataclass
class CompileResult:
    ok: bool
    diagnostics: str
    functions: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    lens: dict[str, int] = field(default_factory=dict)


@dataclass
class Crash:
    signal: int
    code: int
    address: int
    in_cell: bool
    stack_overflow: bool
    unit: int | None
    function: str
    in_library: bool


@dataclass
class RunResult:
    """How a cell's code ended.

    kind: ok, exit (status), abort, assert (detail: expression, file, line, function),
    fell_off (detail: function), crash, timeout, interrupted, died.
    """

    kind: str
    status: int = 0
    detail: list[str] = field(default_factory=list)
    crash: Crash | None = None
    signal: int | None = None


class Runner:
    def __init__(
        self,
        executable: str,
        *,
        cwd: str | None = None,
        memory_mb: int = 0,
        max_processes: int = 0,
    ) -> None:
        self.executable = executable
        self.cwd = cwd
        self.memory_mb = memory_mb
        self.max_processes = max_processes
        self.proc: subprocess.Popen[bytes] | None = None
        self.arch = ""
        self._cmd_w = self._msg_r = self._raw_r = -1
        self._buf = b""
        self._partial = b""
        self._eof = False
        self.blocks: set[str] = set()  # header blocks this runner holds

    # ------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 10.0) -> None:
        cmd_r, cmd_w = os.pipe()
        msg_r, msg_w = os.pipe()
        raw_r, raw_w = os.pipe()
        env = dict(os.environ, LIBC_FATAL_STDERR_="1")
        args = [self.executable, f"--cmd-fd={cmd_r}", f"--msg-fd={msg_w}"]
        if self.memory_mb:
            args.append(f"--memory-mb={self.memory_mb}")
        if self.max_processes:
            args.append(f"--max-processes={self.max_processes}")
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=raw_w,
                stderr=raw_w,
                pass_fds=(cmd_r, msg_w),
                cwd=self.cwd,
                env=env,
                start_new_session=True,  # its own process group: killable as a whole
            )
        finally:
            for fd in (cmd_r, msg_w, raw_w):
                os.close(fd)
        self._cmd_w, self._msg_r, self._raw_r = cmd_w, msg_r, raw_r
        os.set_blocking(msg_r, False)
        os.set_blocking(raw_r, False)
        self._buf, self._partial, self._eof = b"", b"", False
        self.blocks = set()
        frame = self._next_message({"r"}, time.monotonic() + timeout, None)
        if frame is None:
            raise RunnerDied("the C runner did not start")
        self.arch = frame[1].decode()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and not self._eof

    def stop(self) -> int | None:
        """Kills the runner and its process group; returns the wait status' signal."""
        if self.proc is None:
            return None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        for fd in (self._cmd_w, self._msg_r, self._raw_r):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._cmd_w = self._msg_r = self._raw_r = -1
        self.proc = None
        return -code if code is not None and code < 0 else None

    # -------------------------------------------------------------- framing
    def _send(self, kind: str, payload: bytes) -> None:
        data = _HEAD.pack(kind.encode(), len(payload)) + payload
        try:
            view = memoryview(data)
            while view:
                n = os.write(self._cmd_w, view)
                view = view[n:]
        except (BrokenPipeError, OSError) as exc:
            raise RunnerDied("the C runner is gone") from exc

    def _frames(self) -> list[tuple[str, bytes]]:
        out = []
        while len(self._buf) >= 5:
            kind, length = _HEAD.unpack_from(self._buf)
            if len(self._buf) < 5 + length:
                break
            payload = self._buf[5 : 5 + length]
            self._buf = self._buf[5 + length :]
            k = kind.decode()
            if k == "M":
                self._partial += payload
                continue
            if self._partial:
                payload, self._partial = self._partial + payload, b""
            out.append((k, payload))
        return out

    def _pump(
        self,
        deadline: float | None,
        on_raw: Callable[[bytes], None] | None,
    ) -> list[tuple[str, bytes]]:
        """Reads what is available (waiting until `deadline`) and returns whole frames."""
        sel = selectors.DefaultSelector()
        if not self._eof:
            sel.register(self._msg_r, selectors.EVENT_READ, "msg")
        if self._raw_r >= 0:
            sel.register(self._raw_r, selectors.EVENT_READ, "raw")
        try:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not sel.get_map():
                return []
            for key, _ in sel.select(wait):
                fd = key.fd
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if key.data == "msg":
                    if not chunk:
                        self._eof = True
                    self._buf += chunk
                elif chunk:
                    if on_raw:
                        on_raw(chunk)
                else:
                    os.close(self._raw_r)
                    self._raw_r = -1
        finally:
            sel.close()
        return self._frames()

    def _next_message(
        self, kinds: set[str], deadline: float | None, on_raw: Callable[[bytes], None] | None
    ) -> tuple[str, bytes] | None:
        while True:
            for frame in self._frames():
                if frame[0] in kinds:
                    return frame
            if self._eof or (deadline is not None and time.monotonic() >= deadline):
                return None
            for frame in self._pump(deadline, on_raw):
                if frame[0] in kinds:
                    return frame

    # ------------------------------------------------------------- commands
    def define_block(self, key: str, text: str) -> None:
        """Gives the runner a header block that compiled sources may start with."""
        if key not in self.blocks:
            self._send("H", f"{key}\0{text}".encode())
            self.blocks.add(key)

    def compile(
        self,
        unit_id: int,
        mode: str,
        options: str,
        libraries: str,
        exclude: str,
        text: str,
        timeout: float = 60.0,
        block: str = "",
        declared: str = "",
    ) -> CompileResult:
        """Compiles and links a unit (not yet visible to other units, see run/commit).

        `block` names a header block (define_block) to put in front of the source;
        `declared` lists functions the unit may call before any cell defines them."""
        fields = [str(unit_id), mode, options, libraries, exclude, declared, block, text]
        payload = "\0".join(fields)
        self._send("C", payload.encode())
        frame = self._next_message({"c"}, time.monotonic() + timeout, None)
        if frame is None:
            raise RunnerDied("the C runner stopped while compiling")
        fields = frame[1].decode(errors="replace").split("\0")
        fields += [""] * (5 - len(fields))
        lens = {}
        for pair in fields[4].split():
            name, _, value = pair.partition("=")
            if value.isdigit():
                lens[name] = int(value)
        return CompileResult(
            fields[0] == "ok", fields[1], fields[2].split(), fields[3].split(), lens
        )

    def discard(self) -> None:
        self._send("X", b"")

    def commit(self, unit_id: int) -> None:
        """Makes a compiled unit's definitions visible without running it."""
        self._send("R", f"{unit_id}\0n".encode())
        if self._next_message({"d"}, time.monotonic() + 30, None) is None:
            raise RunnerDied("the C runner stopped while loading")

    def run(
        self,
        unit_id: int,
        main_kind: str,
        args: list[str],
        *,
        on_output: Callable[[str, str], None],
        on_input: Callable[[], str | None],
        flush: Callable[[], None],
        timeout: float | None,
    ) -> RunResult:
        """Runs a compiled unit, streaming its output until it ends.

        A KeyboardInterrupt (the Lab's interrupt) or the time limit kills the runner.
        """
        decoders = {
            "stdout": codecs.getincrementaldecoder("utf-8")("replace"),
            "stderr": codecs.getincrementaldecoder("utf-8")("replace"),
        }

        def emit(name: str, data: bytes) -> None:
            text = decoders[name].decode(data)
            if text:
                on_output(name, text)

        def raw(data: bytes) -> None:
            emit("stdout", data)

        payload = "\0".join([str(unit_id), main_kind, *args])
        deadline = None if not timeout else time.monotonic() + timeout
        crash: Crash | None = None
        try:
            self._send("R", payload.encode())
            while True:
                if deadline is not None and time.monotonic() >= deadline:
                    self._halt(emit, raw)
                    flush()
                    return RunResult("timeout")
                # Wake at least every 50 ms so batched output is sent even while the
                # program is quiet (a sleep between two lines).
                wake = time.monotonic() + 0.05
                frames = self._pump(wake if deadline is None else min(wake, deadline), raw)
                for kind, data in frames:
                    if kind == "o":
                        emit("stdout", data)
                    elif kind == "e":
                        emit("stderr", data)
                    elif kind == "i":
                        flush()
                        started = time.monotonic()
                        value = on_input()
                        if deadline is not None:  # waiting for a person is not run time
                            deadline += time.monotonic() - started
                        self._send("I", b"0" if value is None else b"1" + value.encode())
                    elif kind == "d":
                        self._drain_raw(raw)
                        flush()
                        fields = data.decode(errors="replace").split("\0")
                        if fields[-1] == "":
                            fields.pop()
                        fields += ["ok", "0"][len(fields) :]
                        return RunResult(fields[0], int(fields[1] or 0), fields[2:])
                    elif kind == "k":
                        crash = _crash(data)
                flush()
                if self._eof:
                    self._drain_raw(raw)
                    flush()
                    sig = self.stop()
                    return RunResult("crash" if crash else "died", crash=crash, signal=sig)
        except KeyboardInterrupt:
            self._halt(emit, raw)
            flush()
            return RunResult("interrupted")
        except RunnerDied:
            self._drain_raw(raw)
            flush()
            sig = self.stop()
            return RunResult("crash" if crash else "died", crash=crash, signal=sig)

    def _drain_raw(self, raw: Callable[[bytes], None]) -> None:
        end = time.monotonic() + 0.05
        while self._raw_r >= 0 and time.monotonic() < end:
            try:
                chunk = os.read(self._raw_r, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            raw(chunk)

    def _halt(self, emit: Callable[[str, bytes], None], raw: Callable[[bytes], None]) -> None:
        """Collects what the program had buffered, then kills it."""
        if self.alive and self.proc is not None:
            try:
                os.kill(self.proc.pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass
            end = time.monotonic() + 0.3
            while not self._eof and time.monotonic() < end:
                for kind, data in self._pump(end, raw):
                    if kind in ("o", "e"):
                        emit("stdout" if kind == "o" else "stderr", data)
                    elif kind == "f":
                        end = 0.0
        self.stop()


def _crash(data: bytes) -> Crash:
    f = data.decode(errors="replace").split("\0")
    f += [""] * (9 - len(f))

    def num(s: str, base: int = 10) -> int:
        try:
            return int(s, base)
        except ValueError:
            return 0

    return Crash(
        signal=num(f[0]),
        code=num(f[1]),
        address=num(f[2], 16),
        in_cell=f[3] == "1",
        stack_overflow=f[4] == "1",
        unit=num(f[5]) if f[5] else None,
        function=f[6],
        in_library=f[7] == "library",
    )
