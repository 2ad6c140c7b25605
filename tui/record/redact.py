"""Turning a record into one line of JSON that holds no secret and always encodes.

A recording is kept for days and shared for debugging, so the API key must never reach
it, wherever it turned up (a batch's metadata, an error message echoed by a gateway).
Redaction works on the serialized line, because that is what lands on disk, but replaces
inside the strings first so the line stays valid JSON:

1. serialize; if no secret occurs (the usual case), done: one scan per secret;
2. else replace every secret in every string (keys too) and serialize again;
3. if a secret still occurs (it is outside any string: in a number, across JSON syntax),
   replace it in the line itself: that line may no longer parse and is then skipped by
   the reader, but the key stays off the disk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tui.record.records import RecordingError

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4
"""Shorter "secrets" would redact ordinary words and numbers all over the file."""


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr)
"""Made once: ``json.dumps`` with options builds a new encoder per call, a third of the cost
of recording a 1,000-batch page."""


def dumps(obj: Any) -> str:
    """Compact JSON, non-ASCII kept as is; an object JSON cannot hold is written as its repr.

    Raises ``TypeError``/``ValueError``/``RecursionError`` for keys JSON cannot hold,
    cycles and absurd nesting: the writer turns those into ``RecordingError``.
    """
    return _ENCODER.encode(obj)


def line_bytes(line: str) -> bytes:
    """UTF-8 for the file. A lone surrogate (``"\\udc80"``, from a mis-decoded byte) cannot be
    UTF-8, so it becomes the JSON escape ``\\udc80``, which reads back as the same string;
    it can only occur inside a JSON string, where that escape is valid."""
    return line.encode("utf-8", "backslashreplace")


class Redactor:
    """Replaces every given secret (of at least MIN_SECRET_LENGTH characters) by REDACTED."""

    def __init__(self, secrets: Iterable[str]) -> None:
        kept = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = tuple(sorted(kept, key=len, reverse=True))
        # How each one looks inside a JSON string, if escaping changes it (quotes, backslashes).
        forms = set(self._secrets) | {json.dumps(s, ensure_ascii=False)[1:-1] for s in self._secrets}
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def occurs_in(self, text: str) -> bool:
        if not self._forms:  # no secrets given: the common case in tests and demos, kept cheap
            return False
        return any(form in text for form in self._forms)

    def encode(self, obj: Any) -> str:
        """``obj`` as one line of JSON without any secret (see the module docstring)."""
        line = dumps(obj)
        if not self.occurs_in(line):
            return line
        return self.scrub_line(dumps(self._scrub_tree(obj)))

    def scrub_line(self, line: str) -> str:
        """The last resort on a whole line; raises if the line cannot be rid of a secret at all
        (one that overlaps REDACTED itself): better no record than the key on disk."""
        for _ in range(3):
            if not self.occurs_in(line):
                return line
            for form in self._forms:
                line = line.replace(form, REDACTED)
        if self.occurs_in(line):
            raise RecordingError("a record was not written: a secret could not be redacted from it")
        return line

    def _scrub_tree(self, obj: Any) -> Any:
        if isinstance(obj, str):
            for secret in self._secrets:
                obj = obj.replace(secret, REDACTED)
            return obj
        if isinstance(obj, dict):
            return {self._scrub_tree(k): self._scrub_tree(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self._scrub_tree(item) for item in obj]
        if isinstance(obj, int | float | bool) or obj is None:
            return obj
        return self._scrub_tree(repr(obj))  # what dumps would write for it, scrubbed
