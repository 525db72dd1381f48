"""Dashboards benchmark: how long until each dashboard's first chart is on the screen.

    .venv/bin/python bench/dashboards_bench.py [--students 1000] [--runs 3]

Starts a real campus Hub (local profile, SQLite; `--postgres` for a private PostgreSQL 15
cluster) and opens the three dashboards in Chromium as the demo instructor, staff member and
admin: first on the demo campus, then after adding a school of `--students` students (classes
of 50 of the Python course, 8 meetings held with attendance, graded submissions of every
assignment; the demo instructor teaches the first of these classes). First paint is the time
from asking for the dashboard's URL to its first chart being visible: the Hub's OAuth round
trip (first visit only), the campus's check of the viewer, a kernel, the API calls as the
viewer, and the widgets drawn. Targets: 2 s on the demo campus, 5 s with 1,000 students.
The machine's load is printed with the figures: on a shared machine they vary with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from harness.hub import CampusHub  # noqa: E402
from harness.school import seed_school, seed_submissions  # noqa: E402

CHROMIUM = os.environ.get("NBCAMPUS_CHROMIUM", "/usr/lib/chromium/chromium")
BOARDS = ("instructor", "staff", "admin")


def first_paint(page, url: str) -> float:
    started = time.monotonic()
    page.goto(url, wait_until="commit", timeout=120_000)
    page.locator(".bqplot").first.wait_for(timeout=120_000)
    return time.monotonic() - started


def measure(
    hub: CampusHub, browser, runs: int, query: dict[str, str], pause: float
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for board in BOARDS:
        account = hub.demo(board)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(hub.url + "hub/login")
        page.fill("#username_input", account["name"])
        page.fill("#password_input", account["password"])
        page.click("#login_submit")
        # Where the sign-in lands first (an instructor's JupyterLab starts there): the
        # dashboard is opened from that page, once it is up, as a person would.
        page.wait_for_url(lambda u: "/spawn" not in u and "/login" not in u, timeout=120_000)
        if "/lab" in page.url:
            page.locator(".jp-LabShell").wait_for(timeout=120_000)
        time.sleep(pause)
        url = f"{hub.url}services/dashboards/voila/render/{board}.ipynb{query.get(board, '')}"
        times = []
        for _ in range(runs + 1):  # the first visit includes the Hub's OAuth round trip
            times.append(first_paint(page, url))
            page.goto("about:blank")
            time.sleep(pause)  # a viewer reads the page; the warm kernel is replaced meanwhile
        out[board] = times
        context.close()
    return out


def report(title: str, figures: dict[str, list[float]], target: float) -> None:
    print(f"\n{title} (target {target:.0f} s)")
    print(f"  {'dashboard':<11} {'first visit':>11} {'median':>8} {'max':>8}  runs")
    for board, times in figures.items():
        later = times[1:] or times
        print(
            f"  {board:<11} {times[0]:>10.2f}s {statistics.median(later):>7.2f}s "
            f"{max(later):>7.2f}s  {', '.join(f'{t:.2f}' for t in later)}"
        )
    print(
        f"  load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=1000, help="0: the demo campus alone")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--pause", type=float, default=15.0, help="seconds between visits")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds after the Hub starts")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="nbcampus-dash-bench-"))
    cluster = None
    db_url = None
    if args.postgres:
        from harness.postgres import start_cluster

        cluster = start_cluster()
        db_url = cluster.create_database()
    hub = CampusHub(work / "data", db_url=db_url, env={"NBCAMPUS_DASHBOARD_POOL": "1"})
    try:
        t0 = time.monotonic()
        hub.start(timeout=300)
        print(f"Hub ready in {time.monotonic() - t0:.1f} s at {hub.url}")
        time.sleep(args.warmup)  # the dashboards' warm kernels start with the service
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            report("Demo campus", measure(hub, browser, args.runs, {}, args.pause), 2.0)
            if not args.students:  # --students 0: the demo campus alone
                browser.close()
                return
            campus_db = db_url or f"sqlite:///{hub.data_dir / 'campus.sqlite'}"
            grader_db = db_url or f"sqlite:///{hub.data_dir / 'grader.sqlite'}"
            t0 = time.monotonic()
            names = seed_school(
                campus_db,
                "python-intro",
                students=args.students,
                class_size=50,
                meetings=8,
                first_instructor=hub.demo("instructor")["name"],
            )
            count = seed_submissions(grader_db, "python-intro", names, skip=frozenset(names[::9]))
            print(
                f"\nSeeded {len(names)} students in {len(names) // 50} classes and {count} "
                f"graded submissions in {time.monotonic() - t0:.1f} s"
            )
            instructor = hub.client(hub.demo("instructor")["name"])
            taught = instructor.get(
                "services/campus/api/v1/classes", params={"teaching": "1"}
            ).json()["classes"]
            bench_class = max(taught, key=lambda c: c["current_capacity"])
            figures = measure(
                hub, browser, args.runs, {"instructor": f"?class={bench_class['id']}"}, args.pause
            )
            report(f"{len(names)} students (instructor: a class of 50)", figures, 5.0)
            browser.close()
    finally:
        hub.stop()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
