"""Helpers of the container suite: a docker-profile campus Hub, spawn progress, running cells
in a student's server through the proxy."""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from .hub import CampusHub


class DockerCampus(CampusHub):
    """A campus Hub in the docker profile, with container and volume names of its own."""

    def __init__(self, data_dir: Path, extra_config: str = "", **env: str) -> None:
        self.prefix = "nbct" + secrets.token_hex(3)
        super().__init__(
            data_dir,
            env={
                "NBCAMPUS_PROFILE": "docker",
                "NBCAMPUS_DEMO": "1",
                "NBCAMPUS_CONTAINER_PREFIX": self.prefix,
                **env,
            },
            extra_config=extra_config,  # the harness appends it on every start
        )

    def start(self, timeout: float = 90) -> DockerCampus:
        super().start(timeout)
        return self

    def stop(self, sig: int = signal.SIGINT, timeout: float = 90) -> int | None:
        # The grader may be generating assignments when the Hub stops; give it time.
        return super().stop(sig, timeout)

    def remove_leftovers(self, docker: Any) -> None:
        for c in docker.containers.list(all=True, filters={"name": self.prefix}):
            c.remove(force=True)
        for v in docker.volumes.list(filters={"name": self.prefix}):
            v.remove(force=True)


def wait_ready(hub: CampusHub, name: str, timeout: float = 60) -> dict[str, Any]:
    """Wait until `name`'s default server is ready; fail at once if its spawn failed."""
    admin = hub.admin_client()
    started = time.monotonic()
    while time.monotonic() < started + timeout:
        server = admin.get(f"hub/api/users/{name}").json()["servers"].get("")
        if server and server["ready"]:
            return server
        if (server is None or not server["pending"]) and time.monotonic() > started + 5:
            raise AssertionError(f"{name}'s server is not starting:\n{hub.log_tail()}")
        time.sleep(0.25)
    raise TimeoutError(f"{name}'s server not ready:\n{hub.log_tail()}")


def spawn_events(hub: CampusHub, name: str, timeout: float = 60) -> list[dict[str, Any]]:
    """The spawn progress events (what the spawn page shows), until the last one."""
    token = hub.token_for(name)
    url = hub.url + f"hub/api/users/{name}/server/progress"
    events = []
    with requests.get(
        url, headers={"Authorization": f"token {token}"}, stream=True, timeout=timeout
    ) as resp:
        for line in resp.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                event = json.loads(line[5:])
                events.append(event)
                if event.get("ready") or event.get("failed"):
                    break
    return events


def run_cell(hub: CampusHub, name: str, kernel_name: str, code: str) -> dict[str, Any]:
    """Run one cell in a new kernel of `name`'s server, through the proxy; return its outputs."""
    token = hub.token_for(name)
    headers = {"Authorization": f"token {token}"}
    base = hub.url + f"user/{name}/api/"
    resp = requests.post(base + "kernels", json={"name": kernel_name}, headers=headers, timeout=30)
    assert resp.status_code == 201, resp.text
    kernel_id = resp.json()["id"]
    ws_url = base.replace("http://", "ws://") + f"kernels/{kernel_id}/channels"
    try:
        # A loop of its own in a thread: the session's Playwright may keep one running here.
        with ThreadPoolExecutor(1) as pool:
            run = pool.submit(
                asyncio.run, asyncio.wait_for(_execute(ws_url, headers, name, code), 90)
            )
            return run.result()
    finally:
        requests.delete(base + f"kernels/{kernel_id}", headers=headers, timeout=30)


async def _execute(ws_url: str, headers: dict[str, str], name: str, code: str) -> dict[str, Any]:
    conn = await websocket_connect(HTTPRequest(ws_url, headers=headers, connect_timeout=30))
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": "execute_request",
        "username": name,
        "session": uuid.uuid4().hex,
        "version": "5.3",
    }
    content = {"code": code, "silent": False, "store_history": True}
    conn.write_message(
        json.dumps(
            {
                "header": header,
                "parent_header": {},
                "metadata": {},
                "content": content,
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    out: dict[str, Any] = {"stdout": "", "stderr": "", "status": None, "error": None}
    idle = False
    while not (idle and out["status"]):
        raw = await conn.read_message()
        if raw is None:
            break
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, body = msg["msg_type"], msg["content"]
        if kind == "stream":
            out[body["name"]] += body["text"]
        elif kind in ("execute_result", "display_data"):
            out["stdout"] += body["data"].get("text/plain", "")
        elif kind == "error":
            out["error"] = f"{body['ename']}: {body['evalue']}"
        elif kind == "execute_reply":
            out["status"] = body["status"]
        elif kind == "status" and body["execution_state"] == "idle":
            idle = True
    conn.close()
    return out
