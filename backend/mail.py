"""Outgoing email over SMTP (verification links, password resets, invitations)."""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import make_msgid

from backend.settings import Settings

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


def send(settings: Settings, to: str | list[str], subject: str, body: str) -> None:
    """Send one plain-text message. The body carries single-use links, so it is never logged."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="inflow")
    message.set_content(body)
    try:
        with _connect(settings) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail to the SMTP server failed: %s", type(exc).__name__)
        raise MailError("the mail server could not send the message") from exc
    log.info("mail sent: %s", message["Message-ID"])


def _connect(settings: Settings) -> smtplib.SMTP:
    """An SMTP session as configured: plain (a local relay), STARTTLS or implicit TLS, then login."""
    context = ssl.create_default_context()
    if settings.smtp_tls == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=10, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10)
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=context)
    if settings.smtp_username:
        smtp.login(settings.smtp_username, settings.smtp_password)
    return smtp


def send_later(settings: Settings, to: str, subject: str, body: str) -> threading.Thread:
    """Send from a background thread, so a response takes as long whether or not a mail goes out
    (otherwise timing would tell an attacker which email addresses have accounts)."""

    def deliver() -> None:
        try:
            send(settings, to, subject, body)
        except MailError:
            pass  # already logged without content; the user can ask again

    thread = threading.Thread(target=deliver, name="inflow-mail", daemon=True)
    thread.start()
    return thread
