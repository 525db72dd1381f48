"""Self-service accounts in the campus store (SQLite and PostgreSQL): one-time links are
single use, expire, are bound to their account and purpose; sign-up and reset do not tell a
known address from an unknown one; password rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import transaction
from nbcampus.hub.campus import selfservice as ss
from nbcampus.hub.campus import tokens
from nbcampus.hub.campus.orm import Account, AccountToken
from nbcampus.hub.passwords import hash_password, verify_password

HOUR = timedelta(hours=1)
GOOD = "river otter 42"


def tx(factory: sessionmaker[Session], work):  # type: ignore[no-untyped-def]
    with transaction(factory) as session:
        return work(session)


@pytest.fixture
def people(campus_db: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(campus_db) as s:
        s.add(Account(name="ada", email="ada@school.test", password_hash=hash_password(GOOD)))
        s.add(Account(name="bob", email="bob@school.test", password_hash=hash_password(GOOD)))
        s.add(Account(name="lti-user", email="lti@school.test", password_hash=None, source="lti"))
    return campus_db


def reset(factory: sessionmaker[Session], name: str, token: str, password: str) -> Account:
    return tx(
        factory, lambda s: ss.reset_password(s, name, token, password, password, min_length=8)
    )


def password_of(factory: sessionmaker[Session], name: str) -> str:
    return tx(factory, lambda s: s.scalar(sa.select(Account.password_hash).filter_by(name=name)))


def test_reset_link_works_once(people: sessionmaker[Session]) -> None:
    [link] = tx(people, lambda s: ss.request_reset(s, "ADA@school.test", HOUR))
    assert (link.account, link.email) == ("ada", "ada@school.test")
    reset(people, "ada", link.token, "new secret words")
    assert verify_password("new secret words", password_of(people, "ada"))
    with pytest.raises(tokens.TokenError) as err:
        reset(people, "ada", link.token, "a third password")
    assert err.value.reason == "used"
    assert verify_password("new secret words", password_of(people, "ada"))


def test_reset_link_expires(people: sessionmaker[Session]) -> None:
    [link] = tx(people, lambda s: ss.request_reset(s, "ada@school.test", timedelta(seconds=-1)))
    with pytest.raises(tokens.TokenError) as err:
        reset(people, "ada", link.token, "new secret words")
    assert err.value.reason == "expired"
    assert verify_password(GOOD, password_of(people, "ada"))


def test_reset_link_is_bound_to_its_account_and_purpose(people: sessionmaker[Session]) -> None:
    [link] = tx(people, lambda s: ss.request_reset(s, "ada@school.test", HOUR))
    with pytest.raises(tokens.TokenError) as err:
        reset(people, "bob", link.token, "new secret words")
    assert err.value.reason == "other_account"
    assert verify_password(GOOD, password_of(people, "bob"))
    # a reset link is no verification link
    with pytest.raises(tokens.TokenError) as err:
        tx(people, lambda s: ss.verify_email(s, "ada", link.token))
    assert err.value.reason == "unknown"
    # and it still works for its own account afterwards
    reset(people, "ada", link.token, "new secret words")


def test_only_the_latest_link_works_and_a_password_change_spends_it(
    people: sessionmaker[Session],
) -> None:
    [first] = tx(people, lambda s: ss.request_reset(s, "ada@school.test", HOUR))
    [second] = tx(people, lambda s: ss.request_reset(s, "ada@school.test", HOUR))
    with pytest.raises(tokens.TokenError):
        reset(people, "ada", first.token, "new secret words")
    tx(
        people,
        lambda s: ss.change_password(
            s, "ada", GOOD, "changed by me 1", "changed by me 1", min_length=8
        ),
    )
    with pytest.raises(tokens.TokenError) as err:
        reset(people, "ada", second.token, "new secret words")
    assert err.value.reason == "used"
    # only the hash is stored
    stored = tx(people, lambda s: s.scalars(sa.select(AccountToken.token_hash)).all())
    assert second.token not in stored and len(stored) == 2


def test_unknown_and_lms_only_addresses_get_no_link(people: sessionmaker[Session]) -> None:
    assert tx(people, lambda s: ss.request_reset(s, "nobody@school.test", HOUR)) == []
    assert tx(people, lambda s: ss.request_reset(s, "lti@school.test", HOUR)) == []
    with pytest.raises(ss.FieldError) as err:
        tx(people, lambda s: ss.request_reset(s, "not an address", HOUR))
    assert err.value.field == "email"


def test_password_rules_name_the_field(people: sessionmaker[Session]) -> None:
    [link] = tx(people, lambda s: ss.request_reset(s, "ada@school.test", HOUR))
    cases = [
        ("short", "short", "password", "at least 8"),
        ("password1", "password1", "password", "common"),
        ("Sunshine1", "Sunshine1", "password", "common"),  # case does not hide it
        ("river otter 43", "river otter 44", "confirm", "differ"),
    ]
    for password, confirm, field, words in cases:
        with pytest.raises(ss.FieldError) as err:
            tx(
                people,
                lambda s, p=password, c=confirm: ss.reset_password(
                    s, "ada", link.token, p, c, min_length=8
                ),
            )
        assert err.value.field == field and words in str(err.value)
    # a refused password does not spend the link
    reset(people, "ada", link.token, "new secret words")
    # a longer configured minimum applies
    with pytest.raises(ss.FieldError):
        tx(people, lambda s: ss.check_new_password("twelve chars", "twelve chars", 13))


def test_change_password_checks_the_current_one(people: sessionmaker[Session]) -> None:
    def change(name: str, current: str, new: str) -> None:
        tx(people, lambda s: ss.change_password(s, name, current, new, new, min_length=8))

    with pytest.raises(ss.FieldError) as err:
        change("ada", "wrong one", "brand new words")
    assert err.value.field == "current"
    with pytest.raises(ss.FieldError) as err:
        change("ada", GOOD, GOOD)
    assert err.value.field == "password"
    with pytest.raises(ss.FieldError) as err:
        change("lti-user", "", "brand new words")
    assert err.value.field == "current" and "no password" in str(err.value)
    change("ada", GOOD, "brand new words")
    assert verify_password("brand new words", password_of(people, "ada"))


def test_sign_up_needs_verification_and_hides_known_addresses(
    people: sessionmaker[Session],
) -> None:
    chosen = "my own words 7"

    def sign_up(name: str, email: str):  # type: ignore[no-untyped-def]
        return tx(
            people,
            lambda s: ss.sign_up(
                s, name, email, chosen, chosen, min_length=8, lifetime=HOUR, verify=True
            ),
        )

    link, existing = sign_up("newcomer", "new@school.test")
    assert link is not None and existing == []
    account = tx(people, lambda s: s.scalar(sa.select(Account).filter_by(name="newcomer")))
    assert not account.active and account.source == "signup" and account.role == "student"
    # another account's name, or a bad name, is named beside the username field
    for name in ("newcomer", "Not Valid!"):
        with pytest.raises(ss.FieldError) as err:
            sign_up(name, "other@school.test")
        assert err.value.field == "username"
    # a known address: no account and no link; its owner is told by mail instead
    link2, existing2 = sign_up("ada-again", "ada@school.test")
    assert link2 is None and [a.name for a in existing2] == ["ada"]
    assert tx(people, lambda s: s.scalar(sa.select(Account).filter_by(name="ada-again"))) is None
    # the verification link: bound to its account, then single use
    with pytest.raises(tokens.TokenError) as err:
        tx(people, lambda s: ss.verify_email(s, "ada", link.token))
    assert err.value.reason == "other_account"
    tx(people, lambda s: ss.verify_email(s, "newcomer", link.token))
    account = tx(people, lambda s: s.scalar(sa.select(Account).filter_by(name="newcomer")))
    assert account.active and account.email_verified_at is not None
    with pytest.raises(tokens.TokenError) as err:
        tx(people, lambda s: ss.verify_email(s, "newcomer", link.token))
    assert err.value.reason == "used"


def test_an_expired_unverified_sign_up_frees_its_name(people: sessionmaker[Session]) -> None:
    def sign_up(email: str, lifetime: timedelta):  # type: ignore[no-untyped-def]
        chosen = "my own words 7"
        return tx(
            people,
            lambda s: ss.sign_up(
                s,
                "squatter",
                email,
                chosen,
                chosen,
                min_length=8,
                lifetime=lifetime,
                verify=True,
            ),
        )

    stale, _ = sign_up("first@school.test", timedelta(seconds=-1))
    # its link has expired: a new sign-up may take the name (the old link is gone with it)
    fresh, _ = sign_up("second@school.test", HOUR)
    assert fresh is not None
    account = tx(people, lambda s: s.scalar(sa.select(Account).filter_by(name="squatter")))
    assert account.email == "second@school.test"
    with pytest.raises(tokens.TokenError):
        tx(people, lambda s: ss.verify_email(s, "squatter", stale.token))
    with pytest.raises(ss.FieldError) as err:
        sign_up("third@school.test", HOUR)
    assert err.value.field == "username"
    # a verified account's name is never freed
    tx(people, lambda s: ss.verify_email(s, "squatter", fresh.token))
    with pytest.raises(ss.FieldError):
        sign_up("fourth@school.test", timedelta(seconds=-1))


def email_of(factory: sessionmaker[Session], name: str) -> str:
    return tx(factory, lambda s: s.scalar(sa.select(Account.email).filter_by(name=name)))


def test_an_email_change_counts_once_its_link_is_used(people: sessionmaker[Session]) -> None:
    # The current password is asked for, and the address checked, before any link is made.
    for current, new, field in (
        ("wrong", "ada@new.test", "current"),
        (GOOD, "not an address", "email"),
        (GOOD, "ADA@school.test", "email"),  # the same address
    ):
        with pytest.raises(ss.FieldError) as bad:
            tx(people, lambda s, c=current, n=new: ss.request_email_change(s, "ada", c, n, HOUR))
        assert bad.value.field == field
    link = tx(people, lambda s: ss.request_email_change(s, "ada", GOOD, "ada@new.test", HOUR))
    assert (link.email, link.account) == ("ada@new.test", "ada")
    assert email_of(people, "ada") == "ada@school.test"  # unchanged until the link is used
    # bound to its account and purpose
    with pytest.raises(tokens.TokenError):
        tx(people, lambda s: ss.confirm_email_change(s, "bob", link.token))
    with pytest.raises(tokens.TokenError):
        reset(people, "ada", link.token, "new secret words")
    account = tx(people, lambda s: ss.confirm_email_change(s, "ada", link.token))
    assert account.email == "ada@new.test" and account.email_verified_at is not None
    assert email_of(people, "ada") == "ada@new.test"
    with pytest.raises(tokens.TokenError) as used:  # single use
        tx(people, lambda s: ss.confirm_email_change(s, "ada", link.token))
    assert used.value.reason == "used"


def test_an_email_change_link_expires_and_a_newer_one_replaces_it(
    people: sessionmaker[Session],
) -> None:
    old = tx(people, lambda s: ss.request_email_change(s, "bob", GOOD, "bob@one.test", HOUR))
    expired = tx(
        people,
        lambda s: ss.request_email_change(s, "bob", GOOD, "bob@two.test", timedelta(seconds=-1)),
    )
    for token in (old.token, expired.token):
        with pytest.raises(tokens.TokenError):
            tx(people, lambda s, t=token: ss.confirm_email_change(s, "bob", t))
    assert email_of(people, "bob") == "bob@school.test"
    # an account without a password here (LMS, single sign-on) is not asked for one
    link = tx(people, lambda s: ss.request_email_change(s, "lti-user", "", "l@new.test", HOUR))
    assert tx(people, lambda s: ss.confirm_email_change(s, "lti-user", link.token)).email == (
        "l@new.test"
    )
