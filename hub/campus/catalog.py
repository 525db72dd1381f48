"""The public catalog: published courses as a visitor sees them, with search and filters, and
one course's public page (outline, instructors, classes open for enrollment).

Read by the Hub's landing pages (straight from the campus database) and by the campus API's
public `catalog` endpoints, so both show the same thing. Only published courses exist here:
a draft or archived course is never listed, and its page is "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nbcampus.web import APIError, clean_text, parse_id

from .manifest import LEVELS
from .orm import Account, CampusClass, ClassStaff, Course, Exercise, Lesson, Section

MAX_QUERY = 100  # characters of free text; longer is refused by the callers
PAGE_SIZE = 50
MAX_WORDS = 8  # of the free text; more words narrow nothing a visitor needs


@dataclass(frozen=True)
class CatalogQuery:
    """A visitor's search: free text over title and description (every word must appear),
    and exact filters."""

    q: str = ""
    category: str = ""
    level: str = ""
    language: str = ""
    limit: int = PAGE_SIZE
    offset: int = 0


def parse_query(arg: Callable[[str], str | None]) -> CatalogQuery:
    """A CatalogQuery from query arguments (`arg(name)` gives one or None); an APIError (400,
    naming the field) on bad input, which the landing page shows beside the search box."""

    def text(name: str, max_length: int) -> str:
        value = arg(name) or ""
        if len(value) > max_length:
            raise APIError(400, f"'{name}' must have at most {max_length} characters", field=name)
        return clean_text(value, name).strip()

    level = text("level", 16)
    if level and level not in LEVELS:
        raise APIError(400, f"'level' must be one of {', '.join(LEVELS)}", field="level")
    limit = parse_id(arg("limit"), "limit", high=100) if arg("limit") else PAGE_SIZE
    if limit < 1:
        raise APIError(400, "'limit' must be at least 1", field="limit")
    return CatalogQuery(
        q=text("q", MAX_QUERY),
        category=text("category", 64),
        level=level,
        language=text("language", 16),
        limit=limit,
        offset=parse_id(arg("offset"), "offset", high=1_000_000) if arg("offset") else 0,
    )


def _like(text: str) -> str:
    """`text` as a LIKE pattern that matches it anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _published() -> sa.ColumnElement[bool]:
    return Course.status == "published"


def facets(session: Session) -> dict[str, list[str]]:
    """The values the filters offer: those of the published courses."""
    out: dict[str, list[str]] = {}
    for name, column in (
        ("categories", Course.category),
        ("levels", Course.level),
        ("languages", Course.language),
    ):
        values = session.scalars(
            sa.select(column).where(_published(), column != "").distinct()
        ).all()
        out[name] = sorted(values)
    # Levels in their natural order rather than alphabetically.
    out["levels"] = [lvl for lvl in LEVELS if lvl in out["levels"]]
    return out


def _open_classes(today: date) -> sa.Select[Any]:
    return sa.select(CampusClass).where(
        CampusClass.status == "enrollment_open",
        CampusClass.current_capacity < CampusClass.max_capacity,
        sa.or_(CampusClass.enrollment_deadline.is_(None), CampusClass.enrollment_deadline >= today),
    )


def search(session: Session, query: CatalogQuery, today: date | None = None) -> dict[str, Any]:
    """The published courses matching `query`, by title, with the total count and facets."""
    today = today or date.today()
    where = [_published()]
    # Every word of the free text must appear in the title or the description.
    for word in query.q.split()[:MAX_WORDS]:
        pattern = _like(word)
        where.append(
            sa.or_(
                sa.func.lower(Course.title).like(pattern, escape="\\"),
                sa.func.lower(Course.description).like(pattern, escape="\\"),
            )
        )
    for column, value in (
        (Course.category, query.category),
        (Course.level, query.level),
        (Course.language, query.language),
    ):
        if value:
            where.append(column == value)
    total = session.scalar(sa.select(sa.func.count(Course.id)).where(*where)) or 0
    courses = session.scalars(
        sa.select(Course)
        .where(*where)
        .order_by(Course.title, Course.id)
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    ids = [c.id for c in courses]
    # Per-course counts in two grouped queries, not one query per course.
    lesson_stats = {
        row.course_id: row
        for row in session.execute(
            sa.select(
                Lesson.course_id,
                sa.func.count(Lesson.id).label("lessons"),
                sa.func.sum(Lesson.duration_minutes).label("minutes"),
            )
            .where(Lesson.course_id.in_(ids), Lesson.retired.is_(False))
            .group_by(Lesson.course_id)
        )
    }
    open_subq = _open_classes(today).subquery()
    open_counts = dict(
        session.execute(
            sa.select(open_subq.c.course_id, sa.func.count())
            .where(open_subq.c.course_id.in_(ids))
            .group_by(open_subq.c.course_id)
        ).all()
    )
    items = []
    for c in courses:
        stats = lesson_stats.get(c.id)
        items.append(
            {
                **_summary(c),
                "lessons": stats.lessons if stats else 0,
                "duration_minutes": int(stats.minutes) if stats and stats.minutes else None,
                "open_classes": open_counts.get(c.id, 0),
            }
        )
    return {"courses": items, "total": total, "facets": facets(session)}


def _summary(course: Course) -> dict[str, Any]:
    return {
        "slug": course.slug,
        "title": course.title,
        "description": course.description,
        "category": course.category,
        "level": course.level,
        "language": course.language,
        "kernel": course.kernel,
    }


def course_page(session: Session, slug: str, today: date | None = None) -> dict[str, Any] | None:
    """A published course's public page, or None (unknown, draft or archived alike)."""
    today = today or date.today()
    course = session.scalar(sa.select(Course).where(Course.slug == slug, _published()))
    if course is None:
        return None
    sections = session.scalars(
        sa.select(Section).where(Section.course_id == course.id).order_by(Section.order_index)
    ).all()
    lessons = session.scalars(
        sa.select(Lesson)
        .where(Lesson.course_id == course.id, Lesson.retired.is_(False))
        .order_by(Lesson.order_index)
    ).all()
    types: dict[int, list[str]] = {}
    for lesson_id, kind in session.execute(
        sa.select(Exercise.lesson_id, Exercise.type)
        .where(Exercise.lesson_id.in_([x.id for x in lessons]), Exercise.retired.is_(False))
        .order_by(Exercise.lesson_id, Exercise.order_index)
    ):
        kinds = types.setdefault(lesson_id, [])
        if kind not in kinds:
            kinds.append(kind)
    outline = []
    for section in sections:
        mine = [x for x in lessons if x.section_id == section.id]
        if not mine:
            continue
        outline.append(
            {
                "title": section.title,
                "description": section.description,
                "lessons": [
                    {
                        "position": x.order_index,
                        "title": x.title,
                        "description": x.description,
                        "duration_minutes": x.duration_minutes,
                        "types": types.get(x.id, []),
                    }
                    for x in mine
                ],
            }
        )
    # Instructors: who teaches the course's classes that a visitor can see (not drafts).
    visible = ("enrollment_open", "active", "completed")
    teachers = session.execute(
        sa.select(ClassStaff.user, Account.display_name)
        .join(CampusClass, CampusClass.id == ClassStaff.class_id)
        .outerjoin(Account, Account.name == ClassStaff.user)
        .where(
            CampusClass.course_id == course.id,
            CampusClass.status.in_(visible),
            ClassStaff.role == "instructor",
        )
        .distinct()
        .order_by(ClassStaff.user)
    ).all()
    classes = session.scalars(
        _open_classes(today)
        .where(CampusClass.course_id == course.id)
        .order_by(CampusClass.start_date, CampusClass.id)
    ).all()
    minutes = [x.duration_minutes for x in lessons if x.duration_minutes]
    return {
        **_summary(course),
        "duration_minutes": sum(minutes) if minutes else None,
        "sections": outline,
        "instructors": [{"name": user, "display_name": shown or user} for user, shown in teachers],
        "open_classes": [
            {
                "id": k.id,
                "name": k.name,
                "type": k.type,
                "meetings": k.total_meetings,
                "seats_left": k.max_capacity - k.current_capacity,
                "start_date": k.start_date.isoformat() if k.start_date else None,
                "end_date": k.end_date.isoformat() if k.end_date else None,
                "enrollment_deadline": (
                    k.enrollment_deadline.isoformat() if k.enrollment_deadline else None
                ),
            }
            for k in classes
        ],
    }
