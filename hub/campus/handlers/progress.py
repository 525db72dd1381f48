"""Progress (complete an exercise or lesson, read progress), access for the grader, grading
results from the grader, and a student's own courses with lock state."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import courses as c
from nbcampus.hub.campus import engagement as en
from nbcampus.hub.campus import progress as p
from nbcampus.hub.campus import teaching, validate, visibility
from nbcampus.hub.campus.orm import (
    CampusClass,
    Enrollment,
    Exercise,
    ExerciseProgress,
    LessonProgress,
    Quiz,
)
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.hub.campus.results import ResultPayload, record_result
from nbcampus.web import APIError, body_schema

from .base import CampusHandler


def _events_dict(events: p.ProgressEvents) -> dict[str, Any]:
    return {
        "exercise_completed": events.exercise_completed,
        "lesson_completed": events.lesson_completed,
        "exercise_progress": events.exercise_progress,
        "lesson_progress": events.lesson_progress,
    }


class CompleteExerciseHandler(CampusHandler):
    @needs_permission("progress:write")
    @body_schema(None)
    async def post(self, exercise_id: str) -> None:
        """Mark a video, quiz or material exercise done (coding ones complete by autograde)."""
        eid = validate.path_id(exercise_id, "exercise")
        user = self.actor.name

        def work(s: Session) -> dict[str, Any]:
            exercise, lesson, course = c.exercise_by_id(s, eid)
            if course.status != "published":
                raise APIError(404, f"no exercise {eid}")
            p.require_unlocked(s, user, lesson, course)
            if exercise.type == "video":  # counted from the player's heartbeats (POST watch)
                raise APIError(409, "a video is complete once watched", code="WATCH")
            if exercise.type == "quiz" and s.get(Quiz, eid) is not None:
                raise APIError(409, "a quiz is complete once an attempt is submitted", code="QUIZ")
            if p.written(exercise):
                raise APIError(
                    409, "a written assignment is complete once a teacher graded it", code="GRADED"
                )
            if exercise.type in ("coding", "assignment"):
                raise APIError(
                    409, "coding exercises are completed by passing the autograder", code="GRADED"
                )
            return _events_dict(p.complete_exercise(s, user, exercise))

        self.write_json(await self.tx(work))


class CompleteLessonHandler(CampusHandler):
    @needs_permission("progress:write")
    @body_schema(None)
    async def post(self, lesson_id: str) -> None:
        """Confirm a lesson complete; every exercise of it must be done."""
        lid = validate.path_id(lesson_id, "lesson")
        user = self.actor.name

        def work(s: Session) -> dict[str, Any]:
            lesson, course = c.lesson_by_id(s, lid)
            if course.status != "published":
                raise APIError(404, f"no lesson {lid}")
            p.require_unlocked(s, user, lesson, course)
            row = s.scalar(sa.select(LessonProgress).filter_by(user=user, lesson_id=lid))
            if row is None or not row.completed:
                done = row.exercises_completed if row else 0
                total = row.total_exercises if row else None
                raise APIError(
                    409,
                    f"the lesson's exercises are not all done ({done} of {total or 'all'})",
                    code="INCOMPLETE",
                )
            return p.lesson_progress_dict(row)

        self.write_json(await self.tx(work))


class UserProgressHandler(CampusHandler):
    @needs_permission("progress:read")
    async def get(self, user: str) -> None:
        """A user's lesson and exercise progress."""
        if len(user) > 64:
            raise APIError(404, "no such user")

        def work(s: Session) -> dict[str, Any]:
            self.check_self_or_teacher(s, user)
            lessons = [
                p.lesson_progress_dict(r)
                for r in s.scalars(
                    sa.select(LessonProgress).filter_by(user=user).order_by(LessonProgress.id)
                )
            ]
            exercises = [
                p.exercise_progress_dict(r, e)
                for r, e in s.execute(
                    sa.select(ExerciseProgress, Exercise)
                    .join(Exercise, Exercise.id == ExerciseProgress.exercise_id)
                    .where(ExerciseProgress.user == user)
                    .order_by(ExerciseProgress.id)
                )
            ]
            if user == self.actor.name:  # a student's own view: hidden scores stay hidden
                exercises = visibility.mask_hidden_scores(s, exercises)
            return {"user": user, "lessons": lessons, "exercises": exercises}

        self.write_json(await self.read(work))


class LessonProgressHandler(CampusHandler):
    @needs_permission("progress:read")
    async def get(self, lesson_id: str) -> None:
        """Progress in one lesson: a student's own; a teacher's view of their students."""
        lid = validate.path_id(lesson_id, "lesson")
        actor = self.actor

        def work(s: Session) -> list[dict[str, Any]]:
            lesson, course = c.lesson_by_id(s, lid)
            overseer = self.is_overseer()
            if not overseer and not teaching.teaches_course(s, course.id, actor.name):
                if course.status != "published":
                    raise APIError(404, f"no lesson {lid}")
                mine = p.lesson_progress_for(s, lesson, [actor.name])
                for row in mine:  # hidden scores stay hidden from their student
                    visibility.mask_hidden_scores(s, row["exercises"])
                return mine
            else:
                query = (
                    sa.select(Enrollment.student)
                    .join(CampusClass, CampusClass.id == Enrollment.class_id)
                    .where(CampusClass.course_id == course.id, Enrollment.status != "withdrawn")
                    .distinct()
                )
                if not overseer:  # a teacher sees the students of the classes they teach
                    query = query.where(CampusClass.id.in_(teaching.taught_class_ids(actor.name)))
                users = sorted(s.scalars(query))
            return p.lesson_progress_for(s, lesson, users)

        self.write_json({"progress": await self.read(work)})


class MyCoursesHandler(CampusHandler):
    @needs_permission("campus:read")
    async def get(self) -> None:
        """My courses with each lesson's lock state and my progress."""
        name = self.actor.name
        self.write_json({"courses": await self.read(lambda s: p.my_courses(s, name))})


class MySubmissionXpHandler(CampusHandler):
    @needs_permission("campus:read")
    async def get(self, submission_id: str) -> None:
        """The XP my submission's results earned for their exercises (0 when they earned
        none: not passed, or passed before); what a result card shows as "+N XP"."""
        body = {"submission_id": submission_id}
        submission_id = validate.string(body, "submission_id", max_length=100)
        name = self.actor.name
        xp = await self.read(lambda s: en.submission_xp(s, name, submission_id))
        self.write_json({"submission_id": submission_id, "xp": xp})


class AccessHandler(CampusHandler):
    @needs_permission("access:read")
    async def get(self, course: str, lesson: str) -> None:
        """May ?user=NAME open this lesson? Asked by the grader before a release."""
        user = self.query_arg("user", 64)
        if not user:
            raise APIError(400, "the 'user' query argument is required", field="user")
        result = await self.read(lambda s: p.access(s, course, lesson, user))
        self.write_json(result.as_dict())


class CourseRolesHandler(CampusHandler):
    @needs_permission("access:read")
    async def get(self, course: str) -> None:
        """What ?user=NAME is in this course, from the campus's records: their school-wide
        role, their teaching roles in its classes, and whether they study in one. The grader
        decides "teaches this course" from this alone."""
        user = self.query_arg("user", 64)
        if not user:
            raise APIError(400, "the 'user' query argument is required", field="user")
        self.write_json(await self.read(lambda s: teaching.course_roles(s, course, user)))


class GradingResultsHandler(CampusHandler):
    @needs_permission("results:write")
    @body_schema(
        S.obj(
            [
                "submission_id",
                "user",
                "course",
                "lesson",
                "exercise",
                "score",
                "max_score",
                "graded_at",
            ],
            submission_id=S.text(100),
            user=S.text(100),
            course=S.text(100),
            lesson=S.text(100),
            exercise=S.text(100),
            score=S.number(),
            max_score=S.number(),
            graded_at=S.DATETIME,
        )
    )
    async def post(self) -> None:
        """Record a grading result (idempotent on submission_id and exercise; a new score
        for a recorded submission, from a manual grade or a regrade, replaces it)."""
        payload = ResultPayload.parse(self.json_body())
        recorded = await self.tx(lambda s: record_result(s, payload))
        self.write_json(recorded.as_dict(), status=201 if recorded.created else 200)


default_handlers = [
    (r"api/v1/exercises/([^/]+)/complete", CompleteExerciseHandler),
    (r"api/v1/lessons/([^/]+)/complete", CompleteLessonHandler),
    (r"api/v1/lessons/([^/]+)/progress", LessonProgressHandler),
    (r"api/v1/users/([^/]+)/progress", UserProgressHandler),
    (r"api/v1/me/courses", MyCoursesHandler),
    (r"api/v1/me/submissions/([^/]+)/xp", MySubmissionXpHandler),
    (r"api/v1/access/([^/]+)/([^/]+)", AccessHandler),
    (r"api/v1/course-roles/([^/]+)", CourseRolesHandler),
    (r"api/v1/grading-results", GradingResultsHandler),
]
