"""The account emails: address verification and password reset."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from stockdash.notifications.email import Email


def link(base_url: str, path: str, token: str) -> str:
    """An absolute link to a page of the web app carrying a token."""
    return f"{base_url.rstrip('/')}/{path}?{urlencode({'token': token})}"


def _html(greeting: str, lead: str, url: str, action: str, footer: str) -> str:
    return (
        '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5">'
        f"<p>{escape(greeting)}</p><p>{escape(lead)}</p>"
        f'<p><a href="{escape(url)}">{escape(action)}</a></p>'
        f"<p>Or paste this link into your browser:<br>{escape(url)}</p>"
        f'<p style="color: #666">{escape(footer)}</p></body></html>'
    )


def _render(
    to: str, subject: str, greeting: str, lead: str, url: str, action: str, footer: str
) -> Email:
    text = f"{greeting}\n\n{lead}\n\n{url}\n\n{footer}\n"
    return Email(to, subject, text, _html(greeting, lead, url, action, footer))


def verification_email(*, to: str, username: str, base_url: str, token: str, hours: float) -> Email:
    """The message with the link that confirms an email address."""
    return _render(
        to,
        "Confirm your email address for stockdash",
        f"Hi {username},",
        "Please confirm your email address by opening this link:",
        link(base_url, "verify-email", token),
        "Confirm my email address",
        f"The link works once and expires in {hours:g} hours. "
        "If you did not sign up for stockdash, ignore this message.",
    )


def password_reset_email(
    *, to: str, username: str, base_url: str, token: str, minutes: float
) -> Email:
    """The message with the link that sets a new password."""
    return _render(
        to,
        "Reset your stockdash password",
        f"Hi {username},",
        "Someone (hopefully you) asked to reset your stockdash password. "
        "Choose a new one by opening this link:",
        link(base_url, "reset-password", token),
        "Choose a new password",
        f"The link works once and expires in {minutes:g} minutes. "
        "If you did not ask for this, ignore this message: your password stays the same.",
    )
