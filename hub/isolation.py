"""Student servers of the local profile, each under its own system user, in bubblewrap.

Every student's Jupyter server (and so its kernels and terminals) runs under an unprivileged
system account of its own, `nbc-<username>`, created on the first spawn (as The Littlest
JupyterHub does with `jupyter-<username>`), with the grader sandbox's means (grader/sandbox/
local.py): a bubblewrap mount and PID namespace that holds the system folders and Python
read-only, the code of nbcampus read-only, a private /tmp, and the student's home
(`homes/<username>`, handed over to the account, mode 0700) — and nothing of the data
directory besides: no databases, secrets, `demo-accounts.json`, logs or other homes. The
server sees only its own processes; the network is shared (the proxy and the Hub reach it).
The data directory itself is private to the Hub's user (0700) on the host too.

This needs the Hub to run as root. Without root the profile refuses to start unless the
operator opts into trusted mode (`NBCAMPUS_LOCAL_TRUSTED=1`, or
`c.CampusLocalSpawner.isolate_users = False`), where every server runs as the Hub's own user.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Bool, Int, Tuple, Unicode

from nbcampus.grader.sandbox.local import SYSTEM_DIRS, _parents

TRUSTED_ENV = "NBCAMPUS_LOCAL_TRUSTED"
# Files the students' servers create: private to the student (their home is theirs anyway).
STUDENT_UMASK = 0o077
LINUX_NAME_MAX = 32
_PLAIN_NAME = re.compile(r"^[a-z0-9_][a-z0-9_-]*$")
# useradd edits /etc/passwd under its own lock; one at a time within the Hub is enough.
_ACCOUNTS_LOCK = threading.Lock()


class IsolationError(RuntimeError):
    """Student servers cannot be isolated here; the message says what to do, in one line."""


def trusted_mode_requested(environ: dict[str, str] | None = None) -> bool:
    """True when the operator asked to run every student server as the Hub's own user."""
    env = os.environ if environ is None else environ
    return env.get(TRUSTED_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def system_username(name: str, prefix: str = "nbc-") -> str:
    """The system account of a campus user: `<prefix><name>`, or, when the name has characters
    a Linux account name should not have or is too long, a cleaned name plus a short hash (so
    two campus names never share an account)."""
    plain = prefix + name
    if _PLAIN_NAME.fullmatch(name) and len(plain) <= LINUX_NAME_MAX:
        return plain
    cleaned = re.sub(r"[^a-z0-9_-]", "_", name.lower())
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    room = LINUX_NAME_MAX - len(prefix) - len(digest) - 1
    return f"{prefix}{cleaned[:room]}-{digest}"


def code_dirs() -> list[str]:
    """What a student's server runs, read-only in its sandbox: Python, the virtualenv, and
    the code folders of nbcampus (an editable install keeps them in the checkout; only these
    folders, never the checkout around them, where the data directory may be)."""
    import importlib.util

    dirs = [sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))]
    for name in ("nbcampus", "nbcampus.hub", "nbcampus.grader", "nbcampus.ckernel", "nbcampus.lab"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        dirs += list(spec.submodule_search_locations or []) if spec else []
    seen: list[str] = []
    for d in dirs:
        d = os.path.realpath(d)
        if d not in seen and os.path.isdir(d) and not d.startswith("/usr/"):
            seen.append(d)
    return sorted(seen)


def _unreadable(path: Path, need: int) -> bool:
    try:
        return not os.stat(path).st_mode & need
    except OSError:
        return False


def check_isolation(data_dir: Path) -> None:
    """Refuse, in one line, what would keep isolated student servers from working: a Hub that
    is not root, no bubblewrap, or a Python or virtualenv that other users cannot read."""
    if os.geteuid() != 0:
        raise IsolationError(
            "the local profile runs each student's server as its own system user, which needs "
            "root: run nbcampus as root, or set NBCAMPUS_LOCAL_TRUSTED=1 to run every student "
            "server as this user (only on a machine whose students you trust)"
        )
    if shutil.which("bwrap") is None:
        raise IsolationError(
            "bubblewrap (bwrap) is missing, which isolates students' servers: run "
            "scripts/setup.sh (or apt-get install bubblewrap)"
        )
    import jupyterhub

    import nbcampus

    kernels = Path(sys.prefix) / "share" / "jupyter" / "kernels"
    wanted = [
        (Path(os.path.realpath(sys.executable)), stat.S_IXOTH),
        (Path(os.__file__), stat.S_IROTH),
        (Path(jupyterhub.__file__), stat.S_IROTH),
        *((Path(p) / "__init__.py", stat.S_IROTH) for p in nbcampus.__path__),
        *((k, stat.S_IXOTH) for k in (kernels.iterdir() if kernels.is_dir() else [])),
    ]
    for path, need in wanted:
        if _unreadable(path, need):
            raise IsolationError(
                f"student servers run as their own users and cannot read {path}: make Python, "
                f"the checkout and its .venv readable by others (chmod -R o+rX <folder>), or "
                f"run scripts/setup.sh with the umask 022"
            )


def lock_down_data_dir(data_dir: Path, homes_dir: Path) -> None:
    """The data directory and `homes/` private to the Hub's user, and everything else at the
    top level of the data directory too (without following links): student servers reach
    their own home only through their sandbox's bind mount."""
    data_dir.mkdir(parents=True, exist_ok=True)
    homes_dir.mkdir(exist_ok=True)
    for entry in [data_dir, homes_dir, *(Path(e.path) for e in os.scandir(data_dir))]:
        if entry.is_symlink():
            continue
        mode = stat.S_IMODE(entry.lstat().st_mode)
        if mode & 0o077:
            os.chmod(entry, mode & 0o700)


def hand_over_home(home: Path, uid: int, gid: int) -> None:
    """Create the home, or give an existing one (made by root in trusted mode or by an older
    version) to its student: owner `uid`, mode 0700. Walks the tree only when the home is not
    the student's yet, and never follows a link."""
    home.mkdir(mode=0o700, exist_ok=True)
    st = home.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise IsolationError(f"{home} is not a directory")
    if (st.st_uid, st.st_gid) != (uid, gid):
        for dirpath, dirnames, filenames in os.walk(home):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)
        os.chown(home, uid, gid, follow_symlinks=False)
    if stat.S_IMODE(home.lstat().st_mode) != 0o700:
        os.chmod(home, 0o700)


def ensure_system_user(sysname: str, uid_range: tuple[int, int], comment: str) -> pwd.struct_passwd:
    """The system account `sysname`, created (with a group of its own, no home, no password)
    when missing, with a user and group id from `uid_range`."""
    with _ACCOUNTS_LOCK:
        try:
            return pwd.getpwnam(sysname)
        except KeyError:
            pass
        low, high = uid_range
        argv = ["useradd", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
        argv += ["--shell", "/bin/bash", "--comment", comment]
        for kind in ("UID", "GID"):
            argv += ["-K", f"{kind}_MIN={low}", "-K", f"{kind}_MAX={high}"]
        result = subprocess.run([*argv, sysname], capture_output=True, text=True, timeout=60)
        if result.returncode != 0 and result.returncode != 9:  # 9: created meanwhile
            raise IsolationError(
                f"cannot create the system user {sysname}: {result.stderr.strip()}"
            )
        return pwd.getpwnam(sysname)


# Runs first inside the sandbox, as root with only CAP_SETUID/CAP_SETGID: becomes the student
# (no other group; bubblewrap has set no_new_privs, so no setuid program gives root back),
# then executes the server. `-I -S`: nothing of the environment or site is read before.
_DROP = (
    "import os, sys; uid, gid = int(sys.argv[1]), int(sys.argv[2]); "
    "os.setgroups([]); os.setgid(gid); os.setuid(uid); "
    "ok = (os.getresuid(), os.getresgid(), os.getgroups()) == ((uid,) * 3, (gid,) * 3, []); "
    "ok or sys.exit('nbcampus: could not become the student user'); "
    f"os.umask({STUDENT_UMASK:#o}); os.chdir(sys.argv[3]); os.execv(sys.argv[4], sys.argv[4:])"
)


def sandbox_argv(
    uid: int, gid: int, home: str, data_dir: str, ro_dirs: list[str] | None = None
) -> list[str]:
    """bubblewrap's command line that runs a command (appended) as `uid` in a sandbox with the
    system folders, Python and the code read-only, a private /tmp, and `home`; the Hub's
    processes and the data directory are not in it."""
    argv = [
        "bwrap",
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-cgroup-try",
        "--new-session",
        "--cap-add",
        "CAP_SETUID",
        "--cap-add",
        "CAP_SETGID",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        # The private /tmp first: a later mount on /tmp would hide read-only binds below it
        # (a virtualenv in a checkout under /tmp, as CI may have).
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",  # noqa: S108 - inside the sandbox: the server's own scratch folder
        "--ro-bind",
        "/etc",
        "/etc",
        "--ro-bind-try",
        "/run/systemd/resolve",
        "/run/systemd/resolve",
    ]
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            argv += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            argv += ["--ro-bind", d, d]
    made = {"/", "/usr", "/proc", "/dev", "/etc", "/tmp"}  # noqa: S108
    dirs = code_dirs() if ro_dirs is None else ro_dirs

    def parents(path: str, mode: str = "0755") -> None:
        nonlocal argv
        for parent in _parents(path):
            if parent not in made:
                argv += ["--perms", mode, "--dir", parent]
                made.add(parent)

    for path in dirs:
        parents(path)
        argv += ["--ro-bind", path, path]
        made.add(path)
    # A data directory inside a bound folder (a checkout's ./nbcampus-data) stays hidden.
    if any(Path(data_dir).is_relative_to(d) for d in dirs):
        argv += ["--tmpfs", data_dir]
        made.add(data_dir)
    parents(home, "0711")  # traverse only: nothing to list on the way to the home
    argv += ["--bind", home, home, "--chdir", home, "--"]
    argv += [sys.executable, "-I", "-S", "-c", _DROP, str(uid), str(gid), home]
    return argv


def _sandboxed_pid(outer: int) -> int | None:
    """The first process below bubblewrap's own two (its monitor and its PID 1): the server,
    which has a graceful shutdown that bubblewrap would not pass a signal on to."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat_line = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat_line.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    todo = list(children.get(outer, []))
    while todo:
        pid = todo.pop(0)
        try:
            exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            continue
        if exe != "bwrap":
            return pid
        todo += children.get(pid, [])
    return None


class IsolatedLocalSpawner(SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner whose servers run under a system user per student."""

    isolate_users = Bool(
        True,
        config=True,
        help="""Run each student's server under a system user of its own
        (`system_user_prefix` + the campus name, created on the first spawn) with a home only
        that user can read, out of reach of the data directory, the secrets, the databases,
        other homes and other users' processes. Needs the Hub to run as root. False (or
        NBCAMPUS_LOCAL_TRUSTED=1) runs every server as the Hub's own user: only for one
        machine whose students you trust.""",
    )

    system_user_prefix = Unicode(
        "nbc-",
        config=True,
        help="""Prefix of the system accounts of students' servers: campus user `alice` runs
        as `nbc-alice`. Names that are too long or have characters an account name should
        not have get a cleaned name and a short hash instead.""",
    )

    uid_range = Tuple(
        Int(),
        Int(),
        default_value=(20000, 29999),
        config=True,
        help="""Lowest and highest user (and group) id of new student accounts, given to
        useradd as UID_MIN/UID_MAX and GID_MIN/GID_MAX. Keep it apart from people's
        accounts and from the grader's sandbox ids (61000-65000).""",
    )

    data_dir = Unicode(
        "",
        config=True,
        help="""The campus data directory (databases, secrets, homes). Before each spawn it
        and `homes/` are made traverse-only for others and everything else at its top level
        private to the Hub's user. Empty: the folder above the homes.""",
    )

    _account: pwd.struct_passwd | None = None

    def _data_dir(self) -> Path:
        if self.data_dir:
            return Path(self.data_dir)
        return Path(self.home_dir).parent.parent

    def _prepare_account(self) -> pwd.struct_passwd:
        data = self._data_dir()
        lock_down_data_dir(data, Path(self.home_dir).parent)
        sysname = system_username(self.user.name, self.system_user_prefix)
        account = ensure_system_user(
            sysname, tuple(self.uid_range), f"nbcampus student server of {self.user.name}"
        )
        if account.pw_uid == 0 or account.pw_gid == 0:
            raise IsolationError(f"{sysname} is a root account; refusing to run a server as it")
        hand_over_home(Path(self.home_dir), account.pw_uid, account.pw_gid)
        return account

    async def start(self) -> tuple[str, int]:
        if self.isolate_users:
            if os.geteuid() != 0:
                raise IsolationError(
                    "isolated student servers need the Hub to run as root "
                    f"(or {TRUSTED_ENV}=1 for trusted mode)"
                )
            account = await asyncio.to_thread(self._prepare_account)
            self._account = account
            self.log.info(
                "Starting %s's server as system user %s (uid %d) in its sandbox",
                self.user.name,
                account.pw_name,
                account.pw_uid,
            )
            base = list(self.cmd)
            self.cmd = [
                *sandbox_argv(account.pw_uid, account.pw_gid, self.home_dir, str(self._data_dir())),
                *base,
            ]
            try:
                return await super().start()
            finally:
                self.cmd = base
        return await super().start()

    def make_preexec_fn(self, name: str) -> Callable[[], None] | None:
        if not self.isolate_users:
            return super().make_preexec_fn(name)
        return None  # bubblewrap starts as root; the sandbox drops to the student

    async def stop(self, now: bool = False) -> None:
        # bubblewrap passes no signal on: interrupt the server itself, so that it shuts its
        # kernels down cleanly, as it would outside the sandbox; then the usual escalation.
        if self.isolate_users and not now and self.pid and await self.poll() is None:
            inner = _sandboxed_pid(self.pid)
            if inner is not None:
                try:
                    os.kill(inner, signal.SIGINT)
                except OSError:
                    pass
                else:
                    await self.wait_for_death(self.interrupt_timeout)
        await super().stop(now=now)

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        env = super().user_env(env)
        if self.isolate_users and self._account is not None:
            env["LOGNAME"] = self._account.pw_name
        env["PATH"] = student_path(env.get("PATH", ""))
        return env


def student_path(path: str) -> str:
    """PATH of a student's server (its kernels and terminals): the environment's bin folder
    first, so that `nbgrader`, `jupyter` and `python` are the campus's own, as the README
    promises, even when the Hub was started without the virtualenv activated."""
    venv_bin = str(Path(sys.executable).parent)
    rest = [p for p in path.split(os.pathsep) if p and p != venv_bin]
    return os.pathsep.join([venv_bin, *(rest or ["/usr/local/bin", "/usr/bin", "/bin"])])


def describe(isolate: bool, prefix: str = "nbc-") -> str:
    """The start-up line that says how student servers run."""
    if isolate:
        return (
            f"nbcampus: student servers run as their own system users ({prefix}<name>), with "
            "private homes; the data directory, secrets, databases and other users' "
            "processes are out of their reach"
        )
    who = pwd.getpwuid(os.geteuid()).pw_name
    return (
        f"nbcampus: TRUSTED MODE ({TRUSTED_ENV}): every student server runs as {who}, the "
        "Hub's own user, and can read the data directory, the secrets and other homes"
    )
