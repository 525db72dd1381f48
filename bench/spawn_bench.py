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

And the "class" scenario (local profile, `--only class`): 30 students of one class log in
within 10 s (spread evenly), first on a campus that pre-warmed their servers from the class's
schedule (hub/campus/prewarm.py: a meeting a few minutes away, a budget for all 30), then on a
fresh campus without pre-warming; for each, the time from each login to a usable Lab and from
the first login until all 30 are usable.

    .venv/bin/python bench/spawn_bench.py [--users 10] [--burst 20] [--only stock,local,docker]
    .venv/bin/python bench/spawn_bench.py --only class [--class-size 30] [--spread 10]
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


def class_logins(base: str, names: list[str], spread: float) -> dict[str, float]:
    """Everyone logs in once, the starts spread evenly over `spread` seconds."""
    step = spread / max(1, len(names) - 1)

    def one(i: int) -> tuple[float, float | None]:
        time.sleep(i * step)
        start = time.monotonic()
        took = login_to_lab(base, names[i], timeout=300)
        return start, took

    t0 = time.monotonic()
    with ThreadPoolExecutor(len(names)) as pool:
        got = list(pool.map(one, range(len(names))))
    times = sorted(t for _, t in got if t is not None)
    ends = [start + t - t0 for start, t in got if t is not None]
    return {
        "median": statistics.median(times) if times else float("nan"),
        "p95": times[max(0, round(0.95 * len(times)) - 1)] if times else float("nan"),
        "worst": max(times, default=float("nan")),
        "all_usable": max(ends, default=float("nan")),
        "within_10": sum(1 for t in times if t <= 10.0),
        "failed": len(names) - len(times),
    }


def run_class(tmp: Path, size: int, spread: float, prewarm: bool) -> dict[str, float]:
    """One class of `size` students; with `prewarm`, their servers are started from the
    schedule before anyone logs in (and the time that took is reported)."""
    from harness.schedule import meeting_soon, scheduled_class, school_zone

    label = "warm" if prewarm else "cold"
    names = [f"c{label}{i:02d}" for i in range(size)]
    env = {"NBCAMPUS_TIMEZONE": school_zone()}
    if prewarm:  # room for the whole class at the local profile's 512M a server
        env |= {"NBCAMPUS_PREWARM_MEMORY": f"{size * 512}M", "NBCAMPUS_PREWARM_LEAD": "10"}
    hub = CampusHub(tmp / f"class-{label}" / "data", base_path="/", env=env)
    hub.start()  # first: a campus with accounts already gets no demo course to class with
    out: dict[str, float] = {}
    try:
        create_accounts(hub, names)
        schedule = meeting_soon(env["NBCAMPUS_TIMEZONE"], minutes=5)
        scheduled_class(hub, f"Bench class {label}", names, schedule)
        if prewarm:
            t0 = time.monotonic()
            admin = hub.admin_client()
            deadline = t0 + 1200
            while time.monotonic() < deadline:
                ready = 0
                for name in names:
                    user = admin.get(f"hub/api/users/{name}")
                    server = (user.json().get("servers") or {}).get("") if user.ok else None
                    ready += bool(server and server.get("ready"))
                if ready == size:
                    break
                time.sleep(2)
            # From the class's creation: up to one check interval (60 s) passes before the
            # campus sees the meeting, then the servers start two at a time.
            out["prewarm_s"] = time.monotonic() - t0
            out["prewarmed"] = ready
            print(f"  pre-warm: {ready} of {size} ready after {out['prewarm_s']:.0f} s", flush=True)
        out |= class_logins(hub.url, names, spread)
    finally:
        hub.stop()
    return out


def print_class(results: dict[str, dict[str, float]], size: int, spread: float) -> None:
    cols = [(k, t) for k, t in (("warm", "pre-warmed"), ("cold", "no pre-warm")) if k in results]
    print()
    print(f"class of {size}, logins spread over {spread:.0f} s" + " " * 6
          + "".join(f"{t:>16}" for _, t in cols))  # fmt: skip
    rows = [
        ("login to usable Lab, median (s)", "median"),
        ("login to usable Lab, p95 (s)", "p95"),
        ("login to usable Lab, worst (s)", "worst"),
        ("first login to all usable (s)", "all_usable"),
        ("usable within 10 s of login (count)", "within_10"),
        ("logins without a usable Lab (count)", "failed"),
    ]
    for label, key in rows:
        cells = "".join(
            f"{results[k][key]:>16.0f}" if key in ("within_10", "failed") else
            f"{results[k][key]:>16.2f}" for k, _ in cols
        )  # fmt: skip
        print(f"{label:44}" + cells)
    if "warm" in results:
        warm = results["warm"]
        print(f"pre-warm: {warm['prewarmed']:.0f} servers ready {warm['prewarm_s']:.0f} s "
              "after the class was created (check interval included)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--only", default="stock,local,docker", help="and/or: class")
    parser.add_argument("--class-size", type=int, default=30)
    parser.add_argument("--spread", type=float, default=10.0)
    args = parser.parse_args()
    wanted = args.only.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="nbcampus-spawn-bench-"))
    results: dict[str, dict[str, float]] = {}
    if "class" in wanted:
        class_results: dict[str, dict[str, float]] = {}
        try:
            for prewarm in (True, False):
                print(f"running class ({'pre-warmed' if prewarm else 'no pre-warm'}) ...")
                class_results["warm" if prewarm else "cold"] = run_class(
                    tmp, args.class_size, args.spread, prewarm
                )
        finally:
            if wanted == ["class"]:
                shutil.rmtree(tmp, ignore_errors=True)
        print_class(class_results, args.class_size, args.spread)
        wanted = [w for w in wanted if w != "class"]
        if not wanted:
            print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            return 0
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
