"""Canonical identities: one spelling per mailbox and per name, for uniqueness and rate limits."""

from __future__ import annotations

import re
import unicodedata

import idna
from confusable_homoglyphs import confusables

# Letters, digits and `_ . -`, starting and ending with a letter or digit, no two separators in
# a row: "alice." or "alice..b" would otherwise sit next to "alice" as a look-alike.
USERNAME_PATTERN = r"^[A-Za-z0-9]+(?:[_.-][A-Za-z0-9]+)*$"
_USERNAME = re.compile(USERNAME_PATTERN)


def canonical_domain(domain: str) -> str:
    """A domain in lower-case ASCII (punycode), whichever way it was spelt."""
    text = unicodedata.normalize("NFKC", domain).strip().rstrip(".").lower()
    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError:
        return text  # validation refuses it elsewhere; the key only has to be stable


def canonical_email(address: str) -> str:
    """The mailbox an address names: NFKC, a lower-case local part and a punycode domain.

    `WHO@Exämple.com`, `who@xn--exmple-cua.com` and a fullwidth "who" are one.
    """
    text = unicodedata.normalize("NFKC", address).strip()
    local, _, domain = text.rpartition("@")
    return f"{local.lower()}@{canonical_domain(domain)}"


def nfkc(text: str) -> str:
    """Compatibility-normalised text: fullwidth and other variant letters become the plain ones."""
    return unicodedata.normalize("NFKC", text)


def is_valid_username(name: str) -> bool:
    """Whether a (normalised) username follows the pattern."""
    return _USERNAME.fullmatch(name) is not None


def looks_like_another(local_part: str) -> bool:
    """Whether non-ASCII letters in an email's local part can pass for Latin ones.

    `alice` with a Cyrillic first letter would be a second account that reads as `alice`.
    """
    if local_part.isascii():
        return False
    return bool(confusables.is_confusable(local_part, preferred_aliases=["latin"]))


def canonical_login(login: str) -> str:
    """A login name as stored: an email in its canonical form, a username NFKC-normalised."""
    text = nfkc(login).strip()
    return canonical_email(text) if "@" in text else text
