"""Start a campus, spawn a student's server, press Ctrl-C: nothing it started may survive."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from harness.hub import CampusHub

from nbcampus.lifeline import read_pid_files

pytestmark = pytest.mark.slow


def processes_under(directory: Path) -> dict[int, str]:
    """Processes whose working directory is inside `directory` (the Hub, proxy, services and
    student servers of one campus all run there)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd == str(directory) or cwd.startswith(str(directory) + "/"):
            found[int(entry.name)] = cmd
    return found


def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # With the dashboards' warm kernels (as deployed): they run outside the data directory.
    hub = CampusHub(data, env={"NBCAMPUS_DASHBOARD_POOL": "1"}).start()
    kernels: set[int] = set()
    try:
        admin = hub.admin_client()
        student = hub.demo("student")["name"]
        resp = admin.post(f"hub/api/users/{student}/server")
        assert resp.status_code in (201, 202), resp.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            user = admin.get(f"hub/api/users/{student}").json()
            if user["servers"].get("", {}).get("ready"):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the server did not start:\n{hub.log_tail()}")
        running = processes_under(data)
        commands = " ".join(running.values())
        for part in (
            "jupyterhub",
            "configurable-http-proxy",
            "nbcampus.hub.campus",
            "nbcampus.grader",
            "jupyterhub_idle_culler",
            "nbcampus.singleuser",  # jupyterhub-singleuser, started by nbcampus
            "nbcampus.hub.dashboards",
        ):
            assert part in commands, f"{part} not running: {running}"
        kernels = dashboard_kernels(data, want=3, timeout=90)  # one warm kernel per dashboard
    finally:
        # Ctrl-C at a terminal: SIGINT to the whole foreground process group.
        assert hub.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(hub.process.pid, signal.SIGINT)
        code = hub.stop(signal.SIGINT, timeout=60)
    assert code is not None
    deadline = time.monotonic() + 10
    while (processes_under(data) or any(map(pid_alive, kernels))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_under(data) == {}, "processes left behind after Ctrl-C"
    assert not any(map(pid_alive, kernels)), "dashboard kernels left behind after Ctrl-C"
    # The dashboards stopped at the Hub's SIGINT (Voila alone waited for the SIGTERM, seconds
    # later), ending their kernels itself.
    assert "dashboards: kernels ended" in hub.log_tail(20_000), hub.log_tail(3000)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def dashboard_kernels(data: Path, want: int, timeout: float) -> set[int]:
    """The dashboards service's kernels, once `want` of them run."""
    deadline = time.monotonic() + timeout
    found: set[int] = set()
    while time.monotonic() < deadline:
        below = {
            kid
            for pid, cmd in processes_under(data).items()
            if "nbcampus.hub.dashboards" in cmd
            for kid in descendants(pid)
        }
        found = {p for p in below if "ipykernel" in command_line(p)}
        if len(found) >= want:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{len(found)} dashboard kernels of {want}")


# --- a crashed Hub: its services die with it, and the next run stops any it left -----------
SERVICES = {
    "campus": "nbcampus.hub.campus",
    "grader": "nbcampus.grader",
    "idle-culler": "jupyterhub_idle_culler",
    "dashboards": "nbcampus.hub.dashboards",
}


def service_pids(data: Path) -> dict[str, list[int]]:
    """The managed services of one campus by name, counted by their command lines."""
    found: dict[str, list[int]] = {name: [] for name in SERVICES}
    for pid, cmd in processes_under(data).items():
        words = cmd.split()
        for name, module in SERVICES.items():
            if any(a == "-m" and b == module for a, b in zip(words, words[1:], strict=False)):
                found[name].append(pid)
    return found


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, as /proc's parent links show them now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def one_each(data: Path) -> dict[str, int]:
    pids = service_pids(data)
    for name, found in pids.items():
        assert len(found) == 1, f"{name}: {found}\n{processes_under(data)}"
    return {name: found[0] for name, found in pids.items()}


def settled(data: Path, timeout: float = 60) -> dict[str, int]:
    """One process per service, each the one its pid file names: past start-up (the culler's
    wrapper has exec'd it) and not being restarted by the Hub."""
    deadline = time.monotonic() + timeout
    while True:
        pids = service_pids(data)
        recorded = {r.name: r.pid for r in read_pid_files(data) if r.running()}
        if all(len(found) == 1 for found in pids.values()) and recorded == {
            name: found[0] for name, found in pids.items()
        }:
            return recorded
        if time.monotonic() > deadline:
            raise AssertionError(f"services not settled: {pids} vs pid files {recorded}")
        time.sleep(0.2)


def kill_what_is_left(data: Path) -> None:
    for pid in processes_under(data):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_kill_9_of_the_hub_takes_its_services_along(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hub = CampusHub(data).start()
    try:
        services = one_each(data)
        # the grader's sandboxes (bwrap, its fork servers) must not outlive it either
        below = descendants(services["grader"])
        assert below, "the grader runs no sandbox"
        assert hub.process is not None
        os.kill(hub.process.pid, signal.SIGKILL)
        hub.process.wait(10)
        deadline = time.monotonic() + 10
        left = set(services.values()) | below
        while time.monotonic() < deadline and any(pid_alive(p) for p in left):
            time.sleep(0.1)
        survivors = {p: processes_under(data).get(p) for p in left if pid_alive(p)}
        assert not survivors, f"alive after the Hub's kill -9: {survivors}"
        assert service_pids(data) == {name: [] for name in SERVICES}
    finally:
        kill_what_is_left(data)


def test_a_new_run_stops_what_a_crashed_one_left(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = CampusHub(data).start()
    second = None
    try:
        old = settled(data)
        # Services that cannot follow their Hub (as from a version without the death signal):
        # stopped, they keep running through the Hub's kill -9 until someone else stops them.
        for pid in old.values():
            os.kill(pid, signal.SIGSTOP)
        assert first.process is not None
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(10)
        time.sleep(1)
        after = service_pids(data)
        # The idle culler (not ours; no handler for SIGHUP) may be gone already: a stopped
        # member of a process group orphaned by the Hub's death gets SIGHUP and SIGCONT from
        # the kernel. Ours must still be there for the new run to stop.
        ours = {name: pid for name, pid in old.items() if name != "idle-culler"}
        assert {name: after[name] for name in ours} == {n: [p] for n, p in ours.items()}, (
            f"the stopped services must still be there before the new run: {old} -> {after}\n"
            f"{first.log_tail(3000)}"
        )

        second = CampusHub(data).start()
        log = second.log_tail(100_000)
        line = next(x for x in log.splitlines() if "left by an earlier run" in x)
        for name, pid in old.items():
            if name in ours or pid in after["idle-culler"]:
                assert f"{name} (pid {pid})" in line, line
        new = one_each(data)
        assert not set(new.values()) & set(old.values())
        assert not any(pid_alive(p) for p in old.values())
    finally:
        if second is not None:
            second.stop(signal.SIGINT, timeout=60)
        deadline = time.monotonic() + 10
        while any(service_pids(data).values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = service_pids(data)
        kill_what_is_left(data)
    assert left == {name: [] for name in SERVICES}, "services outlived the new run's Ctrl-C"
