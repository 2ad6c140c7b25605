"""The simulated gateway's batches: their plans, the cancels they received, and a default mix.

The world stores only what cannot be computed: each batch's plan and the moment a cancel
was accepted. Everything a client sees is derived from those and the clock on each call.
"""

from __future__ import annotations

import random
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from tui.sim import shapes
from tui.sim.clock import SimClock
from tui.sim.plans import LIVE_STATUSES, BatchPlan, BatchState, state_at

MINUTE = 60.0
HOUR = 3600.0
DAY = 24 * HOUR
_JOB_ONLY = ("bedrock", "gemini", "vertex")  # providers whose batches carry a job name only

_MODELS = {
    "openai": ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4o"),
    "anthropic": ("claude-3-5-haiku-20241022", "claude-sonnet-4-20250514"),
    "bedrock": ("anthropic.claude-3-haiku-20240307-v1:0", "amazon.nova-lite-v1:0"),
    "gemini": ("gemini-2.0-flash", "gemini-1.5-pro"),
    "vertex": ("gemini-2.0-flash-001", "gemini-1.5-pro-002"),
}
_JOBS = (
    "nightly-eval",
    "embeddings-backfill",
    "support-triage",
    "translation-de",
    "summaries-q4",
    "classifier-retrain",
    "red-team-sweep",
    "doc-qa",
    "search-rerank",
)
_TEAMS = ("search", "ml-platform", "support", "growth")
_VALIDATION_ERROR = {
    "code": "invalid_json_line",
    "message": "Line 12 is not valid JSON: Expecting ',' delimiter.",
    "line": 12,
}

# Strings a batch's creator controls and a terminal must never interpret.
_HOSTILE_METADATA = {
    "job": "\x1b[31mred\x1b[0m",
    "title": "\x1b]0;pwned\x07",
    "rtl": "invoice-\u202egnp.exe",
    "controls": "a\x00b\x08c\rd\ne\tf\x7f",
    "long": ("ünïcødé ✓ 名前 " * 30)[:300],
    "\x1b[1mkey": "escape in a key",
}
_HOSTILE_ERROR = {
    "code": "\x1b[2Jwiped",
    "message": "\x1b[2J\x1b[Hscreen wiped \u202eerom on\x07 " + "ß" * 280,
    "line": 3,
}


@dataclass(frozen=True)
class CancelResult:
    """The outcome of a cancel POST: ``accepted`` (now cancelling), ``already`` (was
    cancelling) or ``refused`` (already finished), with the batch as it now stands."""

    outcome: str
    plan: BatchPlan
    state: BatchState


class SimWorld:
    """All simulated batches, per provider, each under one of the provider's gateway keys.
    Thread-safe.

    ``keys`` gives a provider several keys, as a gateway with more than one key per
    provider has (the list then walks key 0's pages, then key 1's, ...):

    - ``{"openai": 3}``: three keys; the default batches are dealt out in turn (batch i of
      the starting mix, and arrival i, to key ``i % 3``), added batches by a hash of their id;
    - ``{"openai": (4, 0, 4)}``: three keys with exactly that many of the starting batches
      each, in the order of the mix (any beyond the sum go to the last key); arrivals and
      added batches go to key 0. A 0 makes an empty key.

    ``add_batch(..., key=i)`` always wins. Providers not named have one key.
    """

    def __init__(
        self,
        clock: SimClock,
        *,
        seed: int,
        providers: tuple[str, ...],
        batches_per_provider: int = 8,
        hostile: bool = False,
        arrivals: float | None = None,
        keys: Mapping[str, int | Sequence[int]] | None = None,
        history: int = 0,
        showcase: bool = False,
    ) -> None:
        if history < 0:
            raise ValueError("history must be 0 or more")
        self.clock = clock
        self.providers = tuple(providers)
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # ids and draws of batches added later
        self._plans: dict[str, dict[str, BatchPlan]] = {p: {} for p in self.providers}
        self._cancel_at: dict[tuple[str, str], float] = {}
        self._cancel_posts: dict[tuple[str, str], int] = {}
        self._keys: dict[str, int | tuple[int, ...]] = {}
        for provider, spec in (keys or {}).items():
            if provider not in self._plans:
                raise ValueError(f"keys given for {provider!r}, which is not simulated")
            spec = spec if isinstance(spec, int) else tuple(int(n) for n in spec)
            if (spec if isinstance(spec, int) else len(spec)) < 1 or (not isinstance(spec, int) and min(spec) < 0):
                raise ValueError(f"keys for {provider!r}: at least one key, no negative counts")
            self._keys[provider] = spec
        anchor = int(clock.now())
        for provider in self.providers:
            # One RNG per provider, so adding a provider leaves the others' batches alone.
            rng = random.Random(f"{seed}:{provider}")
            defaults = _default_plans(provider, rng, anchor, batches_per_provider, hostile, history)
            for index, (plan, cancelled_after) in enumerate(defaults):
                plan = self._keyed(plan, self._default_key(provider, index))
                self._plans[provider][plan.id] = plan
                if cancelled_after is not None:
                    self._cancel_at[(provider, plan.id)] = plan.created_at + cancelled_after
            if arrivals:
                arrived = _arrival_plans(
                    provider, random.Random(f"{seed}:{provider}:arrivals"), anchor, arrivals, set(self._plans[provider])
                )
                for index, plan in enumerate(arrived):
                    spec = self._keys.get(provider, 1)
                    plan = self._keyed(plan, index % spec if isinstance(spec, int) else 0)
                    self._plans[provider][plan.id] = plan
        if showcase:
            self._add_showcase(random.Random(f"{seed}:showcase"), anchor)

    def _add_showcase(self, rng: random.Random, anchor: int) -> None:
        """Add ``_SHOWCASE`` to "openai" (else the first OpenAI-shaped provider), with their
        own RNG so every other batch stays as it is without them."""
        shaped = [p for p in self.providers if shapes.family(p) == "openai"]
        if not shaped:
            return
        provider = "openai" if "openai" in shaped else shaped[0]
        for kind, job, ago, start_delay, total, rate, cancelled_ago, fields in _SHOWCASE:
            while (batch_id := shapes.new_batch_id(provider, rng)) in self._plans[provider]:
                pass
            plan = BatchPlan(
                provider=provider,
                id=batch_id,
                created_at=int(anchor - ago),
                total=total,
                model=rng.choice(_MODELS["openai"]),
                start_delay=start_delay,
                rate=rate,
                metadata={"job": job, "showcase": kind},
            )
            plan = replace(plan, **fields)  # type: ignore[arg-type]
            plan = self._keyed(plan, self._added_key(provider, plan.id))
            self._plans[provider][plan.id] = plan
            if cancelled_ago is not None:
                self._cancel_at[(provider, plan.id)] = anchor - cancelled_ago

    # -- keys ------------------------------------------------------------------------

    def key_count(self, provider: str) -> int:
        """How many gateway keys the provider has (1 unless ``keys`` said otherwise)."""
        spec = self._keys.get(provider, 1)
        return spec if isinstance(spec, int) else len(spec)

    def _default_key(self, provider: str, index: int) -> int:
        spec = self._keys.get(provider, 1)
        if isinstance(spec, int):
            return index % spec
        edge = 0
        for key, count in enumerate(spec):
            edge += count
            if index < edge:
                return key
        return len(spec) - 1

    def _added_key(self, provider: str, batch_id: str) -> int:
        spec = self._keys.get(provider, 1)
        return zlib.crc32(batch_id.encode()) % spec if isinstance(spec, int) else 0

    def _keyed(self, plan: BatchPlan, key: int) -> BatchPlan:
        if plan.key is None:
            plan = replace(plan, key=key)
        if not 0 <= int(plan.key) < self.key_count(plan.provider):  # type: ignore[arg-type]
            raise ValueError(
                f"key {plan.key} out of range for {plan.provider!r} ({self.key_count(plan.provider)} keys)"
            )
        return plan

    # -- reading ---------------------------------------------------------------------

    def batches(self, provider: str) -> list[dict[str, object]]:
        """The provider's batches as its list calls show them, at the clock's now: every key's
        batches in the order a full walk of the pages meets them (key 0 newest first, then
        key 1, ...), each with its own ``extra_fields``."""
        now = self.clock.now()
        latency = shapes.latency_ms(f"{shapes.BATCH_LIST}:{provider}", now)
        return [
            shapes.list_item(plan, state, latency)
            for views in self.views_by_key(provider, now)
            for plan, state in views
        ]

    def batch(self, provider: str, batch_id: str) -> dict[str, object] | None:
        """One batch as retrieve shows it (without ``extra_fields``), or None if unknown."""
        view = self.view(provider, batch_id, self.clock.now())
        return None if view is None else shapes.batch_object(*view)

    def views(self, provider: str, now: float) -> list[tuple[BatchPlan, BatchState]]:
        """Plans and states of the batches that exist at ``now``, newest first (all keys)."""
        with self._lock:
            plans = [p for p in self._plans[provider].values() if p.created_at <= now]
            cancels = {p.id: self._cancel_at.get((provider, p.id)) for p in plans}
        plans.sort(key=lambda p: (p.created_at, p.id), reverse=True)
        return [(p, state_at(p, now, cancels[p.id])) for p in plans]

    def views_by_key(self, provider: str, now: float) -> list[list[tuple[BatchPlan, BatchState]]]:
        """``views`` split by gateway key: one list per key, each newest first."""
        split: list[list[tuple[BatchPlan, BatchState]]] = [[] for _ in range(self.key_count(provider))]
        for plan, state in self.views(provider, now):
            split[int(plan.key or 0)].append((plan, state))
        return split

    def resolve(self, provider: str, batch_id: str) -> str:
        """The stored id for an id as a client may send it: Gemini adds a missing
        ``batches/`` (gemini.go batchCancelByKey) and Vertex accepts the bare job number as
        well as the full resource name (vertex.go); other ids are taken as they are."""
        fam = shapes.family(provider)
        if fam == "gemini" and not batch_id.startswith("batches/"):
            return "batches/" + batch_id
        if fam == "vertex" and "/" not in batch_id:
            with self._lock:
                for known in self._plans.get(provider, {}):
                    if known.rsplit("/", 1)[-1] == batch_id:
                        return known
        return batch_id

    def view(self, provider: str, batch_id: str, now: float) -> tuple[BatchPlan, BatchState] | None:
        with self._lock:
            plan = self._plans.get(provider, {}).get(batch_id)
            cancel_at = self._cancel_at.get((provider, batch_id))
        if plan is None or plan.created_at > now:
            return None
        return plan, state_at(plan, now, cancel_at)

    def cancel_count(self, provider: str, batch_id: str) -> int:
        """How many cancel POSTs reached the gateway for this batch, whatever came of them."""
        with self._lock:
            return self._cancel_posts.get((provider, batch_id), 0)

    def summary(self, now: float) -> dict[str, dict[str, int]]:
        """Per provider: how many batches exist and how many are still running."""
        result = {}
        for provider in self.providers:
            states = [state for _, state in self.views(provider, now)]
            result[provider] = {"batches": len(states), "live": sum(not s.finished for s in states)}
        return result

    # -- changing --------------------------------------------------------------------

    def add_batch(self, provider: str, *, created_offset: float = 0.0, **plan_overrides: object) -> str:
        """Add a batch created ``created_offset`` seconds from now (negative: in the past).

        ``plan_overrides`` are :class:`BatchPlan` fields (total, rate, outcome, metadata,
        start_delay, failure_fraction, window, raw_status, key, ...). An "expired" outcome without a
        ``window`` gets one that ends the batch half-way through its requests.
        """
        if provider not in self._plans:
            raise KeyError(f"provider {provider!r} is not simulated")
        with self._lock:
            created_at = int(self.clock.now() + created_offset)
            plan = BatchPlan(
                provider=provider,
                id=self._unique_id(provider),
                created_at=created_at,
                total=1000,
                model=self._rng.choice(_MODELS[shapes.family(provider)]),
                cancel_settle=round(self._rng.uniform(3.0, 8.0), 1),
                metadata={"job": self._rng.choice(_JOBS)},
            )
            plan = _fit_provider(replace(plan, **plan_overrides))  # type: ignore[arg-type]
            if plan.outcome == "expired" and "window" not in plan_overrides:
                plan = replace(plan, window=plan.start_delay + plan.total / max(plan.rate, 1e-9) / 2)
            plan = self._keyed(plan, self._added_key(provider, plan.id))
            if plan.id in self._plans[provider]:
                raise ValueError(f"batch {plan.id!r} already exists for {provider!r}")
            self._plans[provider][plan.id] = plan
            return plan.id

    def note_cancel_post(self, provider: str, batch_id: str) -> None:
        """Count a cancel POST as it arrives, before any fault decides its fate."""
        with self._lock:
            key = (provider, batch_id)
            self._cancel_posts[key] = self._cancel_posts.get(key, 0) + 1

    def cancel(self, provider: str, batch_id: str) -> CancelResult | None:
        """Cancel a batch at the clock's now; None if there is no such batch."""
        with self._lock:
            now = self.clock.now()
            plan = self._plans.get(provider, {}).get(batch_id)
            if plan is None or plan.created_at > now:
                return None
            key = (provider, batch_id)
            state = state_at(plan, now, self._cancel_at.get(key))
            if state.status == "cancelling":
                return CancelResult("already", plan, state)
            if state.status not in LIVE_STATUSES:
                return CancelResult("refused", plan, state)
            self._cancel_at[key] = now
            return CancelResult("accepted", plan, state_at(plan, now, now))

    def _unique_id(self, provider: str) -> str:
        while (batch_id := shapes.new_batch_id(provider, self._rng)) in self._plans[provider]:
            pass
        return batch_id


_SHOWCASE: tuple[tuple[str, str, float, float, int, float, float | None, dict[str, object]], ...] = (
    # kind, job, created (s before the anchor), start_delay, total, rate, cancelled (s before), more plan fields
    # Stalled: in progress since 29 min ago with 0 of 4000 done.
    ("stalled", "embed-backfill", 30 * MINUTE, 60.0, 4000, 0.0, None, dict()),
    # High failure rate: about a third of the finished requests failed.
    ("failing", "summarise-tickets", 20 * MINUTE, 30.0, 20_000, 8.0, None, dict(failure_fraction=0.35)),
    # Deadline risk: two thirds done with 40 min of its 24h left and ~11 h of work left, so it expires.
    ("at_risk", "translate-catalogue", DAY - 40 * MINUTE, 60.0, 50_000, 0.4, None, dict(window=DAY, outcome="expired")),
    # Stuck cancelling: cancel accepted 25 min ago, settling only 6 h after it.
    ("stuck_cancelling", "nightly-eval", 2 * HOUR, 60.0, 10_000, 0.5, 25 * MINUTE, dict(cancel_settle=6 * HOUR)),
)
"""``SimWorld(showcase=True)``: one batch per on-call signal, so a demo shows them all at once."""


ARRIVALS_AHEAD = 240
"""Future batches written in advance per provider (at one per 10 simulated minutes, 40 h)."""


def _arrival_plans(provider: str, rng: random.Random, anchor: int, period: float, taken: set[str]) -> list[BatchPlan]:
    """Batches submitted after start, about one per ``period`` simulated seconds each, so a
    long-running demo keeps having work in flight. Written ahead, so the world stays a pure
    function of seed and time: a batch "arrives" when the clock passes its created_at."""
    fam = shapes.family(provider)
    plans = []
    for k in range(1, ARRIVALS_AHEAD + 1):
        while (batch_id := shapes.new_batch_id(provider, rng)) in taken:
            pass
        taken.add(batch_id)
        job = rng.choice(_JOBS)
        big = rng.random() < 0.3
        plan = BatchPlan(
            provider=provider,
            id=batch_id,
            created_at=int(anchor + k * period + rng.uniform(0, period / 2)),
            total=rng.randint(5_000, 30_000) if big else rng.choice((200, 500, 1200, 3000)),
            model=rng.choice(_MODELS[fam]),
            start_delay=rng.uniform(10, 60),
            rate=rng.uniform(2, 8) if big else rng.uniform(1, 4),
            failure_fraction=rng.choice((0.0, 0.0, 0.01, 0.05)),
            finalize_for=rng.uniform(10, 40),
            cancel_settle=round(rng.uniform(3.0, 8.0), 1),
            metadata={"job": job} if fam in _JOB_ONLY else {"job": job, "team": rng.choice(_TEAMS)},
        )
        plans.append(_fit_provider(plan))
    return plans


def _fit_provider(plan: BatchPlan) -> BatchPlan:
    # Anthropic has no validation step that can fail: its nearest equivalent is a batch
    # that ends with every request errored.
    if shapes.family(plan.provider) == "anthropic" and plan.outcome == "failed":
        return replace(plan, outcome="completed", failure_fraction=1.0)
    return plan


def _default_plans(
    provider: str, rng: random.Random, anchor: int, count: int, hostile: bool, history: int = 0
) -> list[tuple[BatchPlan, float | None]]:
    """The starting mix for one provider: ``count`` batches (plus a hostile one), each with
    the seconds after creation at which it was cancelled, if it was; then ``history`` more,
    older than all of them and long finished, as a gateway with years of batches holds.

    The first eight are one of each kind a monitor must show well: finished long ago
    (cleanly, with failures, expired), fast and slow live ones, a stalled one, one still
    validating, and one that failed validation (Anthropic: one cancelled long ago).
    """
    fam = shapes.family(provider)
    seen: set[str] = set()

    def plan(ago: float, total: int, rate: float, **fields: object) -> BatchPlan:
        while (batch_id := shapes.new_batch_id(provider, rng)) in seen:
            pass
        seen.add(batch_id)
        job = rng.choice(_JOBS)
        metadata = {"job": job} if fam in _JOB_ONLY else {"job": job, "team": rng.choice(_TEAMS)}
        rng.random()  # was the draw for old model-field spellings; kept so the mix stays put
        base = BatchPlan(
            provider=provider,
            id=batch_id,
            created_at=int(anchor - ago),
            total=total,
            model=rng.choice(_MODELS[fam]),
            start_delay=rng.uniform(20, 120),
            rate=rate,
            finalize_for=rng.uniform(10, 40),
            cancel_settle=round(rng.uniform(3.0, 8.0), 1),
            metadata=metadata,
        )
        return replace(base, **fields)  # type: ignore[arg-type]

    def fast() -> BatchPlan:
        return plan(
            rng.uniform(30, 120),
            rng.choice((50, 120, 300, 600)),
            rng.uniform(2, 6),
            start_delay=rng.uniform(10, 30),
            failure_fraction=rng.choice((0.0, 0.01)),
        )

    def slow() -> BatchPlan:
        return plan(
            rng.uniform(1, 3) * HOUR,
            rng.randint(35_000, 50_000),
            rng.uniform(1.5, 3.0),
            failure_fraction=rng.uniform(0.002, 0.02),
        )

    stall_ago = 2 * HOUR
    mix: list[tuple[BatchPlan, float | None]] = [
        (
            plan(
                rng.uniform(5, 6) * HOUR,
                rng.choice((500, 1200, 2000)),
                rng.uniform(2, 5),
                archive_after=HOUR if fam == "anthropic" else None,
            ),
            None,
        ),
        (
            plan(
                rng.uniform(4.5, 5) * HOUR,
                rng.randint(3000, 8000),
                rng.uniform(3, 6),
                failure_fraction=rng.uniform(0.05, 0.15),
            ),
            None,
        ),
        # OpenAI's window is 24h: to have expired, this one started over a day ago.
        (plan(rng.uniform(25, 26) * HOUR, 50_000, rng.uniform(0.3, 0.5), failure_fraction=0.01), None),
        (fast(), None),
        (slow(), None),
        # Stalled since ten minutes before the start, moving again twenty minutes after.
        (plan(stall_ago, 8000, 1.0, start_delay=120.0, stall_after=stall_ago - 120.0 - 600.0, stall_for=1800.0), None),
        (
            plan(
                rng.uniform(20, 40),
                rng.randint(1000, 5000),
                rng.uniform(5, 15),
                start_delay=rng.uniform(90, 150),
                metadata={},
                # AWS's own "Scheduled", which Bifrost maps to validating.
                raw_status="Scheduled" if fam == "bedrock" else None,
                raw_status_during=("validating",),
            ),
            None,
        ),
    ]
    if fam == "anthropic":
        mix.append((plan(3 * HOUR, 2500, 2.0), 900.0))
    else:
        mix.append((plan(3 * HOUR, 400, 5.0, start_delay=30.0, outcome="failed", errors=(_VALIDATION_ERROR,)), None))
    # Beyond the eight, alternate fast and slow live batches.
    plans = mix[:count] + [(slow() if i % 2 else fast(), None) for i in range(count - len(mix))]
    if hostile:
        plans.append(
            (
                plan(
                    HOUR, 20_000, 2.0, failure_fraction=0.05, metadata=dict(_HOSTILE_METADATA), errors=(_HOSTILE_ERROR,)
                ),
                None,
            )
        )
    # History: one batch every few hours back from two days ago, each done within its hour
    # (mostly completed, some with failures, a few cancelled part-way).
    for i in range(history):
        total = rng.choice((100, 500, 2000, 10_000))
        ago = 2 * DAY + i * rng.uniform(2, 4) * HOUR
        finished = plan(ago, total, total / rng.uniform(600, 2400), failure_fraction=rng.choice((0.0, 0.0, 0.01, 0.2)))
        plans.append((finished, rng.uniform(60, 300) if i % 17 == 16 else None))
    return plans
