"""Quizzes and timed exams on the campus store, on SQLite and PostgreSQL: scoring, attempts,
no answer key before submission, feedback timing, deadlines with accommodations, receipts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_rules import make_class, take

from nbcampus.db import transaction
from nbcampus.hub.campus import classes, profile
from nbcampus.hub.campus import quiz as qz
from nbcampus.hub.campus import quizspec as qs
from nbcampus.hub.campus.manifest import ManifestError, lesson_files, load_manifest
from nbcampus.hub.campus.orm import Exercise, ExerciseProgress, XpTransaction
from nbcampus.web import APIError

COURSE = Path(__file__).resolve().parents[2] / "courses" / "python-intro"
# The demo quiz's right answers, by question id (option keys are the file's order).
RIGHT = {"type-of-int": 0, "strings": [0, 2], "celsius": 37.02, "assign": " = "}
TEXT_Q = {"type": "text", "prompt": "x", "accepted": "a"}
KEY_WORDS = ("correct", "solution", "accepted", "tolerance", "explanation")


def quiz_id(factory) -> int:
    with factory() as s:
        return s.scalar(sa.select(Exercise.id).filter_by(slug="values-quiz"))


@pytest.fixture
def ready(campus_db):
    """s00 and s01 in a class with lesson 1 unlocked."""
    class_id = make_class(campus_db, ["s00", "s01"])
    with transaction(campus_db) as s:
        classes.update_class(s, class_id, {"status": "active"}, "sara")
    take(campus_db, class_id, 1, {"s00": "present", "s01": "present"})
    with transaction(campus_db) as s:
        classes.unlock_lesson(s, class_id, None, "ines")
    return campus_db


def expect(code: str, fn, *args) -> None:
    with pytest.raises(APIError) as info:
        fn(*args)
    assert info.value.code == code, info.value.message


def test_quiz_file_parses_scores_and_stays_out_of_the_release() -> None:
    manifest = load_manifest(COURSE)
    spec = next(e for e in manifest.lessons[0].exercises if e.slug == "values-quiz")
    assert spec.type == "quiz" and spec.points == 4.0 and spec.quiz is not None
    questions = {q["id"]: q for q in spec.quiz["questions"]}
    assert {q: qs.score_question(questions[q], a) for q, a in RIGHT.items()} == {
        "type-of-int": 1.0, "strings": 1.0, "celsius": 1.0, "assign": 1.0,
    }  # fmt: skip
    wrong = {"type-of-int": 1, "strings": [0], "celsius": 37.2, "assign": "=="}
    assert sum(qs.score_question(questions[q], a) for q, a in wrong.items()) == 0
    # the answer key is never a file released with the lesson's notebooks
    assert not any(
        f.endswith(".quiz.yaml") for f in lesson_files(COURSE / "lessons" / "01-values", "x")
    )
    # per student, a stable order of the options; shuffled between students
    orders = {u: qs.option_order(questions["type-of-int"], u, True) for u in ("a", "b", "c", "d")}
    assert orders["a"] == qs.option_order(questions["type-of-int"], "a", True)
    assert len({tuple(o) for o in orders.values()}) > 1
    public = json.dumps(qs.public_questions(spec.quiz, "a"))
    assert not any(word in public for word in KEY_WORDS) and "37" not in public


@pytest.mark.parametrize(
    "bad, reason",
    [
        ({"questions": []}, "questions must be"),
        ({"questions": [{"type": "single", "prompt": "x", "options": ["a", "b"]}]}, "exactly one"),
        ({"questions": [{"type": "numeric", "prompt": "x"}]}, "answer: must be a number"),
        ({"questions": [{"type": "text", "prompt": "x"}]}, "accepted"),
        ({"questions": [{"type": "essay", "prompt": "x"}]}, "type must be"),
        ({"feedback": "after_due", "questions": [TEXT_Q]}, "needs a due"),
        ({"exam": {"time_limit": 0}, "questions": [TEXT_Q]}, "time_limit"),
    ],
)  # fmt: skip
def test_bad_quiz_files_name_the_problem(bad, reason) -> None:
    with pytest.raises(qs.QuizError, match=reason):
        qs.parse_quiz(bad, "q.quiz.yaml")


def test_missing_named_quiz_file_is_a_manifest_error(tmp_path: Path) -> None:
    (tmp_path / "lessons" / "l1").mkdir(parents=True)
    (tmp_path / "course.yaml").write_text(
        "slug: c\ntitle: C\nsections:\n- slug: s\n  lessons:\n  - slug: l1\n    exercises:\n"
        "    - {slug: q, type: quiz, quiz: nope.quiz.yaml}\n"
    )
    with pytest.raises(ManifestError, match="quiz file .* is missing"):
        load_manifest(tmp_path)


def test_attempts_scoring_feedback_xp_and_double_submission(ready) -> None:
    eid = quiz_id(ready)
    now = datetime.now(UTC)
    with transaction(ready) as s:
        quiz = qz.Loaded(s, eid)
        view = qz.student_view(s, quiz, "s00", now)
        assert view["state"] == "open" and view["settings"]["attempts"] == 2
        assert not any(w in json.dumps(view) for w in KEY_WORDS)
        attempt, created = qz.start(s, quiz, "s00", now)
        assert created and attempt.number == 1
        assert qz.start(s, quiz, "s00", now) == (attempt, False)  # the open one again
        qz.save(s, quiz, attempt, {"type-of-int": 0, "celsius": 10}, now)
        with pytest.raises(APIError) as bad:
            qz.save(s, quiz, attempt, {"strings": "all"}, now)
        assert (
            "option keys" in bad.value.message and bad.value.details["field"] == "answers.strings"
        )
        expect("VALIDATION_ERROR", qz.save, s, quiz, attempt, {"nope": 1}, now)
        assert qz.submit(s, quiz, attempt, {"celsius": 37}, now) is True
        assert attempt.score == 2.0 and attempt.max_score == 4.0 and len(attempt.receipt) == 64
        # the same submission again counts once; other answers to it are refused
        assert qz.submit(s, quiz, attempt, None, now) is False
        expect("ATTEMPT_FINISHED", qz.submit, s, quiz, attempt, {"assign": "="}, now)
        expect("ATTEMPT_FINISHED", qz.save, s, quiz, attempt, {"assign": "="}, now)
        mine = qz.student_view(s, quiz, "s00", now)["attempts"][0]
        assert mine["score"] == 2.0 and mine["receipt"] == attempt.receipt
        # feedback per question, without the answer key while an attempt is left
        assert [f["correct"] for f in mine["feedback"]] == [True, False, True, False]
        assert "solution" not in mine["feedback"][0]
        second, _ = qz.start(s, quiz, "s00", now)
        qz.submit(s, quiz, second, RIGHT, now)
        last = qz.student_view(s, quiz, "s00", now)
        assert last["state"] == "finished" and last["current"] is None
        assert not any(w in json.dumps(last["questions"]) for w in KEY_WORDS)
        assert last["attempts"][1]["feedback"][1]["solution"] == [0, 2]
        expect("NO_ATTEMPTS_LEFT", qz.start, s, quiz, "s00", now)
    with ready() as s:
        row = s.scalars(sa.select(ExerciseProgress).filter_by(user="s00", exercise_id=eid)).one()
        assert row.completed and (row.score, row.max_score) == (4.0, 4.0)
        xp = s.scalars(
            sa.select(XpTransaction.amount).filter_by(user="s00", ref=f"exercise:{eid}")
        ).all()
        assert xp == [10]  # the exercise's XP, once, for two attempts


def test_locked_lesson_refuses_answers(campus_db) -> None:
    make_class(campus_db, ["s02"])
    eid = quiz_id(campus_db)
    with transaction(campus_db) as s:
        expect("LESSON_LOCKED", qz.start, s, qz.Loaded(s, eid), "s02", datetime.now(UTC))


def test_timed_exam_deadline_accommodation_and_hidden_scores(ready) -> None:
    eid = quiz_id(ready)
    t0 = datetime.now(UTC).replace(microsecond=0)
    with transaction(ready) as s:
        quiz = qz.Loaded(s, eid)
        qz.update_settings(
            s, quiz,
            {"time_limit_seconds": 600, "opens_at": t0 - timedelta(hours=1),
             "closes_at": t0 + timedelta(hours=2)},
            "ines", t0,
        )  # fmt: skip
        course_id = quiz.course.id
        qz.set_multiplier(s, course_id, "s01", 1.5, "sara")
    with transaction(ready) as s:
        quiz = qz.Loaded(s, eid)
        assert quiz.timed and quiz.attempts == 1 and not quiz.scores_visible
        assert "questions" not in qz.student_view(s, quiz, "s00", t0)  # not before the start
        a, _ = qz.start(s, quiz, "s00", t0)
        b, _ = qz.start(s, quiz, "s01", t0)
        assert qz._aware(a.deadline_at) == t0 + timedelta(minutes=10)
        assert qz._aware(b.deadline_at) == t0 + timedelta(minutes=15)  # x 1.5
        view = qz.student_view(s, quiz, "s00", t0 + timedelta(minutes=4))
        assert view["attempts"][0]["remaining_seconds"] == 360 and view["questions"]
        qz.save(s, quiz, a, {"type-of-int": 0}, t0 + timedelta(minutes=5))
        qz.save(s, quiz, b, {"type-of-int": 0}, t0 + timedelta(minutes=5))
    late = t0 + timedelta(minutes=11)
    with transaction(ready) as s:
        quiz = qz.Loaded(s, eid)
        a = qz.own_attempt(s, quiz, "s00", 1)
        expect("TIME_UP", qz.save, s, quiz, a, {"celsius": 37}, late)
        b = qz.own_attempt(s, quiz, "s01", 1)
        qz.save(s, quiz, b, {"celsius": 37}, late)  # s01 has five minutes more
    with transaction(ready) as s:
        quiz = qz.Loaded(s, eid)
        a = qz.own_attempt(s, quiz, "s00", 1)
        assert a.auto_submitted and qz._aware(a.submitted_at) == t0 + timedelta(minutes=10)
        assert json.loads(a.answers) == {"type-of-int": 0} and a.score == 1.0
        assert a.receipt == qz.receipt(a, "python-intro", "values-quiz")
        seen = qz.student_view(s, quiz, "s00", late)
        assert "score" not in seen["attempts"][0] and "feedback" not in seen["attempts"][0]
        mine = profile.export(s, "s00")  # the student's data export keeps it hidden too
        assert [r["score"] for r in mine["quiz_attempts"]] == [None]
        assert [r["score"] for r in mine["exercise_progress"] if r["exercise_id"] == eid] == [None]
        expect("NO_ATTEMPTS_LEFT", qz.start, s, quiz, "s00", late)
        # the sweep closes s01's attempt at its own deadline, with what was saved
        assert qz.close_expired(s, t0 + timedelta(minutes=16)) == 1
        b = qz.own_attempt(s, quiz, "s01", 1)
        assert b.score == 2.0 and qz._aware(b.submitted_at) == t0 + timedelta(minutes=15)
        qz.update_settings(s, quiz, {"scores_visible": True}, "ines", late)
    with ready() as s:
        quiz = qz.Loaded(s, eid)
        assert qz.student_view(s, quiz, "s00", late)["attempts"][0]["score"] == 1.0
        assert [r["score"] for r in profile.export(s, "s00")["quiz_attempts"]] == [1.0]
        assert quiz.row.released_at is not None


def test_exam_window_refuses_early_and_late_starts(ready) -> None:
    eid = quiz_id(ready)
    t0 = datetime.now(UTC)
    with transaction(ready) as s:
        quiz = qz.Loaded(s, eid)
        qz.update_settings(
            s, quiz, {"time_limit_seconds": 60, "opens_at": t0, "closes_at": t0 + timedelta(1)},
            "ines", t0,
        )  # fmt: skip
    with transaction(ready) as s:
        quiz = qz.Loaded(s, eid)
        expect("QUIZ_NOT_OPEN", qz.start, s, quiz, "s00", t0 - timedelta(seconds=1))
        expect("QUIZ_CLOSED", qz.start, s, quiz, "s00", t0 + timedelta(days=2))
        assert qz.student_view(s, quiz, "s00", t0 + timedelta(days=2))["state"] == "closed"
