"""Scores out of 100: a student's course total from the weights in the course manifest.

An exercise's weight defaults to its points, a section's to the sum of its exercises' weights
(manifest.py documents both). A section's score is the weighted mean of its exercises' shares
(score / max score of the grade that counts, 0 for one not graded yet); the course total is
the weighted mean of the sections' scores, times 100. Exercises of retired lessons, and
exercises and sections of weight 0, count nothing.

A student's own view leaves out what they may not see yet (a score hidden until released or
until its due date, visibility.hidden_exercise_ids): in their total it counts as not graded
yet (0, as an exercise not handed in), `hidden` says how many and `hidden_exercises` which,
so a screen shows "hidden" for them rather than 0. A teacher's view counts every score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import visibility
from .orm import Course, Exercise, ExerciseProgress, Lesson, Section


@dataclass(frozen=True)
class WeightedExercise:
    id: int
    slug: str
    lesson: str
    title: str
    type: str
    weight: float
    points: float


@dataclass(frozen=True)
class WeightedSection:
    slug: str
    title: str
    weight: float
    exercises: tuple[WeightedExercise, ...] = field(default=())


def course_weights(session: Session, course: Course) -> list[WeightedSection]:
    """The course's sections and their counted exercises, each with its effective weight."""
    rows = session.execute(
        sa.select(Section, Lesson, Exercise)
        .join(Lesson, Lesson.section_id == Section.id)
        .join(Exercise, Exercise.lesson_id == Lesson.id)
        .where(Section.course_id == course.id, ~Lesson.retired, ~Exercise.retired)
        .order_by(Section.order_index, Lesson.order_index, Exercise.order_index)
    ).all()
    sections: dict[int, tuple[Section, list[WeightedExercise]]] = {}
    for section, lesson, ex in rows:
        weight = ex.weight if ex.weight is not None else ex.points
        entry = sections.setdefault(section.id, (section, []))
        if weight > 0:
            entry[1].append(
                WeightedExercise(ex.id, ex.slug, lesson.slug, ex.title, ex.type, weight, ex.points)
            )
    out = []
    for section, exercises in sections.values():
        if not exercises:
            continue
        weight = section.weight if section.weight is not None else sum(e.weight for e in exercises)
        if weight > 0:
            out.append(WeightedSection(section.slug, section.title, weight, tuple(exercises)))
    return out


def _share(progress: ExerciseProgress | None, ex: WeightedExercise) -> float:
    if progress is None or progress.score is None:
        return 0.0
    top = progress.max_score if progress.max_score else ex.points
    return max(0.0, min(1.0, progress.score / top)) if top else 0.0


def course_totals(
    session: Session, course: Course, users: list[str], *, own_view: bool = False
) -> dict[str, dict[str, Any]]:
    """{user: {"total": 0-100, "sections": [...], "graded": n, "counted": n, "hidden": n}}."""
    sections = course_weights(session, course)
    ids = [e.id for s in sections for e in s.exercises]
    hidden = visibility.hidden_exercise_ids(session, ids) if own_view else set()
    progress: dict[tuple[str, int], ExerciseProgress] = {}
    if ids and users:
        for row in session.scalars(
            sa.select(ExerciseProgress).where(
                ExerciseProgress.exercise_id.in_(ids), ExerciseProgress.user.in_(users)
            )
        ):
            progress[(row.user, row.exercise_id)] = row
    weight_sum = sum(s.weight for s in sections)
    out: dict[str, dict[str, Any]] = {}
    for user in users:
        total = 0.0
        graded = 0
        parts = []
        for section in sections:
            ex_sum = sum(e.weight for e in section.exercises)
            score = 0.0
            for ex in section.exercises:
                row = None if ex.id in hidden else progress.get((user, ex.id))
                graded += row is not None and row.score is not None
                score += ex.weight * _share(row, ex)
            share = score / ex_sum
            total += section.weight * share
            parts.append(
                {
                    "section": section.slug,
                    "title": section.title,
                    "weight": round(100 * section.weight / weight_sum, 2),
                    "score": round(100 * share, 1),
                }
            )
        out[user] = {
            "total": round(100 * total / weight_sum, 1) if weight_sum else None,
            "out_of": 100,
            "sections": parts,
            "graded": graded,
            "counted": len(ids),
            "hidden": len(hidden),
            "hidden_exercises": [
                {"lesson": e.lesson, "exercise": e.slug, "title": e.title}
                for s in sections
                for e in s.exercises
                if e.id in hidden
            ],
        }
    return out


def weights_dict(sections: list[WeightedSection]) -> list[dict[str, Any]]:
    """What counts how much, as the student and the instructor see it."""
    weight_sum = sum(s.weight for s in sections) or 1.0
    return [
        {
            "section": s.slug,
            "title": s.title,
            "weight": round(100 * s.weight / weight_sum, 2),
            "exercises": [
                {
                    "lesson": e.lesson,
                    "exercise": e.slug,
                    "title": e.title,
                    "type": e.type,
                    "weight": round(
                        100 * s.weight / weight_sum * e.weight / sum(x.weight for x in s.exercises),
                        2,
                    ),
                }
                for e in s.exercises
            ],
        }
        for s in sections
    ]
