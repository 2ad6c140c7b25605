"""What a person reads about a cancel: its state on the board, its outcome, whether it was sent.

Keyed by the values of ``tui.cancel.outcome.Outcome`` (accepted, refused, failed) plus
"sending" for one on its way; the layers above take their words from here.
"""

from __future__ import annotations

CANCEL_STATE_WORDS = {
    "sending": "cancelling…",
    "accepted": "cancel accepted",
    "refused": "cancel refused",
    "failed": "cancel failed",
}

OUTCOME_GLYPHS = {"accepted": "✓", "refused": "✗", "failed": "!"}
"""Outcomes read by a glyph as well as a colour (NO_COLOR, colour-blind readers)."""

OUTCOME_TITLES = {"refused": "Cancel refused", "failed": "Cancel failed", "accepted": "Cancel accepted"}


def sent_words(sent: bool | None) -> str:
    """Did a failed cancel reach the gateway? "not sent", "sent, no answer: …", "sent"."""
    if sent is False:
        return "not sent"
    if sent is None:
        return "sent, no answer: check its status"
    return "sent"
