"""The office audit: every change a person makes on the admin screens (accounts, course
review, school settings) is written here in the same transaction as the change itself."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .orm import AuditEntry


def record(
    session: Session,
    actor: str,
    action: str,
    target_type: str,
    target: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            target_type=target_type,
            target=target[:100],
            before=json.dumps(before, sort_keys=True, default=str),
            after=json.dumps(after, sort_keys=True, default=str),
        )
    )


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target": entry.target,
        "before": json.loads(entry.before),
        "after": json.loads(entry.after),
        "at": entry.at.isoformat(),
    }


def entries(
    session: Session,
    *,
    target_type: str | None = None,
    target: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The newest entries first, optionally of one kind of object or one object."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target:
        query = query.where(AuditEntry.target == target)
    return [entry_dict(e) for e in session.scalars(query)]
