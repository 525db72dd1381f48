"""The office pages: Hub pages (the Hub's own page.html, dark mode included) whose forms and
tables talk to the campus API through the relay (`relay.py`).

Staff and admins do everything; an instructor sees the classes they teach, read-only; anyone
else is refused (403) before any campus data is read.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.handlers import BaseHandler
from tornado import web

from nbcampus.hub.campus.attendance import CREDIT_REASONS, STATUSES
from nbcampus.hub.campus.classes import CLASS_STATUSES, CLASS_TYPES, TRANSITIONS
from nbcampus.hub.campus.payments import METHODS

from .access import office_role
from .relay import campus_fetch


class OfficePage(BaseHandler):
    _accept_token_auth = False

    async def office(self) -> str:
        role = await office_role(self, self.current_user)
        if role is None:
            raise web.HTTPError(
                403,
                "The office is for the school's staff, admins and instructors.",
                reason="Forbidden",
            )
        return role

    async def show(self, template: str, **ns: Any) -> None:
        role = await self.office()
        html = await self.render_template(
            template,
            office_role=role,
            read_only=role == "instructor",
            xsrf=self.xsrf_token.decode("ascii"),
            class_statuses=CLASS_STATUSES,
            class_types=CLASS_TYPES,
            transitions=TRANSITIONS,
            credit_reasons=CREDIT_REASONS,
            attendance_statuses=STATUSES,
            payment_methods=METHODS,
            **ns,
        )
        self.finish(html)


class OfficeHome(OfficePage):
    @web.authenticated
    async def get(self) -> None:
        await self.office()
        self.redirect(self.hub.base_url + "office/classes")


class ClassesPage(OfficePage):
    @web.authenticated
    async def get(self) -> None:
        await self.show("nbcampus-office-classes.html")


class ClassPage(OfficePage):
    @web.authenticated
    async def get(self, class_id: str) -> None:
        role = await self.office()
        if role == "instructor":
            # Read-only, and only a class they teach: the campus API decides, as for any call.
            resp = await campus_fetch(self, "GET", f"classes/{int(class_id)}/enrollments")
            if resp.code != 200:
                raise web.HTTPError(403, "You do not teach this class.", reason="Forbidden")
        await self.show("nbcampus-office-class.html", class_id=int(class_id))
