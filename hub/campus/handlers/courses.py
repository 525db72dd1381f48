"""Courses, lessons and exercises (read), and publishing a course."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import course_review as review
from nbcampus.hub.campus import courses as c
from nbcampus.hub.campus import teaching, validate
from nbcampus.hub.campus.orm import CampusClass, Course, Exercise
from nbcampus.hub.campus.permissions import OPERATORS, needs_permission
from nbcampus.web import APIError, body_schema

from .admin import CourseReviewHandler
from .base import CampusHandler


class CourseHandlerBase(CampusHandler):
    def may_see(self, s: Session, course: Course) -> bool:
        """Published courses are for everyone; drafts and archived ones for staff, admins,
        services and those who teach a class of the course (for anyone else they simply do not
        exist)."""
        if course.status == "published" or self.actor.role in OPERATORS:
            return True
        return teaching.teaches_course(s, course.id, self.actor.name)

    def check_visible(self, s: Session, course: Course) -> None:
        if not self.may_see(s, course):
            raise APIError(404, f"no course {course.slug!r}")


class CoursesHandler(CourseHandlerBase):
    @needs_permission("courses:read")
    async def get(self) -> None:
        """List the courses: published ones, and the drafts of the courses one teaches (all
        for staff and admins)."""

        def work(s: Session) -> list[dict[str, Any]]:
            query = sa.select(Course).order_by(Course.title)
            if self.actor.role not in OPERATORS:
                taught = (
                    sa.select(CampusClass.course_id)
                    .where(CampusClass.id.in_(teaching.taught_class_ids(self.actor.name)))
                    .scalar_subquery()
                )
                query = query.where(sa.or_(Course.status == "published", Course.id.in_(taught)))
            return [c.course_dict(x) for x in s.scalars(query)]

        self.write_json({"courses": await self.read(work)})


class CourseHandler(CourseHandlerBase):
    @needs_permission("courses:read")
    async def get(self, slug: str) -> None:
        """A course with its sections, lessons and exercises."""

        def work(s: Session) -> dict[str, Any]:
            course = c.course_by_slug(s, slug, published_only=False)
            self.check_visible(s, course)
            return c.course_outline(s, course)

        self.write_json(await self.read(work))

    @needs_permission("courses:publish")
    @body_schema(S.obj(["status"], status=S.one_of(review.STATUSES)))
    async def patch(self, slug: str) -> None:
        """Move a course to a status by its review rules (course_review.py): its instructors
        send it for review ("in_review") or withdraw it ("draft"); admins publish, return,
        unpublish, archive and restore. The current status answers 200, changing nothing."""
        body = self.json_body()
        status = validate.choice(body, "status", review.STATUSES)
        mover = CourseReviewHandler.move
        self.write_json(await self.tx(lambda s: mover(self, s, slug, None, status, "")))


class LessonHandler(CourseHandlerBase):
    @needs_permission("courses:read")
    async def get(self, lesson_id: str) -> None:
        """A lesson with its exercises."""
        lid = validate.path_id(lesson_id, "lesson")

        def work(s: Session) -> dict[str, Any]:
            lesson, course = c.lesson_by_id(s, lid)
            self.check_visible(s, course)
            exercises = s.scalars(
                sa.select(Exercise)
                .where(Exercise.lesson_id == lesson.id, Exercise.retired.is_(False))
                .order_by(Exercise.order_index)
            ).all()
            return {**c.lesson_dict(lesson, list(exercises)), "course": course.slug}

        self.write_json(await self.read(work))


class LessonExercisesHandler(LessonHandler):
    @needs_permission("courses:read")
    async def get(self, lesson_id: str) -> None:
        """The exercises of a lesson."""
        lid = validate.path_id(lesson_id, "lesson")

        def work(s: Session) -> list[dict[str, Any]]:
            lesson, course = c.lesson_by_id(s, lid)
            self.check_visible(s, course)
            return [
                c.exercise_dict(e)
                for e in s.scalars(
                    sa.select(Exercise)
                    .where(Exercise.lesson_id == lesson.id, Exercise.retired.is_(False))
                    .order_by(Exercise.order_index)
                )
            ]

        self.write_json({"exercises": await self.read(work)})


class ExerciseHandler(CourseHandlerBase):
    @needs_permission("courses:read")
    async def get(self, exercise_id: str) -> None:
        """One exercise."""
        eid = validate.path_id(exercise_id, "exercise")

        def work(s: Session) -> dict[str, Any]:
            exercise, lesson, course = c.exercise_by_id(s, eid)
            self.check_visible(s, course)
            return {**c.exercise_dict(exercise), "lesson_id": lesson.id, "course": course.slug}

        self.write_json(await self.read(work))


default_handlers = [
    (r"api/v1/courses", CoursesHandler),
    (r"api/v1/courses/([^/]+)", CourseHandler),
    (r"api/v1/lessons/([^/]+)", LessonHandler),
    (r"api/v1/lessons/([^/]+)/exercises", LessonExercisesHandler),
    (r"api/v1/exercises/([^/]+)", ExerciseHandler),
]
