"""The emails Inflow sends about accounts: confirm address, reset password, invitations, notices."""

from __future__ import annotations

import re

from backend import mail
from backend.models import Account, User
from backend.security import email_tokens
from backend.services import get_settings

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """User-typed text going into a header (subject): no CR/LF, so no header injection."""
    return _CONTROL.sub(" ", text or "").strip()[:80]


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text or "") is not None


def link(path: str, token: str) -> str:
    # In the fragment: browsers do not send it, so the token is in no access log or Referer
    # (static/js/token-link.js copies it into the form, whose POST body carries it).
    return f"{get_settings().public_url}{path}#token={token}"


def send_verification(user: User) -> None:
    """A new confirmation link (earlier ones stop working); sent in the background."""
    token = email_tokens.issue(user, "verify")
    mail.send_later(get_settings(), user.email, "Confirm your email address for Inflow",
                    f"Hello {user.first_name},\n\nconfirm your email address to start using Inflow:\n"
                    f"{link('/verify', token)}\n\nYou will be asked for the password you chose when you signed "
                    "up. The link works once, within 24 hours.\nIf you did not sign up, ignore this message.\n")


def send_reset(user: User) -> None:
    token = email_tokens.issue(user, "reset")
    mail.send_later(get_settings(), user.email, "Reset your Inflow password",
                    "Someone asked to reset the password of your Inflow account.\n\n"
                    "Choose a new password here (the link works once, within 30 minutes):\n"
                    f"{link('/password/reset', token)}\n\nIf it was not you, ignore this message.\n")


def send_already_registered(user: User) -> None:
    url = get_settings().public_url
    mail.send_later(get_settings(), user.email, "You already have an Inflow account",
                    "Someone (hopefully you) tried to sign up for Inflow with this address, which already "
                    f"has an account.\n\nLog in: {url}/login\nForgot your password? {url}/password/forgot\n")


def send_invitation(inviter: User, account: Account, user: User) -> None:
    token = email_tokens.issue(user, "invite")
    mail.send(get_settings(), user.email, f"Join {one_line(account.company)} on Inflow",
              f"{inviter.first_name} {inviter.last_name} invited you to {account.company}'s Inflow account.\n\n"
              "Choose your password to join (the link works once, within 7 days):\n"
              f"{link('/invite/accept', token)}\n")


def send_invitation_to_taken_address(inviter: User, email: str) -> None:
    mail.send(get_settings(), email, "An invitation to Inflow",
              f"{inviter.first_name} invited you to their Inflow account, but this email address already "
              "belongs to another Inflow account. Ask them to invite another address.\n")
