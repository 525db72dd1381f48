"""The daily email digest: its contents (SQLite and PostgreSQL), and its mail through a real
SMTP server (aiosmtpd on a free port), sent once a day however often the Hub checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import transaction
from nbcampus.hub.campus import announcements, classes, digest, engagement
from nbcampus.hub.campus.orm import Account, Base, Exercise, GradingResult, utcnow
from nbcampus.hub.digest_mail import send_due
from nbcampus.hub.mail import CampusMailer
from nbcampus.ports import free_port

HOUR = timedelta(hours=1)


def school_day(factory: sessionmaker[Session]) -> Any:
    """s00 (opted in) and s01 (not) in a class; before s00's opt-in one announcement, after it
    another, a badge notification and a grade. Returns the opt-in time."""
    with transaction(factory) as s:
        klass = classes.create_class(
            s, name="Py A", course_slug="python-intro", instructor="ines", created_by="sara",
            type="group", total_meetings=3, max_capacity=10, status="enrollment_open",
        )  # fmt: skip
        class_id = klass.id
    for name in ("s00", "s01"):
        with transaction(factory) as s:
            classes.enroll(s, class_id, name, "sara")
    t0 = utcnow()
    with transaction(factory) as s:
        old = announcements.create(
            s, author="ines", class_id=class_id, course_id=None, title="Old news",
            body="Before the digest.", publish_at=None,
        )  # fmt: skip
        announcements.deliver(s, old.id, now=t0)
        digest.set_preference(s, "s00", True, now=t0)  # "Old news" was sent at t0: before
        a = announcements.create(
            s, author="ines", class_id=class_id, course_id=None, title="Room change",
            body="We meet in room 2.\nBring a laptop.", publish_at=None,
        )  # fmt: skip
        announcements.deliver(s, a.id, now=t0 + timedelta(minutes=1))
        engagement.notify(s, "s00", "badge", "You earned the badge First steps")
        exercise = s.scalars(sa.select(Exercise).order_by(Exercise.id)).first()
        assert exercise is not None
        s.add(
            GradingResult(
                submission_id="sub-1", exercise_id=exercise.id, user="s00", score=7.5,
                max_score=10, graded_at=t0, received_at=t0 + timedelta(minutes=2),
            )
        )  # fmt: skip
    with transaction(factory) as s:
        for name in ("s00", "s01"):
            account = s.scalars(sa.select(Account).filter_by(name=name)).one()
            account.email = f"{name}@school.example"
    return t0, exercise.title


def test_digest_holds_what_came_after_the_opt_in_once_a_day(
    campus_db: sessionmaker[Session],
) -> None:
    t0, exercise = school_day(campus_db)
    with campus_db() as s:
        assert digest.preference(s, "s00") and not digest.preference(s, "s01")
        assert digest.due(s, t0 + HOUR) == [("s00", "s00@school.example")]
        with s.connection() as conn:  # the migration matches the ORM's table
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if "mail_digests" in repr(d)] == []
    with transaction(campus_db) as s:
        first = digest.claim(s, "s00", t0 + HOUR)
    assert first is not None
    assert [a["title"] for a in first.announcements] == ["Room change"]
    assert [n["title"] for n in first.notifications] == ["You earned the badge First steps"]
    assert first.grades == [{"exercise": exercise, "score": 7.5, "max_score": 10}]
    with transaction(campus_db) as s:  # the same day: nothing, however often asked
        assert digest.claim(s, "s00", t0 + 2 * HOUR) is None
        assert digest.claim(s, "s01", t0 + 2 * HOUR) is None  # never opted in
        assert digest.due(s, t0 + 2 * HOUR) == []
    with transaction(campus_db) as s:  # a day later: due, and empty (nothing new)
        assert digest.due(s, t0 + 25 * HOUR) == [("s00", "s00@school.example")]
        later = digest.claim(s, "s00", t0 + 25 * HOUR)
        assert later is not None and later.empty
        digest.set_preference(s, "s00", False)
        assert digest.due(s, t0 + 50 * HOUR) == []


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_digest_mail_goes_out_once_through_smtp(
    campus_db: sessionmaker[Session], inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    t0, exercise = school_day(campus_db)
    mailer = CampusMailer(
        smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none", sender="campus@school.example"
    )
    assert send_due(campus_db, mailer, "Test School", now=t0 + HOUR) == ["s00"]
    assert len(box.messages) == 1
    mail = box.messages[0]
    assert mail["To"] == "s00@school.example"
    assert mail["Subject"] == "Test School: your daily digest"
    body = mail.get_content().replace("\r\n", "\n")  # SMTP line ends
    assert "* Room change\n  We meet in room 2.\n  Bring a laptop." in body
    assert f"* {exercise}: 7.5 / 10" in body
    assert "* You earned the badge First steps" in body
    assert "Old news" not in body
    # The Hub checks again (or restarts) the same day: nothing more is sent.
    assert send_due(campus_db, mailer, "Test School", now=t0 + 2 * HOUR) == []
    assert len(box.messages) == 1
