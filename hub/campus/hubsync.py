"""Mirror campus membership into Hub groups through the Hub's REST API.

Each class has a Hub group `campus-class-<id>` holding its teachers and its enrolled
students, with the class's name, course and teachers as group properties, so the Hub's admin
page shows who is in which class (campus roles are the `campus-<role>` groups). The groups are
for people to read, never for permissions: who teaches what is asked of the campus
(teaching.py). The campus database is the truth; a failed call is logged and healed by the
full sync run at every service start.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from .hubapi import HubAPI
from .orm import CampusClass, Course, Enrollment

log = logging.getLogger("nbcampus.campus.hubsync")


def class_group(class_id: int) -> str:
    return f"campus-class-{class_id}"


def class_members(session: Session, class_id: int) -> tuple[list[str], dict[str, Any]]:
    """The group's wanted members and properties, from the campus database."""
    row = session.execute(
        sa.select(CampusClass, Course.slug)
        .join(Course, Course.id == CampusClass.course_id)
        .where(CampusClass.id == class_id)
    ).first()
    if row is None:
        return [], {}
    klass, course = row
    students = session.scalars(
        sa.select(Enrollment.student).filter_by(class_id=class_id, status="active")
    ).all()
    teachers = [m.user for m in klass.staff]
    members = sorted({*students, *teachers})
    props = {
        "campus_class_id": class_id,
        "class": klass.name,
        "course": course,
        "teachers": ", ".join(f"{m.user} ({m.role})" for m in klass.staff),
    }
    return members, props


class HubGroups(HubAPI):
    """A small client for the Hub's groups API, with the service's own token."""

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        req = self.request(
            method,
            path,
            None if body is None else json.dumps(body),
            timeout=20,
            allow_nonstandard_methods=True,
        )
        resp = await AsyncHTTPClient().fetch(req)
        return json.loads(resp.body) if resp.body else None

    async def set_members(self, name: str, members: list[str], props: dict[str, Any]) -> None:
        """Make group `name` exist with exactly `members` (users the Hub does not know yet are
        created first, as the Hub would on their first login)."""
        group = quote(name, safe="")
        try:
            current = await self._call("GET", f"groups/{group}")
        except HTTPClientError as err:
            if err.code != 404:
                raise
            await self._call("POST", f"groups/{group}")
            current = {"users": []}
        have = set(current.get("users") or [])
        want = set(members)
        if want - have:
            for user in sorted(want - have):
                try:
                    await self._call("POST", f"users/{quote(user, safe='')}")
                except HTTPClientError as err:
                    if err.code != 409:  # 409: exists already
                        raise
            await self._call("POST", f"groups/{group}/users", {"users": sorted(want - have)})
        if have - want:
            await self._call("DELETE", f"groups/{group}/users", {"users": sorted(have - want)})
        await self._call("PUT", f"groups/{group}/properties", props)


class HubDbGroups:
    """The same changes as `HubGroups`, made on the Hub's own database: for code that runs
    inside the Hub (LTI launches create and join classes), which has no API token to call
    the Hub's REST API with. `user_for(name)` returns the Hub's ORM user, created if new."""

    enabled = True

    def __init__(self, db: Session, user_for: Callable[[str], Any]) -> None:
        self.db = db
        self.user_for = user_for

    async def set_members(self, name: str, members: list[str], props: dict[str, Any]) -> None:
        from jupyterhub import orm as hub_orm

        try:
            group = hub_orm.Group.find(self.db, name)
            if group is None:
                group = hub_orm.Group(name=name)
                self.db.add(group)
            want = set(members)
            have = {user.name for user in group.users}
            for user in sorted(want - have):
                group.users.append(self.user_for(user))
            for user in [u for u in group.users if u.name not in want]:
                group.users.remove(user)
            group.properties = props
            self.db.commit()
        except Exception:
            self.db.rollback()  # the Hub's session serves every request: leave it clean
            raise


# One sync at a time per class: changes in quick succession (a class created, then two
# enrollments) each start a sync, and two running at once race on creating the group and on
# its member list. Serialised, the last one reads the newest members and wins.
_class_locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)


async def sync_class(
    factory: sessionmaker[Session], class_id: int, client: HubGroups | HubDbGroups | None = None
) -> None:
    client = client or HubGroups()
    if not client.enabled:
        return
    async with _class_locks[class_id]:
        with factory() as session:
            members, props = class_members(session, class_id)
        if not props:
            return
        try:
            await client.set_members(class_group(class_id), members, props)
        except Exception as err:  # logged, healed at the next start; never fails the request
            log.warning("could not sync Hub group of class %s: %s", class_id, err)


async def sync_all(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        ids = session.scalars(sa.select(CampusClass.id)).all()
    for class_id in ids:
        await sync_class(factory, class_id)
    return len(ids)


async def sync_role(name: str, role: str) -> None:
    """Put a (new) account in its campus role's Hub group, and out of the other role groups."""
    from nbcampus.hub.roles import ROLES, role_group

    client = HubGroups()
    if not client.enabled:
        return
    user = quote(name, safe="")
    try:
        try:
            await client._call("POST", f"users/{user}")
        except HTTPClientError as err:
            if err.code != 409:
                raise
        groups = set((await client._call("GET", f"users/{user}")).get("groups") or [])
        want = role_group(role)
        if want not in groups:
            await client._call("POST", f"groups/{quote(want, safe='')}/users", {"users": [name]})
        for other in ROLES:
            group = role_group(other)
            if group != want and group in groups:
                await client._call(
                    "DELETE", f"groups/{quote(group, safe='')}/users", {"users": [name]}
                )
    except Exception as err:  # logged; `load_groups` at the next Hub start heals it
        log.warning("could not sync the role group of %s: %s", name, err)
