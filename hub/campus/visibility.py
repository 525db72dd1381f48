"""Score visibility per assessment: may a student see a graded exercise's score now?

One rule for every graded exercise (notebook, written assignment, quiz, exam), asked by every
path a score takes to a student — the result card and panel, progress, the course total, the
grader's own student endpoints, nbgrader's feedback, the LMS passback, XP:

- `visible` (the default): at once;
- `after_due`: once the exercise's due date (course.yaml `due:`) has passed;
- `hidden`: until an instructor releases it (`release_scores`); a timed exam is hidden too.

A release shows the scores whatever the mode; taking it back hides them again. A quiz with
questions keeps its own switch (quiz.Loaded.scores_visible, the quiz file's `scores:`), which
this module reads and sets, so callers need not know the kind.

While a score is hidden the exercise is not completed and earns no XP (a "+20 XP" would tell
a full score); the grade is kept and the release completes it, by the rule it would have met
when graded (`release_scores`).

Entry points (plain functions of a session, no handler): `scores_visible(session, exercise)`,
`hidden_exercise_ids(session, ids)`, `mask_hidden_scores(session, items)`,
`release_scores(session, exercise, by, released=True)`, `visibility_dict(session, exercise)`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import engagement
from .orm import Exercise, ExerciseProgress, GradingResult, Quiz, utcnow

MODES = ("visible", "after_due", "hidden")


def _aware(when: datetime | None) -> datetime | None:
    """SQLite hands back naive times: they are UTC."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def _quiz(session: Session, exercise: Exercise) -> Any:
    """The quiz's effective settings when the exercise is a quiz with questions, else None."""
    if exercise.type != "quiz" or session.get(Quiz, exercise.id) is None:
        return None
    from .quiz import Loaded  # (quiz.py imports the modules this one is imported by)

    return Loaded(session, exercise.id)


def mode(session: Session, exercise: Exercise) -> str:
    """visible | after_due | hidden, as the manifest (or the quiz file) says."""
    quiz = _quiz(session, exercise)
    if quiz is not None:
        return "hidden" if quiz.timed or not quiz.spec["scores_visible"] else "visible"
    return exercise.score_visibility or "visible"


def released_at(session: Session, exercise: Exercise) -> datetime | None:
    quiz = _quiz(session, exercise)
    if quiz is not None:
        return _aware(quiz.row.released_at) if quiz.scores_visible else None
    return _aware(exercise.scores_released_at)


def scores_visible(session: Session, exercise: Exercise, now: datetime | None = None) -> bool:
    """May the exercise's students see their scores (and feedback) now?"""
    quiz = _quiz(session, exercise)
    if quiz is not None:
        return bool(quiz.scores_visible)
    if exercise.scores_released_at is not None:
        return True
    kind = exercise.score_visibility or "visible"
    if kind == "after_due":
        due = _aware(exercise.due_at)
        return due is not None and (now or datetime.now(UTC)) >= due
    return kind != "hidden"


def hidden_exercise_ids(
    session: Session, exercise_ids: list[int], now: datetime | None = None
) -> set[int]:
    """Of these exercises, those whose scores students may not see now."""
    if not exercise_ids:
        return set()
    rows = session.scalars(sa.select(Exercise).where(Exercise.id.in_(exercise_ids)))
    return {e.id for e in rows if not scores_visible(session, e, now)}


def mask_hidden_scores(session: Session, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exercise progress dicts (`exercise_id`, `score`, `max_score`, maybe `completed`) as a
    student may see them: a hidden score is left out (None) and said to be hidden."""
    hidden = hidden_exercise_ids(session, sorted({i["exercise_id"] for i in items}))
    for item in items:
        if item["exercise_id"] in hidden and "score" in item:
            item["score"] = item["max_score"] = None
            item["score_hidden"] = True
    return items


def visibility_dict(
    session: Session, exercise: Exercise, now: datetime | None = None
) -> dict[str, Any]:
    """What a student and an instructor are told about an exercise's score visibility."""
    due = _aware(exercise.due_at)
    released = released_at(session, exercise)
    return {
        "exercise_id": exercise.id,
        "exercise": exercise.slug,
        "scores": mode(session, exercise),
        "visible": scores_visible(session, exercise, now),
        "due_at": due.isoformat() if due else None,
        "released_at": released.isoformat() if released else None,
    }


def release_scores(
    session: Session,
    exercise: Exercise,
    by: str,
    released: bool = True,
    now: datetime | None = None,
) -> list[str]:
    """An instructor shows an exercise's scores to its students (or hides them again).

    Students whose kept grade is a full score and whose exercise was held back meanwhile
    complete it now, with its XP, as if graded at this moment; returns their names."""
    now = now or utcnow()
    quiz = _quiz(session, exercise)
    if quiz is not None:
        from .quiz import update_settings

        update_settings(session, quiz, {"scores_visible": released}, by, now)
    else:
        exercise.scores_released_at = now if released else None
        exercise.scores_released_by = by if released else None
    session.flush()
    if not released or quiz is not None:
        return []  # a quiz completes at its submit: nothing was held back
    return complete_held(session, exercise, now)


def complete_held(session: Session, exercise: Exercise, now: datetime | None = None) -> list[str]:
    """Complete the exercise for each student whose completion was held back while hidden
    (progress.complete_exercise decides from the kept grade, as it would have then)."""
    from .progress import complete_exercise  # (progress.py is imported by this one's callers)

    held = session.scalars(
        sa.select(ExerciseProgress).where(
            ExerciseProgress.exercise_id == exercise.id,
            ExerciseProgress.completed.is_(False),
            ExerciseProgress.score.is_not(None),
        )
    ).all()
    done = []
    for row in held:
        # The XP award carries the submission that earned it (the result card's "+N XP").
        sub = session.scalar(
            sa.select(GradingResult.submission_id)
            .where(GradingResult.user == row.user, GradingResult.exercise_id == exercise.id)
            .order_by(GradingResult.score.desc(), GradingResult.graded_at.desc())
            .limit(1)
        )
        events = complete_exercise(
            session,
            row.user,
            exercise,
            score=row.score,
            max_score=row.max_score,
            at=now,
            autograde=True,
            note=engagement.submission_note(sub) if sub else "",
        )
        if events.exercise_completed:
            done.append(row.user)
    for user in _graded_users(session, exercise):
        engagement.notify(
            session,
            user,
            "assignment_graded",
            f"Score released: {exercise.title}",
            "Your score and feedback can be seen now.",
            f"release:{exercise.id}:{(now or utcnow()).isoformat()}",
        )
    return done


def _graded_users(session: Session, exercise: Exercise) -> list[str]:
    return list(
        session.scalars(
            sa.select(GradingResult.user)
            .where(GradingResult.exercise_id == exercise.id)
            .distinct()
            .order_by(GradingResult.user)
        )
    )
