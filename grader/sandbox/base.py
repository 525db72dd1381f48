"""The runner interface every grading sandbox implements (local bubblewrap, containers).

A runner hands out *sessions*: one session per submission, with a read-only view of exactly
that submission's files plus the assignment's test material, a private writable scratch
directory, and nothing else of the grader's (no gradebook, no other submissions, no secrets,
no network). Inside a session the autograder starts one fresh kernel per notebook.
"""

from __future__ import annotations

import abc
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Wall-clock limits are enforced by the autograder."""

    cpu_seconds: int = 60
    memory_bytes: int = 2 * 1024**3
    processes: int = 64
    output_bytes: int = 1024 * 1024
    file_bytes: int = 64 * 1024 * 1024
    open_files: int = 256
    cell_timeout: float = 10.0
    notebook_timeout: float = 60.0
    # The whole submission (every notebook of it), wall clock.
    submission_timeout: float = 180.0
    # Output beyond `output_bytes` is dropped with a note while the cell runs on; a flood that
    # goes on past this second bound stops the kernel ("output limit").
    output_kill_bytes: int = 32 * 1024 * 1024
    # A notebook still executing after this many seconds (however short its cells) gives its
    # worker's turn to a spare and its kernel yields the CPU, as a slow cell does.
    slow_notebook_seconds: float = 1.0
    # Notebooks over these are not graded ("too many cells", "notebook too large"); the
    # grader's submit handler refuses them already.
    notebook_cells: int = 2000
    notebook_bytes: int = 16 * 1024 * 1024

    def rlimits(self) -> dict[str, int]:
        return {
            "cpu": self.cpu_seconds,
            "as": self.memory_bytes,
            "nproc": self.processes,
            "fsize": self.file_bytes,
            "nofile": self.open_files,
            "core": 0,
        }


@dataclass
class KernelExit:
    """Why a kernel ended, in the words a student should read."""

    status: int | None = None
    reason: str = ""


class SandboxKernel(abc.ABC):
    """A running kernel inside a session, shaped like what nbclient expects of a manager."""

    has_kernel = True
    ipykernel = True
    kernel_name: str = ""
    connection_info: dict[str, Any]

    @abc.abstractmethod
    async def is_alive(self) -> bool: ...

    @abc.abstractmethod
    async def interrupt_kernel(self) -> None: ...

    @abc.abstractmethod
    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None: ...

    @abc.abstractmethod
    def kill(self) -> None:
        """Kill the kernel at once (callable from any thread)."""

    @abc.abstractmethod
    def exit_status(self) -> KernelExit | None:
        """None while alive; how it ended otherwise."""

    def demote(self) -> None:
        """Lower the kernel's CPU priority for the rest of its life (callable from any
        thread): a cell running long must not slow down the other gradings. A sandbox that
        cannot do that leaves the kernel as it is."""
        return None

    async def cleanup_resources(self, restart: bool = False) -> None:
        return None

    def client(self) -> Any:
        kc = _sandbox_client_class()(sandbox_kernel=self)
        kc.load_connection_info(self.connection_info)
        return kc


@functools.cache
def _sandbox_client_class() -> type:
    """An async kernel client that asks the sandbox, not the heartbeat, whether it lives.

    Without a KernelManager parent, jupyter_client waits for heartbeats in steps of 0.2 s
    before its first kernel_info request: a fifth of a second per notebook for a kernel that
    was forked ahead and is long ready. The sandbox knows at once whether the process runs."""
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class SandboxKernelClient(AsyncKernelClient):
        def __init__(self, sandbox_kernel: SandboxKernel, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.sandbox_kernel = sandbox_kernel

        async def _async_is_alive(self) -> bool:
            return self.sandbox_kernel.exit_status() is None

        is_alive = _async_is_alive

        async def _async_wait_for_ready(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - jupyter_client's signature
            """jupyter_client's readiness check (a kernel_info reply, then any message on
            IOPub to prove the subscription), asking again every 50 ms instead of waiting
            0.2 s for an IOPub message the kernel sent before the subscription took hold."""
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=0.5)
                except Empty:
                    continue
                if reply["msg_type"] != "kernel_info_reply":
                    continue
                try:
                    await self.iopub_channel.get_msg(timeout=0.05)
                except Empty:
                    continue
                self._handle_kernel_info_reply(reply)
                return

        wait_for_ready = _async_wait_for_ready  # the name nbclient calls

    return SandboxKernelClient


@dataclass
class KernelSpec:
    """The kernel command to run in the sandbox: argv with `{connection_file}`."""

    name: str
    argv: list[str]
    language: str = ""
    env: dict[str, str] = field(default_factory=dict)
    # (file name, source, function) of code the grader sends every kernel to run first (the
    # tamper guard's): a sandbox may run `function()` of it once, ahead, before any student
    # code, and hand each kernel what it returned (the local runner's socket kernels).
    prepare: tuple[tuple[str, str, str], ...] = ()


class SandboxSession(abc.ABC):
    """One submission's sandbox; a context manager that wipes everything on exit."""

    workdir: str  # the submission's folder as the kernel sees it

    @abc.abstractmethod
    def start_kernel(self, spec: KernelSpec) -> SandboxKernel: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    def hidden_source_loaded(self) -> None:  # noqa: B027 - a no-op where kernels share nothing
        """A kernel of this session was given hidden tests (hidden.py): whatever it could leave
        behind (files, processes) must not reach a later kernel, whose outputs the student may
        see. A sandbox whose kernels share nothing (one container each) has nothing to do."""

    def scratch_full(self) -> bool:
        """Whether the session's capped scratch space is (nearly) full: a "disk limit".
        A sandbox without a cap never is."""
        return False

    def memory_kills(self) -> int:
        """How many processes the session's memory total has killed so far (0 without one)."""
        return 0

    def __enter__(self) -> SandboxSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SandboxRunner(abc.ABC):
    """Hands out sessions; implementations: local.BubblewrapRunner, container runners."""

    @abc.abstractmethod
    def run(
        self, submission_dir: Path, material_dir: Path | None, limits: Limits
    ) -> SandboxSession:
        """A session whose read-only view is submission_dir overlaid with material_dir."""

    def start(self) -> None:  # noqa: B027 - optional hook
        """Pre-start whatever makes sessions fast (pools, fork servers)."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop every process the runner started."""
