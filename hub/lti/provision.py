"""From a launch to campus state: the account, its roles, and the LMS context's link to a
campus course and class.

Roles are per course, as the LMS gives them:
  the course (context) role becomes a class role: Instructor -> instructor,
  TeachingAssistant -> ta (grades and takes attendance), Learner -> student; anything else
  (ContentDeveloper, Mentor, a course-level Administrator, no role) gives no teaching role;
  only an institution or system Administrator becomes school-wide staff (never admin: admins
  are made with `nbcampus accounts`).
A launch never lowers a school-wide role, and never makes anyone a teacher beyond the class of
the course they launched from: who teaches what is read from the class's staff alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import transaction
from nbcampus.hub.campus.accounts import AccountError, AccountStore
from nbcampus.hub.campus.orm import Account
from nbcampus.hub.roles import ROLES

from . import orm

# Course (context) roles: the last path segment (or #fragment) of an LTI role URI, or an
# LTI 1.1 short name, to the class role it gives. Anything else gives no teaching role.
CONTEXT_ROLE_MAP = {
    "learner": "student",
    "student": "student",
    "instructor": "instructor",
    "teachingassistant": "ta",
}
# Only an institution's or the system's Administrator becomes school-wide staff (never admin:
# admins are made with `nbcampus accounts`). A course-level Administrator is not staff.
SCHOOL_ADMIN_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#sysadmin",
    "urn:lti:instrole:ims/lis/administrator",
    "urn:lti:sysrole:ims/lis/administrator",
    "urn:lti:sysrole:ims/lis/sysadmin",
)
CLASS_ROLE_ORDER = ("student", "ta", "instructor")


def _role_list(lti_roles: list[str] | str | None) -> list[str]:
    if isinstance(lti_roles, str):
        lti_roles = [r for r in lti_roles.split(",") if r.strip()]
    return [r.strip() for r in lti_roles or [] if isinstance(r, str) and r.strip()]


def _is_context_role(raw: str) -> bool:
    """LTI 1.3 context roles live under .../membership; LTI 1.1 ones are short names or
    urn:lti:role:ims/lis/...; institution (instrole) and system (sysrole) roles are not."""
    low = raw.lower()
    if "/institution/person#" in low or "/system/person#" in low:
        return False
    return not (low.startswith("urn:lti:instrole:") or low.startswith("urn:lti:sysrole:"))


def context_role(lti_roles: list[str] | str | None) -> str:
    """The class role a launch's course roles give: instructor, ta, or student (the highest)."""
    best = "student"
    for raw in _role_list(lti_roles):
        if not _is_context_role(raw):
            continue
        # urn:lti:role:ims/lis/TeachingAssistant, .../membership#Instructor,
        # .../membership/Instructor#TeachingAssistant (a sub-role names its kind last)
        name = raw.rsplit("#", 1)[-1].rsplit("/", 1)[-1].lower()
        role = CONTEXT_ROLE_MAP.get(name, "student")
        if CLASS_ROLE_ORDER.index(role) > CLASS_ROLE_ORDER.index(best):
            best = role
    return best


def school_role(lti_roles: list[str] | str | None) -> str:
    """The school-wide role a launch gives: staff for an institution or system Administrator,
    otherwise student (teaching is a class role, never a school-wide one)."""
    roles = [r.lower() for r in _role_list(lti_roles)]
    return "staff" if any(r in SCHOOL_ADMIN_ROLES for r in roles) else "student"


@dataclass(frozen=True)
class Person:
    username: str
    role: str
    display_name: str
    email: str


class AccountProvisioner:
    """Creates or updates the campus account of a person arriving from an LMS."""

    def __init__(self, campus: sessionmaker[Session]) -> None:
        self.campus = campus
        self.accounts = AccountStore(campus)

    def ensure(self, username: str, role: str, display_name: str, email: str) -> Person:
        display_name, email = display_name[:200], email[:254] if "@" in email else ""
        if self.accounts.get(username) is None:
            try:
                # the generated password is never shown: LTI users log in through the LMS
                self.accounts.create(
                    username,
                    role,
                    None,
                    source="lti",
                    created_by="lti",
                    display_name=display_name,
                    email=email,
                )
            except AccountError as err:
                if err.code != "CONFLICT":  # a concurrent first launch created it: update below
                    raise
        with transaction(self.campus) as session:
            account = session.scalar(select(Account).where(Account.name == username))
            if account is None:
                raise AccountError(f"account {username!r} vanished during the launch")
            if account.source == "lti":
                if ROLES.index(role) > ROLES.index(account.role):  # never lowered
                    account.role = role
                account.display_name = display_name or account.display_name
                account.email = email or account.email
            return Person(account.name, account.role, account.display_name, account.email)


class CourseLinkAdapter:
    """LMS context -> campus course (and class), kept in the LTI database.

    The campus API has no class endpoints the Hub can call at launch time yet, so this
    adapter records the mapping itself: the first instructor launch creates the context
    row, a student's launch joins it (`lti_members`), and the course follows from deep
    linking. When the campus exposes classes, `class_id` is where the link goes.
    """

    def __init__(self, lti: sessionmaker[Session]) -> None:
        self.lti = lti

    def context(
        self,
        source: str,
        context_id: str,
        title: str,
        label: str,
        *,
        creator: str,
        lineitems_url: str = "",
        memberships_url: str = "",
    ) -> int:
        with transaction(self.lti) as session:
            row = session.scalar(
                select(orm.Context).where(
                    orm.Context.source == source, orm.Context.context_id == context_id
                )
            )
            if row is None:
                row = orm.Context(source=source, context_id=context_id[:300], created_by=creator)
                session.add(row)
            row.title = (title or row.title or "")[:300]
            row.label = (label or row.label or "")[:100]
            row.lineitems_url = lineitems_url or row.lineitems_url or ""
            row.memberships_url = memberships_url or row.memberships_url or ""
            session.flush()
            return row.id

    def join(
        self, context_pk: int, username: str, subject: str, role: str, sourcedid: str = ""
    ) -> None:
        with transaction(self.lti) as session:
            row = session.scalar(
                select(orm.Member).where(
                    orm.Member.context_pk == context_pk, orm.Member.username == username
                )
            )
            if row is None:
                row = orm.Member(context_pk=context_pk, username=username)
                session.add(row)
            row.subject, row.role, row.status = subject, role, "active"
            row.sourcedid = sourcedid or row.sourcedid or ""
            row.updated_at = datetime.now(UTC)

    def outcome_id(self, link_pk: int, username: str, sourcedid: str) -> None:
        """Remember the LTI 1.1 result id the LMS gave this person on this link."""
        if not sourcedid:
            return
        with transaction(self.lti) as session:
            row = session.scalar(
                select(orm.OutcomeId).where(
                    orm.OutcomeId.link_pk == link_pk, orm.OutcomeId.username == username
                )
            )
            if row is None:
                row = orm.OutcomeId(link_pk=link_pk, username=username, sourcedid="")
                session.add(row)
            row.sourcedid = sourcedid

    def resource_link(
        self,
        context_pk: int,
        link_id: str,
        title: str = "",
        *,
        custom: dict[str, str] | None = None,
        lineitem_url: str = "",
        outcome_url: str = "",
    ) -> orm.ResourceLink:
        """Record a link; deep-linked custom parameters say which lesson it opens."""
        custom = custom or {}
        with transaction(self.lti) as session:
            row = session.scalar(
                select(orm.ResourceLink).where(
                    orm.ResourceLink.context_pk == context_pk,
                    orm.ResourceLink.link_id == link_id,
                )
            )
            if row is None:
                row = orm.ResourceLink(context_pk=context_pk, link_id=link_id[:300])
                session.add(row)
            row.title = (title or row.title or "")[:300]
            for attr in ("course", "lesson", "exercise"):
                value = str(custom.get("nbcampus_" + attr) or "")
                if value:
                    setattr(row, attr, value[:100])
            row.lineitem_url = lineitem_url or row.lineitem_url or ""
            row.outcome_url = outcome_url or row.outcome_url or ""
            session.flush()
            session.expunge(row)
            if row.course:
                ctx = session.get(orm.Context, context_pk)
                if ctx is not None and not ctx.course:
                    ctx.course = row.course
            return row


class CampusClassAdapter:
    """An LMS context's campus class: created by the first instructor launch of a linked
    lesson, joined by students' launches, under the campus's own enrollment rules.

    It calls the campus domain layer (`nbcampus.hub.campus.classes`) on the campus database,
    the same code the campus API's class and enrollment endpoints run.
    """

    def __init__(
        self,
        campus: sessionmaker[Session],
        lti: sessionmaker[Session],
        capacity: int,
        log: logging.Logger | logging.LoggerAdapter | None = None,
    ) -> None:
        self.campus = campus
        self.lti = lti
        self.capacity = capacity
        self.log = log or logging.getLogger("nbcampus.lti")

    def ensure(
        self, context_pk: int, username: str, role: str, school: str = "student"
    ) -> int | None:
        """The context's class id after this launch (None while it has no class): the first
        instructor (or staff) launch creates it; a launch with a teaching role makes the person
        that teacher of this class; a learner's launch enrolls them (and ends a teaching role
        the LMS no longer gives)."""
        from nbcampus.hub.campus import classes, teaching
        from nbcampus.web import APIError

        with self.lti() as session:
            ctx = session.get(orm.Context, context_pk)
            if ctx is None or not ctx.course:
                return None  # no lesson linked yet: the course is not known
            course, class_id, title = ctx.course, ctx.class_id, ctx.title or ctx.context_id
        try:
            if class_id is None and (role == "instructor" or school == "staff"):
                from nbcampus.hub.campus.courses import active_lessons, course_by_slug

                with transaction(self.campus) as session:
                    course_row = course_by_slug(session, course, published_only=False)
                    meetings = max(len(active_lessons(session, course_row.id)), 1)
                    klass = classes.create_class(
                        session,
                        name=title[:200],
                        course_slug=course,
                        type="group",
                        total_meetings=meetings,
                        max_capacity=self.capacity,
                        instructor=username if role == "instructor" else None,
                        created_by="lti",
                        status="enrollment_open",
                    )
                    class_id = klass.id
                with transaction(self.lti) as session:
                    row = session.get(orm.Context, context_pk)
                    if row is not None:
                        row.class_id = class_id
                self.log.info("LTI context %s: created campus class %s", context_pk, class_id)
            elif class_id is not None and role in teaching.CLASS_ROLES:
                with transaction(self.campus) as session:
                    klass = classes.lock_class(session, class_id)
                    if teaching.class_role(session, class_id, username) != role:
                        teaching.add_staff(session, klass, username, role, "lti")
                        self.log.info("LTI launch: %s is %s of class %s", username, role, class_id)
            elif class_id is not None and role == "student" and school == "student":
                with transaction(self.campus) as session:
                    klass = classes.lock_class(session, class_id)
                    if teaching.class_role(session, class_id, username) is not None:
                        teaching.remove_staff(session, klass, username)
                with transaction(self.campus) as session:
                    classes.enroll(session, class_id, username, by="lti", by_lms=True)
                self.log.info("LTI launch enrolled %s in class %s", username, class_id)
        except APIError as err:
            # already enrolled, class full or ended...: the campus rules decide (an active
            # group class still takes the LMS's students), and the launch itself still succeeds
            self.log.info("LTI class mapping for %s: %s", username, err.message)
        return class_id

    def enroll_roster(self, context_pk: int, students: list[str]) -> tuple[int | None, int]:
        """Enroll an LMS roster's students in the context's class, as their launches would;
        returns (class id, how many were enrolled now). Without a class yet (no lesson linked
        or no instructor launch) nobody is: their first launch will be."""
        from nbcampus.hub.campus import classes
        from nbcampus.hub.campus.orm import Enrollment
        from nbcampus.web import APIError

        with self.lti() as session:
            ctx = session.get(orm.Context, context_pk)
            class_id = ctx.class_id if ctx is not None else None
        if class_id is None:
            return None, 0
        enrolled = 0
        for name in students:
            try:
                with transaction(self.campus) as session:
                    if session.scalar(
                        select(Enrollment.id).where(
                            Enrollment.class_id == class_id,
                            Enrollment.student == name,
                            Enrollment.status == "active",
                        )
                    ):
                        continue
                    classes.enroll(session, class_id, name, by="lti", by_lms=True)
                enrolled += 1
            except APIError as err:  # the campus rules decide (full, ended...)
                self.log.info("LTI roster: %s not enrolled in class %s: %s", name, class_id, err)
        return class_id, enrolled
