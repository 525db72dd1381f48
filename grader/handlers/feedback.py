"""A graded submission's feedback (nbgrader's HTML, hidden tests removed) for its student."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from nbcampus.web import APIError

from ..feedback import FEEDBACK_CSP, FeedbackMissing, kept_grading, render_feedback
from ..orm import GRADED, Submission
from ..rubric import line_comments
from ..rubricfeedback import ticked_items
from ..visibility import HIDDEN_MESSAGE, notebook_scores_hidden
from ..worker import course_root
from .submissions import SubmissionHandler


class FeedbackHandler(SubmissionHandler):
    """GET .../submissions/<id>/feedback: HTML (a browser tab) or, with ?format=json, JSON
    `{"id", "notebooks": [{"name", "html"}]}`. Its student and the course's teachers only."""

    def prepare(self) -> None:
        # A browser tab opened from the Lab has no grader cookie yet: log in through the Hub.
        if self.current_user is None and self._wants_html() and self.request.method == "GET":
            self.redirect(self.get_login_url())
            return
        super().prepare()

    def _wants_html(self) -> bool:
        return self.get_query_argument("format", "html") != "json"

    async def get(self, uid: str) -> None:
        sub = await self._load(uid)
        if sub.status != GRADED:
            raise APIError(409, "the submission is not graded yet", code="NOT_GRADED")
        if sub.student == self.actor.name and await notebook_scores_hidden(
            self.app, sub.course, sub.assignment, sub.student
        ):
            raise APIError(403, HIDDEN_MESSAGE, code="SCORES_HIDDEN")
        root = course_root(self.app.data_dir, sub.course)
        kept_info = await self.blocking(lambda: kept_grading(root, sub.student, sub.assignment))
        kept = kept_info.get("id")
        if kept is None:
            raise APIError(404, "there is no feedback for this submission", code="NO_FEEDBACK")
        if kept != sub.uid:
            # The gradebook holds one grading per student and assignment: the latest one.
            raise APIError(
                409,
                "feedback is kept for the latest graded submission only",
                code="SUPERSEDED",
                latest=kept,
            )
        names = list((sub.result or {}).get("notebooks") or [])
        # Missing or unreadable notebooks have no graded copy: their score is in the result.
        graded = [str(n) for n in kept_info.get("notebooks") or []]
        wanted = self.get_query_argument("notebook", None)
        if wanted is not None:
            if wanted not in graded:
                raise APIError(404, f"no graded notebook {wanted!r} in this submission")
            graded = [wanted]
        # The grader's late penalty is not in the gradebook; one notebook can show it.
        penalty = float(sub.late_penalty or 0.0) if len(names) == 1 else 0.0

        def render(name: str) -> str:
            with self.app.db() as s:  # the teachers' comments on lines of the answers
                notes = line_comments(s, sub.course, sub.assignment, sub.student)
                # ... and the rubric items they ticked on manually graded cells
                ticked = ticked_items(s, sub.course, sub.assignment, name, sub.student)
            mine = {
                cell: [(n.line, n.text) for n in rows]
                for (nb, cell), rows in notes.items()
                if nb == name
            }
            try:
                return render_feedback(
                    root,
                    sub.course,
                    sub.assignment,
                    sub.student,
                    name,
                    late_penalty=penalty,
                    line_notes=mine,
                    rubric=ticked,
                )
            except FeedbackMissing as err:
                raise APIError(404, str(err), code="NO_FEEDBACK") from None

        if not self._wants_html():
            pages = [
                {"name": n, "html": await self.blocking(lambda n=n: render(n))} for n in graded
            ]
            self.write_json({"id": sub.uid, "notebooks": pages})
            return
        if len(graded) == 1:
            self._html(await self.blocking(lambda: render(graded[0])))
        else:
            self._html(_index(sub, graded))

    def _html(self, html: str) -> None:
        self.set_header("Content-Security-Policy", FEEDBACK_CSP)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(html)


def _index(sub: Submission, names: list[str]) -> str:
    """A page of links when a submission has several notebooks."""
    items = "".join(
        f'<li><a href="?notebook={quote(n, safe="")}">{escape(n)}</a></li>' for n in names
    )
    title = escape(f"Feedback: {sub.assignment}")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><h1>{title}</h1><ul>{items}</ul></body></html>"
    )


default_handlers: list[Any] = [
    (r"api/v1/submissions/([^/]+)/feedback", FeedbackHandler),
]
