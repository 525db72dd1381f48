"""Account administration rules on SQLite and PostgreSQL: who manages whom, disable and
enable, password resets kept only as hashes, the audit, and the Hub authenticator's view of a
disabled account (its open sessions end at the next refresh)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from nbcampus.db import make_engine, prepare_database, session_factory, transaction
from nbcampus.hub.auth import CampusAuthenticator
from nbcampus.hub.campus import account_admin
from nbcampus.hub.campus.accounts import AccountError, AccountStore
from nbcampus.hub.campus.orm import MIGRATIONS, AuditEntry


@pytest.fixture
def factory(db_url: str):
    engine = make_engine(db_url)
    prepare_database(engine, db_url, MIGRATIONS)
    yield session_factory(engine)
    engine.dispose()


def test_rules_and_audit(factory, db_url: str) -> None:
    with transaction(factory) as s:
        _, pw = account_admin.create(s, "ada", "admin", "zoe", "student", email="z@x.org")
        account_admin.create(s, "ada", "admin", "ian", "instructor")
    with transaction(factory) as s, pytest.raises(AccountError) as err:
        account_admin.create(s, "sam", "staff", "boss", "staff")
    assert err.value.code == "FORBIDDEN"
    with transaction(factory) as s, pytest.raises(AccountError) as err:
        account_admin.set_active(s, "sam", "staff", "ian", False)
    assert err.value.code == "FORBIDDEN"
    with transaction(factory) as s, pytest.raises(AccountError) as err:
        account_admin.create(s, "ada", "admin", "zoe", "student")
    assert err.value.code == "CONFLICT"

    store = AccountStore(factory)
    assert store.check_password("zoe", pw) is not None
    with transaction(factory) as s:
        assert account_admin.set_active(s, "sam", "staff", "zoe", False)[1] is True
    assert store.check_password("zoe", pw) is None
    with transaction(factory) as s:
        account_admin.set_active(s, "sam", "staff", "zoe", True)
        temporary = account_admin.reset_password(s, "sam", "staff", "zoe")
    assert store.check_password("zoe", pw) is None
    assert store.check_password("zoe", temporary) is not None

    with factory() as s:
        rows = s.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
        stored = " ".join(r.before + r.after for r in rows)
        hashes = s.scalar(sa.text("SELECT password_hash FROM accounts WHERE name = 'zoe'"))
    assert [r.action for r in rows] == [
        "account.create",
        "account.create",
        "account.disable",
        "account.enable",
        "account.reset_password",
    ]
    assert json.loads(rows[2].before)["active"] is True and rows[2].actor == "sam"
    assert temporary not in stored and pw not in stored and "scrypt" not in stored
    assert temporary not in hashes and hashes.startswith("scrypt$")
    # search is case-blind and escapes LIKE's wildcards
    with factory() as s:
        assert [a["name"] for a in account_admin.search(s, "Z@X")] == ["zoe"]
        assert account_admin.search(s, "%") == []


def test_the_hub_ends_a_disabled_accounts_sessions(factory, db_url: str) -> None:
    with transaction(factory) as s:
        account_admin.create(s, "ada", "admin", "zoe", "student")
    auth = CampusAuthenticator(db_url=db_url)
    zoe, stranger = SimpleNamespace(name="zoe"), SimpleNamespace(name="service-made")
    assert asyncio.run(auth.refresh_user(zoe)) is True
    assert asyncio.run(auth.refresh_user(stranger)) is True
    with transaction(factory) as s:
        account_admin.set_active(s, "ada", "admin", "zoe", False)
    assert asyncio.run(auth.refresh_user(zoe)) is False
    assert auth.auth_refresh_age == 60
