"""Course import: an update keeps ids and student progress; the CLI imports a folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from test_rules import make_class

from nbcampus.db import transaction
from nbcampus.hub.campus.courses import import_course
from nbcampus.hub.campus.manifest import load_manifest
from nbcampus.hub.campus.orm import Exercise, ExerciseProgress, Lesson
from nbcampus.hub.campus.progress import complete_exercise, my_courses

COURSES = Path(__file__).resolve().parents[2] / "courses"


def test_reimport_keeps_ids_and_progress_and_retires_dropped(campus_db, tmp_path: Path) -> None:
    with campus_db() as s:
        lessons = {x.slug: x.id for x in s.scalars(sa.select(Lesson))}
        fizz = s.scalars(sa.select(Exercise).filter_by(slug="fizzbuzz")).one()
    with transaction(campus_db) as s:
        complete_exercise(s, "s00", fizz, score=2, max_score=2)
    make_class(campus_db, ["s00"])
    with campus_db() as s:  # the course view caches the outline...
        before = {x["slug"]: x for x in my_courses(s, "s00")[0]["lessons"]}
    assert before["02-control-flow"]["exercises_total"] == 3  # two notebooks, one written
    course = tmp_path / "python-intro"
    shutil.copytree(COURSES / "python-intro", course)
    text = (course / "course.yaml").read_text()
    text = text.replace("title: Control flow", "title: Decisions and loops")
    text = text.replace(
        "          - {slug: count_vowels, title: Counting vowels, type: coding, xp: 20}\n", ""
    )
    (course / "course.yaml").write_text(text)
    with transaction(campus_db) as s:
        summary = import_course(s, load_manifest(course))
    assert not summary.created and summary.retired == 1
    with campus_db() as s:
        assert {x.slug: x.id for x in s.scalars(sa.select(Lesson))} == lessons
        assert s.get(Lesson, lessons["02-control-flow"]).title == "Decisions and loops"
        assert s.scalars(sa.select(Exercise).filter_by(slug="count_vowels")).one().retired
        kept = s.scalars(sa.select(ExerciseProgress).filter_by(user="s00")).one()
        assert kept.exercise_id == fizz.id and kept.completed and kept.score == 2
        after = {x["slug"]: x for x in my_courses(s, "s00")[0]["lessons"]}
    # ...and a re-import shows at once
    assert after["02-control-flow"]["exercises_total"] == 2
    assert after["02-control-flow"]["title"] == "Decisions and loops"
    assert after["02-control-flow"]["exercises_completed"] == 1


def test_cli_course_import(tmp_path: Path) -> None:
    env = {**os.environ, "NBCAMPUS_DATA_DIR": str(tmp_path / "data"), "NBCAMPUS_PROFILE": "local"}
    env.pop("NBCAMPUS_DB_URL", None)
    (tmp_path / "data").mkdir(mode=0o700)
    cmd = [sys.executable, "-m", "nbcampus.cli", "course", "import", str(COURSES / "python-intro")]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.splitlines()[-1])
    assert summary["course"] == "python-intro" and summary["created"] and summary["lessons"] == 3
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout.splitlines()[-1])["created"] is False
    bad = subprocess.run(cmd[:-1] + [str(tmp_path)], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "cannot read" in bad.stderr
