"""The simulator's own endpoints under ``/_sim/``, for driving a standalone simulator from
another process (tests, fault drills). They need the same key as the batch API and are
never faulted.

- ``POST /_sim/faults`` with a JSON :class:`FaultRule` → 201 ``{"id": n}``
- ``DELETE /_sim/faults`` clears every rule; ``DELETE /_sim/faults/{id}`` removes one
- ``POST /_sim/clock`` with ``{"advance": seconds}`` and/or ``{"frozen": bool}``
- ``GET /_sim/state`` → clock, batches per provider, active faults, counters
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import TYPE_CHECKING

from tui.sim import shapes
from tui.sim.faults import FaultRule
from tui.sim.routes import Reply

if TYPE_CHECKING:
    from tui.sim.server import SimServer


def handle_control(sim: SimServer, method: str, path: str, body: bytes) -> Reply:
    if path == "/_sim/state" and method == "GET":
        return Reply(200, _state(sim))
    if path == "/_sim/faults" and method == "POST":
        try:
            rule = FaultRule(**_json_object(body))  # type: ignore[arg-type]  # checked in __post_init__
        except (TypeError, ValueError) as exc:
            return _bad_request(f"invalid fault rule: {exc}")
        return Reply(201, {"id": sim.faults.add_with_id(rule)})
    if path == "/_sim/faults" and method == "DELETE":
        return Reply(200, {"removed": sim.faults.clear()})
    if path.startswith("/_sim/faults/") and method == "DELETE":
        rule_id = path.removeprefix("/_sim/faults/")
        if rule_id.isascii() and rule_id.isdigit() and sim.faults.remove(int(rule_id)):
            return Reply(200, {"removed": 1})
        return Reply(404, shapes.error_body(404, "no such fault rule", bifrost=True))
    if path == "/_sim/clock" and method == "POST":
        return _clock(sim, body)
    return Reply(404, shapes.error_body(404, "no such endpoint", bifrost=True))


def _clock(sim: SimServer, body: bytes) -> Reply:
    try:
        request = _json_object(body)
        advance = float(request.get("advance", 0.0))  # type: ignore[arg-type]
        if not math.isfinite(advance):
            raise ValueError("advance must be a finite number of seconds")
        frozen = request.get("frozen")
        if frozen is not None and not isinstance(frozen, bool):
            raise ValueError("frozen must be true or false")
    except (TypeError, ValueError) as exc:
        return _bad_request(f"invalid clock request: {exc}")
    if frozen is True:
        sim.clock.freeze()
    elif frozen is False:
        sim.clock.unfreeze()
    sim.clock.advance(advance)
    return Reply(200, {"now": sim.clock.now(), "frozen": sim.clock.frozen})


def _state(sim: SimServer) -> dict[str, object]:
    now = sim.clock.now()
    return {
        "now": now,
        "speed": sim.clock.speed,
        "frozen": sim.clock.frozen,
        "seed": sim.seed,
        "providers": sim.world.summary(now),
        "faults": [{"id": rule_id, **asdict(rule)} for rule_id, rule in sim.faults.active()],
        "faults_fired": sim.faults.fired(),
        "requests": sim.request_count,
    }


def _json_object(body: bytes) -> dict[str, object]:
    value = json.loads(body or b"{}")
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _bad_request(message: str) -> Reply:
    return Reply(400, shapes.error_body(400, message, bifrost=True))
