"""An IPython kernel that talks to the grader over one socket instead of ZeroMQ (sandbox side).

A grading kernel lives for one notebook of one submission and has one client, the grader.
IPython's kernel application gives it what a kernel shared by many clients needs: five ZeroMQ
sockets, message signing, a heartbeat and some ten threads (IOPub, control, shell channel,
heartbeat, ZeroMQ's own, two output watchers). Starting and stopping those cost each kernel
more CPU than the three short cells of a typical notebook, and a submission runs three or
four kernels.

Here the same kernel object (ipykernel's IPythonKernel, with its `execute_request`,
`do_execute`, display hook, display publisher, traceback and input handling) runs its
requests one after another on this process's only thread, and reads and writes Jupyter
messages, unchanged, as length-prefixed JSON frames on a Unix socket the grader handed it
while it was still root: no other process can connect to it. What IPython's own application
does besides the sockets (its configuration, signal handling, matplotlib's inline backend,
extensions, startup code) is done as there, by that application's own methods.

Standard library and ipykernel only: this file runs inside the sandbox, beside zygote.py.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import itertools
import os
import secrets
import select
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ipykernel.displayhook import ZMQDisplayHook
from ipykernel.kernelapp import IPKernelApp
from jupyter_client.session import Session, extract_header, json_packer, json_unpacker

FRAME = struct.Struct("!I")
# A frame larger than this is a broken stream, not a message (the grader's output limit
# stops a kernel long before).
MAX_FRAME = 256 * 1024 * 1024
SHELL, IOPUB = "shell", "iopub"
# (file name, source, function) -> what the fork server's run of that code returned, made
# before the fork (zygote.prepare_code): the tamper guard's claim. A kernel takes it out.
prepared: dict[tuple[str, str, str], Any] = {}


def send_all(sock: socket.socket, data: bytes, timeout: float | None = None) -> bool:
    """Write all of `data` to a non-blocking socket, waiting while it is full; False if it
    stayed full for `timeout` seconds."""
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except (BlockingIOError, InterruptedError):
            if not select.select([], [sock], [], timeout)[1]:
                return False
    return True


def take_frame(buf: bytearray) -> bytes | None:
    """The body of the first whole frame in `buf`, taken out of it; None until a whole one
    has arrived. ValueError for a frame past MAX_FRAME: the stream is broken."""
    if len(buf) < FRAME.size:
        return None
    (size,) = FRAME.unpack_from(buf)
    if size > MAX_FRAME:
        raise ValueError("a frame beyond the size bound")
    if len(buf) < FRAME.size + size:
        return None
    body = bytes(buf[FRAME.size : FRAME.size + size])
    del buf[: FRAME.size + size]
    return body


class Wire:
    """Length-prefixed JSON frames on the socket; writes from any thread (a student's thread
    may print), reads on the kernel's thread only."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._write = threading.Lock()
        self._buf = bytearray()

    def send(self, channel: str, msg: dict[str, Any]) -> None:
        body = json_packer({"channel": channel, "msg": msg})
        with self._write:
            send_all(self.sock, FRAME.pack(len(body)) + body)

    def _frame(self) -> dict[str, Any] | None:
        body = take_frame(self._buf)
        return None if body is None else json_unpacker(body)

    async def recv(self) -> dict[str, Any] | None:
        """The next message from the grader; None once it has closed the socket."""
        loop = asyncio.get_running_loop()
        while True:
            frame = self._frame()
            if frame is not None:
                return frame
            chunk = await loop.sock_recv(self.sock, 1 << 16)
            if not chunk:
                return None
            self._buf += chunk

    def pending(self) -> list[dict[str, Any]]:
        """The messages already sent to this kernel, read without waiting (the socket is
        non-blocking, as asyncio's sock_recv wants it)."""
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                break
            if not chunk:
                break
            self._buf += chunk
        out = []
        while (frame := self._frame()) is not None:
            out.append(frame)
        return out


class PipeSession(Session):
    """A Session whose `send` writes the message to the wire: IOPub messages (outputs,
    status) and shell replies go to the same socket, each frame naming its channel."""

    def send(  # type: ignore[override]
        self,
        stream: Any,
        msg_or_type: dict[str, Any] | str,
        content: dict[str, Any] | None = None,
        parent: dict[str, Any] | None = None,
        ident: Any = None,
        buffers: list[Any] | None = None,
        track: bool = False,
        header: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if isinstance(msg_or_type, dict):
            msg = msg_or_type
        else:
            msg = self.msg(
                msg_or_type, content=content, parent=parent, header=header, metadata=metadata
            )
        self.wire.send(SHELL if stream == SHELL else IOPUB, msg)
        return msg


class PipeStream(io.TextIOBase):
    """sys.stdout / sys.stderr of the kernel: text goes out as `stream` messages, as with
    ipykernel's OutStream (gathered, sent at most every 0.2 s or 64 KiB, and before every
    other output and reply), and so does what the process and its children write to the
    file descriptor itself (C code, `os.system`), which lands in a memory file."""

    flush_interval = 0.2
    flush_size = 64 * 1024

    def __init__(self, session: PipeSession, name: str, fd: int) -> None:
        super().__init__()
        self.session = session
        self.name = name
        self.parent_header: dict[str, Any] = {}
        self._parts: list[str] = []
        self._size = 0
        self._last = time.monotonic()
        self._lock = threading.RLock()
        # The descriptor's writes: a memory file in append mode, read and emptied on flush.
        self._fd = os.memfd_create(f"kernel-{name}", os.MFD_CLOEXEC)
        os.dup2(self._fd, fd, inheritable=True)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "UTF-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "strict"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def set_parent(self, parent: dict[str, Any]) -> None:
        self.parent_header = extract_header(parent)

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._parts.append(text)
            self._size += len(text)
            late = time.monotonic() - self._last >= self.flush_interval
            due = self._size >= self.flush_size or late
        if due:
            self.flush()
        return len(text)

    def _captured(self) -> str:
        size = os.fstat(self._fd).st_size
        if not size:
            return ""
        data = os.pread(self._fd, size, 0)
        os.ftruncate(self._fd, 0)
        return data.decode("utf-8", "replace")

    def flush(self) -> None:
        with self._lock:
            text = "".join(self._parts) + self._captured()
            self._parts.clear()
            self._size = 0
            self._last = time.monotonic()
            if text:
                content = {"name": self.name, "text": text}
                self.session.send(IOPUB, "stream", content, parent=self.parent_header)


def put_folder_on_path(ignore_cwd: bool) -> None:
    """What IPython's init_path does for a kernel started as usual: the notebook's folder
    ('') on the import path, before site-packages, so a notebook imports the modules beside
    it as under stock nbgrader. IPython leaves it out here because the fork server runs
    isolated (`python -I`, which it reads as "safe path")."""
    if "" in sys.path or ignore_cwd:
        return
    names = [os.path.basename(p) for p in sys.path]
    index = next((i for i, n in enumerate(names) if n in ("site-packages", "dist-packages")), 0)
    sys.path.insert(index, "")


def format_strings_plainly(shell: Any) -> None:
    """Give a user expression whose value is exactly a `str` its display data directly.

    The grader's tamper checks are user expressions that return a signed `str`, several per
    notebook; IPython formatted each through every display formatter (HTML, Markdown, PNG,
    LaTeX, JSON, ... each looking the value up and finding nothing), a fifth of a socket
    kernel's busy time. For a `str`, text/plain is its repr (IPython's pretty printer prints
    a `str` as its repr) and no other formatter has anything: the same data. Anything else,
    a subclass of `str` included, is formatted by IPython as before. Set in the fork server
    before the tamper guard's snapshot, it is the pristine shell's own method there."""
    original = shell._format_user_obj

    def _format_user_obj(obj: Any) -> dict[str, Any]:
        if type(obj) is str:
            return {"status": "ok", "data": {"text/plain": repr(obj)}, "metadata": {}}
        return original(obj)

    shell._format_user_obj = _format_user_obj


class RequestsOnMainThread:
    """Stands in for IPython's shell-channel thread, which this kernel does without: the
    kernel asks it only which thread handles requests (this one, so that SIGINT cancels an
    awaiting cell as there), and it is false, so no code path for a thread is taken."""

    parent_thread = threading.main_thread()

    def __bool__(self) -> bool:
        return False


class PipeKernelApp(IPKernelApp):
    """IPython's kernel application with its sockets, threads and heartbeat left out, made
    in two halves: `initialize` in the fork server before the fork (configuration, the
    kernel object and its shell, GUI and extensions: the same for every kernel, and no code
    of a student has run in them), `start_kernel` in each forked kernel (its socket, output
    streams, folder, environment and startup code)."""

    def initialize(self, argv: list[str] | None = None) -> None:
        # IPKernelApp.initialize but the sockets, heartbeat, connection file and I/O.
        super(IPKernelApp, self).initialize(argv)
        if self.subapp is not None:
            return
        self.init_pdb()
        self.init_blackhole()
        # Nothing is signed on the socket; a key all the same keeps Session from warning.
        self.session = PipeSession(parent=self, key=secrets.token_bytes(16))
        self.iopub_socket = IOPUB
        self.init_kernel()
        self.init_shell()
        if self.shell:
            # Before the tamper guard's snapshot (see prepare_code in zygote.py), as in
            # IPython's kernel: it leaves the shell's _showtraceback as an instance attribute.
            self.init_gui_pylab()
            self.init_extensions()
            format_strings_plainly(self.shell)
        # IPython's kernel sleeps 0.5 ms before each reply so that outputs sent on its other
        # socket arrive first; here outputs and replies go out in order on one socket.
        self.kernel._execute_sleep = 0.0

    def init_kernel(self) -> None:
        self.kernel = self.kernel_class.instance(
            parent=self,
            session=self.session,
            iopub_socket=IOPUB,
            log=self.log,
            profile_dir=self.profile_dir,
            user_ns=self.user_ns,
        )

    def init_io(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        # Kept: a replaced stream object closes its descriptor (1, 2) when collected, which
        # by then is the memory file the new stream reads.
        self.replaced_streams = (sys.stdout, sys.stderr)
        sys.stdout = PipeStream(self.session, "stdout", 1)
        sys.stderr = PipeStream(self.session, "stderr", 2)
        self.displayhook = ZMQDisplayHook(self.session, IOPUB)
        sys.displayhook = self.displayhook
        self.patch_io()

    def init_code(self) -> None:
        """IPython's InteractiveShellApp.init_code, but for the set of module names it keeps
        (for an aggressive %reset): the set made before the fork, with the modules imported
        since, where `set(sys.modules)` touched all 1,300 names and made the kernel copy
        some thousand pages of the fork server's memory."""
        self._run_startup_files()
        self._run_exec_lines()
        self._run_exec_files()
        if self.hide_initial_ns:
            self.shell.user_ns_hidden.update(self.shell.user_ns)
        self._run_cmd_line_code()
        self._run_module()
        sys.stdout.flush()
        sys.stderr.flush()
        names, count = self.modules_before_fork
        # New modules are the newest entries of sys.modules: only they are looked at.
        names.update(itertools.islice(reversed(sys.modules.keys()), len(sys.modules) - count))
        self.shell._sys_modules_keys = names

    def start_kernel(self, sock: socket.socket) -> None:
        """In the forked kernel: the rest of IPKernelApp.initialize, then serve `sock`."""
        kernel, shell = self.kernel, self.shell
        sock.setblocking(False)
        wire = Wire(sock)
        self.session.wire = wire
        self.init_io()
        kernel._stdout, kernel._stderr = sys.stdout, sys.stderr
        kernel.shell_channel_thread = RequestsOnMainThread()
        self.displayhook.get_execution_count = lambda: kernel.execution_count
        if shell is not None:
            # What the shell took from the fork server's folder when it was made.
            shell.starting_dir = os.getcwd()
            shell.history_manager.dir_hist[:] = [Path.cwd()]
            self.init_path()
            put_folder_on_path(self.ignore_cwd)
            # What IPKernelApp.init_gui_pylab put in the environment (this one is the kernel's).
            if not os.environ.get("MPLBACKEND"):
                os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
            self.init_code()
        sys.stdout.flush()
        sys.stderr.flush()
        # As IPython's kernel: SIGINT interrupts a request being handled, never the loop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        asyncio.run(serve(kernel, wire))


def abort_queued(kernel: Any, wire: Wire) -> None:
    """After a failed cell with stop_on_error: requests already sent are answered "aborted",
    as IPython's kernel does with the requests queued behind a failed one."""
    for msg in wire.pending():
        kernel.set_parent([], msg, "shell")
        kernel._publish_status("busy", "shell", msg)
        if msg["header"]["msg_type"] == "execute_request":
            kernel._send_abort_reply(SHELL, msg, [])
        kernel._publish_status("idle", "shell", msg)


async def serve(kernel: Any, wire: Wire) -> None:
    """Answer the grader's requests one by one until it closes the socket."""
    kernel._abort_queues = lambda subshell_id=None: setattr(kernel, "_aborting", True)
    while True:
        msg = await wire.recv()
        if msg is None:
            return
        msg_type = msg["header"]["msg_type"]
        if msg_type == "shutdown_request":
            return  # the grader ends a kernel by killing it; this is for completeness
        kernel.set_parent([], msg, "shell")
        kernel._publish_status("busy", "shell", msg)
        handler = kernel.shell_handlers.get(msg_type)
        if handler is not None:
            kernel.pre_handler_hook()
            try:
                await handler(SHELL, [], msg)
            except Exception:  # as IPython's kernel: logged, and the kernel goes on
                kernel.log.error("Exception in message handler:", exc_info=True)
            finally:
                kernel.post_handler_hook()
        sys.stdout.flush()
        sys.stderr.flush()
        if kernel._aborting:
            # Before this request's idle: what the grader sends once it sees the request end
            # is never taken for a request that was waiting behind a failed one.
            abort_queued(kernel, wire)
            kernel._aborting = False
        kernel._publish_status("idle", "shell", msg)


def prepare(options: list[str], kernel_class: type | None) -> PipeKernelApp:
    """In the fork server: the application and kernel every forked kernel starts from."""
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as the launcher: the kernel's folder is not an import path
    PipeKernelApp.clear_instance()
    prepared.clear()  # made for the previous application's shell
    app = PipeKernelApp.instance(**({"kernel_class": kernel_class} if kernel_class else {}))
    app.initialize(options)
    if app.shell is not None:
        # Made on first use, by every kernel's first output: made once here instead.
        app.shell.display_formatter.formatters  # noqa: B018 - a lazy default, made now
    app.modules_before_fork = (set(sys.modules.keys()), len(sys.modules))
    return app
