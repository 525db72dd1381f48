"""Quizzes and timed exams: a student's quiz, attempts, saved answers and submission; the
course's teachers' results, settings (exam window, time limit, score visibility) and exam
time accommodations. The rules live in quiz.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import courses as c
from nbcampus.hub.campus import office_audit, teaching, validate
from nbcampus.hub.campus import quiz as qz
from nbcampus.hub.campus.orm import Account, CampusClass, Enrollment, utcnow
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.web import APIError, body_schema, parse_datetime, parse_id

from .base import CampusHandler

# A saved answer: an option key, a list of them, a number, or short text (quizspec checks
# each against its question); null clears it.
ANSWER: dict[str, Any] = {
    "type": ["integer", "number", "string", "array", "null"],
    "maxLength": 500,
    "maxItems": 20,
    "items": {"type": "integer", "minimum": 0, "maximum": 100},
}
ANSWERS: dict[str, Any] = {
    "type": "object",
    "maxProperties": 200,
    "propertyNames": {"maxLength": 40},
    "additionalProperties": ANSWER,
    "description": "question id -> answer",
}


def _loaded(s: Session, exercise_id: str) -> qz.Loaded:
    quiz = qz.Loaded(s, validate.path_id(exercise_id, "exercise"))
    if quiz.course.status != "published" and quiz.course.status != "archived":
        raise APIError(404, f"no quiz {exercise_id}")
    return quiz


class MyQuizzesHandler(CampusHandler):
    @needs_permission("quizzes:take")
    async def get(self) -> None:
        """The quizzes of my courses (each with whether it is a timed exam)."""
        name = self.actor.name
        self.write_json({"quizzes": await self.tx(lambda s: qz.my_quizzes(s, name))})


class QuizHandler(CampusHandler):
    @needs_permission("quizzes:take")
    async def get(self, exercise_id: str) -> None:
        """A quiz as its student sees it: settings, my attempts, and the questions (without
        answers) while I may answer; a timed exam's questions only inside an attempt."""
        user = self.actor.name

        def work(s: Session) -> dict[str, Any]:
            quiz = _loaded(s, exercise_id)
            qz.p.require_unlocked(s, user, quiz.lesson, quiz.course)
            return qz.student_view(s, quiz, user, utcnow())

        self.write_json(await self.tx(work))


class AttemptsHandler(CampusHandler):
    @needs_permission("quizzes:take")
    @body_schema(None)
    async def post(self, exercise_id: str) -> None:
        """Start an attempt (or get my open one): refused when the lesson is locked, the
        quiz not open or closed, or my attempts are used."""
        user = self.actor.name

        def work(s: Session) -> tuple[dict[str, Any], bool]:
            quiz = _loaded(s, exercise_id)
            now = utcnow()
            _, created = qz.start(s, quiz, user, now)
            return qz.student_view(s, quiz, user, now), created

        view, created = await self.tx(work)
        self.write_json(view, 201 if created else 200)


class _AttemptHandler(CampusHandler):
    async def tx_then_refuse(self, work: Any) -> Any:
        """Run `work`; when it refused because time was up, the automatic submission it made
        first is kept (committed) and the refusal follows."""
        closed: list[APIError] = []

        def guarded(s: Session) -> Any:
            try:
                return work(s)
            except APIError as err:
                if err.code != "TIME_UP":
                    raise
                closed.append(err)
                return None

        result = await self.tx(guarded)
        if closed:
            raise closed[0]
        return result


class AnswersHandler(_AttemptHandler):
    @needs_permission("quizzes:take")
    @body_schema(S.obj(["answers"], closed=True, answers=ANSWERS))
    async def put(self, exercise_id: str, number: str) -> None:
        """Save answers to my open attempt (merged with those saved before)."""
        user = self.actor.name
        n = parse_id(number, "attempt", high=1000)
        body = self.json_body()

        def work(s: Session) -> dict[str, Any]:
            quiz = _loaded(s, exercise_id)
            now = utcnow()
            qz.save(s, quiz, qz.own_attempt(s, quiz, user, n), body["answers"], now)
            return qz.student_view(s, quiz, user, now)

        self.write_json(await self.tx_then_refuse(work))


class SubmitHandler(_AttemptHandler):
    @needs_permission("quizzes:take")
    @body_schema(S.obj(closed=True, answers=ANSWERS))
    async def post(self, exercise_id: str, number: str) -> None:
        """Submit my attempt (with last answers, optional); the same submission again counts
        once and answers with the same receipt."""
        user = self.actor.name
        n = parse_id(number, "attempt", high=1000)
        body = self.json_body()

        def work(s: Session) -> dict[str, Any]:
            quiz = _loaded(s, exercise_id)
            now = utcnow()
            new = qz.submit(s, quiz, qz.own_attempt(s, quiz, user, n), body.get("answers"), now)
            view = qz.student_view(s, quiz, user, now)
            view["already_submitted"] = not new
            return view

        self.write_json(await self.tx_then_refuse(work))


class QuizResultsHandler(CampusHandler):
    @needs_permission("quizzes:results")
    async def get(self, exercise_id: str) -> None:
        """Every student's attempts (answers, scores, receipts): the course's teachers see
        their classes' students, staff and admins all."""
        actor = self.actor

        def work(s: Session) -> dict[str, Any]:
            quiz = _loaded(s, exercise_id)
            self.check_course(s, quiz.course.id)
            users = None
            if not self.is_overseer():
                users = list(
                    s.scalars(
                        sa.select(Enrollment.student)
                        .join(CampusClass, CampusClass.id == Enrollment.class_id)
                        .where(
                            CampusClass.course_id == quiz.course.id,
                            CampusClass.id.in_(teaching.taught_class_ids(actor.name)),
                        )
                    )
                )
            return {
                "exercise_id": quiz.exercise.id,
                "title": quiz.exercise.title,
                "settings": quiz.settings_dict(),
                "attempts": qz.results(s, quiz, users, utcnow()),
                "accommodations": qz.accommodations(s, quiz.course.id),
            }

        self.write_json(await self.tx(work))


SETTINGS = S.obj(
    closed=True,
    min_properties=1,
    opens_at=S.nullable(S.DATETIME),
    closes_at=S.nullable(S.DATETIME),
    time_limit_seconds=S.nullable(S.integer(10, 7 * 24 * 3600)),
    scores_visible=S.nullable(S.BOOL),
)


class QuizSettingsHandler(CampusHandler):
    @needs_permission("quizzes:manage")
    @body_schema(SETTINGS)
    async def patch(self, exercise_id: str) -> None:
        """Change a quiz's exam window, time limit (a limit makes it a timed exam) or score
        visibility (null: back to the manifest's); showing an exam's scores releases them."""
        body = self.json_body()
        changes: dict[str, Any] = dict(body)
        for key in ("opens_at", "closes_at"):
            if body.get(key) is not None:
                changes[key] = parse_datetime(body[key], key)
        if (
            changes.get("opens_at") is not None
            and changes.get("closes_at") is not None
            and changes["closes_at"] <= changes["opens_at"]
        ):
            raise APIError(400, "closes_at must be after opens_at", field="closes_at")
        by = self.actor.name

        def work(s: Session) -> dict[str, Any]:
            quiz = _loaded(s, exercise_id)
            self.check_course(s, quiz.course.id)
            qz.update_settings(s, quiz, changes, by, utcnow())
            return qz.Loaded(s, quiz.exercise.id).settings_dict()

        self.write_json(await self.tx(work))


class CourseQuizzesHandler(CampusHandler):
    @needs_permission("quizzes:results")
    async def get(self, course: str) -> None:
        """The course's quizzes with their settings, for its teachers' exam screen."""

        def work(s: Session) -> dict[str, Any]:
            row = c.course_by_slug(s, course[:100], published_only=False)
            self.check_course(s, row.id)
            return {"course": row.slug, "quizzes": qz.course_quizzes(s, row.id)}

        self.write_json(await self.read(work))


class AccommodationsHandler(CampusHandler):
    @needs_permission("exams:accommodate")
    async def get(self, course: str) -> None:
        """The course's exam time multipliers per student."""

        def work(s: Session) -> dict[str, Any]:
            row = c.course_by_slug(s, course[:100], published_only=False)
            self.check_course(s, row.id)
            return {"course": row.slug, "accommodations": qz.accommodations(s, row.id)}

        self.write_json(await self.read(work))


class AccommodationHandler(CampusHandler):
    @needs_permission("exams:accommodate")
    @body_schema(S.obj(["multiplier"], closed=True, multiplier=S.number(1, qz.MAX_MULTIPLIER)))
    async def put(self, course: str, user: str) -> None:
        """Set a student's time multiplier for the course's timed exams (1 to 5; 1.5 gives
        half as long again). It applies to attempts started afterwards; each of the student's
        classes of the course records the change in its audit."""
        factor = float(self.json_body()["multiplier"])
        by = self.actor.name

        def work(s: Session) -> dict[str, Any]:
            row = c.course_by_slug(s, course[:100], published_only=False)
            self.check_course(s, row.id)
            enrolled = s.execute(
                sa.select(Enrollment.id, Enrollment.class_id)
                .join(CampusClass, CampusClass.id == Enrollment.class_id)
                .where(CampusClass.course_id == row.id, Enrollment.student == user[:64])
            ).all()
            if not enrolled or s.scalar(sa.select(Account.id).filter_by(name=user)) is None:
                raise APIError(404, f"{user!r} is not a student of {row.slug}", field="user")
            before = qz.multiplier(s, row.id, user)
            qz.set_multiplier(s, row.id, user, factor, by)
            # Audited in each class of the course the student is in: the office's class audit
            # (and its CSV) shows who changed a student's exam time, from what to what.
            for enrollment_id, class_id in enrolled:
                office_audit.record(
                    s,
                    "accommodation.set",
                    by,
                    class_id=class_id,
                    enrollment_id=enrollment_id,
                    before={"course": row.slug, "multiplier": before},
                    after={"course": row.slug, "multiplier": factor},
                )
            return {"course": row.slug, "accommodations": qz.accommodations(s, row.id)}

        self.write_json(await self.tx(work))


default_handlers = [
    (r"api/v1/me/quizzes", MyQuizzesHandler),
    (r"api/v1/quizzes/([^/]+)", QuizHandler),
    (r"api/v1/quizzes/([^/]+)/attempts", AttemptsHandler),
    (r"api/v1/quizzes/([^/]+)/attempts/([^/]+)/answers", AnswersHandler),
    (r"api/v1/quizzes/([^/]+)/attempts/([^/]+)/submit", SubmitHandler),
    (r"api/v1/quizzes/([^/]+)/results", QuizResultsHandler),
    (r"api/v1/quizzes/([^/]+)/settings", QuizSettingsHandler),
    (r"api/v1/courses/([^/]+)/quizzes", CourseQuizzesHandler),
    (r"api/v1/courses/([^/]+)/accommodations", AccommodationsHandler),
    (r"api/v1/courses/([^/]+)/accommodations/([^/]+)", AccommodationHandler),
]
