"""Sends the daily email digest (hub/campus/digest.py builds it) to the people who opted in.

It runs in the Hub process, not in the campus service: the SMTP settings (c.CampusMailer)
and the school's name (c.CampusSite) are the Hub's configuration, the campus database is
reachable from both, and the sign-up and reset mails already leave from here. Every
`check_minutes` the Hub looks for people whose last digest is a day old; each person's digest
is claimed, mailed and recorded in one transaction, so a restart (or a second Hub on the same
database) sends nothing twice, and a failed send is tried again at the next check. Without
an SMTP server nothing is claimed: the digest waits instead of filling the log.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from tornado.ioloop import PeriodicCallback
from traitlets import Float
from traitlets.config import LoggingConfigurable

from nbcampus.db import transaction
from nbcampus.hub.campus import digest as dg
from nbcampus.hub.campus.orm import utcnow
from nbcampus.hub.mail import CampusMailer, MailError


def send_one(
    factory: sessionmaker[Session],
    mailer: CampusMailer,
    school: str,
    user: str,
    to: str,
    now: datetime,
) -> bool:
    """Claim, mail and record one person's digest; True when a mail went out."""
    with transaction(factory) as session:
        digest = dg.claim(session, user, now)
        if digest is None or digest.empty:
            return False  # claimed anyway when empty: tomorrow's digest starts from now
        msg = mailer.message(to, f"{school}: your daily digest", digest.text(school), school)
        mailer._send(msg)  # raises MailError: the transaction rolls the claim back
    return True


def send_due(
    factory: sessionmaker[Session], mailer: CampusMailer, school: str, now: datetime | None = None
) -> list[str]:
    """Mail every due digest; returns who got one. One person's failure skips only them."""
    now = now or utcnow()
    if not mailer.configured:
        return []
    with factory() as session:
        people = dg.due(session, now)
    sent = []
    for user, to in people:
        try:
            if send_one(factory, mailer, school, user, to, now):
                sent.append(user)
        except MailError as err:
            mailer.log.warning("Daily digest of %s not sent (tried again later): %s", user, err)
    return sent


class DigestSchedule(LoggingConfigurable):
    check_minutes = Float(
        15.0,
        help="""How often the Hub looks for people whose daily email digest is due (each
        person gets at most one a day; 0 switches the digest off).""",
    ).tag(config=True)

    def start(self, factory: sessionmaker[Session], mailer: CampusMailer, school: str) -> Any:
        """Check now and then every `check_minutes` on the running IOLoop."""
        if self.check_minutes <= 0:
            return None

        async def tick() -> None:
            try:
                sent = await asyncio.to_thread(send_due, factory, mailer, school)
            except Exception:  # a database hiccup must not stop tomorrow's digests
                self.log.exception("Daily digests failed")
                return
            if sent:
                self.log.info("Daily digests sent to %d people", len(sent))

        callback = PeriodicCallback(tick, self.check_minutes * 60_000)
        callback.start()
        asyncio.get_running_loop().create_task(tick())
        return callback
