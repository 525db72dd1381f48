"""The profile page, `/hub/profile`: a signed-in person's name, email, badges (earned and
still to earn), XP history, completed courses and certificates; the leaderboard opt-out and the
daily email digest (hub/digest_mail.py) as switches; "download my data" (JSON) and a deletion
request. Staff and admins also find the pending deletion requests there.

A plain Hub page (the Hub's cookie and XSRF token) that reads the campus database through the
same domain functions as the campus API (`GET /services/campus/api/v1/users/<me>/profile`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

from jupyterhub.handlers import BaseHandler
from sqlalchemy.orm import Session, sessionmaker
from tornado import web

from nbcampus.db import transaction
from nbcampus.hub.campus import digest as dg
from nbcampus.hub.campus import profile as pr
from nbcampus.hub.campus.orm import Account
from nbcampus.web import APIError, attachment

T = TypeVar("T")
OFFICE = ("staff", "admin")


class CampusPage(BaseHandler):
    """A Hub page over the campus database."""

    @property
    def campus(self) -> sessionmaker[Session]:
        return self.authenticator.accounts.factory

    async def read(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.campus() as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def tx(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with transaction(self.campus) as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def campus_role(self) -> str:
        """The viewer's school-wide role, from the campus's own records (Hub admins: admin)."""
        user = self.current_user
        if user is None:
            return ""
        if user.admin:
            return "admin"

        def work(s: Session) -> str:
            account = s.query(Account).filter_by(name=user.name).one_or_none()
            return account.role if account is not None and account.active else "student"

        return await self.read(work)


class ProfilePage(CampusPage):
    async def show(
        self, message: str = "", error: str = "", reason: str = "", alert: str = ""
    ) -> None:
        """`error` goes beside the deletion request's field, `alert` above the page."""
        name = self.current_user.name
        role = await self.campus_role()

        def work(s: Session) -> dict[str, Any]:
            data = pr.profile(s, name)
            data["office_requests"] = pr.deletion_requests(s) if role in OFFICE else None
            data["daily_digest"] = dg.preference(s, name)
            return data

        profile = await self.read(work)

        html = await self.render_template(
            "nbcampus-profile.html",
            profile=profile,
            daily_digest=profile.pop("daily_digest"),
            role=role,
            message=message,
            error=error,
            reason=reason,
            alert=alert,
            xsrf=self.xsrf_token.decode("ascii"),
        )
        self.finish(html)

    @web.authenticated
    async def get(self) -> None:
        await self.show()


class LeaderboardSwitch(ProfilePage):
    @web.authenticated
    async def post(self) -> None:
        # A checkbox sends its value only when checked.
        opt_out = self.get_body_argument("leaderboard_opt_out", default="") == "on"
        name = self.current_user.name

        await self.tx(lambda s: pr.set_leaderboard_opt_out(s, name, opt_out))
        await self.show(
            message="You are hidden from leaderboards."
            if opt_out
            else "You are shown on leaderboards."
        )


class DigestSwitch(ProfilePage):
    @web.authenticated
    async def post(self) -> None:
        enabled = self.get_body_argument("daily_digest", default="") == "on"
        name = self.current_user.name

        await self.tx(lambda s: dg.set_preference(s, name, enabled))
        await self.show(
            message="You will get a daily email digest."
            if enabled
            else "You will get no daily email digest."
        )


class DeletionRequestPage(ProfilePage):
    @web.authenticated
    async def post(self) -> None:
        reason = self.get_body_argument("reason", default="")
        name = self.current_user.name
        try:
            created, _ = await self.tx(lambda s: pr.request_deletion(s, name, reason))
        except APIError as err:
            self.set_status(400)
            await self.show(error=err.message, reason=reason[: pr.MAX_REASON])
            return
        await self.show(
            message="Your deletion request was sent to the school's staff."
            if created
            else "Your deletion request is already with the school's staff."
        )


class DeletionClosePage(ProfilePage):
    """Staff mark a pending deletion request done, from the list on their profile page."""

    @web.authenticated
    async def post(self, request_id: str) -> None:
        if await self.campus_role() not in OFFICE:
            raise web.HTTPError(403, "only staff and admins handle deletion requests")
        name = self.current_user.name
        try:
            closed = await self.tx(lambda s: pr.close_deletion(s, int(request_id), "done", name))
        except APIError as err:
            self.set_status(err.status_code)
            await self.show(alert=err.message)
            return
        await self.show(message=f"The deletion request of {closed['user']} is marked done.")


class ExportDownload(CampusPage):
    @web.authenticated
    async def get(self) -> None:
        name = self.current_user.name
        data = await self.read(lambda s: pr.export(s, name))
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Content-Disposition", attachment(f"{name}-data.json"))
        self.finish(json.dumps(data, indent=2, ensure_ascii=False))


def page_handlers() -> list[tuple[str, type]]:
    return [
        (r"/profile", ProfilePage),
        (r"/profile/leaderboard", LeaderboardSwitch),
        (r"/profile/digest", DigestSwitch),
        (r"/profile/deletion", DeletionRequestPage),
        (r"/profile/export", ExportDownload),
        (r"/profile/deletion-requests/([0-9]{1,10})/done", DeletionClosePage),
    ]
