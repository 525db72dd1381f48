"""The daily email digest through a real Hub: its switch on the profile page in Chromium (off
for a new person, on after a click, kept after a reload, off again), and the Hub mailing a
due digest to a real SMTP server (aiosmtpd) once, across checks and a restart."""

from __future__ import annotations

import time
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from harness.browser import sign_in
from harness.hub import CampusHub

from nbcampus.db import make_engine, session_factory, transaction
from nbcampus.hub.campus import digest, engagement
from nbcampus.hub.campus.orm import Account, utcnow
from nbcampus.ports import free_port

pytestmark = [pytest.mark.slow]


class Inbox:
    """An SMTP server's message handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.mark.parametrize("campus_hub", ["sqlite"], indirect=True)
def test_daily_digest_switch_on_the_profile(
    campus_hub: CampusHub, make_user, browser, output_dir: Path
) -> None:
    student = make_user("student")
    page = sign_in(
        browser,
        campus_hub,
        student["name"],
        student["password"],
        next_="hub/profile",
        viewport=(1280, 900),
    )
    try:
        page.wait_for_selector("#nbcampus-profile", timeout=30_000)
        assert not page.is_checked("#daily-digest")  # opt-in: off until switched on
        page.click("#daily-digest")
        page.wait_for_selector("#profile-message")
        assert page.inner_text("#profile-message") == "You will get a daily email digest."
        page.goto(campus_hub.url + "hub/profile")
        assert page.is_checked("#daily-digest")
        page.screenshot(path=str(output_dir / "profile-daily-digest.png"))
        page.click("#daily-digest")
        page.wait_for_selector("#profile-message")
        assert page.inner_text("#profile-message") == "You will get no daily email digest."
        page.goto(campus_hub.url + "hub/profile")
        assert not page.is_checked("#daily-digest")
    finally:
        page.context.close()
    # A post from outside the page (an API token, no XSRF token) is refused.
    resp = student["client"].post("hub/profile/digest", data={"daily_digest": "on"})
    assert resp.status_code == 403


def test_the_hub_mails_a_due_digest_once(tmp_path: Path) -> None:
    """A real Hub with SMTP settings and a short check interval: an opted-in person's digest
    leaves once, the following checks (and a restarted Hub) send nothing more."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    config = f"""
c.CampusMailer.smtp_host = "127.0.0.1"
c.CampusMailer.smtp_port = {port}
c.CampusMailer.smtp_tls = "none"
c.CampusMailer.sender = "campus@school.test"
c.CampusSite.school_name = "Orus School of Code"
c.DigestSchedule.check_minutes = 0.02
"""
    data = tmp_path / "data"
    hub = CampusHub(data, env={"NBCAMPUS_DEMO": "0"}, extra_config=config).start()
    try:
        engine = make_engine(f"sqlite:///{data / 'campus.sqlite'}")
        factory = session_factory(engine)
        with transaction(factory) as s:
            s.add(Account(name="mia", role="student", email="mia@school.test"))
            digest.set_preference(s, "mia", True, now=utcnow() - timedelta(minutes=1))
            engagement.notify(s, "mia", "badge", "You earned the badge First pass")
        deadline = time.monotonic() + 60
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [m["To"] for m in inbox.messages] == ["mia@school.test"]
        mail = inbox.messages[0]
        assert mail["Subject"] == "Orus School of Code: your daily digest"
        assert "* You earned the badge First pass" in mail.get_content()
        time.sleep(3)  # several more checks
        hub.stop()
        hub.start()
        time.sleep(3)
        assert len(inbox.messages) == 1
        engine.dispose()
    finally:
        hub.stop()
        controller.stop()
