"""The password policy: zxcvbn's strength estimate, with the account's own names as context."""

from __future__ import annotations

from typing import Any

from zxcvbn import zxcvbn

from stockdash.core.errors import Unprocessable

# zxcvbn refuses longer input; a longer passphrase is judged by its first 72 characters.
_MAX_CHECKED = 72


def strength(password: str, context: list[str]) -> dict[str, Any]:
    """zxcvbn's score (0-4) and feedback, given words of the account itself (username, email)."""
    words = [w for item in context for w in (item, *item.replace("@", " ").split())]
    result = zxcvbn(password[:_MAX_CHECKED], user_inputs=words, max_length=_MAX_CHECKED)
    return {"score": int(result["score"]), "feedback": result["feedback"]}


def check_strength(password: str, context: list[str], min_score: int) -> None:
    """422 weak_password unless zxcvbn scores the password at least `min_score`."""
    if min_score <= 0:
        return
    found = strength(password, context)
    if found["score"] >= min_score:
        return
    feedback = found["feedback"]
    hints = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
    raise Unprocessable(
        "This password is too easy to guess" + (f": {hints}" if hints else "."),
        code="weak_password",
        details={
            "score": found["score"],
            "min_score": min_score,
            "warning": feedback.get("warning") or None,
            "suggestions": feedback.get("suggestions", []),
        },
    )
