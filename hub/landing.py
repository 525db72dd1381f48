"""The front door: the landing page at `/` (the Hub's root) for visitors, the public catalog
with search and filters at `/hub/catalog`, and a page per published course.

Hub pages (they extend the Hub's page.html), reading the campus database directly through
`nbcampus.hub.campus.catalog`, the same code the campus API's public catalog answers with. A
signed-in person who opens `/` goes to their JupyterLab as in a stock Hub, unless
`c.CampusSite.signed_in_to_lab = False`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from jupyterhub.handlers import BaseHandler
from jupyterhub.handlers.pages import RootHandler
from sqlalchemy.orm import Session
from tornado import web

from nbcampus.hub.campus import catalog, school
from nbcampus.hub.site import CampusSite
from nbcampus.web import APIError

T = TypeVar("T")
LEVEL_NAMES = {"beginner": "Beginner", "intermediate": "Intermediate", "advanced": "Advanced"}
TYPE_NAMES = {
    "video": "Video",
    "quiz": "Quiz",
    "material": "Reading",
    "assignment": "Assignment",
    "coding": "Coding exercise",
}


def site_of(handler: BaseHandler) -> CampusSite:
    """The one CampusSite of this Hub, configured from the Hub's own config."""
    site = handler.settings.get("nbcampus_site")
    if site is None:
        site = handler.settings["nbcampus_site"] = CampusSite(config=handler.config)
    return site


def minutes_text(minutes: int | None) -> str:
    if not minutes:
        return ""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


class FrontDoorPage(BaseHandler):
    """A public Hub page of the school: renders with the school's name and colour."""

    @property
    def site(self) -> CampusSite:
        return site_of(self)

    async def read(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.site.db() as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def identity(self) -> dict[str, str]:
        """The school's name and logo: an admin's change on the settings page (stored in the
        campus database, no restart) over the configured c.CampusSite / logo file."""
        stored = await self.read(school.read)
        default_name = school.FIELDS["name"].default
        name = stored["name"] if stored["name"] != default_name else self.site.school_name
        logo = stored["logo_url"] or f"{self.hub.base_url}logo"
        return {"school_name": name, "logo_src": logo}

    async def render_page(self, template: str, **ns: Any) -> None:
        html = await self.render_template(
            template,
            site=self.site,
            **await self.identity(),
            level_names=LEVEL_NAMES,
            type_names=TYPE_NAMES,
            minutes_text=minutes_text,
            allow_signup=bool(getattr(self.authenticator, "allow_signup", False)),
            **ns,
        )
        self.finish(html)

    async def show_catalog(self, *, landing: bool) -> None:
        args = {name: self.get_argument(name, None) for name in ("q", "category", "level")}
        args["language"] = self.get_argument("language", None)
        error, field = "", ""
        try:
            query = catalog.parse_query(args.get)
        except APIError as err:
            # Shown beside the field it is about; the visitor's input stays in the form.
            self.set_status(400)
            error, field = err.message, err.details.get("field", "q")
            query = catalog.CatalogQuery()
        result = await self.read(lambda s: catalog.search(s, query))
        searched = any(args.values())
        await self.render_page(
            "nbcampus-landing.html",
            landing=landing and not searched,
            result=result,
            form={k: (v or "")[:200] for k, v in args.items()},
            searched=searched,
            error=error,
            error_field=field,
        )


class LandingHandler(RootHandler, FrontDoorPage):
    """`/hub/` (and `/`, which the Hub redirects here): the landing page for visitors."""

    async def get(self) -> None:
        user = self.current_user
        if (user is not None and self.site.signed_in_to_lab) or self.get_argument("next", ""):
            return super().get()  # the Hub's own: to the Lab (or where `next` says)
        await self.show_catalog(landing=True)


class CatalogPage(FrontDoorPage):
    async def get(self) -> None:
        await self.show_catalog(landing=False)


class CoursePage(FrontDoorPage):
    async def get(self, slug: str) -> None:
        course = await self.read(lambda s: catalog.course_page(s, slug))
        if course is None:
            raise web.HTTPError(404, "No such course in the catalog")
        await self.render_page("nbcampus-course.html", course=course)


def landing_handlers() -> list[tuple[str, type]]:
    return [
        (r"/", LandingHandler),
        (r"/catalog", CatalogPage),
        (r"/catalog/([a-z0-9][a-z0-9_-]{0,99})", CoursePage),
    ]
