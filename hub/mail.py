"""The campus's outgoing mail (verification and password-reset links) over SMTP.

Configure as `c.CampusMailer.smtp_host = "smtp.example.org"` (and port, TLS mode, user,
password file, sender) in the data directory's `jupyterhub_config_extra.py`. Without a host,
nothing is sent: each message is written to the Hub's log, where the operator finds the link,
and the pages that would have mailed it say so.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from traitlets import Float, Integer, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


class CampusMailer(LoggingConfigurable):
    smtp_host = Unicode(
        "",
        help="""The SMTP server that sends the campus's mail. Empty (the default): no mail
        is sent; the links go to the Hub's log instead, and the pages say so.""",
    ).tag(config=True)

    smtp_port = Integer(
        0,
        help="""The SMTP server's port; 0 picks the usual one for `smtp_tls` (465 for ssl,
        587 for starttls, 25 for none).""",
    ).tag(config=True)

    smtp_tls = Unicode(
        "starttls",
        help="""How the connection is secured: `starttls` (upgrade a plain connection, the
        usual with port 587), `ssl` (TLS from the start, port 465) or `none` (a local relay
        only).""",
    ).tag(config=True)

    smtp_user = Unicode(
        "", help="The SMTP user name, when the server wants a login (empty: no login)."
    ).tag(config=True)

    smtp_password_file = Unicode(
        "",
        help="""A file holding the SMTP password (kept out of the config file; make it
        readable by the Hub's user only).""",
    ).tag(config=True)

    sender = Unicode(
        "",
        help="""The From address of the campus's mail, e.g. `campus@school.example`.
        Required when `smtp_host` is set.""",
    ).tag(config=True)

    sender_name = Unicode(
        "", help="The From name (default: the school's name, c.CampusSite.school_name)."
    ).tag(config=True)

    timeout = Float(20.0, help="Seconds to wait for the SMTP server.").tag(config=True)

    @validate("smtp_tls")
    def _check_tls(self, proposal: dict[str, str]) -> str:
        if proposal["value"] not in ("starttls", "ssl", "none"):
            raise TraitError("CampusMailer.smtp_tls must be starttls, ssl or none")
        return proposal["value"]

    @property
    def configured(self) -> bool:
        return bool(self.smtp_host)

    def port(self) -> int:
        return self.smtp_port or {"ssl": 465, "starttls": 587}.get(self.smtp_tls, 25)

    def message(self, to: str, subject: str, body: str, from_name: str = "") -> EmailMessage:
        msg = EmailMessage()
        sender = self.sender or "nbcampus@localhost"
        msg["From"] = formataddr((self.sender_name or from_name, sender))
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        msg.set_content(body)
        return msg

    def _send(self, msg: EmailMessage) -> None:
        context = ssl.create_default_context()
        try:
            if self.smtp_tls == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.smtp_host, self.port(), timeout=self.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(self.smtp_host, self.port(), timeout=self.timeout)
            with smtp:
                if self.smtp_tls == "starttls":
                    smtp.starttls(context=context)
                if self.smtp_user:
                    password = Path(self.smtp_password_file).read_text().strip()
                    smtp.login(self.smtp_user, password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as err:
            raise MailError(f"mail to {msg['To']} not sent: {err}") from err

    async def send(self, to: str, subject: str, body: str, from_name: str = "") -> bool:
        """Send one message; False when no SMTP server is configured (it is logged instead).
        Raises MailError when the server fails."""
        msg = self.message(to, subject, body, from_name)
        if not self.configured:
            self.log.warning(
                "No SMTP server configured (c.CampusMailer.smtp_host): mail to %s not sent. "
                "Subject: %s\n%s",
                to,
                subject,
                body,
            )
            return False
        await asyncio.to_thread(self._send, msg)
        self.log.info("Mail sent to %s: %s", to, subject)
        return True
