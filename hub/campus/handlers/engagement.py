"""XP, levels, leaderboards, badges and notifications (with a server-sent event stream)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from tornado.iostream import StreamClosedError

from nbcampus import schemas as S
from nbcampus.hub.campus import classes as cl
from nbcampus.hub.campus import engagement as en
from nbcampus.hub.campus import leaderboard as lb
from nbcampus.hub.campus import teaching, validate
from nbcampus.hub.campus.courses import course_by_slug
from nbcampus.hub.campus.orm import (
    Account,
    Badge,
    Notification,
    UserBadge,
    XpTransaction,
    utcnow,
)
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.hub.campus.profile import set_leaderboard_opt_out
from nbcampus.web import APIError, body_schema, parse_id

from .base import CampusHandler


def tx_dict(t: XpTransaction) -> dict[str, Any]:
    return {
        "id": t.id,
        "user": t.user,
        "amount": t.amount,
        "reason": t.reason,
        "ref": t.ref,
        "course_id": t.course_id,
        "note": t.note,
        "created_by": t.created_by,
        "created_at": t.created_at.isoformat(),
    }


class LevelHandler(CampusHandler):
    @needs_permission("xp:read")
    async def get(self, user: str) -> None:
        """A user's XP, level (and the XP of the next), streak and recent XP transactions."""

        def work(s: Session) -> dict[str, Any]:
            self.check_self_or_teacher(s, user)
            recent = s.scalars(
                sa.select(XpTransaction)
                .where(XpTransaction.user == user)
                .order_by(XpTransaction.id.desc())
                .limit(50)
            )
            return {**en.level_dict(s, user), "transactions": [tx_dict(t) for t in recent]}

        self.write_json(await self.read(work))


class XpEarnHandler(CampusHandler):
    @needs_permission("xp:write")
    @body_schema(
        S.obj(
            ["user", "amount", "note"],
            user=S.text(64),
            amount=S.integer(-100_000, 100_000),
            note=S.text(2000, multiline=True),
            reason=S.one_of(en.XP_REASONS),
            ref=S.text(200),
            course=S.nullable(S.text(100)),
        )
    )
    async def post(self) -> None:
        """Grant (or with a negative amount, revoke) XP: {"user", "amount", "note", "ref"?}."""
        body = self.json_body()
        user = validate.string(body, "user", max_length=64)
        amount = validate.integer(body, "amount", low=-100_000, high=100_000)
        if amount == 0:
            raise APIError(400, "'amount' must not be zero", field="amount")
        note = validate.string(body, "note", max_length=2000, multiline=True)
        # Services may award campus events with their own reason and reference; people grant
        # "manual" XP, idempotent on the ref they send (a retry with the same ref awards once).
        reason = validate.choice(body, "reason", en.XP_REASONS, "manual")
        if self.actor.role != "service" and reason != "manual":
            raise APIError(403, "people grant XP with the reason 'manual'")
        ref = validate.string(body, "ref", f"manual:{uuid.uuid4().hex}", max_length=200)
        course = validate.string(body, "course", None, max_length=100)

        def work(s: Session) -> tuple[int, dict[str, Any]]:
            if s.scalar(sa.select(Account.id).where(Account.name == user)) is None:
                raise APIError(404, f"no user {user!r}")
            course_id = course_by_slug(s, course, published_only=False).id if course else None
            result = en.award(
                s, user, amount, reason, ref, course_id=course_id, by=self.actor.name, note=note
            )
            if result is None:
                t = s.scalars(sa.select(XpTransaction).filter_by(user=user, reason=reason, ref=ref))
                return 200, {"awarded": False, "transaction": tx_dict(t.one())}
            return 201, {
                "awarded": True,
                "transaction": tx_dict(result.transaction),
                "level_up": result.level_up,
                "badges": result.badges,
                "level": en.level_dict(s, user),
            }

        status, data = await self.tx(work)
        self.write_json(data, status=status)


class XpRevokeHandler(CampusHandler):
    @needs_permission("xp:write")
    @body_schema(
        S.obj(["transaction_id", "note"], transaction_id=S.ID, note=S.text(2000, multiline=True))
    )
    async def post(self) -> None:
        """Revoke one XP transaction: {"transaction_id", "note"}; a negative row, once."""
        body = self.json_body()
        tid = validate.integer(body, "transaction_id", low=1, high=S.MAX_ID)
        note = validate.string(body, "note", max_length=2000, multiline=True)

        def work(s: Session) -> dict[str, Any]:
            t = s.get(XpTransaction, tid)
            if t is None:
                raise APIError(404, f"no XP transaction {tid}")
            if t.amount <= 0:
                raise APIError(409, "only an award can be revoked")
            result = en.award(
                s, t.user, -t.amount, "manual", f"revoke:{t.id}", course_id=t.course_id,
                by=self.actor.name, note=note,
            )  # fmt: skip
            if result is None:
                raise APIError(409, f"transaction {tid} is already revoked")
            return {"transaction": tx_dict(result.transaction), "level": en.level_dict(s, t.user)}

        self.write_json(await self.tx(work), status=201)


class LeaderboardHandler(CampusHandler):
    @needs_permission("leaderboard:read")
    async def get(self) -> None:
        """?class=ID or ?course=SLUG, &period=all|week: ranks by XP."""
        class_arg = self.query_arg("class", 12)
        course_arg = self.query_arg("course", 100)
        period = self.query_arg("period", 10) or "all"
        if period not in lb.PERIODS:
            raise APIError(400, "period must be all or week", field="period")
        if bool(class_arg) == bool(course_arg):
            raise APIError(400, "give exactly one of ?class= or ?course=")
        actor = self.actor

        def work(s: Session) -> dict[str, Any]:
            overseer = self.is_overseer()
            if class_arg:
                klass = cl.get_class(s, validate.path_id(class_arg, "class"))
                self.check_class(s, klass)
                show_names = overseer or teaching.class_role(s, klass.id, actor.name) is not None
                rows = lb.class_board(s, klass.id, klass.course_id, period, actor.name, show_names)
                return {"class_id": klass.id, "period": period, "entries": rows}
            course = course_by_slug(s, course_arg, published_only=False)
            show_names = overseer or teaching.teaches_course(s, course.id, actor.name)
            if not show_names and not overseer:
                from nbcampus.hub.campus.progress import student_class_ids

                if not student_class_ids(s, actor.name, course.id):
                    raise APIError(403, "you are not in a class of this course")
            rows = lb.course_board(s, course.id, period, actor.name, show_names)
            return {"course": course.slug, "period": period, "entries": rows}

        self.write_json(await self.read(work))


class PreferencesHandler(CampusHandler):
    @needs_permission("preferences:own")
    @body_schema(S.obj(["leaderboard_opt_out"], leaderboard_opt_out=S.BOOL))
    async def put(self) -> None:
        """My settings: {"leaderboard_opt_out": bool}."""
        body = self.json_body()
        value = body.get("leaderboard_opt_out")
        if not isinstance(value, bool):
            raise APIError(
                400, "'leaderboard_opt_out' must be true or false", field="leaderboard_opt_out"
            )
        name = self.actor.name
        self.write_json(await self.tx(lambda s: set_leaderboard_opt_out(s, name, value)))


class BadgesHandler(CampusHandler):
    @needs_permission("badges:read")
    async def get(self) -> None:
        """Every badge, and the ones I (or ?user=NAME, for teachers) hold."""
        user = self.query_arg("user", 64) or self.actor.name

        def work(s: Session) -> dict[str, Any]:
            self.check_self_or_teacher(s, user)
            held = {
                b: at
                for b, at in s.execute(
                    sa.select(UserBadge.badge_id, UserBadge.awarded_at).where(
                        UserBadge.user == user
                    )
                )
            }
            badges = []
            for b in s.scalars(sa.select(Badge).order_by(Badge.id)):
                at = held.get(b.id)
                badges.append(
                    {**en.badge_dict(b), "earned": at is not None,
                     "earned_at": at.isoformat() if at else None}
                )  # fmt: skip
            return {"user": user, "badges": badges}

        self.write_json(await self.read(work))


class BadgeUnlockHandler(CampusHandler):
    @needs_permission("badges:award")
    @body_schema(S.obj(["user", "badge"], user=S.text(64), badge=S.text(100)))
    async def post(self) -> None:
        """Award a badge by hand: {"user", "badge"}; each badge once."""
        body = self.json_body()
        user = validate.string(body, "user", max_length=64)
        slug = validate.string(body, "badge", max_length=100)

        def work(s: Session) -> tuple[int, dict[str, Any]]:
            badge = s.scalar(sa.select(Badge).where(Badge.slug == slug))
            if badge is None:
                raise APIError(404, f"no badge {slug!r}")
            if s.scalar(sa.select(Account.id).where(Account.name == user)) is None:
                raise APIError(404, f"no user {user!r}")
            new = en.grant_badge(s, user, badge)
            return (201 if new else 200), {"user": user, "badge": slug, "awarded": new}

        status, data = await self.tx(work)
        self.write_json(data, status=status)


class NotificationsHandler(CampusHandler):
    @needs_permission("notifications:own")
    async def get(self) -> None:
        """My notifications, newest first (?unread=1, ?after=ID, ?limit=N)."""
        name = self.actor.name
        unread = self.query_arg("unread", 5) in ("1", "true")
        after = self.query_arg("after", 12)
        raw_limit = self.query_arg("limit", 4)
        limit = min(parse_id(raw_limit, "limit"), 200) if raw_limit else 50

        def work(s: Session) -> dict[str, Any]:
            q = sa.select(Notification).where(Notification.user == name)
            if unread:
                q = q.where(Notification.read_at.is_(None))
            if after:
                q = q.where(Notification.id > validate.path_id(after, "notification"))
            rows = s.scalars(q.order_by(Notification.id.desc()).limit(limit))
            count = s.scalar(
                sa.select(sa.func.count())
                .select_from(Notification)
                .where(Notification.user == name, Notification.read_at.is_(None))
            )
            return {"notifications": [en.notification_dict(n) for n in rows], "unread": count}

        self.write_json(await self.read(work))


class NotificationReadHandler(CampusHandler):
    @needs_permission("notifications:own")
    @body_schema(None)
    async def post(self, notification_id: str) -> None:
        """Mark one of my notifications read ("all" marks every one)."""
        name = self.actor.name

        def work(s: Session) -> dict[str, Any]:
            q = sa.update(Notification).where(
                Notification.user == name, Notification.read_at.is_(None)
            )
            if notification_id != "all":
                nid = validate.path_id(notification_id, "notification")
                owned = s.scalar(sa.select(Notification.id).filter_by(id=nid, user=name))
                if owned is None:  # someone else's is as good as missing
                    raise APIError(404, f"no notification {nid}")
                q = q.where(Notification.id == nid)
            changed = s.execute(q.values(read_at=utcnow())).rowcount
            return {"marked_read": changed}

        self.write_json(await self.tx(work))


class NotificationStreamHandler(CampusHandler):
    """Server-sent events: new notifications are pushed as they appear (checked every
    `notification_push_interval` seconds on the server; the client holds one connection)."""

    @needs_permission("notifications:own")
    async def get(self) -> None:
        """A text/event-stream of my new notifications."""
        name = self.actor.name
        interval = self.settings["app"].notification_push_interval
        last = self.get_argument("after", None) or self.request.headers.get("Last-Event-ID", "")

        def newest(s: Session) -> int:
            return (
                s.scalar(sa.select(sa.func.max(Notification.id)).where(Notification.user == name))
                or 0
            )

        last_id = parse_id(last, "after") if last else await self.read(newest)
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        self.write(f"retry: {int(interval * 1000)}\n: connected\n\n")
        await self.flush()
        while True:

            def fetch(s: Session, since: int = last_id) -> list[dict[str, Any]]:
                rows = s.scalars(
                    sa.select(Notification)
                    .where(Notification.user == name, Notification.id > since)
                    .order_by(Notification.id)
                    .limit(100)
                )
                return [en.notification_dict(n) for n in rows]

            try:
                for n in await self.read(fetch):
                    last_id = n["id"]
                    self.write(f"id: {n['id']}\nevent: notification\ndata: {json.dumps(n)}\n\n")
                self.write(": keep-alive\n\n")
                await self.flush()
            except StreamClosedError:
                return
            await asyncio.sleep(interval)


default_handlers = [
    (r"api/v1/users/([^/]+)/level", LevelHandler),
    (r"api/v1/xp/earn", XpEarnHandler),
    (r"api/v1/xp/revoke", XpRevokeHandler),
    (r"api/v1/leaderboard", LeaderboardHandler),
    (r"api/v1/me/preferences", PreferencesHandler),
    (r"api/v1/badges", BadgesHandler),
    (r"api/v1/badges/unlock", BadgeUnlockHandler),
    (r"api/v1/notifications", NotificationsHandler),
    (r"api/v1/notifications/stream", NotificationStreamHandler),
    (r"api/v1/notifications/read/([^/]+)", NotificationReadHandler),
]
