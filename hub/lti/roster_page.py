"""The "Sync roster" page: `/hub/lti/courses` lists the LMS courses a person may sync (staff
and admins: every course with a roster service; instructors: the LMS courses they teach),
each with a "Sync roster" button that runs the same sync as
`POST /hub/lti/contexts/<id>/roster` and shows what changed. A plain Hub page (the Hub's
cookie and XSRF token), so it works for staff, who have no JupyterLab of their own to use.
"""

from __future__ import annotations

from typing import Any

from tornado import web

from . import validators as v
from .handlers import RosterHandler


class LmsCoursesPage(RosterHandler):
    _accept_token_auth = False  # a page for people in a browser

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        err = getattr(exc, "lti_error", None)
        message = err.message if isinstance(err, v.LtiValidationError) else "the request failed"
        self.set_status(status_code)
        self.finish(f"<!DOCTYPE html><p role='alert'>{web.escape.xhtml_escape(message)}</p>")

    async def courses(self) -> list[dict[str, Any]]:
        user = self.current_user
        contexts = [c for c in await self.lti.run(self.lti.contexts) if c["roster_service"]]
        if await self.is_office(user):
            return contexts
        mine = []
        for c in contexts:
            members = await self.lti.run(self.lti.members, c["id"])
            if any(m["user"] == user.name and m["role"] == "instructor" for m in members):
                mine.append(c)
        return mine

    async def show(self, message: str = "", error: str = "") -> None:
        html = await self.render_template(
            "nbcampus-lti-courses.html",
            courses=await self.courses(),
            message=message,
            error=error,
            xsrf=self.xsrf_token.decode("ascii"),
        )
        self.finish(html)

    @web.authenticated
    async def get(self) -> None:
        await self.show()


class SyncRosterPage(LmsCoursesPage):
    @web.authenticated
    async def post(self, context_pk: str) -> None:
        await self.allowed(int(context_pk))
        import requests

        from .passback import PassbackError

        try:
            change = await self.lti.run(self.lti.roster.sync, int(context_pk))
        except (PassbackError, requests.RequestException) as err:
            self.set_status(409)
            return await self.show(error=f"Roster sync failed: {err}")
        await self.sync_class_group(change.class_id)
        await self.show(
            message=(
                f"Roster synced: {change.active} in the LMS course, {change.joined} new "
                f"account(s), {change.left} left, {change.enrolled} enrolled in the class"
            )
        )


def page_handlers() -> list[tuple[str, type]]:
    return [
        (r"/lti/courses", LmsCoursesPage),
        (r"/lti/courses/([0-9]{1,10})/sync", SyncRosterPage),
    ]
