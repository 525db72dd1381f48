"""Material and video exercises on the campus: pages and videos only for a lesson open to the
student, signed media URLs that expire, watch time counted on the server (seeking ahead and
claims faster than time allows do not count), and completion reaching lesson progress."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from test_rules import make_class, take

from nbcampus.db import transaction
from nbcampus.hub.campus import classes, media, progress
from nbcampus.hub.campus.orm import (
    Exercise,
    ExerciseMedia,
    ExerciseProgress,
    LessonProgress,
    VideoWatch,
)
from nbcampus.web import APIError

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
KEY = b"k" * 32


def exercise_id(factory, slug: str) -> int:
    with factory() as s:
        return s.scalar(sa.select(Exercise.id).where(Exercise.slug == slug))


@pytest.fixture
def opened(campus_db):
    """s01 in a class that has unlocked lessons 1 to 3; s02 in a class with lesson 1 only."""
    class_id = make_class(campus_db, ["s01"])
    other = make_class(campus_db, ["s02"])
    for meeting in (1, 2, 3):
        take(campus_db, class_id, meeting, {"s01": "present"})
        with transaction(campus_db) as s:
            classes.unlock_lesson(s, class_id, None, "ines")
    take(campus_db, other, 1, {"s02": "present"})
    with transaction(campus_db) as s:
        classes.unlock_lesson(s, other, None, "ines")
    return campus_db


def refused(code: str, factory, fn, *args) -> None:
    with pytest.raises(APIError) as info, transaction(factory) as s:
        fn(s, *args)
    assert info.value.code == code, info.value.message


def test_import_records_what_material_and_video_show(campus_db) -> None:
    with campus_db() as s:
        rows = {
            e.slug: m
            for m, e in s.execute(
                sa.select(ExerciseMedia, Exercise).join(
                    Exercise, Exercise.id == ExerciseMedia.exercise_id
                )
            )
        }
    assert set(rows) == {"welcome", "lists-video"}
    assert rows["welcome"].file == "welcome.md" and rows["welcome"].path.endswith("welcome.md")
    video = rows["lists-video"]
    assert video.file == "lists-video.webm" and video.complete_at == 0.9 and video.url is None


def test_material_is_shown_only_in_an_open_lesson_and_completes_the_lesson(opened) -> None:
    welcome = exercise_id(opened, "welcome")
    refused("NOT_FOUND", opened, media.material, "s01", exercise_id(opened, "lists-video"))
    refused("LESSON_LOCKED", opened, media.material, "s05", welcome)  # not enrolled
    with opened() as s:
        page = media.material(s, "s01", welcome)
    assert page["format"] == "markdown" and page["content"].startswith("# Welcome")
    assert page["completed"] is False
    with transaction(opened) as s:
        exercise = s.get(Exercise, welcome)
        events = progress.complete_exercise(s, "s01", exercise)
        assert events.exercise_completed and not events.lesson_completed  # values still open
        others = s.scalars(
            sa.select(Exercise).where(
                Exercise.lesson_id == exercise.lesson_id, Exercise.id != welcome
            )
        ).all()
        for other in others:  # the lesson's other exercises, passed by their own means
            events = progress.complete_exercise(s, "s01", other, score=1.0, max_score=1.0)
        assert events.lesson_completed
    with opened() as s:
        assert media.material(s, "s01", welcome)["completed"] is True


def test_signed_urls_are_refused_when_forged_or_expired() -> None:
    token = media.sign(KEY, "s01", 7, T0 + timedelta(minutes=30))
    grant = media.verify(KEY, token, T0)
    assert (grant.user, grant.exercise_id) == ("s01", 7)
    with pytest.raises(APIError) as info:
        media.verify(KEY, token, T0 + timedelta(minutes=31))
    assert info.value.status_code == 410 and info.value.code == "EXPIRED"
    payload, mac = token.split(".")
    forged = media.sign(b"x" * 32, "s02", 7, T0 + timedelta(days=9)).split(".")[0] + "." + mac
    for bad in (forged, token[:-2] + "AA", "nonsense", "a.b.c", "é.x"):
        with pytest.raises(APIError) as info:
            media.verify(KEY, bad, T0)
        assert info.value.code == "BAD_SIGNATURE"


def test_range_arithmetic() -> None:
    assert media.merge([[5, 8], [0, 2], [1, 3], [8.1, 9]]) == [[0, 3], [5, 9]]
    assert media._subtract([[0, 10]], [[2, 3], [5, 7]]) == [[0, 2], [3, 5], [7, 10]]
    assert media._clip([[0, 2], [5, 9]], 3) == [[0, 2], [5, 6]]


def test_video_counts_seconds_watched_and_completes_at_its_share(opened) -> None:
    vid = exercise_id(opened, "lists-video")
    refused("LESSON_LOCKED", opened, media.heartbeat, "s02", vid, [[0, 1]], 12.0)
    with opened() as s:
        info = media.video(s, "s01", vid, "/services/campus/api/v1")
    assert info["src"].startswith("/services/campus/api/v1/media/") and not info["external"]
    assert info["watched_seconds"] == 0 and info["completed"] is False

    def beat(at: float, ranges, duration=12.0):
        with transaction(opened) as s:
            return media.heartbeat(s, "s01", vid, ranges, duration, T0 + timedelta(seconds=at))

    assert beat(0, [])["watched_seconds"] == 0  # play pressed: the clock starts
    out = beat(5, [[0, 5]])
    assert out["accepted_seconds"] == 5 and out["duration"] == 12.0
    # seeking ahead to 10 s plays nothing in between: only what was played counts
    out = beat(7, [[10, 12]])
    assert out["watched_seconds"] == 7 and not out["completed"]
    # a claim of more than the time since the last heartbeat allows (2x speed + slack) is cut
    out = beat(7.5, [[5, 10]])
    assert out["accepted_seconds"] == pytest.approx(0.5 * media.MAX_RATE + media.SLACK_SECONDS)
    assert out["refused_seconds"] == pytest.approx(1) and out["watched_seconds"] == 11
    assert out["completed"] and out["exercise_completed"]  # 11 of 12 s: over 90 %
    # the same part again adds nothing; a length the player claims changes nothing
    assert beat(20, [[0, 5]], duration=1.0)["watched_seconds"] == 11
    out = beat(25, [[9, 10]])
    assert out["watched_seconds"] == 12 and out["completed"] and not out["exercise_completed"]
    with opened() as s:
        row = s.scalars(sa.select(VideoWatch).filter_by(user="s01", exercise_id=vid)).one()
        assert json.loads(row.ranges) == [[0, 12]]  # the length is the manifest's 12 s
        done = s.scalars(sa.select(ExerciseProgress).filter_by(user="s01", exercise_id=vid)).one()
        assert done.completed  # 12 of 12 >= 90 %


def test_video_below_its_share_stays_open_and_cannot_be_marked_done(opened) -> None:
    vid = exercise_id(opened, "lists-video")
    with transaction(opened) as s:
        media.heartbeat(s, "s01", vid, [], 12.0, T0)
        out = media.heartbeat(s, "s01", vid, [[0, 10]], 12.0, T0 + timedelta(seconds=10))
    assert out["watched_seconds"] == 10 and out["share"] == pytest.approx(10 / 12, abs=1e-3)
    assert not out["completed"]  # 83 % < 90 %
    with transaction(opened) as s:
        out = media.heartbeat(s, "s01", vid, [[10, 10.9]], 12.0, T0 + timedelta(seconds=11))
    assert out["completed"] and out["exercise_completed"]
    with opened() as s:
        lesson = s.scalars(sa.select(LessonProgress).filter_by(user="s01")).one()
        assert lesson.exercises_completed == 1 and not lesson.completed  # lists still open


def test_without_a_length_in_the_manifest_the_players_first_report_counts(opened) -> None:
    vid = exercise_id(opened, "lists-video")
    with transaction(opened) as s:
        s.get(ExerciseMedia, vid).seconds = None
        media.heartbeat(s, "s01", vid, [], 20.0, T0)
        out = media.heartbeat(s, "s01", vid, [[0, 10]], 1.0, T0 + timedelta(seconds=10))
    assert out["duration"] == 20.0 and out["share"] == 0.5 and not out["completed"]


def test_a_notebook_material_is_sent_as_its_cells(opened, tmp_path) -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Reading\n"], "metadata": {}},
            {"cell_type": "code", "source": "print(1)", "outputs": [], "metadata": {}},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "reading.ipynb"
    path.write_text(json.dumps(notebook))
    welcome = exercise_id(opened, "welcome")
    with transaction(opened) as s:
        s.get(ExerciseMedia, welcome).path = str(path)
    with opened() as s:
        page = media.material(s, "s01", welcome)
    assert page["format"] == "notebook" and page["content"]["cells"][1]["source"] == "print(1)"
    path.write_text("{broken")
    refused("NOT_FOUND", opened, media.material, "s01", welcome)
