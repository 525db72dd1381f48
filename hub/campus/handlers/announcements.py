"""Announcements: written by a class's instructors or by staff, read by its students."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import announcements as an
from nbcampus.hub.campus import classes as cl
from nbcampus.hub.campus import teaching, validate
from nbcampus.hub.campus.courses import course_by_slug
from nbcampus.hub.campus.orm import Announcement, AnnouncementRead
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.web import APIError, body_schema

from .base import CampusHandler


def _when(body: dict[str, Any]) -> datetime | None:
    return validate.moment(body, "publish_at", None)


class AnnouncementsHandler(CampusHandler):
    @needs_permission("announcements:write")
    @body_schema(
        S.obj(
            ["title", "body"],
            class_id=S.nullable(S.ID),
            course=S.nullable(S.text(100)),
            title=S.text(300),
            body=S.text(20_000, multiline=True),
            publish_at=S.nullable(S.DATETIME),
        )
    )
    async def post(self) -> None:
        """Post to a class ({"class_id"}) or course ({"course"}): title, body, publish_at?."""
        body = self.json_body()
        class_id = validate.integer(body, "class_id", None, low=1, high=S.MAX_ID)
        course = validate.string(body, "course", None, max_length=100)
        if (class_id is None) == (course is None):
            raise APIError(400, "give exactly one of 'class_id' or 'course'")
        title = validate.string(body, "title", max_length=300)
        text = validate.string(body, "body", max_length=20_000, multiline=True)
        publish_at = _when(body)
        actor = self.actor

        def work(s: Session) -> dict[str, Any]:
            course_id = None
            if class_id is not None:
                self.check_class(s, cl.get_class(s, class_id), teach=True)
            else:
                course_id = course_by_slug(s, course, published_only=False).id
                self.check_course(s, course_id)  # its instructors post to the whole course
            a = an.create(
                s,
                author=actor.name,
                class_id=class_id,
                course_id=course_id,
                title=title,
                body=text,
                publish_at=publish_at,
            )
            sent = an.deliver(s, a.id)  # due now: sent at once; later: by the scheduler
            return {**an.announcement_dict(a, course=course), "notified": sent}

        self.write_json(await self.tx(work), status=201)

    @needs_permission("announcements:read")
    async def get(self) -> None:
        """As a student: sent announcements of one's classes, with read flags. As a teacher:
        one's own and those of the classes one teaches, scheduled ones included, with read
        counts. Staff see all (?class=ID to filter)."""
        actor = self.actor
        class_arg = self.query_arg("class", 12)

        def work(s: Session) -> list[dict[str, Any]]:
            q = sa.select(Announcement).order_by(Announcement.publish_at.desc()).limit(200)
            if class_arg:
                q = q.where(Announcement.class_id == validate.path_id(class_arg, "class"))
            taught = teaching.taught_class_ids(actor.name)
            teacher_rows: list[Announcement] = []
            if self.is_overseer():
                teacher_rows = list(s.scalars(q).all())
            elif actor.kind == "user":
                teacher_rows = list(
                    s.scalars(
                        q.where(
                            sa.or_(
                                Announcement.author == actor.name, Announcement.class_id.in_(taught)
                            )
                        )
                    ).all()
                )
            result = self._teacher_view(s, teacher_rows)
            if not self.is_overseer():
                seen = {a.id for a in teacher_rows}
                rows = [
                    a
                    for a in s.scalars(q.where(an.visible_to_student(s, actor.name))).all()
                    if a.id not in seen
                ]
                read = set(
                    s.scalars(
                        sa.select(AnnouncementRead.announcement_id).where(
                            AnnouncementRead.user == actor.name,
                            AnnouncementRead.announcement_id.in_([a.id for a in rows]),
                        )
                    )
                )
                result += [
                    an.announcement_dict(
                        a, read=a.id in read, course=an.course_slug(s, a.course_id)
                    )
                    for a in rows
                ]
                result.sort(key=lambda a: a["publish_at"] or "", reverse=True)
            return result

        self.write_json({"announcements": await self.read(work)})

    @staticmethod
    def _teacher_view(s: Session, rows: list[Announcement]) -> list[dict[str, Any]]:
        counts = dict(
            s.execute(
                sa.select(AnnouncementRead.announcement_id, sa.func.count())
                .where(AnnouncementRead.announcement_id.in_([a.id for a in rows]))
                .group_by(AnnouncementRead.announcement_id)
            ).all()
        )
        return [
            an.announcement_dict(
                a,
                reads=int(counts.get(a.id, 0)),
                recipients_count=len(an.recipients(s, a)),
                course=an.course_slug(s, a.course_id),
            )
            for a in rows
        ]


class AnnouncementReadHandler(CampusHandler):
    @needs_permission("announcements:read")
    @body_schema(None)
    async def post(self, announcement_id: str) -> None:
        """Mark an announcement read (students)."""
        aid = validate.path_id(announcement_id, "announcement")
        name = self.actor.name
        await self.tx(lambda s: an.mark_read(s, aid, name))
        self.write_json({"announcement_id": aid, "read": True})


default_handlers = [
    (r"api/v1/announcements", AnnouncementsHandler),
    (r"api/v1/announcements/([^/]+)/read", AnnouncementReadHandler),
]
