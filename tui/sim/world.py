"""The simulated gateway's batches: their plans, the cancels they received, and a default mix.

The world stores only what cannot be computed: each batch's plan and the moment a cancel
was accepted. Everything a client sees is derived from those and the clock on each call.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace

from tui.sim import shapes
from tui.sim.clock import SimClock
from tui.sim.plans import LIVE_STATUSES, BatchPlan, BatchState, state_at

HOUR = 3600.0

_MODELS = {
    "openai": ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4o"),
    "anthropic": ("claude-3-5-haiku-20241022", "claude-sonnet-4-20250514"),
    "bedrock": ("anthropic.claude-3-haiku-20240307-v1:0", "amazon.nova-lite-v1:0"),
    "gemini": ("gemini-2.0-flash", "gemini-1.5-pro"),
}
_JOBS = ("nightly-eval", "embeddings-backfill", "support-triage", "translation-de",
         "summaries-q4", "classifier-retrain", "red-team-sweep", "doc-qa", "search-rerank")
_TEAMS = ("search", "ml-platform", "support", "growth")
_VALIDATION_ERROR = {"code": "invalid_json_line",
                     "message": "Line 12 is not valid JSON: Expecting ',' delimiter.", "line": 12}

# Strings a batch's creator controls and a terminal must never interpret.
_HOSTILE_METADATA = {
    "job": "\x1b[31mred\x1b[0m",
    "title": "\x1b]0;pwned\x07",
    "rtl": "invoice-\u202egnp.exe",
    "controls": "a\x00b\x08c\rd\ne\tf\x7f",
    "long": ("ünïcødé ✓ 名前 " * 30)[:300],
    "\x1b[1mkey": "escape in a key",
}
_HOSTILE_ERROR = {"code": "\x1b[2Jwiped",
                  "message": "\x1b[2J\x1b[Hscreen wiped \u202eerom on\x07 " + "ß" * 280, "line": 3}


@dataclass(frozen=True)
class CancelResult:
    """The outcome of a cancel POST: ``accepted`` (now cancelling), ``already`` (was
    cancelling) or ``refused`` (already finished), with the batch as it now stands."""

    outcome: str
    plan: BatchPlan
    state: BatchState


class SimWorld:
    """All simulated batches, per provider. Thread-safe."""

    def __init__(self, clock: SimClock, *, seed: int, providers: tuple[str, ...],
                 batches_per_provider: int = 8, hostile: bool = False,
                 arrivals: float | None = None) -> None:
        self.clock = clock
        self.providers = tuple(providers)
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # ids and draws of batches added later
        self._plans: dict[str, dict[str, BatchPlan]] = {p: {} for p in self.providers}
        self._cancel_at: dict[tuple[str, str], float] = {}
        self._cancel_posts: dict[tuple[str, str], int] = {}
        anchor = int(clock.now())
        for provider in self.providers:
            # One RNG per provider, so adding a provider leaves the others' batches alone.
            rng = random.Random(f"{seed}:{provider}")
            for plan, cancelled_after in _default_plans(provider, rng, anchor, batches_per_provider, hostile):
                self._plans[provider][plan.id] = plan
                if cancelled_after is not None:
                    self._cancel_at[(provider, plan.id)] = plan.created_at + cancelled_after
            if arrivals:
                for plan in _arrival_plans(provider, random.Random(f"{seed}:{provider}:arrivals"),
                                           anchor, arrivals, set(self._plans[provider])):
                    self._plans[provider][plan.id] = plan

    # -- reading ---------------------------------------------------------------------

    def batches(self, provider: str) -> list[dict[str, object]]:
        """The provider's batches as its list call shows them, newest first, at the clock's now."""
        now = self.clock.now()
        return [shapes.batch_object(plan, state, listing=True) for plan, state in self.views(provider, now)]

    def batch(self, provider: str, batch_id: str) -> dict[str, object] | None:
        """One batch as retrieve shows it (without ``extra_fields``), or None if unknown."""
        view = self.view(provider, batch_id, self.clock.now())
        return None if view is None else shapes.batch_object(*view)

    def views(self, provider: str, now: float) -> list[tuple[BatchPlan, BatchState]]:
        """Plans and states of the batches that exist at ``now``, newest first."""
        with self._lock:
            plans = [p for p in self._plans[provider].values() if p.created_at <= now]
            cancels = {p.id: self._cancel_at.get((provider, p.id)) for p in plans}
        plans.sort(key=lambda p: (p.created_at, p.id), reverse=True)
        return [(p, state_at(p, now, cancels[p.id])) for p in plans]

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
        start_delay, failure_fraction, window, ...). An "expired" outcome without a
        ``window`` gets one that ends the batch half-way through its requests.
        """
        if provider not in self._plans:
            raise KeyError(f"provider {provider!r} is not simulated")
        with self._lock:
            created_at = int(self.clock.now() + created_offset)
            plan = BatchPlan(
                provider=provider, id=self._unique_id(provider), created_at=created_at,
                total=1000, model=self._rng.choice(_MODELS[shapes.family(provider)]),
                cancel_settle=round(self._rng.uniform(3.0, 8.0), 1),
                metadata={"job": self._rng.choice(_JOBS)},
            )
            plan = _fit_provider(replace(plan, **plan_overrides))
            if plan.outcome == "expired" and "window" not in plan_overrides:
                plan = replace(plan, window=plan.start_delay + plan.total / max(plan.rate, 1e-9) / 2)
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


ARRIVALS_AHEAD = 240
"""Future batches written in advance per provider (at one per 10 simulated minutes, 40 h)."""


def _arrival_plans(provider: str, rng: random.Random, anchor: int, period: float,
                   taken: set[str]) -> list[BatchPlan]:
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
            provider=provider, id=batch_id, created_at=int(anchor + k * period + rng.uniform(0, period / 2)),
            total=rng.randint(5_000, 30_000) if big else rng.choice((200, 500, 1200, 3000)),
            model=rng.choice(_MODELS[fam]), start_delay=rng.uniform(10, 60),
            rate=rng.uniform(2, 8) if big else rng.uniform(1, 4),
            failure_fraction=rng.choice((0.0, 0.0, 0.01, 0.05)),
            finalize_for=rng.uniform(10, 40), cancel_settle=round(rng.uniform(3.0, 8.0), 1),
            metadata={"job": job} if fam in ("bedrock", "gemini") else {"job": job, "team": rng.choice(_TEAMS)},
        )
        plans.append(_fit_provider(plan))
    return plans


def _fit_provider(plan: BatchPlan) -> BatchPlan:
    # Anthropic has no validation step that can fail: its nearest equivalent is a batch
    # that ends with every request errored.
    if shapes.family(plan.provider) == "anthropic" and plan.outcome == "failed":
        return replace(plan, outcome="completed", failure_fraction=1.0)
    return plan


def _default_plans(provider: str, rng: random.Random, anchor: int, count: int,
                   hostile: bool) -> list[tuple[BatchPlan, float | None]]:
    """The starting mix for one provider: ``count`` batches (plus a hostile one), each with
    the seconds after creation at which it was cancelled, if it was.

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
        metadata = {"job": job} if fam in ("bedrock", "gemini") else {"job": job, "team": rng.choice(_TEAMS)}
        base = BatchPlan(
            provider=provider, id=batch_id, created_at=int(anchor - ago), total=total,
            model=rng.choice(_MODELS[fam]), start_delay=rng.uniform(20, 120), rate=rate,
            finalize_for=rng.uniform(10, 40), cancel_settle=round(rng.uniform(3.0, 8.0), 1),
            metadata=metadata, legacy_model_fields=rng.random() < 0.3,
        )
        return replace(base, **fields)

    def fast() -> BatchPlan:
        return plan(rng.uniform(30, 120), rng.choice((50, 120, 300, 600)), rng.uniform(2, 6),
                    start_delay=rng.uniform(10, 30), failure_fraction=rng.choice((0.0, 0.01)),
                    unknown_total=fam == "gemini")

    def slow() -> BatchPlan:
        return plan(rng.uniform(1, 3) * HOUR, rng.randint(35_000, 50_000), rng.uniform(1.5, 3.0),
                    failure_fraction=rng.uniform(0.002, 0.02))

    stall_ago = 2 * HOUR
    mix: list[tuple[BatchPlan, float | None]] = [
        (plan(rng.uniform(5, 6) * HOUR, rng.choice((500, 1200, 2000)), rng.uniform(2, 5),
              archive_after=HOUR if fam == "anthropic" else None), None),
        (plan(rng.uniform(4.5, 5) * HOUR, rng.randint(3000, 8000), rng.uniform(3, 6),
              failure_fraction=rng.uniform(0.05, 0.15)), None),
        # OpenAI's window is 24h: to have expired, this one started over a day ago.
        (plan(rng.uniform(25, 26) * HOUR, 50_000, rng.uniform(0.3, 0.5), failure_fraction=0.01), None),
        (fast(), None),
        (slow(), None),
        # Stalled since ten minutes before the start, moving again twenty minutes after.
        (plan(stall_ago, 8000, 1.0, start_delay=120.0, stall_after=stall_ago - 120.0 - 600.0,
              stall_for=1800.0), None),
        (plan(rng.uniform(20, 40), rng.randint(1000, 5000), rng.uniform(5, 15),
              start_delay=rng.uniform(90, 150), metadata={},
              raw_status="scheduled" if fam == "bedrock" else None), None),
    ]
    if fam == "anthropic":
        mix.append((plan(3 * HOUR, 2500, 2.0), 900.0))
    else:
        mix.append((plan(3 * HOUR, 400, 5.0, start_delay=30.0, outcome="failed",
                         errors=(_VALIDATION_ERROR,)), None))
    # Beyond the eight, alternate fast and slow live batches.
    plans = mix[:count] + [(slow() if i % 2 else fast(), None) for i in range(count - len(mix))]
    if hostile:
        plans.append((plan(HOUR, 20_000, 2.0, failure_fraction=0.05, metadata=dict(_HOSTILE_METADATA),
                           errors=(_HOSTILE_ERROR,)), None))
    return plans
