"""How one cancel attempt ended: the one outcome type of the board, the CLI and the audit log.

- accepted: the gateway answered 2xx;
- refused: the gateway (or the provider behind it) said no with a 4xx — the batch had
  finished, the key may not cancel, the batch is unknown;
- failed: no usable answer — no connection (certainly not sent), the connection broke after
  sending (maybe sent), a 5xx or a 429. Failed ones can be retried.

The words a person reads for each are in ``tui.text.cancel_words``.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    FAILED = "failed"


OUTCOMES = tuple(o.value for o in Outcome)
"""The values the audit log writes."""
