"""The simulator's opt-in showcase batches (``SimServer(showcase=True)``), read over real HTTP.

One batch per on-call signal (stalled, failing, at risk of expiring, stuck cancelling), found
by ``metadata.showcase``. The wire shape is Bifrost's OpenAI one (github.com/maximhq/bifrost,
core/providers/openai/batch.go), which the simulator writes for the "openai" provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tui.sim import DEMO_PROVIDERS, SimServer
from tui.sim.clock import SimClock
from tui.sim.world import SimWorld

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SEED = 7
KINDS = {"stalled", "failing", "at_risk", "stuck_cancelling"}


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer(showcase=True, frozen=True, start_time=START, seed=SEED).start()
    yield server
    server.stop()


@pytest.fixture
def client(sim: SimServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, timeout=5.0) as http:
        yield http


def list_all(http: httpx.Client, provider: str = "openai") -> list[dict]:
    response = http.get("/v1/batches", params={"provider": provider, "limit": 100})
    assert response.status_code == 200
    return response.json()["data"]


def retrieve(http: httpx.Client, batch_id: str) -> dict:
    response = http.get(f"/v1/batches/{quote(batch_id, safe='')}", params={"provider": "openai"})
    assert response.status_code == 200
    return response.json()


def showcase(http: httpx.Client) -> dict[str, dict]:
    """The showcase batches in the list, by kind; each checked against its retrieve."""
    found = {b["metadata"]["showcase"]: b for b in list_all(http) if "showcase" in (b.get("metadata") or {})}
    assert set(found) == KINDS
    for kind, item in found.items():
        single = retrieve(http, item["id"])
        # openai/openai.go BatchList and BatchRetrieve share openai/batch.go's converter.
        assert (single["status"], single["request_counts"]) == (item["status"], item["request_counts"]), kind
    return found


def test_showcase_batches_carry_their_job_and_kind(client: httpx.Client) -> None:
    jobs = {kind: b["metadata"] for kind, b in showcase(client).items()}
    assert jobs == {
        "stalled": {"job": "embed-backfill", "showcase": "stalled"},
        "failing": {"job": "summarise-tickets", "showcase": "failing"},
        "at_risk": {"job": "translate-catalogue", "showcase": "at_risk"},
        "stuck_cancelling": {"job": "nightly-eval", "showcase": "stuck_cancelling"},
    }


def test_stalled_batch_runs_with_nothing_done(sim: SimServer, client: httpx.Client) -> None:
    batch = retrieve(client, showcase(client)["stalled"]["id"])
    now = sim.clock.now()
    # core/providers/openai/batch.go copies status, request_counts and in_progress_at as OpenAI sends them.
    assert batch["status"] == "in_progress"
    assert batch["request_counts"] == {"total": 4000, "completed": 0, "failed": 0}
    assert abs(now - batch["in_progress_at"] - 29 * 60) <= 5
    sim.clock.advance(3600)
    assert retrieve(client, batch["id"])["request_counts"]["completed"] == 0


def test_failing_batch_has_a_third_of_its_finished_requests_failed(client: httpx.Client) -> None:
    batch = showcase(client)["failing"]
    counts = batch["request_counts"]
    # openai/batch.go: completed = succeeded requests, failed = errored ones.
    finished = counts["completed"] + counts["failed"]
    assert batch["status"] == "in_progress"
    assert finished >= 100
    assert 0.3 <= counts["failed"] / finished <= 0.4


def test_at_risk_batch_cannot_finish_in_time_and_expires(sim: SimServer, client: httpx.Client) -> None:
    batch = showcase(client)["at_risk"]
    now = sim.clock.now()
    counts = batch["request_counts"]
    left = batch["expires_at"] - now
    pending = counts["total"] - counts["completed"] - counts["failed"]
    # openai/batch.go: expires_at is OpenAI's, created_at + the 24h completion window.
    assert batch["status"] == "in_progress"
    assert batch["expires_at"] - batch["created_at"] == 86_400
    assert 35 * 60 <= left <= 45 * 60
    assert 0.6 <= (counts["completed"] + counts["failed"]) / counts["total"] <= 0.7
    assert pending > 0.4 * left  # at 0.4 requests/s it cannot get there

    sim.clock.advance(left + 60)
    expired = retrieve(client, batch["id"])
    assert expired["status"] == "expired"
    assert expired["expired_at"] == batch["expires_at"]
    # Only total/completed/failed reach the wire (openai/batch.go); the rest were never run.
    ran = expired["request_counts"]["completed"] + expired["request_counts"]["failed"]
    assert ran < counts["total"]
    view = sim.world.view("openai", batch["id"], sim.clock.now())
    assert view is not None
    assert (view[1].expired, view[1].pending) == (counts["total"] - ran, 0)  # the rest count as expired


def test_stuck_cancelling_batch_stays_cancelling_for_hours(sim: SimServer, client: httpx.Client) -> None:
    batch = showcase(client)["stuck_cancelling"]
    now = sim.clock.now()
    # openai/batch.go copies cancelling_at (cancel accepted) and cancelled_at (settled).
    assert batch["status"] == "cancelling"
    assert abs(now - batch["cancelling_at"] - 25 * 60) <= 5
    assert batch.get("cancelled_at") is None
    sim.clock.advance(2 * 3600)
    later = retrieve(client, batch["id"])
    assert later["status"] == "cancelling"
    assert later["cancelling_at"] == batch["cancelling_at"]


def test_showcase_leaves_the_other_batches_alone() -> None:
    def wire(showcase: bool) -> dict[str, list[tuple[str, str]]]:
        server = SimServer(showcase=showcase, frozen=True, start_time=START, seed=SEED, providers=DEMO_PROVIDERS)
        server.start()
        try:
            with httpx.Client(base_url=server.base_url, timeout=5.0) as http:
                return {p: [(b["id"], b["status"]) for b in list_all(http, p)] for p in DEMO_PROVIDERS}
        finally:
            server.stop()

    plain, shown = wire(False), wire(True)
    extra = [b for b in shown["openai"] if b not in plain["openai"]]
    assert len(extra) == 4
    assert {**shown, "openai": [b for b in shown["openai"] if b not in extra]} == plain


def test_showcase_leaves_every_plan_alone_with_arrivals_history_and_keys() -> None:
    def plans(showcase: bool) -> dict[str, list]:
        world = SimWorld(
            SimClock(START, frozen=True),
            seed=SEED,
            providers=("openai", "anthropic", "azure"),
            arrivals=600.0,
            history=5,
            keys={"openai": 3},
            showcase=showcase,
        )
        far = START + 30 * 86_400
        return {p: [plan for plan, _ in world.views(p, far)] for p in world.providers}

    plain, shown = plans(False), plans(True)
    assert {p: [x for x in v if "showcase" not in x.metadata] for p, v in shown.items()} == plain
    assert sum("showcase" in x.metadata for x in shown["openai"]) == 4


@pytest.mark.parametrize(
    ("providers", "home"),
    [(("anthropic", "azure", "siliconflow"), "azure"), (("anthropic", "bedrock"), None)],
)
def test_showcase_goes_to_the_first_openai_shaped_provider(providers: tuple[str, ...], home: str | None) -> None:
    world = SimWorld(SimClock(START, frozen=True), seed=SEED, providers=providers, showcase=True)
    placed = {p: sum("showcase" in plan.metadata for plan, _ in world.views(p, START)) for p in providers}
    assert placed == {p: 4 if p == home else 0 for p in providers}
