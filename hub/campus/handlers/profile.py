"""Profiles, personal data exports, deletion requests and certificates.

A student reads only their own profile and export; staff and admins read anyone's. A
certificate's public facts (holder, course, date, validity) are readable by every signed-in
caller, as they are on the public verification page; the course's instructors and staff may
list a course's certificates and revoke one with a reason.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import certificates as cert
from nbcampus.hub.campus import profile as pr
from nbcampus.hub.campus import validate
from nbcampus.hub.campus.courses import course_by_slug
from nbcampus.hub.campus.orm import Certificate
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.web import APIError, attachment, body_schema

from .base import CampusHandler

DELETION_STATUSES = ("pending", "done", "withdrawn", "all")


class SelfOrOverseer(CampusHandler):
    def check_self(self, user: str) -> None:
        """Only the person themself, or staff, admins and services: no teacher, no peer."""
        if self.actor.name != user and not self.is_overseer():
            raise APIError(403, f"you may not see {user}'s personal data")


class ProfileHandler(SelfOrOverseer):
    @needs_permission("profile:read")
    async def get(self, user: str) -> None:
        """A person's profile: account, level, badges earned and to earn, XP history,
        courses completed, certificates, and a pending deletion request."""
        self.check_self(user)
        self.write_json(await self.read(lambda s: pr.profile(s, user)))


class ExportHandler(SelfOrOverseer):
    @needs_permission("data:export")
    async def get(self, user: str) -> None:
        """Everything the campus keeps about a person, as one JSON document."""
        self.check_self(user)
        data = await self.read(lambda s: pr.export(s, user))
        self.set_header("Content-Disposition", attachment(f"{user}-data.json"))
        self.write_json(data)


class DeletionRequestHandler(CampusHandler):
    @needs_permission("deletion:request")
    @body_schema(S.obj([], reason=S.text(pr.MAX_REASON, min_length=0, multiline=True)))
    async def post(self) -> None:
        """Ask for my account and data to be deleted: {"reason"?}; one pending request."""
        body = self.json_body()
        reason = validate.string(
            body, "reason", "", max_length=pr.MAX_REASON, allow_empty=True, multiline=True
        )
        created, data = await self.tx(lambda s: pr.request_deletion(s, self.actor.name, reason))
        self.write_json(data, status=201 if created else 200)


class DeletionListHandler(CampusHandler):
    @needs_permission("deletion:list")
    async def get(self) -> None:
        """Deletion requests (?status=pending, the default, or done, withdrawn, all)."""
        status = self.query_arg("status", 10) or "pending"
        if status not in DELETION_STATUSES:
            raise APIError(400, f"status must be one of {', '.join(DELETION_STATUSES)}")
        wanted = None if status == "all" else status
        rows = await self.read(lambda s: pr.deletion_requests(s, wanted))
        self.write_json({"deletion_requests": rows})


class DeletionCloseHandler(CampusHandler):
    @needs_permission("deletion:handle")
    @body_schema(S.obj(["status"], status=S.one_of(("done", "withdrawn"))))
    async def post(self, request_id: str) -> None:
        """Close a pending deletion request: {"status": "done" | "withdrawn"}."""
        rid = validate.path_id(request_id, "deletion request")
        status = validate.choice(self.json_body(), "status", ("done", "withdrawn"))
        self.write_json(await self.tx(lambda s: pr.close_deletion(s, rid, status, self.actor.name)))


def _public(data: dict[str, Any]) -> dict[str, Any]:
    """What the verification page shows, to anyone who has the id."""
    keys = ("id", "holder_name", "course", "course_title", "issued_at", "valid", "revoked_at")
    return {k: data[k] for k in keys} | {"verify_path": data["verify_path"]}


class CertificateHandler(CampusHandler):
    @needs_permission("certificates:read")
    async def get(self, uid: str) -> None:
        """A certificate's public facts: holder, course, date, and whether it is valid."""
        uid = _uid(uid)
        data = await self.read(lambda s: cert.with_slugs(s, [cert.get(s, uid)])[0])
        self.write_json(_public(data))


class CertificateRevokeHandler(CampusHandler):
    @needs_permission("certificates:revoke")
    @body_schema(S.obj(["reason"], reason=S.text(cert.MAX_REASON, multiline=True)))
    async def post(self, uid: str) -> None:
        """Revoke a certificate: {"reason"}; its verification page then says so."""
        uid = _uid(uid)
        body = self.json_body()
        reason = validate.string(body, "reason", max_length=cert.MAX_REASON, multiline=True)

        def work(s: Session) -> dict[str, Any]:
            row = cert.get(s, uid)
            self.check_course(s, row.course_id)
            cert.revoke(s, row, self.actor.name, reason)
            return cert.with_slugs(s, [row])[0]

        self.write_json(await self.tx(work))


class CourseCertificatesHandler(CampusHandler):
    @needs_permission("certificates:revoke")
    async def get(self, course: str) -> None:
        """The certificates of a course, for its instructors and staff."""

        def work(s: Session) -> dict[str, Any]:
            row = course_by_slug(s, course, published_only=False)
            self.check_course(s, row.id)
            certs = s.scalars(
                sa.select(Certificate)
                .where(Certificate.course_id == row.id)
                .order_by(Certificate.issued_at)
            )
            return {"course": row.slug, "certificates": cert.with_slugs(s, list(certs))}

        self.write_json(await self.read(work))


def _uid(raw: str) -> str:
    if not re.fullmatch(cert.UID_RE, raw):
        raise APIError(404, "no certificate with this id")
    return raw


default_handlers = [
    (r"api/v1/users/([^/]+)/profile", ProfileHandler),
    (r"api/v1/users/([^/]+)/export", ExportHandler),
    (r"api/v1/me/deletion-request", DeletionRequestHandler),
    (r"api/v1/deletion-requests", DeletionListHandler),
    (r"api/v1/deletion-requests/([^/]+)", DeletionCloseHandler),
    (r"api/v1/certificates/([^/]+)", CertificateHandler),
    (r"api/v1/certificates/([^/]+)/revoke", CertificateRevokeHandler),
    (r"api/v1/courses/([^/]+)/certificates", CourseCertificatesHandler),
]
