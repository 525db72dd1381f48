"""A real campus Hub for the tests: `nbcampus run` in a subprocess, on random ports, under a
hostile base URL (an `@` and a space), optionally on PostgreSQL.

The test process talks to it as an operator would: through the Hub's REST API with a token of
a test-only service registered in the data directory's extra config, and through the login
page with the demo accounts' passwords.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from nbcampus.ports import free_port

from .api import APIClient

HOSTILE_BASE_PATH = "/@/space%20word/"
NBCAMPUS = str(Path(sys.executable).parent / "nbcampus")

EXTRA_CONFIG = """
# written by the test harness: an API token for the tests, with admin rights
c.JupyterHub.services.append({{"name": "test-admin", "api_token": {token!r}}})
c.JupyterHub.load_roles.append({{
    "name": "test-admin",
    "scopes": ["admin:users", "admin:groups", "tokens", "admin:servers", "access:services",
               "list:users", "read:users", "read:groups", "list:groups", "read:roles"],
    "services": ["test-admin"],
}})
c.JupyterHub.log_level = "INFO"
"""


class CampusHub:
    def __init__(
        self,
        data_dir: Path,
        db_url: str | None = None,
        env: dict[str, str] | None = None,
        base_path: str = HOSTILE_BASE_PATH,
        extra_config: str = "",
        readme_data_dir: bool = False,
    ) -> None:
        # readme_data_dir: started as the README has it, without NBCAMPUS_DATA_DIR, in the
        # folder above `data_dir` (which must then be named nbcampus-data).
        self.readme_data_dir = readme_data_dir
        self.data_dir = data_dir
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{base_path}"
        self.admin_token = secrets.token_hex(16)
        self.extra_env = env or {}
        self.extra_config = extra_config  # more `c.*` lines for the data directory's extra config
        self.process: subprocess.Popen | None = None
        self.log_path = data_dir.parent / (data_dir.name + "-hub.log")
        self._tokens: dict[str, str] = {}

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            NBCAMPUS_DATA_DIR=str(self.data_dir),
            NBCAMPUS_BIND_URL=self.url,
            NBCAMPUS_PROFILE="local",
            NBCAMPUS_IDLE_TIMEOUT="3600",
        )
        env.pop("NBCAMPUS_DB_URL", None)
        if os.geteuid() != 0:  # student servers can have their own users only under root
            env.setdefault("NBCAMPUS_LOCAL_TRUSTED", "1")
        if self.db_url:
            env["NBCAMPUS_DB_URL"] = self.db_url
        # No warm dashboard kernels in test Hubs (three Python kernels each); the dashboards'
        # own tests and benchmark ask for them.
        env["NBCAMPUS_DASHBOARD_POOL"] = "0"
        env.update(self.extra_env)
        if self.readme_data_dir:
            del env["NBCAMPUS_DATA_DIR"]
        return env

    def start(self, timeout: float = 90) -> CampusHub:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "jupyterhub_config_extra.py").write_text(
            EXTRA_CONFIG.format(token=self.admin_token) + self.extra_config
        )
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's life
        self.process = subprocess.Popen(
            [NBCAMPUS, "run"],
            env=self.env,
            cwd=self.data_dir.parent if self.readme_data_dir else None,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        admin = self.admin_client()
        last = ""
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                # JupyterHub exits at a failed start without stopping its proxy: end the group
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                raise RuntimeError(
                    f"the Hub exited ({self.process.returncode}):\n{self.log_tail()}"
                )
            try:
                if (
                    requests.get(self.url + "hub/api/", timeout=2).status_code == 200
                    and admin.session.get(self.url + "services/campus/api/v1/", timeout=2).ok
                    and admin.session.get(self.url + "services/grader/api/v1/", timeout=2).ok
                ):
                    return
            except requests.RequestException as err:
                last = str(err)
            time.sleep(0.1)  # three small local requests a try: the Hub answers ~0.1 s sooner
        raise TimeoutError(f"the Hub did not become ready ({last}):\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int | None:
        """Stop as a person at the terminal would (Ctrl-C sends SIGINT)."""
        if not self.process or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
            raise

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # --- talking to it ----------------------------------------------------------------------
    def admin_client(self) -> APIClient:
        return APIClient(self.url, self.admin_token)

    @property
    def demo_accounts(self) -> list[dict[str, Any]]:
        return json.loads((self.data_dir / "demo-accounts.json").read_text())

    def demo(self, role: str) -> dict[str, Any]:
        return next(a for a in self.demo_accounts if a["role"] == role)

    def token_for(self, username: str) -> str:
        if username not in self._tokens:
            admin = self.admin_client()
            resp = admin.post(f"hub/api/users/{username}")  # make sure the Hub knows the user
            assert resp.status_code in (201, 409), resp.text
            resp = admin.post(
                f"hub/api/users/{username}/tokens", json={"note": "tests", "expires_in": 7200}
            )
            assert resp.status_code == 201, resp.text
            self._tokens[username] = resp.json()["token"]
        return self._tokens[username]

    def client(self, username: str) -> APIClient:
        return APIClient(self.url, self.token_for(username))

    def start_server(self, name: str, timeout: float = 180) -> None:
        """Have the Hub spawn `name`'s server (unless it runs) and wait until it is ready."""
        admin = self.admin_client()
        resp = admin.post(f"hub/api/users/{name}/server")
        assert resp.status_code in (201, 202, 400), resp.text  # 400: already running
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = (admin.get(f"hub/api/users/{name}").json().get("servers") or {}).get("")
            if server and server.get("ready"):
                return
            time.sleep(0.5)
        raise TimeoutError(f"{name}'s server did not start:\n{self.log_tail()}")

    def login_session(self, username: str, password: str) -> requests.Session:
        """A browser-like session logged in through the Hub's login page."""
        session = requests.Session()
        page = session.get(self.url + "hub/login", timeout=10)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        data = {"username": username, "password": password}
        if xsrf:
            data["_xsrf"] = xsrf.group(1)
        resp = session.post(self.url + "hub/login", data=data, allow_redirects=False, timeout=30)
        if resp.status_code != 302:
            raise AssertionError(f"login as {username} failed: {resp.status_code}")
        return session
