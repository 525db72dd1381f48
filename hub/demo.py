"""Demo accounts for the embedded default: one admin, one staff, one instructor, three students.

Created once, on the first start with an empty account table. Their passwords are printed
once and written to `demo-accounts.json` (0600) so that scripts can log in as a person would.
"""

from __future__ import annotations

import json
from pathlib import Path

from nbcampus.secretfiles import write_private

from .campus.accounts import AccountStore

DEMO_ACCOUNTS: list[tuple[str, str, str]] = [
    ("admin", "admin", "Ada Admin"),
    ("staff", "staff", "Sam Staff"),
    ("instructor", "instructor", "Ian Instructor"),
    ("alice", "student", "Alice Student"),
    ("bob", "student", "Bob Student"),
    ("carol", "student", "Carol Student"),
]


def ensure_demo_accounts(store: AccountStore, accounts_file: Path) -> list[dict] | None:
    """Create the demo accounts on first start; returns them (with passwords) or None."""
    if accounts_file.exists() or store.count() > 0:
        return None
    created = []
    for name, role, display_name in DEMO_ACCOUNTS:
        info, password = store.create(
            name, role, source="demo", display_name=display_name, created_by="nbcampus"
        )
        created.append({"name": info.name, "role": info.role, "password": password})
    write_private(accounts_file, json.dumps(created, indent=2).encode() + b"\n")
    return created


def format_demo_accounts(accounts: list[dict], login_url: str) -> str:
    lines = [
        "",
        "Demo accounts (shown once; also in demo-accounts.json in the data directory):",
    ]
    for acc in accounts:
        lines.append(f"  {acc['role']:<11} {acc['name']:<11} password: {acc['password']}")
    lines.append(f"Log in at {login_url}")
    lines.append("")
    return "\n".join(lines)
