"""Start a campus, spawn a student's server, press Ctrl-C: nothing it started may survive."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from harness.hub import CampusHub

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
    hub = CampusHub(data).start()
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
        ):
            assert part in commands, f"{part} not running: {running}"
    finally:
        code = hub.stop(signal.SIGINT, timeout=60)
    assert code is not None
    deadline = time.monotonic() + 10
    while processes_under(data) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_under(data) == {}, "processes left behind after Ctrl-C"
