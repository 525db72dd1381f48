"""A real Jupyter server with the nbcampus.lab server part, for the server-part tests."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import requests
from harness.ci import unavailable  # noqa: F401 - the suite imports it from here

from nbcampus.ports import free_port

JUPYTER = str(Path(sys.executable).parent / "jupyter")


class LabServer:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.root = root
        self.log = root.parent / f"{root.name}-server.log"
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "NBCAMPUS_"))
        }
        full_env.update(env)
        self.process = subprocess.Popen(
            [
                JUPYTER,
                "server",
                "--no-browser",
                f"--port={self.port}",
                "--ip=127.0.0.1",
                f"--ServerApp.root_dir={root}",
                f"--IdentityProvider.token={self.token}",
                '--ServerApp.jpserver_extensions={"nbcampus.lab": True}',
                "--allow-root",
            ],
            env=full_env,
            cwd=root,  # as in a student's server: nbgrader's lists are relative to it
            stdout=open(self.log, "ab"),  # noqa: SIM115 - kept for the process's life
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            try:
                if requests.get(self.url + "api/status", headers=self.headers, timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(self.log.read_text()[-3000:])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
