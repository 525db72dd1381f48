"""The similarity report of an assignment: pairs of students whose answers are alike.

GET api/v1/courses/<course>/assignments/<assignment>/similarity   the pairs as JSON
/services/grader/courses/<course>/similarity/<assignment>          the report page
/services/grader/courses/<course>/similarity/<assignment>/<a>/<b>  one pair side by side

Each student's newest submission is compared with the release's template left out (see
grader/similarity.py for how and why). Only the course's teachers (instructors and TAs of a
class of it, staff, admins) see it, and a teacher sees only their own classes' students.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import sqlalchemy as sa

from nbcampus.web import APIError

from .. import similarity as sim
from ..courses import ensure_generated
from ..orm import Submission
from ..worker import course_root
from .base import GraderHandler, slug
from .grading import GradingPage

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    students: dict[str, dict[sim.Key, sim.Answer]]
    submitted_at: dict[str, Any]


def _threshold(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise APIError(400, "threshold must be a number from 0 to 1", field="threshold")
    return value


class SimilarityMixin:
    """Loading the answers of the students the caller may see (GraderHandler methods)."""

    async def load(self: Any, course: str, assignment: str, only: set[str] | None = None) -> Loaded:
        await self.require_teacher(course)
        taught = await self.taught_students(course)
        me = self.actor.name
        root: Path = course_root(self.app.data_dir, course)
        blobs = self.app.queue.blobs

        def work() -> Loaded:
            with self.app.db() as s:
                subs = list(
                    s.scalars(
                        sa.select(Submission)
                        .where(Submission.course == course, Submission.assignment == assignment)
                        .order_by(Submission.submitted_at, Submission.id)
                    )
                )
                s.expunge_all()
            newest = {x.student: x for x in subs}  # the last one per student wins
            if not newest:
                return Loaded({}, {})
            ensure_generated(root, course, assignment)  # the release is the template
            releases = {}
            for path in sorted((root / "release" / assignment).glob("*.ipynb")):
                try:
                    releases[path.stem] = nbformat.read(path, as_version=4)
                except Exception as err:  # no template: the whole cell is compared
                    log.warning("similarity: release %s unreadable: %s", path, err)
            students, times = {}, {}
            for name, sub in newest.items():
                if name == me or (taught is not None and name not in taught):
                    continue
                if only is not None and name not in only:
                    continue
                files = {n: blobs.get(h) for n, h in sub.files.items() if n.endswith(".ipynb")}
                students[name] = sim.notebook_answers(files, releases)
                times[name] = sub.submitted_at
            return Loaded(students, times)

        return await self.blocking(work)


class SimilarityAPIHandler(SimilarityMixin, GraderHandler):
    async def get(self, course: str, assignment: str) -> None:
        """Pairs of students whose newest submissions' answer cells score at least
        `threshold` (0 to 1, default 0.7), the most similar first, with per-cell scores.
        Teachers of the course; a teacher sees their own classes' students only."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        raw = self.get_query_argument("threshold", str(sim.DEFAULT_THRESHOLD))
        threshold = _threshold(raw)
        loaded = await self.load(course, assignment)
        pairs = await self.blocking(lambda: sim.report(loaded.students, threshold))
        self.write_json(
            {
                "course": course,
                "assignment": assignment,
                "threshold": threshold,
                "students": len(loaded.students),
                "pairs": [p.as_json() for p in pairs],
            }
        )


class SimilarityPage(SimilarityMixin, GradingPage):
    async def get(self, course: str, assignment: str) -> None:
        """The report: pairs above the threshold, each linking to the side-by-side view."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        raw = self.get_query_argument("threshold", str(sim.DEFAULT_THRESHOLD))
        error = ""
        try:
            threshold = _threshold(raw)
        except APIError as err:  # shown beside the field, the default used meanwhile
            error, threshold = err.message, sim.DEFAULT_THRESHOLD
        loaded = await self.load(course, assignment)
        pairs = await self.blocking(lambda: sim.report(loaded.students, threshold))
        self.render(
            "grading/similarity.html",
            course=course,
            assignment=assignment,
            threshold=threshold,
            raw=raw,
            error=error,
            count=len(loaded.students),
            pairs=pairs,
            min_tokens=sim.MIN_TOKENS,
        )


class SimilarityPairPage(SimilarityMixin, GradingPage):
    async def get(self, course: str, assignment: str, a: str, b: str) -> None:
        """Two students' answers side by side, cell by cell, template lines greyed and the
        lines holding matched runs marked."""
        course, assignment = slug(course, "course"), slug(assignment, "assignment")
        if a == b:
            raise APIError(400, "a pair needs two different students")
        for student in (a, b):
            await self.require_grader_of(course, student)
        loaded = await self.load(course, assignment, {a, b})
        for student in (a, b):
            if student not in loaded.students:
                raise APIError(404, f"{student} has no submission of {assignment}")
        score, cells = await self.blocking(
            lambda: sim.compare(loaded.students[a], loaded.students[b])
        )
        rows = []
        for cell in cells:
            key = (cell.notebook, cell.cell)
            rows.append(
                (
                    cell,
                    loaded.students[a].get(key),
                    loaded.students[b].get(key),
                )
            )
        self.render(
            "grading/similarity_pair.html",
            course=course,
            assignment=assignment,
            a=a,
            b=b,
            score=score,
            rows=rows,
            submitted_at=loaded.submitted_at,
            min_run=sim.MIN_RUN,
        )


default_handlers: list[Any] = [
    (r"api/v1/courses/([^/]+)/assignments/([^/]+)/similarity", SimilarityAPIHandler),
    (r"courses/([^/]+)/similarity/([^/]+)/?", SimilarityPage),
    (r"courses/([^/]+)/similarity/([^/]+)/([^/]+)/([^/]+)/?", SimilarityPairPage),
]
