"""A Bifrost-compatible gateway simulator: a real HTTP server on loopback.

Besides Bifrost's native batch API (``/v1/batches``) it serves OpenAI's Batch API under
``/openai`` and Anthropic's Message Batches API under ``/anthropic`` (``tui.sim.direct``).

Used by ``batchtop sim`` (standalone), ``batchtop --demo`` and the test suite. Standard
library only, and independent of ``tui.api``: it writes the wire format itself, so that a
misreading of the API in the client cannot hide behind the same misreading here.
"""

from tui.sim.clock import SimClock
from tui.sim.faults import FaultInjector, FaultRule
from tui.sim.plans import BatchPlan
from tui.sim.server import DEFAULT_PROVIDERS, DEMO_PROVIDERS, SimServer, serve, served_providers
from tui.sim.world import SimWorld

__all__ = [
    "DEFAULT_PROVIDERS",
    "DEMO_PROVIDERS",
    "BatchPlan",
    "FaultInjector",
    "FaultRule",
    "SimClock",
    "SimServer",
    "SimWorld",
    "serve",
    "served_providers",
]
