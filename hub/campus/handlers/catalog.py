"""The public catalog (no sign-in): published courses with search and filters, and one
course's public page. Read-only; drafts and archived courses are never shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from nbcampus.hub.campus import catalog
from nbcampus.web import APIError

from .base import CampusHandler

F = TypeVar("F", bound=Callable[..., Any])


def public(method: F) -> F:
    """Mark a handler method as open to anyone (the OpenAPI document says: no token)."""
    method.__nbcampus_public__ = True  # type: ignore[attr-defined]
    return method


class PublicHandler(CampusHandler):
    """Answers anonymous visitors too (the catalog is the school's shop window)."""

    def prepare(self) -> None:
        pass


class CatalogHandler(PublicHandler):
    @public
    async def get(self) -> None:
        """Search the public catalog of published courses.

        Free text `q` over title and description; exact `category`, `level`, `language`;
        by title, with the total and the values each filter offers. No token needed."""
        args = {
            "q": self.get_argument("q", None),
            "category": self.get_argument("category", None),
            "level": self.get_argument("level", None),
            "language": self.get_argument("language", None),
            "limit": self.get_argument("limit", None),
            "offset": self.get_argument("offset", None),
        }
        query = catalog.parse_query(args.get)

        def work(s: Session) -> dict[str, Any]:
            return catalog.search(s, query)

        self.write_json(await self.read(work))


class CatalogCourseHandler(PublicHandler):
    @public
    async def get(self, slug: str) -> None:
        """A published course's public page.

        Outline with lesson types and durations, instructors, classes open for enrollment.
        No token needed; a draft or archived course answers 404."""
        page = await self.read(lambda s: catalog.course_page(s, slug))
        if page is None:
            raise APIError(404, f"no published course {slug!r}")
        self.write_json(page)


default_handlers = [
    (r"api/v1/catalog", CatalogHandler),
    (r"api/v1/catalog/([a-z0-9][a-z0-9_-]{0,99})", CatalogCourseHandler),
]
