"""Names and Role Provisioning Services 2.0: sync a course's roster from the LMS.

Every member gets a campus account (as a launch would give them) and a row in
`lti_members`, and students are enrolled in the course's campus class when it has one;
people no longer in the LMS roster are marked `left`, never deleted or withdrawn, so their
work, grades and credits stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from sqlalchemy import select

from nbcampus.db import transaction

from . import orm
from .diagnose import explain_answer, looks_like_html
from .passback import SCOPE_NRPS, TIMEOUT, PassbackError, PassbackSender
from .provision import AccountProvisioner, CampusClassAdapter, context_role, school_role
from .store import LtiStore

MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"


@dataclass(frozen=True)
class RosterChange:
    active: int  # people in the LMS roster
    joined: int  # campus accounts created for them now
    left: int  # people marked as gone from the LMS course now
    enrolled: int = 0  # students enrolled in the course's campus class now
    class_id: int | None = None  # that class (None while the course has none)


class RosterSync:
    def __init__(
        self,
        store: LtiStore,
        sender: PassbackSender,
        accounts: AccountProvisioner,
        classes: CampusClassAdapter | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.accounts = accounts
        self.classes = classes

    def sync(self, context_pk: int) -> RosterChange:
        with self.store.factory() as session:
            context = session.get(orm.Context, context_pk)
            if context is None:
                raise PassbackError(f"no LMS course with id {context_pk}")
            session.expunge(context)
        if not context.source.startswith("lti13:") or not context.memberships_url:
            raise PassbackError("the LMS gave no roster service (NRPS) for this course")
        platform = self.sender.platform_of(context)
        members: list[dict] = []
        url: str | None = context.memberships_url
        while url:  # NRPS pages with Link: <...>; rel="next"
            resp = self.sender.authorized(
                platform,
                [SCOPE_NRPS],
                lambda auth, page=url: requests.get(
                    page, headers={**auth, "Accept": MEMBERSHIP_TYPE}, timeout=TIMEOUT
                ),
            )
            if resp.status_code != 200 or looks_like_html(resp):
                raise PassbackError(explain_answer("roster service", resp))
            try:
                page_members = resp.json()["members"]
            except (ValueError, TypeError, KeyError):
                raise PassbackError("roster service answered without a member list") from None
            if not isinstance(page_members, list):
                raise PassbackError("roster service answered without a member list")
            members.extend(m for m in page_members if isinstance(m, dict))
            url = resp.links.get("next", {}).get("url")
        seen: set[str] = set()
        students: list[str] = []
        joined = 0
        for m in members:
            sub = m.get("user_id")
            if not isinstance(sub, str) or not sub:
                continue
            if str(m.get("status", "Active")).lower() != "active":
                continue
            hint = str(m.get("email") or m.get("name") or "")
            username, created = self.store.username_for(platform.issuer, sub, hint)
            role = context_role(m.get("roles") or [])
            self.accounts.ensure(
                username,
                school_role(m.get("roles") or []),
                str(m.get("name") or ""),
                str(m.get("email") or ""),
            )
            joined += created
            seen.add(username)
            if role == "student":
                students.append(username)
            with transaction(self.store.factory) as session:
                row = session.scalar(
                    select(orm.Member).where(
                        orm.Member.context_pk == context_pk, orm.Member.username == username
                    )
                )
                if row is None:
                    row = orm.Member(context_pk=context_pk, username=username)
                    session.add(row)
                row.subject, row.role, row.status = sub, role, "active"
                row.updated_at = datetime.now(UTC)
        left = 0
        with transaction(self.store.factory) as session:
            for row in session.scalars(
                select(orm.Member).where(orm.Member.context_pk == context_pk)
            ):
                if row.username not in seen and row.status != "left":
                    row.status, row.updated_at = "left", datetime.now(UTC)
                    left += 1
        # leavers keep their enrollment (and credits, attendance, grades): marked, not removed
        class_id, enrolled = (
            self.classes.enroll_roster(context_pk, students) if self.classes else (None, 0)
        )
        return RosterChange(len(seen), joined, left, enrolled, class_id)
