"""Campus benchmark on PostgreSQL: attendance for a 50-student meeting, and a student's
"my courses with lock state and progress" while 200 simulated students poll it.

    .venv/bin/python bench/campus_bench.py [--db-url postgresql://...]

Without --db-url (or NBCAMPUS_BENCH_DB_URL) it starts a private PostgreSQL 15 cluster with
the test harness (fsync off, as in the tests). The data: 1,000 students in 40 classes of 50
(each student in two classes) over 4 courses of 30 lessons, 10 meetings already held with
attendance, unlocks and progress. Timings are of the campus domain code with a real commit,
the code each API handler runs in its worker thread (HTTP and Hub auth not included).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from nbcampus.db import make_engine, prepare_database, session_factory, transaction  # noqa: E402
from nbcampus.hub.campus import attendance as att  # noqa: E402
from nbcampus.hub.campus import classes  # noqa: E402
from nbcampus.hub.campus.courses import import_course  # noqa: E402
from nbcampus.hub.campus.manifest import (  # noqa: E402
    CourseManifest,
    ExerciseSpec,
    LessonSpec,
    SectionSpec,
)
from nbcampus.hub.campus.orm import (  # noqa: E402
    MIGRATIONS,
    Account,
    Exercise,
    ExerciseProgress,
    Lesson,
    LessonProgress,
)
from nbcampus.hub.campus.progress import my_courses  # noqa: E402

STUDENTS, CLASSES, CLASS_SIZE, COURSES, LESSONS, HELD = 1000, 40, 50, 4, 30, 10
POLLERS, POLL_INTERVAL = 200, 2.0


def manifest(n: int) -> CourseManifest:
    lessons = tuple(
        LessonSpec(
            slug=f"{i:02d}-lesson",
            title=f"Lesson {i}",
            description="",
            exercises=tuple(
                ExerciseSpec(f"ex{j}", f"Exercise {j}", "quiz", None, 10, 0.0) for j in range(4)
            ),
        )
        for i in range(1, LESSONS + 1)
    )
    section = SectionSpec("main", "Main", "", lessons)
    return CourseManifest(f"bench-{n}", f"Bench course {n}", "", "python3", True, (section,), REPO)


def build(factory) -> list[int]:
    t0 = time.perf_counter()
    with transaction(factory) as s:
        for n in range(COURSES):
            import_course(s, manifest(n))
        s.add_all(Account(name=f"stu{i:04d}", role="student") for i in range(STUDENTS))
        s.add_all(Account(name=f"teach{i:02d}", role="instructor") for i in range(CLASSES))
    ids = []
    for c in range(CLASSES):
        with transaction(factory) as s:
            k = classes.create_class(
                s,
                name=f"Class {c}",
                course_slug=f"bench-{c % COURSES}",
                type="group",
                total_meetings=LESSONS,
                max_capacity=CLASS_SIZE,
                instructor=f"teach{c:02d}",
                created_by="bench",
                status="enrollment_open",
            )
            ids.append(k.id)
            for i in range(CLASS_SIZE):
                classes.enroll(s, k.id, f"stu{(c * 25 + i) % STUDENTS:04d}", "bench")
    rng = random.Random(7)
    for meeting in range(1, HELD + 1):
        for cid in ids:
            with transaction(factory) as s:
                marks = _marks(s, cid, rng)
                att.take_attendance(
                    s, cid, meeting, date(2026, 9, 1) + timedelta(meeting), marks, "b"
                )
                classes.unlock_lesson(s, cid, None, "bench")
    with transaction(factory) as s:  # progress: each student did part of the open lessons
        lessons = s.execute(sa.select(Lesson.id, Lesson.course_id, Lesson.order_index)).all()
        exercises = s.execute(sa.select(Exercise.id, Exercise.lesson_id)).all()
        by_lesson: dict[int, list[int]] = {}
        for eid, lid in exercises:
            by_lesson.setdefault(lid, []).append(eid)
        rows_l, rows_e = [], []
        for i in range(STUDENTS):
            for lid, _course, pos in lessons:
                if pos <= HELD and rng.random() < 0.35:
                    done = rng.randint(1, 4)
                    rows_l.append(
                        LessonProgress(
                            user=f"stu{i:04d}",
                            lesson_id=lid,
                            exercises_completed=done,
                            total_exercises=4,
                            completed=done == 4,
                        )
                    )
                    rows_e += [
                        ExerciseProgress(user=f"stu{i:04d}", exercise_id=e, completed=True)
                        for e in by_lesson[lid][:done]
                    ]
        s.add_all(rows_l)
        s.add_all(rows_e)
    print(
        f"data: {STUDENTS} students, {CLASSES} classes x {CLASS_SIZE}, {COURSES} courses x "
        f"{LESSONS} lessons, {HELD} meetings held, {len(rows_l)} lesson and {len(rows_e)} "
        f"exercise progress rows; built in {time.perf_counter() - t0:.1f} s"
    )
    return ids


def _marks(s, cid: int, rng: random.Random) -> list[att.Mark]:
    from nbcampus.hub.campus.orm import Enrollment

    names = s.scalars(sa.select(Enrollment.student).filter_by(class_id=cid, status="active"))
    return [
        att.Mark(n, rng.choice(("present", "present", "present", "late", "absent"))) for n in names
    ]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_attendance(factory, ids: list[int]) -> list[float]:
    rng = random.Random(11)
    times = []
    for cid in ids:
        with factory() as s:
            marks = _marks(s, cid, rng)
        t = time.perf_counter()
        with transaction(factory) as s:
            att.take_attendance(s, cid, HELD + 1, date(2026, 10, 1), marks, "bench")
        times.append((time.perf_counter() - t) * 1000)
    return times


def bench_polling(factory, seconds: float) -> tuple[list[float], int]:
    """200 simulated students each poll their course view every POLL_INTERVAL seconds."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    lock = threading.Lock()
    errors = 0

    def student(i: int) -> None:
        nonlocal errors
        name = f"stu{i * (STUDENTS // POLLERS):04d}"
        time.sleep(random.random() * POLL_INTERVAL)  # spread the first polls
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                with factory() as s:
                    result = my_courses(s, name)
                assert result and result[0]["lessons"]
            except Exception:
                with lock:
                    errors += 1
                continue
            ms = (time.perf_counter() - t) * 1000
            with lock:
                latencies.append(ms)
            time.sleep(max(0.0, POLL_INTERVAL - ms / 1000))

    threads = [threading.Thread(target=student, args=(i,)) for i in range(POLLERS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", default=os.environ.get("NBCAMPUS_BENCH_DB_URL"))
    parser.add_argument("--poll-seconds", type=float, default=20.0)
    args = parser.parse_args()
    cluster = None
    url = args.db_url
    if not url:
        from harness.postgres import start_cluster

        cluster = start_cluster()
        url = cluster.create_database("campus_bench")
    engine = make_engine(url, pool_size=40, max_overflow=0)
    try:
        prepare_database(engine, url, MIGRATIONS)
        factory = session_factory(engine)
        ids = build(factory)
        base = []
        for _ in range(300):
            t = time.perf_counter()
            with factory() as s:
                s.execute(sa.text("SELECT 1"))
            base.append((time.perf_counter() - t) * 1000)
        print(
            f"context: one database round trip (SELECT 1) median {statistics.median(base):.2f} ms, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        times = bench_attendance(factory, ids)
        print(
            f"attendance, 50-student meeting (take + credits + rates + XP + commit), {len(times)} "
            f"meetings: median {statistics.median(times):.1f} ms, p95 {pct(times, 0.95):.1f} ms "
            f"(target < 100 ms median)"
        )
        lat, errors = bench_polling(factory, args.poll_seconds)
        rate = len(lat) / args.poll_seconds
        print(
            f"my courses with lock state and progress, {POLLERS} students polling every "
            f"{POLL_INTERVAL:.0f} s ({rate:.0f} req/s, {len(lat)} requests, {errors} errors): "
            f"median {statistics.median(lat):.1f} ms, p95 {pct(lat, 0.95):.1f} ms "
            f"(target < 20 ms median)"
        )
    finally:
        engine.dispose()
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
