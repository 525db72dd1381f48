"""Campus roles and how they appear in the Hub (groups and RBAC roles).

A user's campus role is a Hub group (`campus-student`, ...) so it shows on the Hub's admin
page, and each group carries a Hub RBAC role with the scopes that role needs in the Hub
itself. Finer campus permissions (per class, per course) are checked by the services.
"""

from __future__ import annotations

from typing import Literal

CampusRole = Literal["student", "instructor", "staff", "admin"]
ROLES: tuple[CampusRole, ...] = ("student", "instructor", "staff", "admin")


def role_group(role: str) -> str:
    """The Hub group that carries a campus role."""
    if role not in ROLES:
        raise ValueError(f"unknown campus role {role!r}; one of {', '.join(ROLES)}")
    return f"campus-{role}"


def role_from_groups(groups: list[str]) -> CampusRole:
    """The highest campus role among a user's Hub groups (student when none)."""
    best: CampusRole = "student"
    for role in ROLES:
        if role_group(role) in groups:
            best = role
    return best


def hub_roles() -> list[dict]:
    """RBAC roles for `c.JupyterHub.load_roles`: what each campus role may do in the Hub."""
    return [
        {
            "name": "campus-instructor",
            "description": "Teaches classes: reads the users of the campus",
            "scopes": ["list:users", "read:users:name", "read:users:groups", "read:groups"],
            "groups": [role_group("instructor")],
        },
        {
            "name": "campus-staff",
            "description": "Runs classes and enrollment: sees the admin page and the users",
            "scopes": [
                "admin-ui",
                "list:users",
                "read:users",
                "read:groups",
                "list:groups",
                "read:servers",
            ],
            "groups": [role_group("staff")],
        },
    ]


def campus_role_groups(campus_db_url: str) -> dict[str, dict[str, list[str]]]:
    """`c.JupyterHub.load_groups`: one group per campus role with the accounts holding it."""
    from nbcampus.db import make_engine, session_factory
    from nbcampus.hub.campus.accounts import AccountStore

    groups: dict[str, dict[str, list[str]]] = {role_group(r): {"users": []} for r in ROLES}
    engine = make_engine(campus_db_url)
    try:
        for account in AccountStore(session_factory(engine)).all():
            if account.active:
                groups[role_group(account.role)]["users"].append(account.name)
    finally:
        engine.dispose()
    return groups
