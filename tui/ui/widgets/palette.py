"""Colour as a third cue only. Under NO_COLOR, Textual turns colours into greys by their
brightness, and red or green text on a dark background turns into near-invisible dark
grey: so our own colours are dropped and the word, glyph and weight carry the meaning."""

from __future__ import annotations

import os


def hue(style: str) -> str:
    """``style`` with its colour removed when the user asked for no colour."""
    if not os.environ.get("NO_COLOR"):
        return style
    kept = [word for word in style.split() if word in ("bold", "dim", "italic", "reverse", "underline", "not")]
    return " ".join(kept)
