"""Public catalog benchmark: 500 published courses (and 50 drafts), searched and filtered as
visitors do, on SQLite and PostgreSQL.

    .venv/bin/python bench/catalog_bench.py [--db-url postgresql://...] [--sqlite-only]

Without --db-url (or NBCAMPUS_BENCH_DB_URL) it starts a private PostgreSQL cluster with the
test harness. Each course has 2 sections of 5 lessons with 3 exercises; a third of them have a
class open for enrollment. Two figures per query: the catalog code alone (what the campus
API's worker thread and the Hub's landing page run), and the campus service's public endpoint
`GET /api/v1/catalog` over HTTP in this process (Tornado, JSON included; no proxy). The
target: every query answers within 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import requests
from tornado import httpserver, web

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from nbcampus.db import make_engine, prepare_database, session_factory, transaction  # noqa: E402
from nbcampus.hub.campus import catalog  # noqa: E402
from nbcampus.hub.campus.handlers.catalog import default_handlers  # noqa: E402
from nbcampus.hub.campus.orm import (  # noqa: E402
    MIGRATIONS,
    CampusClass,
    ClassStaff,
    Course,
    Exercise,
    Lesson,
    Section,
)
from nbcampus.ports import free_port  # noqa: E402

PUBLISHED, DRAFTS, SECTIONS, LESSONS, EXERCISES = 500, 50, 2, 5, 3
TARGET_MS = 300.0
WORDS = (
    "python data analysis machine learning web design statistics algorithms databases "
    "networks security cloud linux shell git testing graphics robotics music finance "
    "biology chemistry physics writing pointers memory compilers games mobile"
).split()
CATEGORIES = ["Programming", "Data", "Design", "Science", "Business", "Systems", "Arts", "Math"]
LEVELS = ["beginner", "intermediate", "advanced"]
LANGUAGES = ["en", "fr", "de", "pt-BR", "es"]
TYPES = ["video", "quiz", "material", "assignment", "coding"]
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("all courses, first page of 50", {}),
    ("free text, common word", {"q": "python"}),
    ("free text, rare word", {"q": "compilers robotics"}),
    ("category + level", {"category": "Data", "level": "beginner"}),
    (
        "text + category + level + language",
        {"q": "data", "category": "Data", "level": "intermediate", "language": "en"},
    ),
    ("last page", {"offset": "450"}),
]


def build(factory: Any, seed: int = 7) -> None:
    rng = random.Random(seed)
    with transaction(factory) as s:
        for n in range(PUBLISHED + DRAFTS):
            words = rng.sample(WORDS, 3)
            course = Course(
                slug=f"course-{n:04d}",
                title=" ".join(w.capitalize() for w in words) + f" {n}",
                description=f"A course about {words[0]}, {words[1]} and {words[2]}. " * 4,
                status="published" if n < PUBLISHED else "draft",
                category=rng.choice(CATEGORIES),
                level=rng.choice(LEVELS),
                language=rng.choice(LANGUAGES),
            )
            s.add(course)
            s.flush()
            position = 0
            for si in range(SECTIONS):
                section = Section(
                    course_id=course.id, slug=f"s{si}", title=f"Part {si + 1}", order_index=si + 1
                )
                s.add(section)
                s.flush()
                for _ in range(LESSONS):
                    position += 1
                    lesson = Lesson(
                        course_id=course.id,
                        section_id=section.id,
                        slug=f"l{position:02d}",
                        title=f"Lesson {position}",
                        order_index=position,
                        duration_minutes=rng.choice([30, 45, 60]),
                    )
                    s.add(lesson)
                    s.flush()
                    s.add_all(
                        Exercise(
                            lesson_id=lesson.id,
                            slug=f"e{e}",
                            title=f"Exercise {e}",
                            type=rng.choice(TYPES),
                            order_index=e + 1,
                        )
                        for e in range(EXERCISES)
                    )
            if n % 3 == 0:
                klass = CampusClass(
                    name=f"Class of {course.title}",
                    course_id=course.id,
                    max_capacity=30,
                    total_meetings=10,
                    status="enrollment_open",
                    start_date=date(2027, 1, 10),
                )
                s.add(klass)
                s.flush()
                s.add(ClassStaff(class_id=klass.id, user=f"teacher{n % 40}", role="instructor"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # warm the caches once, as a running campus has them
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def serve(factory: Any) -> tuple[str, Callable[[], None]]:
    """The campus service's public catalog handlers on a free port, in a thread."""
    port = free_port()
    ready = threading.Event()
    state: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = web.Application([("/" + p, h) for p, h in default_handlers], db=factory)
        server = httpserver.HTTPServer(app)
        server.listen(port, "127.0.0.1")
        state["loop"], state["server"] = loop, server
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)

    def stop() -> None:
        state["loop"].call_soon_threadsafe(state["server"].stop)
        state["loop"].call_soon_threadsafe(state["loop"].stop)
        thread.join(5)

    return f"http://127.0.0.1:{port}/api/v1/catalog", stop


def report(label: str, url: str, runs: int) -> bool:
    engine = make_engine(url)
    ok = True
    try:
        prepare_database(engine, url, MIGRATIONS)
        factory = session_factory(engine)
        t = time.perf_counter()
        build(factory)
        print(
            f"\n{label}: {PUBLISHED} published + {DRAFTS} draft courses built in "
            f"{time.perf_counter() - t:.1f} s (load average {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores)"
        )
        http_url, stop = serve(factory)
        http = requests.Session()
        try:
            for name, params in QUERIES:
                query = catalog.parse_query(params.get)

                def code(query: catalog.CatalogQuery = query) -> Any:
                    with factory() as s:
                        return catalog.search(s, query)

                result = code()
                assert all(c["slug"] < f"course-{PUBLISHED:04d}" for c in result["courses"])
                direct = timed(code, runs)
                over_http = timed(
                    lambda p=params: http.get(http_url, params=p, timeout=10).raise_for_status(),
                    runs,
                )
                worst = max(pct(direct, 0.95), pct(over_http, 0.95))
                ok &= worst < TARGET_MS
                print(
                    f"  {name:38s} {result['total']:4d} found | code median "
                    f"{statistics.median(direct):6.1f} ms p95 {pct(direct, 0.95):6.1f} | HTTP "
                    f"median {statistics.median(over_http):6.1f} ms p95 "
                    f"{pct(over_http, 0.95):6.1f}"
                )
            slug = "course-0003"

            def page() -> Any:
                with factory() as s:
                    return catalog.course_page(s, slug)

            direct = timed(page, runs)
            over_http = timed(
                lambda: http.get(f"{http_url}/{slug}", timeout=10).raise_for_status(), runs
            )
            ok &= max(pct(direct, 0.95), pct(over_http, 0.95)) < TARGET_MS
            print(
                f"  {'one course page':38s}      | code median "
                f"{statistics.median(direct):6.1f} ms p95 {pct(direct, 0.95):6.1f} | HTTP "
                f"median {statistics.median(over_http):6.1f} ms p95 {pct(over_http, 0.95):6.1f}"
            )
        finally:
            stop()
    finally:
        engine.dispose()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", default=os.environ.get("NBCAMPUS_BENCH_DB_URL"))
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        ok &= report("SQLite", f"sqlite:///{tmp}/catalog.sqlite", args.runs)
    if not args.sqlite_only:
        cluster = None
        url = args.db_url
        if not url:
            from harness.postgres import start_cluster

            cluster = start_cluster()
            url = cluster.create_database("catalog_bench")
        try:
            ok &= report("PostgreSQL", url, args.runs)
        finally:
            if cluster is not None:
                cluster.stop()
    print(f"\ntarget: every p95 under {TARGET_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
