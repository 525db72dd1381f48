"""A student's server finds the campus's tools: `nbgrader` and `jupyter` are on the PATH of its
kernels and of its terminals (the README says nbgrader's commands work there), although the
Hub may run without the virtualenv activated and a terminal's login shell resets PATH."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from harness.containers import run_cell
from harness.hub import CampusHub
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from nbcampus.hub.isolation import student_path

on_hub = pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
VENV_BIN = str(Path(sys.executable).parent)

WHICH = r"""
import json, os, shutil, subprocess, sys
found = {t: shutil.which(t) for t in ("nbgrader", "jupyter")}
version = subprocess.run(["nbgrader", "--version"], capture_output=True, text=True)
print(json.dumps({"found": found, "bin": os.path.dirname(sys.executable),
                  "version": version.returncode}))
"""


def test_student_path_puts_the_environment_first() -> None:
    assert student_path("/usr/bin:/bin").split(":") == [VENV_BIN, "/usr/bin", "/bin"]
    assert student_path(f"/usr/bin:{VENV_BIN}").split(":") == [VENV_BIN, "/usr/bin"]
    assert student_path("").split(":")[0] == VENV_BIN and "/usr/bin" in student_path("")


@pytest.mark.slow
@on_hub
def test_kernels_and_terminals_find_nbgrader_and_jupyter(campus_hub: CampusHub) -> None:
    me = campus_hub.demo("student")["name"]
    campus_hub.start_server(me)
    out = run_cell(campus_hub, me, "python3", WHICH)
    assert out["status"] == "ok", out
    got = json.loads(out["stdout"].strip().splitlines()[-1])
    assert got["found"] == {t: f"{got['bin']}/{t}" for t in ("nbgrader", "jupyter")}, got
    assert got["version"] == 0

    # a real terminal of the server, as the Lab opens one
    token = campus_hub.token_for(me)
    headers = {"Authorization": f"token {token}"}
    base = campus_hub.url + f"user/{me}/"
    resp = requests.post(base + "api/terminals", headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    term = resp.json()["name"]
    try:
        ws_url = base.replace("http://", "ws://") + f"terminals/websocket/{term}"
        with ThreadPoolExecutor(1) as pool:
            text = pool.submit(asyncio.run, asyncio.wait_for(_type(ws_url, headers), 60)).result()
    finally:
        requests.delete(base + f"api/terminals/{term}", headers=headers, timeout=30)
    assert f"{got['bin']}/nbgrader\r\n" in text and f"{got['bin']}/jupyter\r\n" in text, text


async def _type(ws_url: str, headers: dict[str, str]) -> str:
    conn = await websocket_connect(HTTPRequest(ws_url, headers=headers, connect_timeout=30))
    mark = uuid.uuid4().hex[:8]
    # the end mark is computed by the shell, so its echo of the typed line does not match
    line = f"command -v nbgrader; command -v jupyter; echo END-{mark}-$((6*7))\r"
    conn.write_message(json.dumps(["stdin", line]))
    text = ""
    while f"END-{mark}-42" not in text:
        raw = await conn.read_message()
        if raw is None:
            break
        msg = json.loads(raw)
        if msg[0] == "stdout":
            text += msg[1]
    conn.close()
    return text
