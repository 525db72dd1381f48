"""Classes, their enrollments and lesson unlocks."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import classes as cl
from nbcampus.hub.campus import office_audit as audit
from nbcampus.hub.campus import teaching, validate
from nbcampus.hub.campus.courses import lesson_dict
from nbcampus.hub.campus.hubsync import sync_class
from nbcampus.hub.campus.orm import CampusClass, Course, Enrollment, Lesson, LessonUnlock
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.web import APIError, body_schema

from .base import CampusHandler

NAME_MAX = 255
# When a class meets each week; classes.check_schedule holds the rules.
SCHEDULE = S.nullable(
    S.obj(
        ["days", "time"],
        days={"type": "array", "minItems": 1, "maxItems": 7, "items": S.one_of(cl.WEEKDAYS)},
        time=S.text(11),
    )
)


def _course_slug(s: Session, klass: CampusClass) -> str | None:
    return s.scalar(sa.select(Course.slug).where(Course.id == klass.course_id))


class ClassHandlerBase(CampusHandler):
    def sync_later(self, class_id: int) -> None:
        """Mirror the class's membership into its Hub group once the response is out."""
        self.settings["app"].spawn(sync_class(self.db, class_id))


class ClassesHandler(ClassHandlerBase):
    @needs_permission("classes:read")
    async def get(self) -> None:
        """Classes: staff see all, everyone else the classes they teach or study in
        (`?teaching=1`: only those they teach, or all for staff); filters ?course=, ?status=,
        ?type= (group or private) and ?instructor=."""
        course = self.query_arg("course")
        status = self.query_arg("status")
        kind = self.query_arg("type", 20)
        instructor = self.query_arg("instructor", 64)
        only_taught = self.query_arg("teaching") in ("1", "true")

        def work(s: Session) -> list[dict[str, Any]]:
            query = sa.select(CampusClass, Course.slug).join(
                Course, Course.id == CampusClass.course_id
            )
            actor = self.actor
            if not self.is_overseer():
                mine = teaching.taught_class_ids(actor.name)
                if not only_taught:
                    studied = sa.select(Enrollment.class_id).where(
                        Enrollment.student == actor.name, Enrollment.status != "withdrawn"
                    )
                    mine = mine.union(studied)
                query = query.where(CampusClass.id.in_(mine))
            if course:
                query = query.where(Course.slug == course)
            if status:
                query = query.where(CampusClass.status == status)
            if kind:
                query = query.where(CampusClass.type == kind)
            if instructor:  # a class's instructors (not its TAs)
                query = query.where(
                    CampusClass.id.in_(
                        teaching.taught_class_ids(instructor, frozenset({"instructor"}))
                    )
                )
            found = s.execute(query.order_by(CampusClass.id))
            rows = [(k, cl.class_dict(k, slug)) for k, slug in found]
            if only_taught:  # the teaching tools name the lesson their Unlock button opens
                for klass, row in rows:
                    row["next_lesson"] = cl.next_lesson(s, klass)
            return [row for _klass, row in rows]

        self.write_json({"classes": await self.read(work)})

    @needs_permission("classes:create")
    @body_schema(
        S.obj(
            ["name", "course", "total_meetings"],
            name=S.text(NAME_MAX),
            course=S.text(100),
            type=S.one_of(cl.CLASS_TYPES),
            total_meetings=S.integer(1, 1000),
            max_capacity=S.nullable(S.integer(1, 10_000)),
            instructor=S.nullable(S.text(64)),
            status=S.one_of(("draft", "enrollment_open", "active")),
            enrollment_deadline=S.nullable(S.DATE),
            start_date=S.nullable(S.DATE),
            end_date=S.nullable(S.DATE),
            continued_from_class_id=S.nullable(S.ID),
            schedule=SCHEDULE,
        )
    )
    async def post(self) -> None:
        """Create a class of a course (group or private)."""
        body = self.json_body()
        kind = validate.choice(body, "type", cl.CLASS_TYPES, "group")
        fields = {
            "name": validate.string(body, "name", max_length=NAME_MAX),
            "course_slug": validate.string(body, "course", max_length=100),
            "type": kind,
            "total_meetings": validate.integer(body, "total_meetings", low=1, high=1000),
            "max_capacity": validate.integer(body, "max_capacity", None, low=1, high=10_000),
            "instructor": validate.string(body, "instructor", None, max_length=64),
            "status": validate.choice(
                body, "status", ("draft", "enrollment_open", "active"), "draft"
            ),
            "enrollment_deadline": validate.day(body, "enrollment_deadline", None),
            "start_date": validate.day(body, "start_date", None),
            "end_date": validate.day(body, "end_date", None),
            "continued_from": validate.integer(
                body, "continued_from_class_id", None, low=1, high=S.MAX_ID
            ),
            "schedule": body.get("schedule"),
        }
        # The domain's rule: a group class closes its enrollment on a known day (a private
        # class has one student and needs none). Classes made by an LMS follow its roster.
        if kind == "group" and fields["enrollment_deadline"] is None:
            raise APIError(
                400, "a group class needs an enrollment deadline", field="enrollment_deadline"
            )

        def work(s: Session) -> dict[str, Any]:
            klass = cl.create_class(s, created_by=self.actor.name, **fields)
            out = cl.class_dict(klass, fields["course_slug"])
            audit.record(s, "class.create", self.actor.name, class_id=klass.id, after=out)
            return out

        result = await self.tx(work)
        self.sync_later(result["id"])
        self.write_json(result, status=201)


class ClassHandler(ClassHandlerBase):
    @needs_permission("classes:read")
    async def get(self, class_id: str) -> None:
        """One class."""
        cid = validate.path_id(class_id, "class")

        def work(s: Session) -> dict[str, Any]:
            klass = cl.get_class(s, cid)
            self.check_class(s, klass)
            return cl.class_dict(klass, _course_slug(s, klass))

        self.write_json(await self.read(work))

    @needs_permission("classes:update")
    @body_schema(
        S.obj(
            min_properties=1,
            name=S.text(NAME_MAX),
            instructor=S.nullable(S.text(64)),
            status=S.one_of(cl.CLASS_STATUSES),
            total_meetings=S.integer(1, 1000),
            max_capacity=S.integer(1, 10_000),
            schedule=SCHEDULE,
            enrollment_deadline=S.nullable(S.DATE),
            start_date=S.nullable(S.DATE),
            end_date=S.nullable(S.DATE),
        )
    )
    async def patch(self, class_id: str) -> None:
        """Change a class: name, instructor, status, total_meetings, max_capacity, schedule,
        enrollment_deadline, start_date, end_date (a date may be null; a group class keeps
        its deadline)."""
        cid = validate.path_id(class_id, "class")
        body = self.json_body()
        changes: dict[str, Any] = {}
        if "name" in body:
            changes["name"] = validate.string(body, "name", max_length=NAME_MAX)
        if "instructor" in body:
            changes["instructor"] = validate.string(body, "instructor", None, max_length=64)
        if "status" in body:
            changes["status"] = validate.choice(body, "status", cl.CLASS_STATUSES)
        if "total_meetings" in body:
            changes["total_meetings"] = validate.integer(body, "total_meetings", low=1, high=1000)
        if "max_capacity" in body:
            changes["max_capacity"] = validate.integer(body, "max_capacity", low=1, high=10_000)
        if "schedule" in body:
            changes["schedule"] = body["schedule"]
        for key in cl.DATE_FIELDS:
            if key in body:
                changes[key] = validate.day(body, key, None)
        if not changes:
            raise APIError(400, "nothing to change")

        def work(s: Session) -> dict[str, Any]:
            klass = cl.lock_class(s, cid)
            before = {k: cl.class_dict(klass)[k] for k in changes}
            klass = cl.update_class(s, cid, changes, by=self.actor.name)
            out = cl.class_dict(klass, _course_slug(s, klass))
            after = {k: out[k] for k in changes}
            audit.record(
                s, "class.update", self.actor.name, class_id=cid, before=before, after=after
            )
            return out

        result = await self.tx(work)
        if "instructor" in changes:
            self.sync_later(cid)
        self.write_json(result)

    put = patch


class EnrollmentsHandler(ClassHandlerBase):
    @needs_permission("enrollments:read")
    async def get(self, class_id: str) -> None:
        """The class's enrollments with credits and attendance rates."""
        cid = validate.path_id(class_id, "class")

        def work(s: Session) -> list[dict[str, Any]]:
            self.check_class(s, cl.get_class(s, cid), teach=True)
            rows = s.scalars(
                sa.select(Enrollment).filter_by(class_id=cid).order_by(Enrollment.student)
            )
            return [cl.enrollment_dict(e) for e in rows]

        self.write_json({"enrollments": await self.read(work)})

    @needs_permission("enrollments:write")
    @body_schema(S.obj(["student"], student=S.text(64)))
    async def post(self, class_id: str) -> None:
        """Enroll a student: {"student": name}."""
        cid = validate.path_id(class_id, "class")
        student = validate.string(self.json_body(), "student", max_length=64)

        def work(s: Session) -> dict[str, Any]:
            out = cl.enrollment_dict(cl.enroll(s, cid, student, self.actor.name))
            audit.record(
                s,
                "enrollment.enroll",
                self.actor.name,
                class_id=cid,
                enrollment_id=out["id"],
                after={"student": student, "status": "active", "credits": out["credits_remaining"]},
            )
            return out

        result = await self.tx(work)
        self.sync_later(cid)
        self.write_json(result, status=201)


class EnrollmentHandler(ClassHandlerBase):
    @needs_permission("enrollments:write")
    async def delete(self, class_id: str, student: str) -> None:
        """Withdraw a student (their records stay)."""
        cid = validate.path_id(class_id, "class")

        def work(s: Session) -> dict[str, Any]:
            out = cl.enrollment_dict(cl.withdraw(s, cid, student))
            audit.record(
                s,
                "enrollment.withdraw",
                self.actor.name,
                class_id=cid,
                enrollment_id=out["id"],
                before={"student": student, "status": "active"},
                after={"student": student, "status": out["status"]},
            )
            return out

        result = await self.tx(work)
        self.sync_later(cid)
        self.write_json(result)


class UnlockHandler(ClassHandlerBase):
    @needs_permission("lessons:unlock")
    @body_schema(S.obj(lesson=S.nullable(S.text(100))))
    async def post(self, class_id: str) -> None:
        """Unlock the next lesson, or {"lesson": slug}; at most one per completed meeting."""
        cid = validate.path_id(class_id, "class")
        lesson = validate.string(self.json_body(), "lesson", None, max_length=100)

        def work(s: Session) -> dict[str, Any]:
            self.check_class(s, cl.get_class(s, cid), teach=True)
            klass, unlocked = cl.unlock_lesson(s, cid, lesson, self.actor.name)
            return {"class": cl.class_dict(klass), "lesson": lesson_dict(unlocked)}

        self.write_json(await self.tx(work), status=201)


class StaffHandler(ClassHandlerBase):
    @needs_permission("classes:read")
    async def get(self, class_id: str) -> None:
        """The class's teaching staff: instructors and teaching assistants."""
        cid = validate.path_id(class_id, "class")

        def work(s: Session) -> list[dict[str, Any]]:
            klass = cl.get_class(s, cid)
            self.check_class(s, klass)
            return teaching.staff_dicts(klass)

        self.write_json({"staff": await self.read(work)})

    @needs_permission("classes:staff")
    @body_schema(S.obj(["user"], user=S.text(64), role=S.one_of(teaching.CLASS_ROLES)))
    async def post(self, class_id: str) -> None:
        """Name a teacher of the class: {"user": name, "role": "instructor" | "ta"}."""
        cid = validate.path_id(class_id, "class")
        body = self.json_body()
        user = validate.string(body, "user", max_length=64)
        role = validate.choice(body, "role", teaching.CLASS_ROLES, "instructor")

        def work(s: Session) -> list[dict[str, Any]]:
            klass = cl.lock_class(s, cid)
            teaching.add_staff(s, klass, user, role, self.actor.name)
            return teaching.staff_dicts(klass)

        result = await self.tx(work)
        self.sync_later(cid)
        self.write_json({"staff": result}, status=201)


class StaffMemberHandler(ClassHandlerBase):
    @needs_permission("classes:staff")
    async def delete(self, class_id: str, user: str) -> None:
        """Remove a teacher from the class (what they did in it stays)."""
        cid = validate.path_id(class_id, "class")

        def work(s: Session) -> list[dict[str, Any]]:
            klass = cl.lock_class(s, cid)
            teaching.remove_staff(s, klass, user)
            return teaching.staff_dicts(klass)

        result = await self.tx(work)
        self.sync_later(cid)
        self.write_json({"staff": result})


class UnlocksHandler(ClassHandlerBase):
    @needs_permission("classes:read")
    async def get(self, class_id: str) -> None:
        """The lessons unlocked for a class, in order."""
        cid = validate.path_id(class_id, "class")

        def work(s: Session) -> list[dict[str, Any]]:
            self.check_class(s, cl.get_class(s, cid))
            rows = s.execute(
                sa.select(Lesson, LessonUnlock)
                .join(LessonUnlock, LessonUnlock.lesson_id == Lesson.id)
                .where(LessonUnlock.class_id == cid)
                .order_by(LessonUnlock.id)
            )
            return [
                {
                    **lesson_dict(lesson),
                    "unlocked_by": u.unlocked_by,
                    "unlocked_at": u.unlocked_at.isoformat(),
                }
                for lesson, u in rows
            ]

        self.write_json({"unlocks": await self.read(work)})


default_handlers = [
    (r"api/v1/classes", ClassesHandler),
    (r"api/v1/classes/([^/]+)", ClassHandler),
    (r"api/v1/classes/([^/]+)/enrollments", EnrollmentsHandler),
    (r"api/v1/classes/([^/]+)/enrollments/([^/]+)", EnrollmentHandler),
    (r"api/v1/classes/([^/]+)/unlock-lesson", UnlockHandler),
    (r"api/v1/classes/([^/]+)/unlocks", UnlocksHandler),
    (r"api/v1/classes/([^/]+)/staff", StaffHandler),
    (r"api/v1/classes/([^/]+)/staff/([^/]+)", StaffMemberHandler),
]
