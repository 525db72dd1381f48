"""Login to a usable JupyterLab: stock JupyterHub against nbcampus, side by side, one run.

Three set-ups, each a real Hub on random ports:
  stock            JupyterHub with DummyAuthenticator and SimpleLocalProcessSpawner
  nbcampus local   `nbcampus run`, local profile (campus accounts, services, local processes)
  nbcampus docker  `nbcampus run`, docker profile (a podman container of the student image)

Two measures each:
  sequential  10 users one after the other: login form -> Lab page served and its API
              answering (the moment a person can work); the median and the worst
  burst       20 users logging in at once: time until every Lab is usable
and, during both, the Hub's event-loop stalls seen from outside: a probe asks the Hub's API
every 50 ms; a reply slower than 1 s means the Hub stalled.

    .venv/bin/python bench/spawn_bench.py [--users 10] [--burst 20] [--only stock,local,docker]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the test harness starts campus Hubs the same way

from harness.containers import DockerCampus  # noqa: E402
from harness.hub import CampusHub  # noqa: E402

from nbcampus.ports import free_port  # noqa: E402

BIN = Path(sys.executable).parent
PASSWORD = "bench-" + secrets.token_hex(6)

STOCK_CONFIG = """
c.JupyterHub.bind_url = {url!r}
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.db_url = "sqlite:///{data}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{data}/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = "{data}/homes/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = ["--allow-root"] if {root!r} else []
c.Spawner.default_url = "/lab"
# The same patience as nbcampus's profiles (the default 30 s gives up on Labs that twenty
# logins at once on two cores start later than that): the burst then measures time.
c.Spawner.http_timeout = 120
"""


class StockHub:
    """Stock JupyterHub: the baseline."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None

    def start(self) -> StockHub:
        (self.data / "homes").mkdir(parents=True, exist_ok=True)
        config = self.data / "jupyterhub_config.py"
        config.write_text(
            STOCK_CONFIG.format(
                url=self.url,
                hub_port=free_port(),
                proxy_api_port=free_port(),
                chp=str(REPO / ".tools/node_modules/.bin/configurable-http-proxy"),
                data=self.data,
                password=PASSWORD,
                singleuser=str(BIN / "jupyterhub-singleuser"),
                root=os.geteuid() == 0,
            )
        )
        log = open(self.data / "hub.log", "ab")  # noqa: SIM115 - for the process's life
        self.process = subprocess.Popen(
            [str(BIN / "jupyterhub"), "-f", str(config)],
            cwd=self.data,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "hub/api/", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError("stock hub did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def create_accounts(hub: CampusHub, names: list[str]) -> None:
    """Campus accounts with a known password, written before the Hub starts."""
    from nbcampus.cli import _account_store
    from nbcampus.settings import Settings

    store = _account_store(Settings.from_env(hub.env))
    for name in names:
        store.create(name, "student", PASSWORD, created_by="bench")


def login_to_lab(base: str, name: str, timeout: float = 120) -> float | None:
    """Seconds from the login form to a Lab page whose API answers; None if it never did.

    The client does what a browser does: it logs in, lands on the Hub's spawn-pending page
    if the server is not ready yet, follows that page's progress stream (an EventSource)
    until the server is ready, then opens the Lab. (Asking for the Lab over and over instead
    would render a pending page for each try: twenty such clients keep a two-core machine
    busy with pages nobody reads, slowing every spawn, stock or ours.)
    """
    session = requests.Session()
    t0 = time.monotonic()
    page = session.get(base + "hub/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    data = {"username": name, "password": PASSWORD}
    if xsrf:
        data["_xsrf"] = xsrf.group(1)
    resp = session.post(base + "hub/login", data=data, timeout=60)  # follows to /hub/spawn...
    progress = re.search(r'new EventSource\("([^"]+)"\)', resp.text)
    if progress:
        follow_progress(base, session, html.unescape(progress.group(1)), timeout)
    lab = base + f"user/{name}/lab"
    while time.monotonic() - t0 < timeout:
        resp = session.get(lab, timeout=60)
        if resp.ok and resp.url.split("?")[0].endswith(f"/user/{name}/lab"):
            api = session.get(base + f"user/{name}/api/kernelspecs", timeout=30)
            if api.ok and "kernelspecs" in api.json():
                return time.monotonic() - t0
        time.sleep(1)  # a person reloading the page
    print(f"  {name}: no usable Lab within {timeout:.0f} s", flush=True)
    return None


def follow_progress(base: str, session: requests.Session, url: str, timeout: float) -> None:
    """Read the spawn's progress events until one says ready or failed."""
    url = urljoin(base, url)
    try:
        with session.get(url, stream=True, timeout=timeout) as stream:
            for line in stream.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    event = json.loads(line[5:])
                    if event.get("ready") or event.get("failed"):
                        return
    except requests.RequestException:
        pass  # the Lab loop below still finds out


class StallProbe:
    """Asks the Hub's API every 50 ms from another thread; records each reply's latency."""

    def __init__(self, base: str) -> None:
        self.url = base + "hub/api/"
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                session.get(self.url, timeout=30)
            except requests.RequestException:
                pass
            self.latencies.append(time.monotonic() - t0)
            time.sleep(0.05)

    def __enter__(self) -> StallProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def worst(self) -> float:
        return max(self.latencies, default=0.0)

    @property
    def stalls(self) -> int:
        return sum(1 for x in self.latencies if x > 1.0)


def measure(base: str, prefix: str, users: int, burst: int) -> dict[str, float]:
    seq_names = [f"{prefix}s{i}" for i in range(users)]
    burst_names = [f"{prefix}b{i}" for i in range(burst)]
    with StallProbe(base) as probe_seq:
        seq = [login_to_lab(base, n) for n in seq_names]
    with StallProbe(base) as probe_burst:
        t0 = time.monotonic()
        with ThreadPoolExecutor(burst) as pool:
            burst_times = list(pool.map(lambda n: login_to_lab(base, n, timeout=300), burst_names))
        total = time.monotonic() - t0
    times = [t for t in seq if t is not None]
    return {
        "median": statistics.median(times) if times else float("nan"),
        "worst": max(times) if times else float("nan"),
        "failed": len(seq) - len(times) + sum(1 for t in burst_times if t is None),
        "burst": total,
        "stall_max": max(probe_seq.worst, probe_burst.worst),
        "stalls": probe_seq.stalls + probe_burst.stalls,
    }


def run_stock(tmp: Path, users: int, burst: int) -> dict[str, float]:
    hub = StockHub(tmp / "stock").start()
    try:
        return measure(hub.url, "u", users, burst)
    finally:
        hub.stop()


def run_campus(tmp: Path, profile: str, users: int, burst: int) -> dict[str, float]:
    names = [f"u{kind}{i}" for kind, n in (("s", users), ("b", burst)) for i in range(n)]
    if profile == "docker":
        hub: CampusHub = DockerCampus(tmp / profile / "data")
        hub.extra_env["NBCAMPUS_DEMO"] = "0"
    else:
        hub = CampusHub(tmp / profile / "data", base_path="/")
    hub.data_dir.mkdir(parents=True, exist_ok=True)
    create_accounts(hub, names)
    hub.start()
    try:
        return measure(hub.url, "u", users, burst)
    finally:
        hub.stop()
        if profile == "docker":
            from nbcampus.engine import docker_client, find_engine

            hub.remove_leftovers(docker_client(find_engine()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--only", default="stock,local,docker")
    args = parser.parse_args()
    wanted = args.only.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="nbcampus-spawn-bench-"))
    results: dict[str, dict[str, float]] = {}
    try:
        if "docker" in wanted:
            from nbcampus.images import build_all

            build_all(log=lambda line: print("  " + line, flush=True), hub=False)
        for label, runner in (
            ("stock", lambda: run_stock(tmp, args.users, args.burst)),
            ("local", lambda: run_campus(tmp, "local", args.users, args.burst)),
            ("docker", lambda: run_campus(tmp, "docker", args.users, args.burst)),
        ):
            if label in wanted:
                print(f"running {label} ...", flush=True)
                results[label] = runner()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cols = [
        ("stock", "stock hub (local)"),
        ("local", "nbcampus local"),
        ("docker", "nbcampus docker"),
    ]
    cols = [(k, t) for k, t in cols if k in results]
    print()
    print(f"{'':44}" + "".join(f"{t:>20}" for _, t in cols))
    rows = [
        (f"login to usable Lab, median of {args.users} (s)", "median"),
        (f"login to usable Lab, worst of {args.users} (s)", "worst"),
        (f"{args.burst} logins at once, all usable (s)", "burst"),
        ("slowest hub API reply during runs (s)", "stall_max"),
        ("hub stalls over 1 s (count)", "stalls"),
        ("logins without a usable Lab (count)", "failed"),
    ]
    for label, key in rows:
        cells = "".join(
            f"{results[k][key]:>20.0f}"
            if key in ("stalls", "failed")
            else f"{results[k][key]:>20.2f}"
            for k, _ in cols
        )
        print(f"{label:44}" + cells)
    if "stock" in results:
        # The same work for each set-up: how many times the stock Hub's time ours takes.
        for key, label in cols:
            if key == "stock":
                continue
            ratios = ", ".join(
                f"{what} {results[key][k] / results['stock'][k]:.2f}x"
                for k, what in (("median", "median login"), ("burst", "burst"))
                if results["stock"][k] > 0
            )
            failed = int(results["stock"]["failed"] + results[key]["failed"])
            note = f" (not comparable: {failed} logins failed)" if failed else ""
            print(f"{label} / stock hub: {ratios}{note}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
