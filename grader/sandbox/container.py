"""Grading in throwaway containers of the grader image (the docker profile's sandbox).

One container per kernel: it starts with the kernel as its only process (under an init),
and is removed when the kernel ends. Each container has:
- no network at all (`network_mode=none`): the grader talks to the kernel over ZeroMQ's
  `ipc` transport, unix sockets in a private folder mounted into the container;
- a read-only view of exactly the submission, overlaid with the test material (a staged
  copy made for this session, so nothing else of the grader's storage is visible);
- the limits of the session: memory (cgroup, no swap), CPU seconds (rlimit), processes
  (pids cgroup), file size and open files (rlimits), a small writable /tmp;
- a non-root user, no capabilities, no new privileges, a read-only root file system.
Wall-clock limits stay with the autograder, as for every runner.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from nbcampus.engine import docker_client, find_engine

from .base import KernelExit, KernelSpec, Limits, SandboxKernel, SandboxRunner, SandboxSession

WORKDIR = "/home/jovyan/submission"
KERNEL_DIR = "/run/nbcampus-kernel"
IMAGE_PYTHON = "/opt/venv/bin/python"
CONTAINER_UID = 1000
SCRATCH_TMP = "/tmp"  # noqa: S108 - the container's own tmpfs
DEFAULT_IMAGE = "localhost/nbcampus-student:latest"
DEMOTED_NICE = 19  # as the local runner's (see SandboxKernel.demote)


def _process_tree(pid: int) -> list[int]:
    """pid and its descendants, as this host's /proc shows them (empty if it shows none)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                todo.extend(int(child) for child in task.read_text().split())
    return [p for p in tree if Path(f"/proc/{p}").exists()]


def _container_argv(spec: KernelSpec, connection_file: str) -> list[str]:
    """The kernel's argv as the image runs it: the grader's Python becomes the image's."""
    argv = [a.replace("{connection_file}", connection_file) for a in spec.argv]
    if argv and os.path.basename(argv[0]).startswith("python"):
        argv[0] = IMAGE_PYTHON
    return argv


class ContainerKernel(SandboxKernel):
    def __init__(self, container: Any, connection_info: dict[str, Any], name: str) -> None:
        self.container = container
        self.connection_info = connection_info
        self.kernel_name = name
        self._exit: KernelExit | None = None
        self.reason = ""
        self._lock = threading.Lock()

    def _status(self) -> tuple[str, int | None, bool]:
        try:
            self.container.reload()
        except Exception:  # removed: the kernel is gone
            return "removed", None, False
        state = self.container.attrs.get("State", {})
        return state.get("Status", ""), state.get("ExitCode"), bool(state.get("OOMKilled"))

    async def is_alive(self) -> bool:
        return self.exit_status() is None

    async def interrupt_kernel(self) -> None:
        try:
            self.container.kill(signal="SIGINT")
        except Exception:  # already ended
            return

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        self.kill()

    def demote(self) -> None:
        """Renice the container's processes (every thread of each) from this host: the
        Docker API has no such call and podman's ignores CPU shares on these cgroups. A
        remote engine's processes are not on this host; they are left as they are."""
        try:
            self.container.reload()
            init_pid = int(self.container.attrs.get("State", {}).get("Pid") or 0)
        except Exception:  # removed: the kernel is gone
            return
        try:  # the engine's pid is this host's only if its process is in the container's cgroup
            if (
                init_pid <= 0
                or self.container.id not in Path(f"/proc/{init_pid}/cgroup").read_text()
            ):
                return
        except OSError:
            return
        for pid in _process_tree(init_pid):
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with contextlib.suppress(OSError, ValueError):
                    os.setpriority(os.PRIO_PROCESS, int(task.name), DEMOTED_NICE)

    def kill(self, reason: str = "") -> None:
        if reason and not self.reason:
            self.reason = reason
        with self._lock:
            if self._exit is None:
                self.exit_status()
            try:
                self.container.remove(force=True)
            except Exception:  # already removed
                return

    def exit_status(self) -> KernelExit | None:
        if self._exit is not None:
            return self._exit
        status, code, oom = self._status()
        if status in ("running", "created", "restarting"):
            return None
        # The same short reasons as the local runner: the autograder shows them as status.
        if self.reason:
            reason = self.reason
        elif oom or code == 128 + 9:
            # SIGKILL that we did not send (ours remove the container): the cgroup's OOM
            # killer. podman on cgroup v1 does not always set OOMKilled.
            reason = "memory limit"
        elif code == 128 + 24:  # SIGXCPU: the CPU-time rlimit
            reason = "time limit"
        elif code == 128 + 11:
            reason = "crashed (segmentation fault)"
        elif status == "removed":
            reason = "killed"
        else:
            reason = "kernel exited"
        self._exit = KernelExit(status=code, reason=reason)
        return self._exit


class ContainerSession(SandboxSession):
    workdir = WORKDIR

    def __init__(self, runner: ContainerRunner, view: Path, limits: Limits) -> None:
        self.runner = runner
        self.limits = limits
        self._root = view.parent
        self.view = view
        self.kernel_dir = self._root / "kernel"
        self.kernel_dir.mkdir(mode=0o700)
        # The container's user creates the kernel's sockets here; nobody else may.
        try:
            os.chown(self.kernel_dir, CONTAINER_UID, CONTAINER_UID)
        except PermissionError:  # a grader not running as root: rely on the private parent
            os.chmod(self.kernel_dir, 0o777)  # noqa: S103 - inside a 0o711 folder, random name
        self.kernels: list[ContainerKernel] = []

    def start_kernel(self, spec: KernelSpec) -> ContainerKernel:
        key = secrets.token_hex(16)
        tag = secrets.token_hex(4)
        info_in = {
            "transport": "ipc",
            "ip": f"{KERNEL_DIR}/k{tag}",
            "shell_port": 1,
            "iopub_port": 2,
            "stdin_port": 3,
            "control_port": 4,
            "hb_port": 5,
            "key": key,
            "signature_scheme": "hmac-sha256",
            "kernel_name": spec.name,
        }
        conn_file = self.kernel_dir / f"k{tag}.json"
        conn_file.write_text(json.dumps(info_in))
        os.chmod(conn_file, 0o644)
        limits = self.limits
        container = self.runner.client.containers.run(
            self.runner.image,
            _container_argv(spec, f"{KERNEL_DIR}/{conn_file.name}"),
            detach=True,
            init=True,
            user=f"{CONTAINER_UID}:{CONTAINER_UID}",
            network_mode="none",
            working_dir=WORKDIR,
            environment={"HOME": SCRATCH_TMP, "PYTHONDONTWRITEBYTECODE": "1", **spec.env},
            volumes={
                str(self.view): {"bind": WORKDIR, "mode": "ro"},
                str(self.kernel_dir): {"bind": KERNEL_DIR, "mode": "rw"},
            },
            tmpfs={SCRATCH_TMP: "rw,nosuid,nodev,size=64m"},
            read_only=True,
            mem_limit=limits.memory_bytes,
            memswap_limit=limits.memory_bytes,
            nano_cpus=int(self.runner.cpus * 1e9),
            pids_limit=limits.processes,
            ulimits=[
                _ulimit("cpu", limits.cpu_seconds, limits.cpu_seconds + 1),
                _ulimit("fsize", limits.file_bytes),
                _ulimit("nofile", limits.open_files),
                # Per-uid and host-wide: the pids cgroup above is the real process limit.
                # Stated anyway, because podman drops its configured defaults (and asks for
                # more than the host allows) as soon as any ulimit is given.
                _ulimit("nproc", 32768),
                _ulimit("core", 0),
            ],
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            labels={"org.nbcampus.role": "grading"},
        )
        info = {**info_in, "ip": str(self.kernel_dir / f"k{tag}")}
        kernel = ContainerKernel(container, info, spec.name)
        self.kernels.append(kernel)
        return kernel

    def close(self) -> None:
        for kernel in self.kernels:
            kernel.kill()
        shutil.rmtree(self._root, ignore_errors=True)


def _ulimit(name: str, soft: int, hard: int | None = None) -> Any:
    import docker

    return docker.types.Ulimit(name=name, soft=soft, hard=soft if hard is None else hard)


class ContainerRunner(SandboxRunner):
    """Runs each submission's kernels in throwaway containers of the grader image.

    image: the grader image (the student image by default, so a notebook is graded with the
    very kernels and libraries the student ran it with); cpus: CPU share of one kernel.
    """

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        cpus: float = 1.0,
        scratch: Path | None = None,
        slots: int | None = None,
    ) -> None:
        # slots (the grader's worker count) needs no pool here: each kernel is its own
        # container, created on demand.
        self.slots = slots
        self.image = os.environ.get("NBCAMPUS_GRADER_IMAGE") or image
        self.cpus = cpus
        self.scratch = scratch
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client(find_engine())
        return self._client

    def start(self) -> None:
        self.client.images.get(self.image)  # fails now, clearly, if the image is missing

    def run(
        self, submission_dir: Path, material_dir: Path | None, limits: Limits
    ) -> ContainerSession:
        root = Path(tempfile.mkdtemp(prefix="nbcampus-grading-", dir=self.scratch))
        os.chmod(root, 0o711)  # noqa: S103 - traversable, not listable: the container's user
        view = root / "view"
        shutil.copytree(submission_dir, view, symlinks=False)
        if material_dir is not None:
            shutil.copytree(material_dir, view, symlinks=False, dirs_exist_ok=True)
        for path in [view, *view.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        return ContainerSession(self, view, limits)

    def stop(self) -> None:
        try:
            leftovers = self.client.containers.list(
                all=True, filters={"label": "org.nbcampus.role=grading"}
            )
        except Exception:  # engine gone: nothing to stop
            return
        for container in leftovers:
            with contextlib.suppress(Exception):  # removed meanwhile
                container.remove(force=True)
