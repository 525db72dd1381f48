"""Course totals out of 100 (hub/campus/scores.py): a student's own, a teacher's students'."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.hub.campus import scores, teaching
from nbcampus.hub.campus.courses import course_by_slug
from nbcampus.hub.campus.orm import CampusClass, Enrollment
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.web import APIError

from .base import CampusHandler


class CourseScoresHandler(CampusHandler):
    @needs_permission("progress:read")
    async def get(self, course: str) -> None:
        """Each student's course total out of 100 with the score of every section, and the
        weights. A student gets their own (scores not yet released left out); a teacher their
        classes' students; staff and admins every enrolled student. ?user= picks one."""
        if len(course) > 100:
            raise APIError(404, "no such course")
        actor = self.actor
        only = self.get_query_argument("user", None)
        if only is not None and not 1 <= len(only) <= 64:
            raise APIError(400, "'user' must be a user name", field="user")

        def work(s: Session) -> dict[str, Any]:
            row = course_by_slug(s, course, published_only=False)
            overseer = self.is_overseer()
            teacher = overseer or teaching.teaches_course(s, row.id, actor.name)
            self.object_checked = True
            if not teacher:
                if row.status != "published":
                    raise APIError(404, f"no course {course!r}")
                if only not in (None, actor.name):
                    raise APIError(403, f"you may not see {only}'s records")
                users, own = [actor.name], True
            else:
                query = (
                    sa.select(Enrollment.student)
                    .join(CampusClass, CampusClass.id == Enrollment.class_id)
                    .where(CampusClass.course_id == row.id, Enrollment.status != "withdrawn")
                    .distinct()
                )
                if not overseer:  # a teacher sees the students of the classes they teach
                    query = query.where(CampusClass.id.in_(teaching.taught_class_ids(actor.name)))
                users = sorted(s.scalars(query))
                if only is not None:
                    if only != actor.name and only not in users:
                        raise APIError(403, f"you may not see {only}'s records")
                    users = [only]
                own = users == [actor.name]
            totals = scores.course_totals(s, row, users, own_view=own)
            return {
                "course": row.slug,
                "out_of": 100,
                "weights": scores.weights_dict(scores.course_weights(s, row)),
                "students": [{"user": u, **totals[u]} for u in users],
            }

        self.write_json(await self.read(work))


default_handlers = [
    (r"api/v1/courses/([^/]+)/scores", CourseScoresHandler),
]
