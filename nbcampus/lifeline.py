"""Managed services live and die with their Hub, and a new run stops what a crashed one left.

The Hub starts the campus, the grader and the idle culler as child processes. When the Hub
dies without stopping them (`kill -9`, an out-of-memory kill), nothing else would:

- `die_with_hub` asks Linux for SIGTERM when the parent dies (PR_SET_PDEATHSIG), and exits at
  once if the Hub is already gone (it may die between the fork and that call);
- a `Lifeline` thread watches the same from inside the service (its parent pid changes; or,
  for a worker not started by the Hub, the Hub's API refuses connections for a while) and
  stops the service, hard after a grace period;
- each managed service records itself in `<data dir>/run/<name>.pid`, with its start time and
  its Hub's, so `nbcampus run` can find and stop services whose Hub is gone (`stop_leftovers`)
  without ever killing an unrelated process that reused the pid.

`python -m nbcampus.lifeline NAME -- COMMAND...` does the first and third for a command that
is not ours (the idle culler), then execs it: the death signal survives the exec.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

HUB_PID_ENV = "NBCAMPUS_HUB_PID"
PR_SET_PDEATHSIG = 1
RUN_DIR = "run"


# --- processes ------------------------------------------------------------------------------
def start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot, /proc/<pid>/stat field 22); None if no such
    process. With the pid it names one process for good: a reused pid has another start."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name may hold spaces and parentheses: count fields after its ")"
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def alive(pid: int, start: int | None) -> bool:
    """Whether the process `pid` that started at `start` still runs (a zombie does not)."""
    if start is None or start_time(pid) != start:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def hub_pid() -> int | None:
    """The pid of the Hub that started this service (set by hub/services.py), if any."""
    value = os.environ.get(HUB_PID_ENV, "")
    return int(value) if value.isascii() and value.isdigit() else None


def die_with_hub() -> None:
    """Have the kernel send SIGTERM when our parent dies; exit now if the Hub is gone already.

    Only for a process the Hub started itself (NBCAMPUS_HUB_PID set): a stand-alone worker has
    no Hub parent and relies on its Lifeline's API check."""
    hub = hub_pid()
    if hub is None:
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if os.getppid() != hub:
        print(f"nbcampus: the Hub (pid {hub}) is gone; not starting", file=sys.stderr)
        sys.exit(1)


# --- pid files --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PidRecord:
    name: str
    pid: int
    start: int | None
    host: str
    hub_pid: int | None
    hub_start: int | None
    path: Path

    def running(self) -> bool:
        return self.host == socket.gethostname() and alive(self.pid, self.start)

    def hub_running(self) -> bool:
        return self.hub_pid is not None and alive(self.hub_pid, self.hub_start)


def run_dir(data_dir: Path) -> Path:
    return data_dir / RUN_DIR


def write_pid_file(data_dir: Path, name: str) -> Path | None:
    """Record this process as the managed service `name` of the Hub that started it."""
    hub = hub_pid()
    if hub is None:
        return None
    path = run_dir(data_dir) / f"{name}.pid"
    record = {
        "name": name,
        "pid": os.getpid(),
        "start": start_time(os.getpid()),
        "host": socket.gethostname(),
        "hub_pid": hub,
        "hub_start": start_time(hub),
    }
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)
    except OSError as err:
        log.warning("cannot write %s: %s", path, err)
        return None
    return path


def remove_pid_file(path: Path | None) -> None:
    """Remove our pid file, unless a newer process of the same name has replaced it."""
    if path is None:
        return
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def read_pid_files(data_dir: Path) -> list[PidRecord]:
    records = []
    for path in sorted(run_dir(data_dir).glob("*.pid")):
        try:
            raw = json.loads(path.read_text())
            records.append(
                PidRecord(
                    name=str(raw["name"]),
                    pid=int(raw["pid"]),
                    start=raw.get("start"),
                    host=str(raw.get("host", "")),
                    hub_pid=raw.get("hub_pid"),
                    hub_start=raw.get("hub_start"),
                    path=path,
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                path.unlink()  # unreadable: nothing we could safely act on
    return records


def stop_leftovers(data_dir: Path, grace: float = 10.0) -> list[PidRecord]:
    """Stop the managed services of this data directory whose Hub is gone.

    SIGTERM (and SIGCONT, for a stopped one), SIGKILL after `grace` seconds. A service whose
    Hub still runs is left alone; so is a process that merely reused a recorded pid, and any
    process of another host sharing the data directory. Returns what was stopped."""
    orphans = []
    for record in read_pid_files(data_dir):
        if record.host != socket.gethostname():
            continue
        if not record.running():
            with contextlib.suppress(OSError):
                record.path.unlink()
            continue
        if record.hub_running():
            continue
        orphans.append(record)
    for record in orphans:
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGTERM)
            os.kill(record.pid, signal.SIGCONT)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(r.running() for r in orphans):
        time.sleep(0.1)
    for record in orphans:
        if record.running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(record.pid, signal.SIGKILL)
    for record in orphans:
        with contextlib.suppress(OSError):
            record.path.unlink()
    return orphans


# --- the watchdog -----------------------------------------------------------------------------
def api_address(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


class Lifeline:
    """Watches what a service lives for: the Hub as its parent, and the Hub's API.

    `lost` is set (and `on_lost` called once, from the watchdog's thread) when the parent pid
    is no longer the Hub's, or when the Hub's API has refused connections (or been
    unreachable) for `api_grace` seconds without a break. Any answer at all counts as alive."""

    def __init__(
        self,
        hub_pid: int | None = None,
        api_url: str | None = None,
        api_grace: float = 60.0,
        interval: float = 1.0,
    ) -> None:
        self.hub_pid = hub_pid
        self.api = api_address(api_url) if api_url else None
        self.api_grace = api_grace
        self.interval = interval
        self.lost = threading.Event()
        self.reason = ""
        self._api_down_since: float | None = None
        self._last_api_check = 0.0

    @classmethod
    def from_env(cls, api_grace: float = 60.0) -> Lifeline:
        return cls(hub_pid(), os.environ.get("JUPYTERHUB_API_URL") or None, api_grace)

    @property
    def watches(self) -> bool:
        return self.hub_pid is not None or self.api is not None

    def _api_reachable(self) -> bool:
        assert self.api is not None
        try:
            with socket.create_connection(self.api, timeout=5):
                return True
        except OSError:
            return False

    def check(self) -> str:
        """One look; the reason the Hub is gone, or "" while it is not."""
        if self.hub_pid is not None and os.getppid() != self.hub_pid:
            return f"the Hub (pid {self.hub_pid}) is gone"
        now = time.monotonic()
        if self.api is not None and now - self._last_api_check >= max(self.interval, 5.0):
            self._last_api_check = now
            if self._api_reachable():
                self._api_down_since = None
            else:
                self._api_down_since = self._api_down_since or now
        if self._api_down_since is not None and now - self._api_down_since >= self.api_grace:
            host, port = self.api or ("?", 0)
            return f"the Hub's API at {host}:{port} has been unreachable for {self.api_grace:g} s"
        return ""

    def start(self, on_lost: Callable[[str], None]) -> None:
        if not self.watches:
            return

        def watch() -> None:
            while not self.lost.is_set():
                reason = self.check()
                if reason:
                    self.reason = reason
                    self.lost.set()
                    on_lost(reason)
                    return
                time.sleep(self.interval)

        threading.Thread(target=watch, name="lifeline", daemon=True).start()


def exit_soon(seconds: float, code: int = 1) -> None:
    """Exit hard after `seconds` unless the process has ended by itself by then."""

    def later() -> None:
        time.sleep(seconds)
        log.error("still running %g s after the Hub went away: exiting now", seconds)
        os._exit(code)

    threading.Thread(target=later, name="lifeline-exit", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """`python -m nbcampus.lifeline NAME -- COMMAND...`: die with the Hub, record, exec."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[1] != "--":
        print("usage: python -m nbcampus.lifeline NAME -- COMMAND...", file=sys.stderr)
        sys.exit(2)
    name, command = args[0], args[2:]
    die_with_hub()
    data_dir = os.environ.get("NBCAMPUS_DATA_DIR")
    if data_dir:
        write_pid_file(Path(data_dir), name)  # same pid and start time after the exec
    os.execvp(command[0], command)  # noqa: S606 - the Hub's configured command, no shell


if __name__ == "__main__":
    main()
