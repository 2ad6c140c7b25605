"""Fault rules: which requests the simulated gateway answers badly, and how.

A rule picks requests by provider, path prefix and method, fires a limited number of
times or with a probability, and names the kind of failure. Choosing is done here, with
the injector's own seeded RNG so that a probabilistic fault hits the same requests in
every run; what each kind does to the bytes on the wire is the handler's business.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

FAULT_KINDS = frozenset(
    {
        "latency",  # wait ``delay`` real seconds, then answer normally
        "status",  # answer ``status`` in the gateway's error shape
        "rate_limit",  # answer 429, with Retry-After when ``retry_after`` is set
        "malformed_json",  # 200 with a truncated JSON body
        "wrong_shape",  # 200 with valid JSON of the wrong shape
        "drop",  # close the connection without answering (request never processed)
        "reset",  # process, send half the body, then reset the connection
        "trickle",  # process, then send the body at ``rate`` bytes per second
        "oversized",  # process, then pad the body to about ``size`` bytes
        "unsupported",  # 400 unsupported_operation for the request's provider (``legacy``: no code)
        "ignore_after",  # the list ignores ``after`` and answers page 1 again, with the same
        # next_cursor: real Bifrost does this for anthropic, bedrock and gemini,
        # whose BatchList reads AfterID/PageToken, which /v1/batches never fills
        # (anthropic.go, bedrock.go, gemini.go BatchList; inference.go batchList)
    }
)


@dataclass
class FaultRule:
    """One kind of misbehaviour and the requests it applies to."""

    kind: str
    status: int = 503
    retry_after: float | None = None
    delay: float = 0.0
    rate: int = 64
    size: int = 5_000_000
    provider: str | None = None
    path: str | None = None
    method: str | None = None
    times: int | None = None
    probability: float = 1.0
    legacy: bool = False
    """``unsupported`` only: answer as older gateways do, with the message and no code."""

    def __post_init__(self) -> None:
        # Rules also arrive as JSON through /_sim/faults, so check them as input.
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(sorted(FAULT_KINDS))}")
        if not 400 <= self.status <= 599:
            raise ValueError("status must be a 4xx or 5xx code")
        if self.rate < 1 or self.size < 0 or self.delay < 0:
            raise ValueError("rate must be >= 1, size and delay >= 0")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 (or null for until removed)")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if self.method is not None:
            self.method = self.method.upper()

    def matches(self, method: str, path: str, provider: str | None) -> bool:
        if self.kind == "ignore_after" and not (method == "GET" and path.rstrip("/") == "/v1/batches"):
            return False  # only a list call has an ``after`` to ignore
        return (
            (self.provider is None or self.provider == provider)
            and (self.path is None or path.startswith(self.path))
            and (self.method is None or self.method == method)
        )


class FaultInjector:
    """The active fault rules of one simulated gateway. Thread-safe."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rules: dict[int, FaultRule] = {}  # insertion order = matching order
        self._left: dict[int, int | None] = {}  # remaining firings per rule
        self._next_id = 1
        self._fired = 0

    def add(self, rule: FaultRule) -> FaultRule:
        self.add_with_id(rule)
        return rule

    def add_with_id(self, rule: FaultRule) -> int:
        """Add ``rule`` and return the id the control endpoint reports for it."""
        with self._lock:
            rule_id = self._next_id
            self._next_id += 1
            self._rules[rule_id] = rule
            self._left[rule_id] = rule.times
            return rule_id

    def remove(self, rule: FaultRule | int) -> bool:
        """Remove a rule, given as the object added or its id; False if it was not active."""
        with self._lock:
            rule_id = rule if isinstance(rule, int) else next((i for i, r in self._rules.items() if r is rule), None)
            if rule_id not in self._rules:
                return False
            del self._rules[rule_id], self._left[rule_id]
            return True

    def clear(self) -> int:
        """Remove every rule; returns how many there were."""
        with self._lock:
            count = len(self._rules)
            self._rules.clear()
            self._left.clear()
            return count

    def fired(self) -> int:
        with self._lock:
            return self._fired

    def active(self) -> list[tuple[int, FaultRule]]:
        with self._lock:
            return list(self._rules.items())

    def pick(self, method: str, path: str, provider: str | None) -> FaultRule | None:
        """The first rule that applies to this request and fires, counting it as fired.
        ``ignore_after`` rules are not picked here (see :meth:`ignores_after`): they change
        what the gateway computes, not how it answers, and combine with the others."""
        return self._pick(method, path, provider, ignore_after=False)

    def ignores_after(self, method: str, path: str, provider: str | None) -> bool:
        """Whether an ``ignore_after`` rule fires for this list call (counted as fired)."""
        return self._pick(method, path, provider, ignore_after=True) is not None

    def _pick(self, method: str, path: str, provider: str | None, *, ignore_after: bool) -> FaultRule | None:
        with self._lock:
            for rule_id, rule in self._rules.items():
                if (rule.kind == "ignore_after") != ignore_after:
                    continue
                if not rule.matches(method, path, provider):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                self._fired += 1
                left = self._left[rule_id]
                if left is not None:
                    if left <= 1:
                        del self._rules[rule_id], self._left[rule_id]
                    else:
                        self._left[rule_id] = left - 1
                return rule
            return None
