"""Fixtures for the C kernel: real kernels started through jupyter_client.

The kernelspec is written into a temporary Jupyter data directory from the package's own
`kernel_json()`, so the tests do not depend on a kernelspec installed by set-up. Cells get a
2-second time limit and a 20 kB output limit to keep the suite fast.
"""

from __future__ import annotations

import json
import os
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from nbcampus.ckernel.kernelspec import kernel_json
from nbcampus.ckernel.toolchain import strip_ansi

KERNEL_ENV = {
    "NBCAMPUS_CKERNEL_TIMEOUT": "2",
    "NBCAMPUS_CKERNEL_OUTPUT_LIMIT": "20000",
}


@pytest.fixture(scope="session")
def jupyter_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jupyter data directory whose kernels/c is this checkout's C kernel."""
    root = tmp_path_factory.mktemp("jupyter-data")
    spec = root / "kernels" / "c"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps(kernel_json()))
    return root


@dataclass
class Cell:
    """What one execution produced."""

    status: str
    stdout: str = ""
    stderr: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)
    streams: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    reply: dict[str, Any] = field(default_factory=dict)

    @property
    def ename(self) -> str | None:
        return self.errors[0]["ename"] if self.errors else None

    @property
    def evalue(self) -> str:
        return self.errors[0]["evalue"] if self.errors else ""

    @property
    def traceback(self) -> str:
        """The traceback as plain text (the kernel colours it with ANSI codes)."""
        return strip_ansi("\n".join(self.errors[0]["traceback"])) if self.errors else ""


class CKernel:
    def __init__(self, jupyter_data: Path, cwd: Path, env: dict[str, str] | None = None) -> None:
        ksm = KernelSpecManager(kernel_dirs=[str(jupyter_data / "kernels")])
        self.km = KernelManager(kernel_name="c", kernel_spec_manager=ksm)
        self.km.start_kernel(env={**os.environ, **KERNEL_ENV, **(env or {})}, cwd=str(cwd))
        self.kc: BlockingKernelClient = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, inputs: list[str] | None = None, timeout: float = 30) -> Cell:
        cell = Cell("")
        pending = list(inputs or [])

        def on_output(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                cell.streams.append((content["name"], content["text"]))
                if content["name"] == "stdout":
                    cell.stdout += content["text"]
                else:
                    cell.stderr += content["text"]
            elif kind == "error":
                cell.errors.append(content)

        def on_input(msg: dict[str, Any]) -> None:
            self.kc.input(pending.pop(0) if pending else "\x04")

        start = time.monotonic()
        reply = self.kc.execute_interactive(
            code,
            output_hook=on_output,
            allow_stdin=inputs is not None,
            stdin_hook=on_input,
            timeout=timeout,
        )
        cell.seconds = time.monotonic() - start
        cell.reply = reply["content"]
        cell.status = reply["content"]["status"]
        return cell

    def request(self, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        msg_id = getattr(self.kc, method)(*args, **kwargs)
        while True:
            try:
                reply = self.kc.get_shell_msg(timeout=10)
            except queue.Empty:
                raise AssertionError(f"no reply to {method}") from None
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def ckernel(jupyter_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CKernel]:
    """One C kernel shared by a test module (tests use their own names)."""
    kernel = CKernel(jupyter_data, tmp_path_factory.mktemp("notebook"))
    yield kernel
    kernel.close()


@pytest.fixture
def fresh_ckernel(jupyter_data: Path, tmp_path: Path) -> Iterator[CKernel]:
    kernel = CKernel(jupyter_data, tmp_path)
    yield kernel
    kernel.close()
