"""The grading view's score-visibility control: a course's instructors release an exercise's
scores to its students (or hide them again), from the course page.

POST /services/grader/courses/<course>/grading/score-release  (form: lesson, exercise,
released=1|0, _xsrf) — the grader checks the caller teaches the course (the campus's
records), relays the release to the campus with its own token on the caller's behalf
(hub/campus/visibility.py decides and records it) and goes back to the course page.
"""

from __future__ import annotations

from typing import Any

from nbcampus.web import APIError

from ..campus import CampusError, CampusNotFound
from .base import INSTRUCTING, slug
from .grading import GradingPage


async def course_visibility(app: Any, course: str) -> list[dict[str, Any]] | None:
    """The course's graded exercises with their score visibility, for the course page; None
    when the campus cannot say."""
    try:
        return (await app.campus.score_visibility(course)).get("exercises", [])
    except Exception:
        return None


class ScoreReleasePage(GradingPage):
    async def post(self, course: str) -> None:
        """Release (released=1) or hide again (released=0) one exercise's scores."""
        course = slug(course, "course")
        await self.require_teacher(course, INSTRUCTING)
        lesson = slug(self.get_body_argument("lesson", ""), "lesson")
        exercise = slug(self.get_body_argument("exercise", ""), "exercise")
        released = self.get_body_argument("released", "") == "1"
        try:
            await self.app.campus.release_scores(
                course, lesson, exercise, released, self.actor.name
            )
        except CampusNotFound:
            raise APIError(404, f"no graded exercise {lesson}/{exercise} in {course}") from None
        except CampusError as err:
            raise APIError(503, f"the campus could not record it: {err}") from None
        self.redirect(self.page_url(course, "grading") + "#score-visibility", status=303)


default_handlers: list[Any] = [
    (r"courses/([^/]+)/grading/score-release", ScoreReleasePage),
]
