"""Certificate pages of the Hub: the public verification page `/hub/certificates/<id>` (no
sign-in: anyone holding the id or the PDF confirms it, or learns it was revoked), the PDF
`/hub/certificates/<id>.pdf` (its holder, the course's instructors, staff), and revocation
with a reason by the course's instructors or staff (a form on the verification page).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.orm import Session
from tornado import web

from nbcampus.hub.campus import certificates as cert
from nbcampus.hub.campus import school
from nbcampus.hub.landing import site_of
from nbcampus.settings import Settings
from nbcampus.web import APIError

from .profile_page import CampusPage

UID = cert.UID_RE


def verify_url(uid: str) -> str:
    """The public address of a certificate's verification page (the campus's bind URL)."""
    return Settings.from_env().bind_url + cert.verify_path(uid)


class SchoolNamed(CampusPage):
    async def school_name(self) -> str:
        """As the landing page shows it: the admin's setting (campus database) over the
        configured c.CampusSite.school_name."""
        stored = await self.read(school.read)
        if stored["name"] != school.FIELDS["name"].default:
            return stored["name"]
        return site_of(self).school_name


class CertificatePage(SchoolNamed):
    async def show(self, uid: str, *, message: str = "", error: str = "", reason: str = "") -> None:
        user = self.current_user
        role = await self.campus_role()

        def work(s: Session) -> dict[str, Any] | None:
            try:
                row = cert.get(s, uid)
            except APIError:
                return None
            data = cert.with_slugs(s, [row])[0]
            data["may_revoke"] = user is not None and cert.may_manage(
                s, user.name, role, row.course_id
            )
            data["may_download"] = user is not None and cert.may_see(s, user.name, role, row)
            return data

        data = await self.read(work)
        if data is None:
            self.set_status(404)
        html = await self.render_template(
            "nbcampus-certificate.html",
            certificate=data,
            verify_url=verify_url(uid),
            school=await self.school_name(),
            message=message,
            error=error,
            reason=reason,
            xsrf=self.xsrf_token.decode("ascii"),
        )
        self.finish(html)

    async def get(self, uid: str) -> None:
        await self.show(uid)


class RevokePage(CertificatePage):
    @web.authenticated
    async def post(self, uid: str) -> None:
        reason = self.get_body_argument("reason", default="")
        name = self.current_user.name
        role = await self.campus_role()

        def work(s: Session) -> None:
            row = cert.get(s, uid)
            if not cert.may_manage(s, name, role, row.course_id):
                raise APIError(403, "only the course's instructors and staff may revoke it")
            cert.revoke(s, row, name, reason)

        try:
            await self.tx(work)
        except APIError as err:
            self.set_status(err.status_code)
            await self.show(uid, error=err.message, reason=reason[: cert.MAX_REASON])
            return
        await self.show(uid, message="The certificate is revoked.")


class CertificatePdf(SchoolNamed):
    @web.authenticated
    async def get(self, uid: str) -> None:
        name = self.current_user.name
        role = await self.campus_role()

        def work(s: Session) -> Any:
            row = cert.get(s, uid)
            if not cert.may_see(s, name, role, row):
                raise APIError(403, "this certificate is not yours")
            return row.holder_name, row.course_title, row.issued_at

        try:
            holder, title, issued = await self.read(work)
        except APIError as err:
            raise web.HTTPError(err.status_code, err.message) from None
        pdf = await asyncio.to_thread(
            cert.render_pdf, holder, title, issued, uid, verify_url(uid), await self.school_name()
        )
        self.set_header("Content-Type", "application/pdf")
        self.set_header("Content-Disposition", f'attachment; filename="certificate-{uid}.pdf"')
        self.finish(pdf)


def page_handlers() -> list[tuple[str, type]]:
    return [
        (rf"/certificates/({UID})", CertificatePage),
        (rf"/certificates/({UID})\.pdf", CertificatePdf),
        (rf"/certificates/({UID})/revoke", RevokePage),
    ]
