"""Score visibility per assessment (hub/campus/visibility.py): read it, release scores."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import teaching, visibility
from nbcampus.hub.campus.courses import course_by_slug
from nbcampus.hub.campus.orm import Course, Exercise, Lesson
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.web import APIError, body_schema

from .base import CampusHandler

# Exercises that can have a score (material and video have none).
GRADED = ("coding", "assignment", "quiz")


def _course_view(s: Session, row: Course) -> dict[str, Any]:
    exercises = s.execute(
        sa.select(Lesson.slug, Exercise)
        .join(Exercise, Exercise.lesson_id == Lesson.id)
        .where(Lesson.course_id == row.id, ~Lesson.retired, ~Exercise.retired)
        .where(Exercise.type.in_(GRADED))
        .order_by(Lesson.order_index, Exercise.order_index)
    ).all()
    return {
        "course": row.slug,
        "exercises": [
            {"lesson": lesson, "title": ex.title, "type": ex.type}
            | visibility.visibility_dict(s, ex)
            for lesson, ex in exercises
        ],
    }


class ScoreVisibilityHandler(CampusHandler):
    @needs_permission("courses:read")
    async def get(self, course: str) -> None:
        """When the students of a course see each graded exercise's score: `scores` (visible,
        after_due or hidden), `visible` now, its due date and release. The grader asks it
        before it shows a student a score or feedback."""
        if len(course) > 100:
            raise APIError(404, "no such course")
        actor = self.actor

        def work(s: Session) -> dict[str, Any]:
            row = course_by_slug(s, course, published_only=False)
            self.object_checked = True
            if row.status != "published" and not (
                self.is_overseer() or teaching.teaches_course(s, row.id, actor.name)
            ):
                raise APIError(404, f"no course {course!r}")
            return _course_view(s, row)

        self.write_json(await self.read(work))

    @needs_permission("scores:release")
    @body_schema(
        S.obj(
            ["lesson", "exercise", "released"],
            closed=True,
            lesson=S.text(100),
            exercise=S.text(100),
            released=S.BOOL,
            on_behalf_of=S.text(64),
        )
    )
    async def put(self, course: str) -> None:
        """Release an exercise's scores to its students ({"released": true}) or hide them again
        (false). The course's instructors and the office; the grader relays an instructor's
        release from the grading view (`on_behalf_of`, taken from services only)."""
        body = self.json_body()
        by = self.actor.name
        if "on_behalf_of" in body:
            if self.actor.role != "service":
                raise APIError(403, "only a service acts for someone", field="on_behalf_of")
            by = body["on_behalf_of"]

        def work(s: Session) -> dict[str, Any]:
            row = course_by_slug(s, course[:100], published_only=False)
            self.check_course(s, row.id)
            ex = s.scalar(
                sa.select(Exercise)
                .join(Lesson, Lesson.id == Exercise.lesson_id)
                .where(Lesson.course_id == row.id, Lesson.slug == body["lesson"])
                .where(Exercise.slug == body["exercise"], Exercise.type.in_(GRADED))
            )
            if ex is None:
                raise APIError(
                    404, f"no graded exercise {body['lesson']}/{body['exercise']}", field="exercise"
                )
            completed = visibility.release_scores(s, ex, by, released=body["released"])
            return {**_course_view(s, row), "completed": completed}

        self.write_json(await self.tx(work))


default_handlers = [
    (r"api/v1/courses/([^/]+)/score-visibility", ScoreVisibilityHandler),
]
