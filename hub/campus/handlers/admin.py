"""The admin screens' API beside the accounts: course review, the audit, school settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import audit, school, teaching
from nbcampus.hub.campus import course_review as review
from nbcampus.hub.campus import courses as c
from nbcampus.hub.campus.permissions import OPERATORS, needs_permission
from nbcampus.web import APIError, body_schema, clean_text

from .base import CampusHandler


def review_error(err: review.ReviewError) -> APIError:
    return APIError(err.status, str(err), **({"field": err.field} if err.status == 400 else {}))


class CourseReviewHandler(CampusHandler):
    def move(self, s: Session, slug: str, action: str | None, status: str | None, note: str):
        """Apply a review action (or the one that reaches `status`) to course `slug`."""
        course = c.course_by_slug(s, slug, published_only=False)
        is_admin = self.actor.role == "admin"
        teaches = self.actor.kind == "user" and teaching.teaches_course(
            s, course.id, self.actor.name, frozenset({"instructor"})
        )
        if not (is_admin or teaches):
            # Those who may not see a draft learn nothing about it.
            if course.status != "published" and self.actor.role not in OPERATORS:
                raise APIError(404, f"no course {slug!r}")
            raise APIError(403, "only the course's instructors and admins act on its review")
        self.object_checked = True
        if action is None:
            action = review.action_for_status(course.status, status or "", is_admin)
            if action is None:  # there already: nothing to do (a retried request)
                return c.course_dict(course)
        try:
            review.apply(
                s, course, action, self.actor.name, is_admin=is_admin, teaches=teaches, note=note
            )
        except review.ReviewError as err:
            raise review_error(err) from None
        return c.course_dict(course)

    @needs_permission("courses:review")
    @body_schema(
        S.obj(
            ["action"],
            closed=True,
            action=S.one_of(review.ACTIONS),
            note=S.text(2000, min_length=0, multiline=True),
        )
    )
    async def post(self, slug: str) -> None:
        """Course review: its instructors submit or withdraw it; admins publish, return (with
        a note saying why), unpublish, archive (a soft delete) and restore it."""
        body = self.json_body()
        note = clean_text(body.get("note", ""), "note", multiline=True)
        self.write_json(await self.tx(lambda s: self.move(s, slug, body["action"], None, note)))


class AuditHandler(CampusHandler):
    @needs_permission("admin:audit")
    async def get(self) -> None:
        """The admin audit, newest first: `target_type` (account, course, settings) and
        `target` filter."""
        target_type = self.query_arg("target_type")
        if target_type not in (None, "", "account", "course", "settings"):
            raise APIError(400, "target_type must be account, course or settings")
        target = self.query_arg("target")
        entries = await self.read(
            lambda s: audit.entries(s, target_type=target_type or None, target=target or None)
        )
        self.write_json({"entries": entries})


class SettingsHandler(CampusHandler):
    @needs_permission("settings:read")
    async def get(self) -> None:
        """The school's settings that pages show: name, logo URL, time zone shown, currency of
        payments (ISO 4217)."""
        self.write_json(await self.read(school.read))

    @needs_permission("settings:write")
    @body_schema(
        S.obj(
            [],
            closed=True,
            min_properties=1,
            name=S.text(school.FIELDS["name"].max_length),
            logo_url=S.text(school.FIELDS["logo_url"].max_length, min_length=0),
            timezone=S.text(school.FIELDS["timezone"].max_length),
            currency=S.text(school.FIELDS["currency"].max_length),
        )
    )
    async def put(self) -> None:
        """Change school settings while the campus runs; all or nothing, audited."""
        body = self.json_body()

        def work(s: Session) -> dict[str, Any]:
            return school.update(s, self.actor.name, body)

        try:
            self.write_json(await self.tx(work))
        except school.SettingsError as err:
            field = next(iter(err.errors))
            raise APIError(400, str(err), field=field, errors=err.errors) from None


default_handlers = [
    (r"api/v1/courses/([^/]+)/review", CourseReviewHandler),
    (r"api/v1/audit", AuditHandler),
    (r"api/v1/settings", SettingsHandler),
]
