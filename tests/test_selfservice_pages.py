"""Self-service account pages through a real Hub that mails through a real SMTP server
(aiosmtpd, started by the test on a free port): sign-up → mail → verify → sign in; forgot →
mail → reset → sign in; change password. Same answers for known and unknown addresses, XSRF
on every form, errors beside their fields. Chromium journeys keep screenshots in test-output/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from harness.browser import log_in, sign_in
from harness.hub import CampusHub

from nbcampus.ports import free_port

pytestmark = pytest.mark.slow
DB_PARAMS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
LINK_RE = re.compile(r"https?://\S+/hub/(?:verify|reset|email/confirm)\?\S+")


class Inbox:
    """An SMTP server's message handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, to: str, subject: str, timeout: float = 30) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in self.messages:
                if msg["To"] == to and subject in msg["Subject"]:
                    self.messages.remove(msg)
                    return msg
            time.sleep(0.1)
        raise AssertionError(f"no mail to {to} about {subject!r}: {self.subjects()}")

    def subjects(self) -> list[tuple[str, str]]:
        return [(m["To"], m["Subject"]) for m in self.messages]

    def link_in(self, to: str, subject: str) -> str:
        body = self.wait_for(to, subject).get_content()
        match = LINK_RE.search(body)
        assert match, body
        return match.group(0)


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


def mail_config(port: int) -> str:
    return f"""
c.CampusMailer.smtp_host = "127.0.0.1"
c.CampusMailer.smtp_port = {port}
c.CampusMailer.smtp_tls = "none"
c.CampusMailer.sender = "campus@school.test"
c.CampusSite.school_name = "Orus School of Code"
c.CampusSite.signed_in_to_lab = False
"""


@pytest.fixture(scope="module", params=DB_PARAMS)
def mail_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, inbox: Inbox
) -> Iterator[CampusHub]:
    db = None
    if request.param == "postgresql":
        db = request.getfixturevalue("pg_cluster").create_database()
    hub = CampusHub(
        tmp_path_factory.mktemp("selfservice") / "data",
        db_url=db,
        env={"NBCAMPUS_ALLOW_SIGNUP": "1", "NBCAMPUS_DEMO": "0"},
        extra_config=mail_config(inbox.port),
    ).start()
    yield hub
    hub.stop(timeout=90)  # a loaded machine may take a while


def form_post(
    hub: CampusHub, page: str, data: dict[str, str], session: requests.Session | None = None
) -> requests.Response:
    """GET a form page, then POST it with its XSRF token, as a browser would."""
    session = session or requests.Session()
    form = session.get(hub.url + page, timeout=10)
    assert form.status_code == 200, form.text[:300]
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
    return session.post(
        hub.url + page, data={**data, "_xsrf": xsrf}, allow_redirects=False, timeout=30
    )


def sign_up(hub: CampusHub, name: str, email: str, password: str) -> requests.Response:
    return form_post(
        hub,
        "hub/signup",
        {"username": name, "email": email, "password": password, "confirm": password},
    )


def verified_account(hub: CampusHub, inbox: Inbox, name: str, password: str) -> str:
    email = f"{name}@school.test"
    assert sign_up(hub, name, email, password).status_code == 200
    link = inbox.link_in(email, "confirm your email address")
    session = requests.Session()
    page = session.get(link, timeout=10)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = session.post(link, data={"_xsrf": xsrf, "user": name, "token": token}, timeout=30)
    assert done.status_code == 200 and "is ready" in done.text
    return email


def test_known_and_unknown_addresses_get_the_same_answer(mail_hub: CampusHub, inbox: Inbox) -> None:
    email = verified_account(mail_hub, inbox, "known", "river otter 42")

    def answer(resp: requests.Response, *secrets: str) -> tuple[int, str]:
        text = resp.text
        for s in secrets:
            text = text.replace(s, "X")
        # the per-request XSRF token (in the form and in the page's script) differs anyway
        text = re.sub(r'name="_xsrf" value="[^"]+"|xsrf_token: "[^"]+"', "", text)
        return resp.status_code, text

    known = form_post(mail_hub, "hub/forgot", {"email": email})
    unknown = form_post(mail_hub, "hub/forgot", {"email": "ghost@school.test"})
    assert answer(known, email) == answer(unknown, "ghost@school.test")
    assert known.status_code == 200 and "If an account uses" in known.text
    inbox.wait_for(email, "choose a new password")  # only the known address gets mail
    # sign-up with a taken address answers as with a fresh one; the owner is told by mail
    taken = sign_up(mail_hub, "someone1", email, "river otter 43")
    fresh = sign_up(mail_hub, "someone2", "fresh@school.test", "river otter 43")
    assert answer(taken, email) == answer(fresh, "fresh@school.test")
    inbox.wait_for(email, "someone tried to sign up")
    inbox.wait_for("fresh@school.test", "confirm your email address")
    assert not [m for m in inbox.messages if m["To"] == "ghost@school.test"]


def test_forms_need_xsrf_and_show_errors_beside_fields(mail_hub: CampusHub) -> None:
    for page in ("hub/forgot", "hub/signup", "hub/reset"):
        resp = requests.post(mail_hub.url + page, data={"email": "a@b.test"}, timeout=10)
        assert resp.status_code == 403, page
    bad = sign_up(mail_hub, "typed-name", "not-an-address", "river otter 42")
    assert bad.status_code == 400
    assert 'id="account-error-email"' in bad.text and 'value="typed-name"' in bad.text
    assert 'value="not-an-address"' in bad.text  # what was typed stays
    weak = sign_up(mail_hub, "weak-one", "weak@school.test", "password1")
    assert weak.status_code == 400 and 'id="account-error-password"' in weak.text
    assert "common" in weak.text
    # a made-up reset link is refused without a form
    resp = requests.get(mail_hub.url + "hub/reset?user=known&token=made-up", timeout=10)
    assert (
        resp.status_code == 400 and "not valid" in resp.text and "account-submit" not in resp.text
    )


def test_a_reset_link_works_once_through_the_pages(mail_hub: CampusHub, inbox: Inbox) -> None:
    email = verified_account(mail_hub, inbox, "once", "river otter 42")
    assert form_post(mail_hub, "hub/forgot", {"email": email}).status_code == 200
    link = inbox.link_in(email, "choose a new password")
    path = link.split("/hub/", 1)[1]
    new = {"password": "fresh river 99", "confirm": "fresh river 99"}
    session = requests.Session()
    page = session.get(link, timeout=10)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    hidden = {
        k: re.search(rf'name="{k}" value="([^"]+)"', page.text).group(1) for k in ("user", "token")
    }
    resp = session.post(link, data={**hidden, **new, "_xsrf": xsrf}, timeout=30)
    assert resp.status_code == 200 and "password is changed" in resp.text
    again = session.post(link, data={**hidden, **new, "_xsrf": xsrf}, timeout=30)
    assert again.status_code == 400 and "used already" in again.text
    assert requests.get(mail_hub.url + "hub/" + path, timeout=10).status_code == 400
    mail_hub.login_session("once", "fresh river 99")


def test_signed_in_people_may_be_shown_the_landing_page_too(
    mail_hub: CampusHub, inbox: Inbox
) -> None:
    """With c.CampusSite.signed_in_to_lab = False, `/hub/` shows the school's page to a
    signed-in person too, with a way into their Lab instead of "Sign in"."""
    verified_account(mail_hub, inbox, "lander", "river otter 42")
    session = mail_hub.login_session("lander", "river otter 42")
    page = session.get(mail_hub.url + "hub/", allow_redirects=False, timeout=10)
    assert page.status_code == 200 and "Orus School of Code" in page.text
    assert "Open my JupyterLab" in page.text and 'id="nbcampus-signin"' not in page.text
    anonymous = requests.get(mail_hub.url + "hub/", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 200 and 'id="nbcampus-signup"' in anonymous.text


# --- Chromium journeys ----------------------------------------------------------------------
def sign_in_to_password_page(page: Any, hub: CampusHub, name: str, password: str) -> None:
    """Sign in straight to the password page (no server to start for these journeys)."""
    log_in(page, hub, name, password, next_="hub/password")
    page.wait_for_url(re.compile(r".*/hub/password$"), timeout=30_000)


@pytest.mark.browser
@pytest.mark.parametrize("mail_hub", ["sqlite"], indirect=True)
def test_sign_up_verify_forget_reset_and_change_in_the_browser(
    mail_hub: CampusHub, inbox: Inbox, browser: Any, output_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    try:
        # sign-up → mail → verify → sign in
        page.goto(mail_hub.url + "hub/login")
        page.click("#nbcampus-signup-link a")
        page.fill("#account-username", "journey")
        page.fill("#account-email", "journey@school.test")
        page.fill("#account-password", "sunshine1")  # a common password first
        page.fill("#account-confirm", "sunshine1")
        page.click("#account-submit")
        page.wait_for_selector("#account-error-password")
        assert page.input_value("#account-username") == "journey"
        assert page.input_value("#account-email") == "journey@school.test"
        page.screenshot(path=str(output_dir / "account-signup-error.png"), full_page=True)
        page.fill("#account-password", "long walk home 7")
        page.fill("#account-confirm", "long walk home 7")
        page.click("#account-submit")
        page.wait_for_selector("#account-message")
        page.screenshot(path=str(output_dir / "account-signup-sent.png"), full_page=True)
        page.goto(inbox.link_in("journey@school.test", "confirm your email address"))
        page.click("#account-submit")
        page.wait_for_selector("#account-message")
        assert "is ready" in page.inner_text("#account-message")
        sign_in_to_password_page(page, mail_hub, "journey", "long walk home 7")
        page.click("#logout")
        page.wait_for_url(re.compile(r".*/hub/login.*"))
        # forgot → mail → reset → sign in
        page.click("#nbcampus-forgot-link a")
        page.fill("#account-email", "journey@school.test")
        page.click("#account-submit")
        page.wait_for_selector("#account-message")
        page.screenshot(path=str(output_dir / "account-forgot-sent.png"), full_page=True)
        page.goto(inbox.link_in("journey@school.test", "choose a new password"))
        page.fill("#account-password", "second walk home 8")
        page.fill("#account-confirm", "second walk home 8")
        page.screenshot(path=str(output_dir / "account-reset.png"), full_page=True)
        page.click("#account-submit")
        page.wait_for_selector("#account-message")
        sign_in_to_password_page(page, mail_hub, "journey", "second walk home 8")
        # change password (signed in): a wrong current password is named beside its field
        page.fill("#account-current", "not my password")
        page.fill("#account-password", "third walk home 9")
        page.fill("#account-confirm", "third walk home 9")
        page.click("#account-submit")
        page.wait_for_selector("#account-error-current")
        page.screenshot(path=str(output_dir / "account-change-error.png"), full_page=True)
        page.fill("#account-current", "second walk home 8")
        page.fill("#account-password", "third walk home 9")
        page.fill("#account-confirm", "third walk home 9")
        page.click("#account-submit")
        page.wait_for_selector("#account-message")
        page.screenshot(path=str(output_dir / "account-changed.png"), full_page=True)
    finally:
        context.close()
    mail_hub.login_session("journey", "third walk home 9")


@pytest.mark.browser
@pytest.mark.parametrize("mail_hub", ["sqlite"], indirect=True)
def test_an_email_change_is_confirmed_from_the_new_address(
    mail_hub: CampusHub, inbox: Inbox, browser: Any, output_dir: Path
) -> None:
    old = verified_account(mail_hub, inbox, "mover", "moving day 2026")
    page = sign_in(
        browser, mail_hub, "mover", "moving day 2026", next_="hub/profile", viewport=(1100, 900)
    )
    try:
        page.wait_for_url(re.compile(r".*/hub/profile$"), timeout=30_000)
        page.click("#profile-email-change")  # from the profile, beside the address
        page.wait_for_url(re.compile(r".*/hub/email$"), timeout=30_000)
        # a wrong password is named beside its field; the typed address stays
        page.fill("#account-current", "not my password")
        page.fill("#account-email", "mover@new-school.test")
        page.click("#account-submit")
        page.wait_for_selector("#account-error-current")
        assert page.input_value("#account-email") == "mover@new-school.test"
        page.screenshot(path=str(output_dir / "account-email-error.png"), full_page=True)
        page.fill("#account-current", "moving day 2026")
        page.click("#account-submit")
        page.wait_for_selector("#account-message")
        assert "mover@new-school.test" in page.inner_text("#account-message")
        # nothing changes until the link mailed to the new address is opened
        page.goto(mail_hub.url + "hub/profile")
        assert page.inner_text("#profile-email") == old
        page.goto(inbox.link_in("mover@new-school.test", "confirm your new email address"))
        page.screenshot(path=str(output_dir / "account-email-confirm.png"), full_page=True)
        page.click("#account-submit")
        page.wait_for_selector("#account-message")
        assert "now uses mover@new-school.test" in page.inner_text("#account-message")
        page.goto(mail_hub.url + "hub/profile")
        assert page.inner_text("#profile-email") == "mover@new-school.test"
    finally:
        page.context.close()
    # the old address no longer gets a reset link for this account; the new one does
    form_post(mail_hub, "hub/forgot", {"email": "mover@new-school.test"})
    assert inbox.link_in("mover@new-school.test", "choose a new password")
