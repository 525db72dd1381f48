"""Engagement benchmark on PostgreSQL: leaderboards and XP awards at school scale.

    .venv/bin/python bench/engagement_bench.py [--db-url postgresql://...]

10,000 students in 200 classes of 50 over 4 courses, 1,000,000 XP transactions spread over
the last 10 weeks (loaded with COPY, running totals and levels derived from them). Measured:
a class leaderboard, a course leaderboard (top 50 and the viewer's rank), an XP award
with its streak, level and badge evaluation (the badges the history earned are held), and an
award that earns a badge (with its notification and badge XP), each with a real commit.
Without --db-url it starts a private PostgreSQL 15 cluster with the test harness (fsync off,
as in the tests).
Timings are of the campus domain code each API handler runs (HTTP and Hub auth excluded).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from nbcampus.db import make_engine, prepare_database, session_factory, transaction  # noqa: E402
from nbcampus.hub.campus import engagement as en  # noqa: E402
from nbcampus.hub.campus import leaderboard as lb  # noqa: E402
from nbcampus.hub.campus.courses import import_course  # noqa: E402
from nbcampus.hub.campus.manifest import (  # noqa: E402
    BadgeSpec,
    CourseManifest,
    ExerciseSpec,
    LessonSpec,
    SectionSpec,
)
from nbcampus.hub.campus.orm import MIGRATIONS, CampusClass, Course  # noqa: E402

STUDENTS, CLASSES, CLASS_SIZE, COURSES, TRANSACTIONS = 10_000, 200, 50, 4, 1_000_000
REASONS = ("exercise_complete", "autograde_passed", "lesson_complete", "attendance")


def manifest(n: int) -> CourseManifest:
    lessons = tuple(
        LessonSpec(
            f"{i:02d}-l",
            f"Lesson {i}",
            "",
            tuple(ExerciseSpec(f"e{j}", f"E{j}", "quiz", None, 10, 0.0) for j in range(3)),
        )
        for i in range(1, 21)
    )
    badge = BadgeSpec(f"finish-{n}", "Finisher", "", "rare", "", {"kind": "course_complete",
                      "course": f"bench-{n}"})  # fmt: skip
    return CourseManifest(
        f"bench-{n}", f"Bench {n}", "", "python3", True, (SectionSpec("s", "S", "", lessons),),
        REPO, (badge,),
    )  # fmt: skip


def copy_rows(engine, table: str, columns: list[str], rows) -> None:
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join(str(v) for v in row) + "\n")
    raw = engine.raw_connection()
    try:
        cols = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            copy.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()


def build(engine, factory) -> tuple[list[int], list[int]]:
    t0 = time.perf_counter()
    with transaction(factory) as s:
        for n in range(COURSES):
            import_course(s, manifest(n))
        en.sync_badges(s, en.DEFAULT_BADGES, None)
        course_ids = list(s.scalars(sa.select(Course.id).order_by(Course.id)))
    now = datetime.now(UTC)
    rng = random.Random(5)
    copy_rows(
        engine,
        "accounts",
        ["name", "role", "display_name", "email", "source", "active", "created_at"],
        (
            (f"stu{i:05d}", "student", "", "", "local", "t", now.isoformat())
            for i in range(STUDENTS)
        ),
    )
    classes = [
        (i + 1, f"Class {i}", course_ids[i % COURSES], "group", CLASS_SIZE, CLASS_SIZE, 20, 0, 0,
         "active", now.isoformat(), now.isoformat())
        for i in range(CLASSES)
    ]  # fmt: skip
    copy_rows(
        engine,
        "classes",
        ["id", "name", "course_id", "type", "max_capacity", "current_capacity", "total_meetings",
         "meetings_completed", "lessons_unlocked", "status", "created_at", "updated_at"],
        classes,
    )  # fmt: skip
    copy_rows(
        engine,
        "class_enrollments",
        ["class_id", "student", "meeting_credits", "credits_used", "credits_adjusted", "status",
         "enrolled_at"],
        ((c + 1, f"stu{c * CLASS_SIZE + i:05d}", 20, 0, 0, "active", now.isoformat())
         for c in range(CLASSES) for i in range(CLASS_SIZE)),
    )  # fmt: skip

    def student_course(i: int) -> int:
        return course_ids[(i // CLASS_SIZE) % COURSES]

    def txs():
        for k in range(TRANSACTIONS):
            i = rng.randrange(STUDENTS)
            at = now - timedelta(seconds=rng.randrange(70 * 86400))
            yield (f"stu{i:05d}", rng.choice((5, 10, 20, 30)), rng.choice(REASONS), f"b:{k}",
                   student_course(i), "", "system", at.isoformat())  # fmt: skip

    copy_rows(
        engine,
        "xp_transactions",
        ["user", "amount", "reason", "ref", "course_id", "note", "created_by", "created_at"],
        txs(),
    )
    tz = en.CONFIG.timezone
    with engine.begin() as conn:  # derive totals and levels as the award path keeps them
        week = (
            "to_char(created_at AT TIME ZONE :tz, 'IYYY') || '-W' || "
            "to_char(created_at AT TIME ZONE :tz, 'IW')"
        )
        conn.execute(
            sa.text(
                f"""INSERT INTO xp_totals ("user", course_id, period, total)
                SELECT "user", c, p, sum(amount) FROM (
                  SELECT "user", course_id AS c, 'all' AS p, amount FROM xp_transactions
                  UNION ALL SELECT "user", 0, 'all', amount FROM xp_transactions
                  UNION ALL SELECT "user", course_id, {week}, amount FROM xp_transactions
                  UNION ALL SELECT "user", 0, {week}, amount FROM xp_transactions
                ) t GROUP BY "user", c, p"""  # noqa: S608 - only a constant is formatted in
            ),
            {"tz": tz},
        )
        conn.execute(
            sa.text(
                """INSERT INTO user_levels ("user", total_xp, level, current_streak,
                longest_streak, leaderboard_opt_out, updated_at)
                SELECT "user", sum(amount), floor(sqrt(sum(amount) / 100)) + 1, 0, 0,
                       random() < 0.1, now()
                FROM xp_transactions GROUP BY "user" """
            )
        )
        # The badges this history has already earned, as the award path would have given them.
        conn.execute(
            sa.text(
                """INSERT INTO user_badges ("user", badge_id, awarded_at)
                SELECT l."user", b.id, now() FROM user_levels l JOIN badges b
                  ON b.slug = 'xp-1000' AND l.total_xp >= 1000
                UNION ALL
                SELECT DISTINCT t."user", b.id, now() FROM xp_transactions t JOIN badges b
                  ON b.slug = 'first-pass' AND t.reason = 'autograde_passed'"""
            )
        )
        conn.execute(sa.text("ANALYZE"))
    print(
        f"data: {STUDENTS} students, {CLASSES} classes x {CLASS_SIZE}, {COURSES} courses, "
        f"{TRANSACTIONS} XP transactions; built in {time.perf_counter() - t0:.1f} s"
    )
    return list(range(1, CLASSES + 1)), course_ids


def timed(fn, samples: int, before=None) -> list[float]:
    out = []
    for i in range(samples):
        if before is not None:
            before(i)  # untimed preparation of sample i
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def report(label: str, times: list[float], target: float) -> None:
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(
        f"{label}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
        f"({len(times)} samples; target < {target:g} ms median)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", default=os.environ.get("NBCAMPUS_BENCH_DB_URL"))
    args = parser.parse_args()
    cluster = None
    url = args.db_url
    if not url:
        from harness.postgres import start_cluster

        cluster = start_cluster()
        url = cluster.create_database("engagement_bench")
    engine = make_engine(url, pool_size=5)
    try:
        prepare_database(engine, url, MIGRATIONS)
        factory = session_factory(engine)
        class_ids, course_ids = build(engine, factory)
        rng = random.Random(9)

        def class_board(_: int) -> None:
            with factory() as s:
                k = s.get(CampusClass, rng.choice(class_ids))
                rows = lb.class_board(s, k.id, k.course_id, rng.choice(lb.PERIODS), "x", False)
                assert len(rows) == CLASS_SIZE

        def course_board(_: int) -> None:
            viewer = f"stu{rng.randrange(STUDENTS):05d}"
            with factory() as s:
                rows = lb.course_board(
                    s, rng.choice(course_ids), rng.choice(lb.PERIODS), viewer, False
                )
                assert rows

        def award(i: int, user: str | None = None) -> list[str]:
            n = int(user[3:]) if user else rng.randrange(STUDENTS)
            with transaction(factory) as s:
                got = en.award(
                    s, f"stu{n:05d}", 10, "exercise_complete", f"bench-award:{i}",
                    course_id=course_ids[(n // CLASS_SIZE) % COURSES],
                )  # fmt: skip
                assert got is not None
                return got.badges

        # Awards that earn a badge: the user's 1,000-XP badge is taken away (untimed) first.
        with engine.connect() as conn:
            rich = list(
                conn.scalars(sa.text('''SELECT "user" FROM user_levels WHERE total_xp >= 1000
                                       ORDER BY random() LIMIT 300'''))
            )  # fmt: skip

        def award_earning_badge(i: int) -> None:
            assert award(10_000 + i, rich[i]) == ["xp-1000"]

        def drop_badge(i: int) -> None:
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        """DELETE FROM user_badges WHERE "user" = :u AND badge_id =
                        (SELECT id FROM badges WHERE slug = 'xp-1000')"""
                    ),
                    {"u": rich[i]},
                )

        def round_trip(_: int) -> None:
            with factory() as s:
                s.execute(sa.text("SELECT 1"))

        for fn in (class_board, course_board, award):
            timed(fn, 20)  # warm up caches and the pool
        base = sorted(timed(round_trip, 300))
        print(
            f"context: one database round trip (SELECT 1) median {statistics.median(base):.2f} ms, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        report("class leaderboard (50 students, all-time or weekly)", timed(class_board, 300), 20)
        report("course leaderboard (top 50 + viewer's rank)", timed(course_board, 300), 50)
        report("XP award with streak, level and badge evaluation", timed(award, 500), 10)
        report(
            "XP award that earns a badge (+ notification + badge XP)",
            timed(award_earning_badge, len(rich), before=drop_badge),
            10,
        )
    finally:
        engine.dispose()
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
