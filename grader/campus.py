"""The grader's client of the campus service and of the Hub (with the grader's own token).

The campus is reached at NBCAMPUS_CAMPUS_URL or through the Hub's proxy.

- release follows the campus unlock: `GET .../access/{course}/{lesson}?user=NAME`;
- results go to the campus: `POST .../grading-results`, one per exercise (notebook);
- who teaches a course, who studies in it: `GET .../course-roles/{course}?user=NAME` (the
  campus's class staff and enrollments; never Hub groups).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .hooks import GradedResult


class CampusError(RuntimeError):
    """The campus or the Hub could not answer."""


class CampusNotFound(CampusError):
    """The campus answered 404: no such course (or lesson)."""


class CampusClient:
    def __init__(self, hub_api_url: str = "", token: str = "", campus_url: str = "") -> None:
        self.hub_api = (hub_api_url or os.environ.get("JUPYTERHUB_API_URL", "")).rstrip("/")
        self.token = token or os.environ.get("JUPYTERHUB_API_TOKEN", "")
        self._campus = campus_url or os.environ.get("NBCAMPUS_CAMPUS_URL", "")

    async def _call(self, method: str, url: str, body: Any = None) -> Any:
        req = HTTPRequest(
            url,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
            body=None if body is None else json.dumps(body),
            request_timeout=20,
        )
        try:
            resp = await AsyncHTTPClient().fetch(req)
        except HTTPClientError as err:
            if err.code == 404:
                raise CampusNotFound(f"{method} {url}: 404") from None
            raise CampusError(f"{method} {url}: {err.code}") from None
        except OSError as err:
            raise CampusError(f"{method} {url}: {err}") from None
        return json.loads(resp.body or b"null")

    async def campus_base(self) -> str:
        if not self._campus:
            # Through the Hub's proxy at the campus's public address (NBCAMPUS_BIND_URL).
            from nbcampus.settings import Settings

            self._campus = Settings.from_env().bind_url + "services/campus/"
        return self._campus.rstrip("/") + "/"

    async def access(self, course: str, lesson: str, user: str) -> dict[str, Any]:
        base = await self.campus_base()
        url = f"{base}api/v1/access/{quote(course)}/{quote(lesson)}?user={quote(user)}"
        return await self._call("GET", url)

    async def post_result(self, result: GradedResult) -> list[Any]:
        base = await self.campus_base()
        out = []
        for nb in result.notebooks:
            out.append(
                await self._call(
                    "POST",
                    f"{base}api/v1/grading-results",
                    {
                        "submission_id": result.submission_id,
                        "user": result.user,
                        "course": result.course,
                        "lesson": result.assignment,
                        "exercise": nb["name"],
                        "score": nb["score"],
                        "max_score": nb["max_score"],
                        "graded_at": result.graded_at,
                    },
                )
            )
        return out

    async def course_outline(self, course: str) -> dict[str, Any]:
        """The course's sections, lessons and exercises (what an instructor's release of an
        assignment is checked against)."""
        base = await self.campus_base()
        return await self._call("GET", f"{base}api/v1/courses/{quote(course, safe='')}")

    async def course_scores(self, course: str) -> dict[str, Any]:
        """Every enrolled student's course total out of 100 (the manifest's weights)."""
        base = await self.campus_base()
        return await self._call("GET", f"{base}api/v1/courses/{quote(course, safe='')}/scores")

    async def course_roles(self, course: str, user: str) -> dict[str, Any]:
        """The user's school role, class roles in the course, the students they teach in it,
        and whether they study in it: the only source of the grader's permissions."""
        base = await self.campus_base()
        url = f"{base}api/v1/course-roles/{quote(course, safe='')}?user={quote(user, safe='')}"
        return await self._call("GET", url)

    async def score_visibility(self, course: str) -> dict[str, Any]:
        """When the course's students see each graded exercise's score (the campus's
        visibility.py): {"exercises": [{lesson, exercise, scores, visible, ...}]}."""
        base = await self.campus_base()
        url = f"{base}api/v1/courses/{quote(course, safe='')}/score-visibility"
        return await self._call("GET", url)

    async def release_scores(
        self, course: str, lesson: str, exercise: str, released: bool, by: str
    ) -> dict[str, Any]:
        """Show (or hide again) an exercise's scores, for the instructor `by` whose teaching
        of the course the grader checked."""
        base = await self.campus_base()
        url = f"{base}api/v1/courses/{quote(course, safe='')}/score-visibility"
        body = {"lesson": lesson, "exercise": exercise, "released": released, "on_behalf_of": by}
        return await self._call("PUT", url, body)
