"""Courses in the database: import from a manifest, and read them back as JSON-ready dicts.

Import is an upsert keyed on slugs, so re-importing an edited course keeps every id, and with
them the students' progress, unlocks and grades. Lessons or exercises dropped from the
manifest are marked retired instead of deleted, for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.web import APIError

from .engagement import sync_badges
from .manifest import CourseManifest
from .orm import Course, Exercise, Lesson, Section, utcnow


@dataclass(frozen=True)
class ImportSummary:
    course_id: int
    slug: str
    created: bool
    lessons: int
    exercises: int
    retired: int


def import_course(session: Session, manifest: CourseManifest) -> ImportSummary:
    """Create or update the course of `manifest` inside the caller's transaction."""
    course = session.scalar(sa.select(Course).where(Course.slug == manifest.slug))
    created = course is None
    now = utcnow()
    if course is None:
        course = Course(slug=manifest.slug, created_at=now)
        session.add(course)
    course.title = manifest.title
    course.description = manifest.description
    course.kernel = manifest.kernel
    course.category, course.level = manifest.category, manifest.level
    course.language = manifest.language
    status = "published" if manifest.published else "draft"
    if status == "published" and course.published_at is None:
        course.published_at = now
    course.status = status
    course.updated_at = now
    session.flush()

    sections = {
        s.slug: s for s in session.scalars(sa.select(Section).filter_by(course_id=course.id))
    }
    lessons = {
        lesson.slug: lesson
        for lesson in session.scalars(sa.select(Lesson).filter_by(course_id=course.id))
    }
    kept_lessons: set[int] = set()
    n_exercises = 0
    retired = 0
    position = 0
    for s_index, spec in enumerate(manifest.sections, start=1):
        section = sections.get(spec.slug)
        if section is None:
            section = Section(course_id=course.id, slug=spec.slug)
            session.add(section)
        section.title, section.description, section.order_index = (
            spec.title,
            spec.description,
            s_index,
        )
        section.weight = spec.weight
        session.flush()
        for l_spec in spec.lessons:
            position += 1
            lesson = lessons.get(l_spec.slug)
            if lesson is None:
                lesson = Lesson(course_id=course.id, slug=l_spec.slug)
                session.add(lesson)
            lesson.section_id = section.id
            lesson.title, lesson.description = l_spec.title, l_spec.description
            lesson.order_index, lesson.retired = position, False
            lesson.duration_minutes = l_spec.duration_minutes
            session.flush()
            kept_lessons.add(lesson.id)
            existing = {
                e.slug: e
                for e in session.scalars(sa.select(Exercise).filter_by(lesson_id=lesson.id))
            }
            for e_index, e_spec in enumerate(l_spec.exercises, start=1):
                exercise = existing.pop(e_spec.slug, None)
                if exercise is None:
                    exercise = Exercise(lesson_id=lesson.id, slug=e_spec.slug)
                    session.add(exercise)
                exercise.title, exercise.type = e_spec.title, e_spec.type
                exercise.notebook = e_spec.notebook.name if e_spec.notebook else None
                exercise.xp, exercise.points = e_spec.xp, e_spec.points
                exercise.weight = e_spec.weight
                exercise.score_visibility = e_spec.scores
                exercise.due_at = datetime.fromisoformat(e_spec.due) if e_spec.due else None
                exercise.order_index, exercise.retired = e_index, False
                n_exercises += 1
            for gone in existing.values():
                if not gone.retired:
                    gone.retired = True
                    retired += 1
    for lesson in lessons.values():
        if lesson.id not in kept_lessons and not lesson.retired:
            lesson.retired = True
            lesson.order_index = 10_000 + lesson.id  # out of the meeting order
            retired += 1
    sync_badges(session, manifest.badges, course.id)
    session.flush()
    from .media import sync_media  # (media.py reads exercises through this module)

    sync_media(session, course.id, manifest)
    from .quiz import sync_quizzes  # (quiz.py reads courses through this module)

    sync_quizzes(session, course.id, manifest)
    return ImportSummary(course.id, course.slug, created, position, n_exercises, retired)


# --- reading ---------------------------------------------------------------------------
def course_by_slug(session: Session, slug: str, *, published_only: bool) -> Course:
    course = session.scalar(sa.select(Course).where(Course.slug == slug))
    if course is None or (published_only and course.status != "published"):
        raise APIError(404, f"no course {slug!r}")
    return course


def course_dict(course: Course) -> dict[str, Any]:
    return {
        "id": course.id,
        "slug": course.slug,
        "title": course.title,
        "description": course.description,
        "kernel": course.kernel,
        "status": course.status,
        "published_at": course.published_at.isoformat() if course.published_at else None,
    }


def exercise_dict(exercise: Exercise) -> dict[str, Any]:
    return {
        "id": exercise.id,
        "slug": exercise.slug,
        "title": exercise.title,
        "type": exercise.type,
        "notebook": exercise.notebook,
        "xp": exercise.xp,
        "points": exercise.points,
    }


def lesson_dict(lesson: Lesson, exercises: list[Exercise] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": lesson.id,
        "slug": lesson.slug,
        "title": lesson.title,
        "description": lesson.description,
        "position": lesson.order_index,
        "section_id": lesson.section_id,
    }
    if exercises is not None:
        data["exercises"] = [exercise_dict(e) for e in exercises]
    return data


def active_lessons(session: Session, course_id: int) -> list[Lesson]:
    return list(
        session.scalars(
            sa.select(Lesson)
            .where(Lesson.course_id == course_id, Lesson.retired.is_(False))
            .order_by(Lesson.order_index)
        )
    )


def course_outline(session: Session, course: Course) -> dict[str, Any]:
    """The course with its sections, lessons and exercises, in order."""
    lessons = active_lessons(session, course.id)
    exercises: dict[int, list[Exercise]] = {lesson.id: [] for lesson in lessons}
    if lessons:
        for ex in session.scalars(
            sa.select(Exercise)
            .where(Exercise.lesson_id.in_(list(exercises)), Exercise.retired.is_(False))
            .order_by(Exercise.order_index)
        ):
            exercises[ex.lesson_id].append(ex)
    sections = []
    for section in session.scalars(
        sa.select(Section).filter_by(course_id=course.id).order_by(Section.order_index)
    ):
        in_section = [lesson for lesson in lessons if lesson.section_id == section.id]
        if not in_section:
            continue
        sections.append(
            {
                "id": section.id,
                "slug": section.slug,
                "title": section.title,
                "description": section.description,
                "lessons": [lesson_dict(x, exercises[x.id]) for x in in_section],
            }
        )
    return {**course_dict(course), "sections": sections}


def lesson_by_id(session: Session, lesson_id: int) -> tuple[Lesson, Course]:
    row = session.execute(
        sa.select(Lesson, Course)
        .join(Course, Course.id == Lesson.course_id)
        .where(Lesson.id == lesson_id, Lesson.retired.is_(False))
    ).first()
    if row is None:
        raise APIError(404, f"no lesson {lesson_id}")
    return row[0], row[1]


def exercise_by_id(session: Session, exercise_id: int) -> tuple[Exercise, Lesson, Course]:
    row = session.execute(
        sa.select(Exercise, Lesson, Course)
        .join(Lesson, Lesson.id == Exercise.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .where(Exercise.id == exercise_id, Exercise.retired.is_(False))
    ).first()
    if row is None:
        raise APIError(404, f"no exercise {exercise_id}")
    return row[0], row[1], row[2]
