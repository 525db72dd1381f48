"""Grades to the LMS: AGS 2.0 scores (LTI 1.3) and Basic Outcomes (LTI 1.1).

A graded result becomes a row in `lti_outbox` first, then is sent; a failure stays in the
outbox with its error and is retried with exponential back-off (by the Hub's retry loop and
`nbcampus lti outbox --retry`). Staff see the outbox at /hub/lti/outbox. Nothing is dropped:
after `MAX_ATTEMPTS` an item is marked failed and waits for a person. A score hidden from its
student waits as `held` until released (held.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import requests
from oauthlib.oauth1 import SIGNATURE_TYPE_AUTH_HEADER, Client
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import make_engine, session_factory, transaction
from nbcampus.hub.campus.grade_policy import grade_policy
from nbcampus.settings import Settings

from . import orm
from .diagnose import explain_answer, looks_like_html
from .held import CampusVisibility
from .keys import ToolKey
from .orm import OUTBOX_STATUSES as STATUSES

log = logging.getLogger("nbcampus.lti.passback")

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ATTEMPTS = 8
BASE_DELAY = 30.0  # seconds; doubled on each failure, at most an hour
# While one process sends an item, others leave it alone this long (more than the few
# requests of one send take); a process that dies mid-send lets it fall due again after it.
CLAIM_SECONDS = 300
TIMEOUT = 15


class PassbackError(RuntimeError):
    """The LMS refused or could not be reached; the item is retried later."""


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class Outbox:
    def __init__(
        self,
        factory: sessionmaker[Session],
        policy: Callable[[str], str] | None = None,
        visible: Callable[[str, str, str], bool] | None = None,
    ) -> None:
        self.factory = factory
        # the course's grade policy (best or latest), the campus's own (grade_policy.py)
        self.policy = policy or grade_policy
        # may the LMS get this (course, lesson, exercise) score now? (held.py)
        self.visible = visible or CampusVisibility()

    def enqueue(self, result: dict[str, Any]) -> list[int]:
        """Queue a graded result for every LMS link of that exercise the student launched."""
        ids: list[int] = []
        with transaction(self.factory) as session:
            rows = session.execute(
                select(orm.ResourceLink, orm.Member)
                .join(orm.Member, orm.Member.context_pk == orm.ResourceLink.context_pk)
                .where(
                    orm.ResourceLink.course == result["course"],
                    orm.ResourceLink.lesson == result["lesson"],
                    orm.ResourceLink.exercise == result["exercise"],
                    orm.Member.username == result["user"],
                    orm.Member.status == "active",
                )
            ).all()
        held = bool(rows) and not self.visible(
            result["course"], result["lesson"], result["exercise"]
        )
        for link, _member in rows:
            score, max_score = float(result["score"]), float(result["max_score"])
            submission_id = str(result["submission_id"])[:200]
            try:
                with transaction(self.factory) as session:
                    same = session.scalar(
                        select(orm.OutboxItem).where(
                            orm.OutboxItem.link_pk == link.id,
                            orm.OutboxItem.username == result["user"],
                            orm.OutboxItem.submission_id == submission_id,
                        )
                    )
                    if same is not None and (same.score, same.max_score) == (score, max_score):
                        continue  # the same grading reported twice: already queued or sent
                    # a newer grade makes older unsent ones pointless (the LMS keeps the last)
                    for old in session.scalars(
                        select(orm.OutboxItem).where(
                            orm.OutboxItem.link_pk == link.id,
                            orm.OutboxItem.username == result["user"],
                            orm.OutboxItem.status.in_(("pending", "failed", "held")),
                        )
                    ):
                        if old is not same:
                            old.status = "superseded"
                    if same is None:
                        same = orm.OutboxItem(
                            link_pk=link.id, username=result["user"], submission_id=submission_id
                        )
                        session.add(same)
                    # a regrade of the same submission with another score is sent again
                    same.score, same.max_score = score, max_score
                    same.graded_at = str(result.get("graded_at") or datetime.now(UTC).isoformat())
                    same.status, same.attempts, same.last_error = "pending", 0, ""
                    same.next_attempt_at, same.sent_at = datetime.now(UTC), None
                    session.flush()
                    if self.policy(result["course"]) == "best":
                        counted = _best_counted(session, same)
                        if counted is not same:
                            # a better submission counts: this score is kept, not sent
                            same.status = "superseded"
                            if counted is not None and held:
                                counted.status = "held"
                            elif counted is not None:
                                ids.append(counted.id)
                            session.flush()
                            continue
                    if held:  # hidden from the student: not sent until released
                        same.status = "held"
                        continue
                    ids.append(same.id)
            except IntegrityError:
                continue  # a concurrent report of the same grading queued it first
        return ids

    def release_held(self) -> int:
        """Held items whose scores the student may see now become pending; returns how many."""
        with transaction(self.factory) as session:
            rows = session.execute(
                select(orm.OutboxItem, orm.ResourceLink)
                .join(orm.ResourceLink, orm.ResourceLink.id == orm.OutboxItem.link_pk)
                .where(orm.OutboxItem.status == "held")
            ).all()
            seen: dict[tuple[str, str, str], bool] = {}
            released = 0
            for item, link in rows:
                key = (link.course, link.lesson, link.exercise)
                if key not in seen:
                    seen[key] = self.visible(*key)
                if seen[key]:
                    item.status, item.next_attempt_at = "pending", datetime.now(UTC)
                    released += 1
            return released

    def due(self, limit: int = 50, now: datetime | None = None) -> list[int]:
        """Items whose time has come, longest waiting first (however many are backing off)."""
        with self.factory() as session:
            return list(
                session.scalars(
                    select(orm.OutboxItem.id)
                    .where(
                        orm.OutboxItem.status == "pending",
                        orm.OutboxItem.next_attempt_at <= (now or datetime.now(UTC)),
                    )
                    .order_by(orm.OutboxItem.next_attempt_at, orm.OutboxItem.id)
                    .limit(limit)
                )
            )

    def items(self, status: str | None = None) -> list[dict[str, Any]]:
        """The newest 500 items (of one status, e.g. "failed", when given)."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        query = select(orm.OutboxItem, orm.ResourceLink).join(
            orm.ResourceLink, orm.ResourceLink.id == orm.OutboxItem.link_pk
        )
        if status is not None:
            query = query.where(orm.OutboxItem.status == status)
        with self.factory() as session:
            rows = session.execute(query.order_by(orm.OutboxItem.id.desc()).limit(500)).all()
            return [
                {
                    "id": item.id,
                    "user": item.username,
                    "course": link.course,
                    "lesson": link.lesson,
                    "exercise": link.exercise,
                    "score": item.score,
                    "max_score": item.max_score,
                    "status": item.status,
                    "attempts": item.attempts,
                    "next_attempt_at": _aware(item.next_attempt_at).isoformat(),
                    "last_error": item.last_error,
                    "sent_at": item.sent_at.isoformat() if item.sent_at else None,
                }
                for item, link in rows
            ]

    def retry_now(self) -> int:
        """Make every unsent item due now, failed ones included (after a person fixed the
        LMS side); returns how many."""
        with transaction(self.factory) as session:
            rows = list(
                session.scalars(
                    select(orm.OutboxItem).where(orm.OutboxItem.status.in_(("pending", "failed")))
                )
            )
            for row in rows:
                row.status, row.next_attempt_at = "pending", datetime.now(UTC)
            return len(rows)


def _fraction(item: orm.OutboxItem) -> float:
    return item.score / item.max_score if item.max_score else 0.0


def _best_counted(session: Session, new: orm.OutboxItem) -> orm.OutboxItem | None:
    """Under the `best` policy: `new` when it is the student's best submission for its link
    (so it is sent); otherwise the best one, queued again when the LMS holds another score
    than its (then its id is to be sent), or None when the LMS already has it."""
    rows = list(
        session.scalars(
            select(orm.OutboxItem).where(
                orm.OutboxItem.link_pk == new.link_pk,
                orm.OutboxItem.username == new.username,
            )
        )
    )
    best = max(rows, key=lambda r: (_fraction(r), r is new, str(r.graded_at or "")))
    if best is new:
        return new
    sent = [r for r in rows if r.sent_at is not None and r is not new]
    last_sent = max(sent, key=lambda r: _aware(r.sent_at), default=None)
    if best is last_sent and best.status == "sent":
        return None  # the LMS already holds the best score
    best.status, best.attempts, best.last_error = "pending", 0, ""
    best.next_attempt_at, best.sent_at = datetime.now(UTC), None
    return best


class PassbackSender:
    """Sends due outbox items; one instance per process keeps the platforms' access tokens."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        key: ToolKey,
        log: logging.Logger | logging.LoggerAdapter = log,
    ) -> None:
        self.factory = factory
        self.outbox = Outbox(factory)
        self.key = key
        self.log = log
        self._tokens: dict[tuple[int, str], tuple[float, str]] = {}
        self._lock = asyncio.Lock()

    async def drain(self, now: datetime | None = None) -> int:
        """Send every item due by `now`; returns how many reached their LMS."""
        async with self._lock:
            sent = 0
            await asyncio.to_thread(self.outbox.release_held)  # scores released meanwhile
            for item_id in await asyncio.to_thread(self.outbox.due, 50, now):
                if await asyncio.to_thread(self.send, item_id, now):
                    sent += 1
            return sent

    def claim(self, item_id: int, now: datetime | None = None) -> bool:
        """Take a due item for one send. The grader's hook, the Hub's retry loop and the
        command line all send: without this, two of them could post one score twice."""
        real_now = datetime.now(UTC)
        with transaction(self.factory) as session:
            taken = session.execute(
                update(orm.OutboxItem)
                .where(
                    orm.OutboxItem.id == item_id,
                    orm.OutboxItem.status == "pending",
                    orm.OutboxItem.next_attempt_at <= (now or real_now),
                )
                .values(next_attempt_at=real_now + timedelta(seconds=CLAIM_SECONDS))
            )
            return taken.rowcount == 1

    def send(self, item_id: int, now: datetime | None = None) -> bool:
        if not self.claim(item_id, now):
            return False  # not due, already sent, or being sent by another process
        with self.factory() as session:
            item = session.get(orm.OutboxItem, item_id)
            if item is None:
                return False
            link = session.get(orm.ResourceLink, item.link_pk)
            context = session.get(orm.Context, link.context_pk) if link else None
            member = session.scalar(
                select(orm.Member).where(
                    orm.Member.context_pk == (context.id if context else -1),
                    orm.Member.username == item.username,
                )
            )
            session.expunge_all()
        try:
            if link is None or context is None or member is None:
                raise PassbackError("the LMS link or the student's membership is gone")
            if context.source.startswith("lti13:"):
                self._send_ags(item, link, context, member)
            else:
                self._send_outcome(item, link, context, member)
        except (PassbackError, requests.RequestException) as err:
            self._failed(item_id, str(err))
            return False
        except Exception as err:  # an LMS answering nonsense: still on the item, for staff
            self.log.exception("grade passback %s: unexpected failure", item_id)
            self._failed(item_id, f"unexpected answer ({type(err).__name__}: {err})")
            return False
        with transaction(self.factory) as session:
            row = session.get(orm.OutboxItem, item_id)
            # a regrade that changed the item meanwhile stays pending: its score goes next
            if row is not None and (row.score, row.max_score) == (item.score, item.max_score):
                row.status, row.sent_at, row.last_error = "sent", datetime.now(UTC), ""
                row.attempts += 1
        self.log.info("grade of %s for %s sent to the LMS", item.username, link.lesson)
        return True

    def _failed(self, item_id: int, error: str) -> None:
        with transaction(self.factory) as session:
            row = session.get(orm.OutboxItem, item_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error[:2000]
            delay = min(BASE_DELAY * 2 ** (row.attempts - 1), 3600)
            row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
        self.log.warning("grade passback %s failed (retried later): %s", item_id, error)

    # --- LTI 1.3 AGS ---------------------------------------------------------------------------
    def access_token(self, platform: orm.Platform, scopes: list[str]) -> str:
        """OAuth2 client credentials with a JWT client assertion signed by the tool's key."""
        scope = " ".join(sorted(scopes))
        cached = self._tokens.get((platform.id, scope))
        if cached and cached[0] > time.time() + 30:
            return cached[1]
        if not platform.auth_token_url:
            raise PassbackError(f"platform {platform.issuer} has no token URL registered")
        resp = requests.post(
            platform.auth_token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.key.client_assertion(
                    platform.client_id, platform.auth_token_url
                ),
                "scope": scope,
            },
            timeout=TIMEOUT,
        )
        if resp.status_code != 200 or looks_like_html(resp):
            raise PassbackError(explain_answer("token endpoint", resp))
        try:
            body = resp.json()
            token = str(body["access_token"])
        except (ValueError, TypeError, KeyError):
            raise PassbackError("token endpoint answered without an access token") from None
        self._tokens[(platform.id, scope)] = (
            time.time() + float(body.get("expires_in", 3600)),
            token,
        )
        return token

    def authorized(
        self,
        platform: orm.Platform,
        scopes: list[str],
        request: Callable[[dict[str, str]], requests.Response],
    ) -> requests.Response:
        """`request(headers)` with the platform's access token. A cached token the platform
        no longer takes (it restarted or revoked it) is dropped and a new one asked for once,
        rather than failing every send until the old one would have expired."""
        resp = request({"Authorization": f"Bearer {self.access_token(platform, scopes)}"})
        if resp.status_code == 401:
            self._tokens.pop((platform.id, " ".join(sorted(scopes))), None)
            resp = request({"Authorization": f"Bearer {self.access_token(platform, scopes)}"})
        return resp

    def platform_of(self, context: orm.Context) -> orm.Platform:
        with self.factory() as session:
            platform = session.get(orm.Platform, int(context.source.split(":", 1)[1]))
            if platform is None:
                raise PassbackError("the platform of this course is no longer registered")
            session.expunge(platform)
            return platform

    def _send_ags(
        self,
        item: orm.OutboxItem,
        link: orm.ResourceLink,
        context: orm.Context,
        member: orm.Member,
    ) -> None:
        platform = self.platform_of(context)
        scopes = [SCOPE_LINEITEM, SCOPE_SCORE]
        lineitem = link.lineitem_url or self._find_or_create_lineitem(
            platform, link, context, item.max_score
        )
        base, _, query = lineitem.partition("?")
        score = {
            "userId": member.subject,
            "scoreGiven": item.score,
            "scoreMaximum": item.max_score,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": datetime.now(UTC).isoformat(),
        }
        resp = self.authorized(
            platform,
            scopes,
            lambda auth: requests.post(
                base.rstrip("/") + "/scores" + ("?" + query if query else ""),
                json=score,
                headers={**auth, "Content-Type": "application/vnd.ims.lis.v1.score+json"},
                timeout=TIMEOUT,
            ),
        )
        if resp.status_code not in (200, 201, 204):
            raise PassbackError(f"score post answered {resp.status_code}: {resp.text[:300]}")

    def _find_or_create_lineitem(
        self,
        platform: orm.Platform,
        link: orm.ResourceLink,
        context: orm.Context,
        max_score: float,
    ) -> str:
        if not context.lineitems_url:
            raise PassbackError("the LMS gave no line items service for this course")
        scopes = [SCOPE_LINEITEM, SCOPE_SCORE]
        resource_id = "/".join((link.course, link.lesson, link.exercise))
        resp = self.authorized(
            platform,
            scopes,
            lambda auth: requests.get(
                context.lineitems_url,
                params={"resource_link_id": link.link_id, "resource_id": resource_id},
                headers={**auth, "Accept": "application/vnd.ims.lis.v2.lineitemcontainer+json"},
                timeout=TIMEOUT,
            ),
        )
        if resp.status_code != 200:
            raise PassbackError(f"line items answered {resp.status_code}: {resp.text[:300]}")
        # Only a line item bound to this link is ours: an LMS may ignore the filters and list
        # every column of its gradebook, and scores must not land in someone else's.
        listed = resp.json()
        if not isinstance(listed, list) or not all(isinstance(i, dict) for i in listed):
            raise PassbackError("line items answered something else than a list of line items")
        found = [
            i
            for i in listed
            if i.get("resourceLinkId") == link.link_id
            and i.get("resourceId") in (resource_id, None)
        ]
        if found:
            url = str(found[0]["id"])
        else:
            resp = self.authorized(
                platform,
                scopes,
                lambda auth: requests.post(
                    context.lineitems_url,
                    json={
                        "scoreMaximum": max_score,
                        "label": link.title or resource_id,
                        "resourceId": resource_id,
                        "resourceLinkId": link.link_id,
                        "tag": "nbcampus",
                    },
                    headers={**auth, "Content-Type": "application/vnd.ims.lis.v2.lineitem+json"},
                    timeout=TIMEOUT,
                ),
            )
            if resp.status_code not in (200, 201):
                raise PassbackError(f"line item creation answered {resp.status_code}")
            url = str(resp.json()["id"])
        with transaction(self.factory) as session:
            row = session.get(orm.ResourceLink, link.id)
            if row is not None:
                row.lineitem_url = url
        return url

    # --- LTI 1.1 Basic Outcomes -------------------------------------------------------------------
    def _send_outcome(
        self,
        item: orm.OutboxItem,
        link: orm.ResourceLink,
        context: orm.Context,
        member: orm.Member,
    ) -> None:
        key = context.source.split(":", 1)[1]
        with self.factory() as session:
            sourcedid = session.scalar(
                select(orm.OutcomeId.sourcedid).where(
                    orm.OutcomeId.link_pk == link.id, orm.OutcomeId.username == item.username
                )
            )
            if not link.outcome_url or not sourcedid:
                raise PassbackError("the LMS sent no outcome service or result id for this link")
            consumer = session.scalar(select(orm.Consumer).where(orm.Consumer.key == key))
            if consumer is None:
                raise PassbackError(f"LTI 1.1 consumer {key!r} is no longer registered")
            secret = consumer.secret
        value = max(0.0, min(1.0, item.score / item.max_score if item.max_score else 0.0))
        body = outcome_xml(sourcedid, value, f"nbcampus-{item.id}")
        client = Client(key, client_secret=secret, signature_type=SIGNATURE_TYPE_AUTH_HEADER)
        uri, headers, signed_body = client.sign(
            link.outcome_url,
            "POST",
            body=body,
            headers={"Content-Type": "application/xml"},
        )
        resp = requests.post(uri, data=signed_body, headers=headers, timeout=TIMEOUT)
        if resp.status_code != 200 or "<imsx_codeMajor>success</imsx_codeMajor>" not in resp.text:
            raise PassbackError(f"outcome service answered {resp.status_code}: {resp.text[:300]}")


def outcome_xml(sourcedid: str, score: float, message_id: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<imsx_POXEnvelopeRequest xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">'
        "<imsx_POXHeader><imsx_POXRequestHeaderInfo><imsx_version>V1.0</imsx_version>"
        f"<imsx_messageIdentifier>{escape(message_id)}</imsx_messageIdentifier>"
        "</imsx_POXRequestHeaderInfo></imsx_POXHeader><imsx_POXBody><replaceResultRequest>"
        f"<resultRecord><sourcedGUID><sourcedId>{escape(sourcedid)}</sourcedId></sourcedGUID>"
        f"<result><resultScore><language>en</language><textString>{score:.4f}</textString>"
        "</resultScore></result></resultRecord></replaceResultRequest></imsx_POXBody>"
        "</imsx_POXEnvelopeRequest>"
    )


class LtiPassbackHook:
    """The grader's result hook (`GraderService.result_hooks`): queue, then try to send.

    `result` is the grader's GradedResult (or a dict with the same fields: submission_id,
    user, course, lesson, exercise, score, max_score, graded_at).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or Settings.from_env()
        self.factory = session_factory(make_engine(settings.database_url("lti")))
        self.sender = PassbackSender(self.factory, ToolKey.load_or_create(settings.secrets_dir))

    async def on_result(self, result: Any) -> None:
        queued: list[int] = []
        for item in graded_items(result):
            queued += await asyncio.to_thread(self.sender.outbox.enqueue, item)
        if queued:
            await self.sender.drain()


def graded_items(result: Any) -> list[dict[str, Any]]:
    """One passback item per exercise notebook, plus one for the whole lesson.

    Accepts the grader's GradedResult (submission_id, user, course, assignment = lesson,
    score, max_score, graded_at, notebooks = [{name, score, max_score}]) or a flat dict of
    one exercise (..., lesson, exercise, score, max_score). A link to a lesson gets the
    lesson's total; a link to an exercise gets that notebook's (or written assignment's)
    score. A result with `lesson_total` False (a written grade in a lesson with notebooks)
    goes to its exercise's links alone.
    """
    if isinstance(result, dict):
        data = dict(result)
    elif is_dataclass(result):
        data = asdict(result)  # type: ignore[arg-type]
    else:
        data = dict(vars(result))
    data.setdefault("lesson", data.get("assignment"))
    for field in ("submission_id", "user", "course", "lesson", "score", "max_score"):
        if data.get(field) is None:
            raise ValueError(f"graded result lacks {field}")
    base = {k: data[k] for k in ("submission_id", "user", "course", "lesson")}
    base["graded_at"] = data.get("graded_at")
    if "exercise" in data:
        return [
            {
                **base,
                "exercise": data["exercise"] or "",
                "score": data["score"],
                "max_score": data["max_score"],
            }
        ]
    items = []
    if data.get("lesson_total", True):  # else not the lesson's total: its link gets nothing
        items.append(
            {**base, "exercise": "", "score": data["score"], "max_score": data["max_score"]}
        )
    for nb in data.get("notebooks") or ():
        name = str(nb.get("name") or "")
        if name and nb.get("score") is not None and nb.get("max_score") is not None:
            items.append(
                {
                    **base,
                    "exercise": name.removesuffix(".ipynb"),
                    "score": nb["score"],
                    "max_score": nb["max_score"],
                }
            )
    return items
