"""Canonical identities: one spelling per mailbox and per name, for uniqueness and rate limits."""

from __future__ import annotations

import unicodedata

import idna


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
