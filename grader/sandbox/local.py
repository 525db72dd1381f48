"""The local sandbox: bubblewrap namespaces, a dedicated user per slot, rlimits, a fork server.

Each slot is one bubblewrap sandbox started ahead of time:

- new PID, network, IPC and UTS namespaces: no network at all, no view of other processes;
- a filesystem made only of read-only system and Python folders, the slot's `sub/` folder
  (read-only, at /submission) and the slot's `tmp/` folder (writable, at /tmp);
- a fork server (zygote.py) that has already imported the kernel's modules and forks one
  fresh kernel per notebook, which drops to the slot's own user id with rlimits on CPU time,
  address space, processes, file size and open files.

A session copies its submission and test material into `sub/`, and on close kills every
process of the slot's user and wipes `sub/` and `tmp/`, so the next submission starts clean.
IPython kernels talk to the grader over one Unix socket each (pipekernel.py), other kernels
(C) over ZeroMQ IPC sockets in `tmp/`: the sandbox has no network.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .base import KernelExit, KernelSpec, Limits, SandboxKernel, SandboxRunner, SandboxSession
from .pipeclient import PipeKernelClient
from .seccomp import ipc_denied_program
from .zygote import ipython_kernel_options

log = logging.getLogger(__name__)

ZYGOTE = Path(__file__).with_name("zygote.py")
ZYGOTE_IN_SANDBOX = "/opt/nbcampus/zygote.py"
# The socket kernel the fork server runs for IPython kernels, beside it in the sandbox.
PIPE_KERNEL = Path(__file__).with_name("pipekernel.py")
PIPE_KERNEL_IN_SANDBOX = "/opt/nbcampus/pipekernel.py"
# IPython's profile for every kernel: read-only and the grader's, so that no kernel can leave a
# startup file or config in it for a later kernel of the same submission (all run as the
# slot's one user). IPYTHONDIR stays in the scratch space: with the profile given, nothing is
# run or configured from it.
PROFILE_IN_SANDBOX = "/opt/nbcampus/ipython/profile_default"
# Profile folders IPython checks at start, with the modes it wants (it chmods others).
PROFILE_DIRS = {"": 0o755, "startup": 0o755, "log": 0o755, "security": 0o700, "pid": 0o700}
# A kernel running one cell for long (an endless loop until its time limit) takes only the
# CPU time the other gradings leave over.
DEMOTED_NICE = 19
# How long a forked IPython kernel may take to connect its socket (it does so at once).
KERNEL_CONNECT_SECONDS = 30.0
SANDBOX_TMP = "/tmp"  # noqa: S108 - inside the sandbox: the slot's private scratch folder
SECCOMP_FD = "{seccomp-fd}"  # in the fork server's command: the descriptor of the filter
# Only what a kernel needs from /etc; the rest (and the grader's data) stays invisible.
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/alternatives",
)
UID_RANGE = (61000, 65000)  # sandbox users: no account, no files outside the sandboxes
UID_LOCK_DIR = "/run" if os.access("/run", os.W_OK) else tempfile.gettempdir()
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def _kernel_package_dirs() -> list[str]:
    """Code folders of our own kernels (the C kernel), which an editable install keeps
    outside site-packages. Only these folders: never the data directory around them."""
    import importlib.util

    dirs = []
    for name in ("nbcampus", "nbcampus.ckernel"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for loc in (spec.submodule_search_locations or []) if spec else []:
            dirs.append(loc)
    return dirs


class SandboxError(RuntimeError):
    """The sandbox could not be started or has failed."""


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


class Zygote:
    """The fork server of one slot, and the thread that reads its answers."""

    def __init__(self, argv: list[str]) -> None:
        # bubblewrap reads the seccomp filter (seccomp.py) from a descriptor it inherits.
        fds: tuple[int, ...] = ()
        if SECCOMP_FD in argv:
            program = ipc_denied_program()
            assert program is not None  # _bwrap_argv asks for a filter only where there is one
            fd = os.memfd_create("nbcampus-seccomp", 0)
            os.write(fd, program)
            os.lseek(fd, 0, os.SEEK_SET)
            argv = [str(fd) if a == SECCOMP_FD else a for a in argv]
            fds = (fd,)
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,
                pass_fds=fds,
                # Nothing of the grader's environment (its Hub token above all) goes in.
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            )
        finally:
            for fd in fds:
                os.close(fd)
        self._lock = threading.Lock()
        self._next = 0
        self._waiting: dict[int, tuple[threading.Event, dict[str, Any]]] = {}
        self.exits: dict[int, int] = {}
        self.exit_events: dict[int, threading.Event] = {}
        self.prepared: set[tuple[str, str, str]] = set()
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("event") == "ready":
                self.ready.set()
            elif msg.get("event") == "exit":
                with self._lock:
                    self.exits[msg["pid"]] = msg["status"]
                    ev = self.exit_events.setdefault(msg["pid"], threading.Event())
                ev.set()
            elif "id" in msg:
                with self._lock:
                    waiter = self._waiting.pop(msg["id"], None)
                if waiter:
                    waiter[1].update(msg)
                    waiter[0].set()
        # The fork server is gone: every kernel of it is gone too.
        with self._lock:
            for ev, _ in self._waiting.values():
                ev.set()
            for ev in self.exit_events.values():
                ev.set()
        self.ready.set()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def to_prepare(self, code: tuple[tuple[str, str, str], ...]) -> list[tuple[str, str, str]]:
        """What of `code` this fork server has not been sent yet (it keeps what it was)."""
        with self._lock:
            new = [c for c in code if c not in self.prepared]
            self.prepared.update(new)
        return new

    def request(self, op: str, timeout: float = 30, **fields: Any) -> dict[str, Any]:
        ev, answer = threading.Event(), {}
        with self._lock:
            self._next += 1
            rid = self._next
            self._waiting[rid] = (ev, answer)
        line = json.dumps({"op": op, "id": rid, **fields}) + "\n"
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as err:
            raise SandboxError(f"sandbox fork server is gone: {err}") from None
        if not ev.wait(timeout) or not answer:
            raise SandboxError(f"sandbox fork server did not answer {op}")
        return answer

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


class LocalKernel(SandboxKernel):
    def __init__(
        self,
        zygote: Zygote,
        pid: int,
        name: str,
        connection_info: dict[str, Any],
        wire: socket.socket | None = None,
    ) -> None:
        self.zygote = zygote
        self.wire = wire
        self.pid = pid
        self.kernel_name = name
        self.connection_info = connection_info
        self.reason = ""
        # Whether the slot's memory cgroup killed a process (set by the slot that made it).
        self.oom_killed: Any = lambda: False
        with zygote._lock:
            self._exited = zygote.exit_events.setdefault(pid, threading.Event())

    def exit_status(self) -> KernelExit | None:
        if not self._exited.is_set() and self.zygote.alive():
            return None
        status = self.zygote.exits.get(self.pid)
        reason = self.reason
        if not reason and status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig in (signal.SIGXCPU, signal.SIGKILL):
                reason = "time limit" if sig == signal.SIGXCPU else "killed"
                if sig == signal.SIGKILL and self.oom_killed():
                    reason = "memory limit"
            elif sig == signal.SIGXFSZ:
                reason = "disk limit"  # a file past the file size limit
            elif sig == signal.SIGSEGV:
                reason = "crashed (segmentation fault)"
            else:
                reason = f"killed by signal {sig}"
        return KernelExit(status=status, reason=reason or "kernel exited")

    async def is_alive(self) -> bool:
        return self.exit_status() is None

    def _signal(self, sig: int) -> None:
        if self.exit_status() is None:
            try:
                self.zygote.request("signal", pid=self.pid, sig=int(sig), timeout=10)
            except SandboxError:
                pass

    async def interrupt_kernel(self) -> None:
        self._signal(signal.SIGINT)

    def demote(self) -> None:
        if self.exit_status() is None:
            try:
                self.zygote.request("renice", pid=self.pid, nice=DEMOTED_NICE, timeout=10)
            except SandboxError:
                pass

    def kill(self, reason: str = "") -> None:
        if reason and not self.reason:
            self.reason = reason
        self._signal(signal.SIGKILL)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        self.kill()

    def client(self) -> Any:
        if self.wire is None:
            return super().client()
        return PipeKernelClient(self, self.wire)


class LocalSession(SandboxSession):
    workdir = "/submission"

    def __init__(self, runner: BubblewrapRunner, slot: Slot, limits: Limits) -> None:
        self.runner = runner
        self.slot = slot
        self.limits = limits
        self.kernels: list[LocalKernel] = []
        self._held_hidden = False  # a kernel got hidden tests: scrub before the next one
        self._scrubbed = False

    def hidden_source_loaded(self) -> None:
        self._held_hidden = True

    def start_kernel(self, spec: KernelSpec) -> LocalKernel:
        slot = self.slot
        if self._held_hidden:
            self._scrub()
        want = (spec, tuple(sorted(self.limits.rlimits().items())))
        kernel = slot.take_ready() if slot.want and slot.want[0] == want else None
        if kernel is None:
            kernel = slot.spawn(spec, self.limits)
        self.kernels.append(kernel)
        # Learn what to fork ahead for the next submission: the kernels this one used before
        # its first scrub (a scrub ends the kernels forked ahead, unused).
        if not self.kernels[:-1]:
            slot.want = (want, self.limits, 0)
        if slot.want and slot.want[0] == want and not self._scrubbed:
            slot.want = (want, self.limits, min(len(self.kernels), self.runner.prestart_max))
        return kernel

    def _scrub(self) -> None:
        """Leave nothing of the kernels so far to the next one: every process of the sandbox
        user is killed (a kernel's daemons, the kernels forked ahead) and the scratch folder
        emptied. What lives in the IPC namespace instead the seccomp filter never lets in."""
        self.slot.ready.clear()
        self.slot.zygote.request("reap", timeout=30)
        self.slot.wait_until_reaped()
        self.slot.wipe_scratch()
        self._held_hidden = False
        self._scrubbed = True

    def scratch_full(self) -> bool:
        return self.slot.scratch_full()

    def memory_kills(self) -> int:
        return self.slot.oom_count()

    def close(self) -> None:
        for kernel in self.kernels:
            kernel.kill()
        self.runner.release(self.slot)


def _clear(folder: Path, keep: set[Path]) -> None:
    """Remove everything in `folder` except the paths in `keep` (whose contents are cleared)."""
    for child in folder.iterdir():
        if child in keep and child.is_dir() and not child.is_symlink():
            _clear(child, keep)
        elif child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


class Slot:
    def __init__(self, index: int, root: Path, uid: int) -> None:
        self.index = index
        self.dir = root / f"s{index}"
        self.sub = self.dir / "sub"
        self.tmp = self.dir / "tmp"
        self.uid = uid
        # Folders in `tmp` that are mount points of read-only binds below the sandbox's /tmp
        # (a virtualenv in a checkout under /tmp), and the folders on the way to them: deleting
        # one would detach the mount inside the running sandbox.
        self.mount_points: set[Path] = set()
        self.zygote: Zygote
        self.count = 0
        # Kernels forked before the submission arrived: each is used once, never reused.
        self.ready: list[LocalKernel] = []
        # ((spec, rlimits), limits, how many) the last submission used
        self.want: tuple[Any, Limits, int] | None = None
        self.scratch_bytes = 0  # the size of the tmpfs mounted on `tmp`; 0: not capped
        self.cgroup: Path | None = None  # the slot's memory cgroup, when the machine has one
        self.own_processes: set[str] = set()  # in the cgroup, the sandbox's own (not kernels)

    def note_own_processes(self) -> None:
        """The sandbox's own processes (bubblewrap, its init, the fork server), once it is
        ready: every other process in the slot's cgroup is a kernel or one of its children."""
        self.own_processes = self._cgroup_processes() or set()

    def _cgroup_processes(self) -> set[str] | None:
        if self.cgroup is None:
            return None
        try:
            return set((self.cgroup / "cgroup.procs").read_text().split())
        except OSError:
            return None

    def wait_until_reaped(self, timeout: float = 5.0) -> None:
        """After a reap, until the killed processes have exited (a cgroup lists no zombie): a
        process killed in the middle of a system call (a file's creation, say) finishes that
        call first, which could otherwise land after the scratch space was emptied."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = self._cgroup_processes()
            if left is None or left <= self.own_processes:
                return
            time.sleep(0.001)
        log.warning("sandbox slot %s: processes still there after a reap", self.index)

    def scratch_full(self) -> bool:
        """The capped scratch space has (nearly) nothing left: a "disk limit"."""
        if not self.scratch_bytes:
            return False
        try:
            st = os.statvfs(self.tmp)
        except OSError:
            return False
        return st.f_bavail * st.f_frsize < min(1024 * 1024, self.scratch_bytes // 16)

    def oom_count(self) -> int:
        """How many processes the slot's memory cgroup has killed so far."""
        if self.cgroup is None:
            return 0
        for name in ("memory.events", "memory.oom_control"):
            try:
                text = (self.cgroup / name).read_text()
            except OSError:
                continue
            for line in text.splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and value.strip().isdigit():
                    return int(value)
        return 0

    def take_ready(self) -> LocalKernel | None:
        while self.ready:
            kernel = self.ready.pop(0)
            if kernel.exit_status() is None:
                return kernel
        return None

    def spawn(self, spec: KernelSpec, limits: Limits) -> LocalKernel:
        self.count += 1
        kdir = self.tmp / f"k{self.count}"
        kdir.mkdir()
        os.chown(kdir, self.uid, self.uid)
        conn_file = kdir / "conn.json"
        info = {
            "transport": "ipc",
            "ip": str(kdir / "s"),
            "shell_port": 1,
            "iopub_port": 2,
            "stdin_port": 3,
            "control_port": 4,
            "hb_port": 5,
            "key": secrets.token_hex(32),
            "signature_scheme": "hmac-sha256",
            "kernel_name": spec.name,
        }
        # The grader's alone (root, 0600): the fork server reads it before the kernel drops to
        # the slot's user, so no other kernel of that user learns this one's key.
        fd = os.open(conn_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(info))
        argv = [a.replace("{connection_file}", str(conn_file)) for a in spec.argv]
        if any("ipykernel" in a for a in argv):
            argv.append(f"--profile-dir={PROFILE_IN_SANDBOX}")
        # Inside the sandbox /tmp is the slot's private scratch folder, wiped after each use.
        scratch = SANDBOX_TMP
        env = {
            "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
            "HOME": scratch,
            "TMPDIR": scratch,
            "IPYTHONDIR": scratch + "/.ipython",
            "MPLCONFIGDIR": scratch + "/.mpl",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "NBGRADER_EXECUTION": "autograde",
            **spec.env,
        }
        # An IPython kernel talks over one socket (pipekernel.py), any other kernel over
        # ZeroMQ. The socket file is root's (0600): only the forked kernel, still root when it
        # connects, reaches it.
        listener = None
        if ipython_kernel_options(argv) is not None:
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(kdir / "wire"))
            os.chmod(kdir / "wire", 0o600)
            listener.listen(1)
        try:
            answer = self.zygote.request(
                "spawn",
                argv=argv,
                env=env,
                cwd=LocalSession.workdir,
                log=str(kdir / "kernel.log"),
                connection_file=str(conn_file),
                pipe=str(kdir / "wire") if listener is not None else "",
                prepare=self.zygote.to_prepare(spec.prepare),
                limits=limits.rlimits(),
            )
            wire = None
            if listener is not None:
                listener.settimeout(KERNEL_CONNECT_SECONDS)
                try:
                    wire, _ = listener.accept()
                except TimeoutError:
                    raise SandboxError("the kernel did not connect to the grader") from None
        finally:
            if listener is not None:
                listener.close()
                with contextlib.suppress(OSError):
                    os.unlink(kdir / "wire")
        info["key"] = info["key"].encode()
        kernel = LocalKernel(self.zygote, answer["pid"], spec.name, info, wire)
        if self.cgroup is not None:
            base = self.oom_count()
            kernel.oom_killed = lambda: self.oom_count() > base
        return kernel

    def wipe(self) -> None:
        # Empty the folders but keep them: the sandbox's bind mounts point at these inodes.
        self.sub.mkdir(parents=True, exist_ok=True)
        _clear(self.sub, self.mount_points)
        os.chmod(self.sub, 0o755)  # noqa: S103 - read by the slot user
        self.wipe_scratch()

    def wipe_scratch(self) -> None:
        """Empty the sandbox's /tmp (the slot user's HOME and TMPDIR)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        _clear(self.tmp, self.mount_points)
        os.chown(self.tmp, self.uid, self.uid)
        # Others may pass through (not list): the fork server, root without the capability to
        # override permissions, reaches the kernels' folders and the grader's files in them.
        os.chmod(self.tmp, 0o711)  # noqa: S103


# What an IPython kernel imports on its way to ready, imported once by each slot's fork server
# instead of by every kernel: the debugger alone (debugpy and pydevd) took 0.36 s per kernel.
KERNEL_PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython",
    "IPython.core.debugger",
    "sqlite3",
    "pdb",
    "pydoc",
    "IPython.core.completerlib",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "faulthandler",
    "tornado.platform.asyncio",
)


def _hold_owner_lock(root: Path) -> int:
    """Lock `root/.owner` for as long as this process runs: the mark of a live runner."""
    import fcntl

    # Locked before it gets its name: nobody can find it unlocked in between.
    fd = os.open(root / ".owner.new", os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(root / ".owner.new", root / ".owner")
    return fd


def _remove_abandoned_roots(base: Path, grace: float = 12 * 3600.0) -> None:
    """Remove the scratch folders of runners that died without cleaning up (kill -9, a
    crash): nobody holds their owner lock any more."""
    import fcntl

    for root in base.glob("nbcg-*"):
        owner = root / ".owner"
        try:
            if not owner.exists():
                # Runners of older versions had no owner file (a brand-new one may not have it
                # yet): theirs go only when clearly abandoned.
                if time.time() - root.stat().st_mtime > grace:
                    shutil.rmtree(root, ignore_errors=True)
                continue
            fd = os.open(owner, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live runner holds it
        else:
            shutil.rmtree(root, ignore_errors=True)
        finally:
            os.close(fd)


class BubblewrapRunner(SandboxRunner):
    """Local sandboxes: one pre-started bubblewrap fork server per slot."""

    def __init__(
        self,
        slots: int = 2,
        base_uid: int = 0,
        preload: list[str] | None = None,
        extra_ro_paths: list[str] | None = None,
        python: str = sys.executable,
        prestart_max: int = 4,
        scratch_bytes: int = 512 * 1024 * 1024,
        memory_total_bytes: int = 4 * 1024**3,
    ) -> None:
        # Each slot's /tmp (the only writable place in it) is a tmpfs of `scratch_bytes`, and
        # all its processes together get `memory_total_bytes` (a memory cgroup, where the
        # machine lets us make one); 0 turns either off.
        self.scratch_bytes = scratch_bytes
        self.memory_total_bytes = memory_total_bytes
        self.nslots = slots
        self.prestart_max = prestart_max
        self.base_uid = base_uid
        self.preload = preload or list(KERNEL_PRELOAD)
        self.extra_ro_paths = extra_ro_paths or []
        self.python = os.path.normpath(python)  # "venv/../bin" would not exist inside
        self.root: Path | None = None
        self._free: queue.Queue[Slot] = queue.Queue()
        self._slots: list[Slot] = []
        self._lock = threading.Lock()
        self._uid_locks: list[int] = []
        self._owner_fd: int | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if shutil.which("bwrap") is None:
            raise SandboxError("bubblewrap (bwrap) is not installed; apt-get install bubblewrap")
        # A short path: ZeroMQ IPC socket paths must stay under ~100 bytes.
        # Not under /tmp: the sandbox's own /tmp is a separate mount of the slot's scratch.
        bases = ("/run", "/var/tmp")  # noqa: S108
        base = next((d for d in bases if os.access(d, os.W_OK)), None)
        _remove_abandoned_roots(Path(base or tempfile.gettempdir()))
        self.root = Path(tempfile.mkdtemp(prefix="nbcg-", dir=base))
        os.chmod(self.root, 0o711)  # noqa: S103 - traverse only
        self._owner_fd = _hold_owner_lock(self.root)
        for sub, mode in PROFILE_DIRS.items():
            folder = self.root / "ipython-profile" / sub
            folder.mkdir(exist_ok=True)
            os.chmod(folder, mode)
        for i in range(self.nslots):
            slot = Slot(i, self.root, self._claim_uid())
            slot.dir.mkdir()
            os.chmod(slot.dir, 0o711)  # noqa: S103 - traverse only
            self._mount_scratch(slot)
            slot.wipe()
            slot.cgroup = _make_memory_cgroup(
                f"nbcampus-{self.root.name}-s{i}", self.memory_total_bytes
            )
            slot.zygote = Zygote(self._zygote_argv(slot))
            self._slots.append(slot)
        for slot in self._slots:
            if not slot.zygote.ready.wait(60) or not slot.zygote.alive():
                raise SandboxError("the grading sandbox did not start (is bwrap usable here?)")
            slot.note_own_processes()
            self._free.put(slot)

    def _claim_uid(self) -> int:
        """A user id no other runner on this machine uses (a held lock file per id), so one
        runner's reap never kills another runner's kernels."""
        import fcntl

        first = self.base_uid or UID_RANGE[0]
        for uid in range(first, UID_RANGE[1]):
            fd = os.open(f"{UID_LOCK_DIR}/nbcampus-grader-uid-{uid}.lock", os.O_CREAT | os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self._uid_locks.append(fd)
            return uid
        raise SandboxError("no free sandbox user id left")

    def _mount_scratch(self, slot: Slot) -> None:
        """A size-limited tmpfs on the slot's scratch folder (needs root); without it the
        scratch space is capped only per file (the file size rlimit)."""
        slot.tmp.mkdir(parents=True, exist_ok=True)
        if not self.scratch_bytes or os.geteuid() != 0 or shutil.which("mount") is None:
            return
        opts = f"size={self.scratch_bytes},mode=0700,nosuid,nodev"
        done = subprocess.run(  # noqa: S603 - fixed arguments
            ["mount", "-t", "tmpfs", "-o", opts, "nbcampus-scratch", str(slot.tmp)],
            capture_output=True,
            check=False,
        )
        if done.returncode == 0:
            slot.scratch_bytes = self.scratch_bytes
        else:
            log.warning("no tmpfs for the sandbox scratch space: %s", done.stderr.decode())

    def _zygote_argv(self, slot: Slot) -> list[str]:
        """The fork server's command: bwrap, entered into the slot's memory cgroup first."""
        argv = self._bwrap_argv(slot)
        if slot.cgroup is None:
            return argv
        procs = str(slot.cgroup / "cgroup.procs")
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs, *argv]

    def stop(self) -> None:
        for slot in self._slots:
            slot.zygote.stop()
            if slot.scratch_bytes:
                subprocess.run(["umount", "-l", str(slot.tmp)], capture_output=True, check=False)  # noqa: S603, S607
            if slot.cgroup is not None:
                with contextlib.suppress(OSError):
                    slot.cgroup.rmdir()
        self._slots.clear()
        for fd in self._uid_locks:
            os.close(fd)
        self._uid_locks.clear()
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
        if self._owner_fd is not None:
            os.close(self._owner_fd)
            self._owner_fd = None

    def _ro_paths(self) -> list[str]:
        paths = [
            sys.base_prefix,
            sys.prefix,
            os.path.dirname(os.path.realpath(self.python)),
            *_kernel_package_dirs(),
            *self.extra_ro_paths,
        ]
        seen: list[str] = []
        for p in paths:
            p = os.path.realpath(p)
            if not p.startswith("/usr/") and p not in seen and os.path.exists(p):
                seen.append(p)
        return seen

    def _bwrap_argv(self, slot: Slot) -> list[str]:
        argv = [
            "bwrap",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "grader",
            # The preloaded debugger (pydevd) warns about frozen modules on import otherwise.
            "--setenv",
            "PYDEVD_DISABLE_FILE_VALIDATION",
            "1",
            # The fork server, root, keeps only what it uses (bubblewrap run by root keeps
            # every capability otherwise): two to drop each kernel to the slot's user, one to
            # signal kernels, one to lower a runaway kernel's CPU priority. The kernels keep
            # none of them.
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
            "--cap-add",
            "CAP_KILL",
            "--cap-add",
            "CAP_SYS_NICE",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            # The private /tmp first: a later mount on /tmp would hide read-only binds below
            # it (a virtualenv in a checkout under /tmp, as CI may have).
            "--bind",
            str(slot.tmp),
            SANDBOX_TMP,
        ]
        for d in SYSTEM_DIRS:
            if os.path.islink(d):
                argv += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                argv += ["--ro-bind", d, d]
        for f in ETC_FILES:
            if os.path.exists(f):
                argv += ["--ro-bind", f, f]
        made: set[str] = {"/", "/usr", "/proc", "/dev", "/etc", SANDBOX_TMP}
        for path in self._ro_paths():
            if Path(path).is_relative_to(SANDBOX_TMP):
                rel = Path(path).relative_to(SANDBOX_TMP)
                for depth in range(1, len(rel.parts) + 1):
                    slot.mount_points.add(slot.tmp.joinpath(*rel.parts[:depth]))
            for parent in _parents(path):
                if parent not in made:
                    argv += ["--perms", "0755", "--dir", parent]
                    made.add(parent)
            argv += ["--ro-bind", path, path]
            made.add(path)
        assert self.root is not None
        for parent in _parents(PROFILE_IN_SANDBOX):  # bwrap would make them 0700: root's only
            if parent not in made:
                argv += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        argv += ["--ro-bind", str(self.root / "ipython-profile"), PROFILE_IN_SANDBOX]
        argv += ["--ro-bind", str(ZYGOTE), ZYGOTE_IN_SANDBOX]
        argv += ["--ro-bind", str(PIPE_KERNEL), PIPE_KERNEL_IN_SANDBOX]
        argv += ["--ro-bind", str(slot.sub), "/submission"]
        # The same folder at its host path too, so IPC socket paths agree on both sides.
        for parent in _parents(str(slot.tmp)):
            if parent not in made:
                argv += ["--perms", "0755", "--dir", parent]
        argv += ["--bind", str(slot.tmp), str(slot.tmp)]
        if ipc_denied_program() is not None:
            argv += ["--seccomp", SECCOMP_FD]
        else:
            log.warning("no seccomp filter for %s: System V IPC stays open", os.uname().machine)
        argv += ["--chdir", "/submission", "--"]
        argv += [self.python, "-I", "-S", "-c", _ZYGOTE_BOOT, str(slot.uid), *self.preload]
        return argv

    # --- sessions ------------------------------------------------------------------------------
    def run(self, submission_dir: Path, material_dir: Path | None, limits: Limits) -> LocalSession:
        slot = self._free.get()
        try:
            if not slot.zygote.alive():
                slot.zygote.stop()
                slot.wipe()
                slot.zygote = Zygote(self._zygote_argv(slot))
                if not slot.zygote.ready.wait(60):
                    raise SandboxError("the grading sandbox did not restart")
                slot.note_own_processes()
            for src in (submission_dir, material_dir):
                if src is not None and src.exists():
                    shutil.copytree(src, slot.sub, dirs_exist_ok=True, symlinks=False)
            for dirpath, dirnames, filenames in os.walk(slot.sub):
                for d in dirnames:
                    os.chmod(os.path.join(dirpath, d), 0o755)  # noqa: S103
                for f in filenames:
                    os.chmod(os.path.join(dirpath, f), 0o644)
        except BaseException:
            self.release(slot)
            raise
        return LocalSession(self, slot, limits)

    def release(self, slot: Slot) -> None:
        slot.ready.clear()
        try:
            if slot.zygote.alive():
                slot.zygote.request("reap", timeout=30)
                slot.wait_until_reaped()
        except SandboxError:
            slot.zygote.stop()
        slot.wipe()
        # Fork the next submission's kernels now, after the reap and the wipe: they start up
        # while the worker saves this grade, and see nothing of this submission.
        if slot.want and slot.zygote.alive():
            (spec, _rl), limits, count = slot.want
            try:
                slot.ready = [slot.spawn(spec, limits) for _ in range(count)]
            except (SandboxError, OSError):
                slot.ready = []
        self._free.put(slot)


def _make_memory_cgroup(name: str, limit: int) -> Path | None:
    """A memory cgroup of `limit` bytes (no swap) below this process's own, cgroup v2 where
    it is delegated to us, else v1's memory controller; None where neither can be made."""
    if not limit:
        return None
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    own = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            own[c] = path.lstrip("/")
    v2 = Path("/sys/fs/cgroup")
    candidates: list[tuple[Path, str, str]] = []
    if (v2 / "cgroup.controllers").exists() and "" in own:
        base = v2 / own[""]
        candidates.append((base, "memory.max", "memory.swap.max"))
    if (v2 / "memory" / "tasks").exists():
        base = v2 / "memory" / own.get("memory", "")
        if not base.is_dir():
            base = v2 / "memory"
        candidates.append((base, "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"))
    for base, limit_file, swap_file in candidates:
        group = base / name
        try:
            if limit_file == "memory.max":
                with contextlib.suppress(OSError):
                    (base / "cgroup.subtree_control").write_text("+memory")
            group.mkdir(exist_ok=True)
            (group / limit_file).write_text(str(limit))
            with contextlib.suppress(OSError):
                (group / swap_file).write_text("0" if limit_file == "memory.max" else str(limit))
            return group
        except OSError as err:
            log.info("no memory cgroup at %s: %s", group, err)
            with contextlib.suppress(OSError):
                group.rmdir()
    return None


# `python -I -S` ignores the environment and user site; then the venv's site-packages are
# added by running site (as a normal start would) before the fork server's own code.
_ZYGOTE_BOOT = (
    "import site, sys, runpy; site.main(); "
    f"sys.argv = [{ZYGOTE_IN_SANDBOX!r}] + sys.argv[1:]; "
    f"runpy.run_path({ZYGOTE_IN_SANDBOX!r}, run_name='__main__')"
)
