"""batchtop against each batch API the simulator serves (issue 12), over real HTTP on
127.0.0.1: Bifrost's native /v1/batches, OpenAI's Batch API under /openai and Anthropic's
Message Batches under /anthropic (tests/test_sim_apis.py pins those wire shapes)."""

from __future__ import annotations

import json

import pytest
from apphelp import make_app, table_of, wait_for_polls
from clihelp import run_cli

from tui.api import BifrostClient, GatewayHTTPError
from tui.api.dialects import Api, dialect_for
from tui.sim import SimServer

START = 1_764_050_000.0
KEY = "sk-gateways-test-4242"


@pytest.fixture
def sim():
    server = SimServer(seed=5, frozen=True, start_time=START, page_size=7, api_key=KEY).start()
    yield server
    server.stop()


def client(sim: SimServer, api: Api, *, providers_named: bool = False, key: str = KEY) -> BifrostClient:
    base = sim.base_url + {Api.BIFROST: "", Api.OPENAI: "/openai", Api.ANTHROPIC: "/anthropic"}[api]
    return BifrostClient(base, api_key=key, dialect=dialect_for(api, providers_named=providers_named))


def same_reading(batch) -> tuple:
    c = batch.request_counts
    return (batch.id, batch.status, batch.finished, c.total, c.succeeded, c.failed_count, c.pending, batch.created_at)


async def test_anthropic_directly_reads_as_bifrosts_anthropic_batches(sim: SimServer) -> None:
    """The same simulated batches, listed through Bifrost and through Anthropic's own API
    (mapped as core/providers/anthropic/batch.go maps them), read the same."""
    async with client(sim, Api.BIFROST) as native, client(sim, Api.ANTHROPIC) as direct:
        via_bifrost = await native.list_batches("anthropic", limit=5)
        via_anthropic = await direct.list_batches("anthropic", limit=5)
        assert via_anthropic.pages > 1 and via_anthropic.complete  # paged by after_id
        assert [same_reading(b) for b in via_anthropic.batches] == [same_reading(b) for b in via_bifrost.batches]
        one = via_anthropic.batches[0]
        assert same_reading(await direct.retrieve("anthropic", one.id)) == same_reading(one)


async def test_openai_api_lists_pages_by_last_id_and_keeps_usage(sim: SimServer) -> None:
    async with client(sim, Api.BIFROST) as native, client(sim, Api.OPENAI) as direct:
        via_bifrost = await native.list_batches("openai", limit=4)
        via_openai = await direct.list_batches("openai", limit=4)
    assert via_openai.pages > 1 and via_openai.complete
    assert [same_reading(b) for b in via_openai.batches] == [same_reading(b) for b in via_bifrost.batches]
    assert all(b.model for b in via_openai.batches)
    assert any(b.usage is not None and b.usage.known for b in via_openai.batches)


async def test_openai_api_sends_provider_only_when_named(sim: SimServer) -> None:
    async with client(sim, Api.OPENAI, providers_named=True) as named:
        gemini = await named.list_batches("gemini")
    assert {b.id for b in gemini.batches} == {b["id"] for b in sim.world.batches("gemini")}


async def test_cancel_through_each_direct_api(sim: SimServer) -> None:
    for api, provider in ((Api.OPENAI, "openai"), (Api.ANTHROPIC, "anthropic")):
        async with client(sim, api) as direct:
            live = next(b for b in (await direct.list_batches(provider)).batches if not b.finished)
            answer = await direct.cancel(provider, live.id)
        assert answer.status == "cancelling", api
        assert sim.world.cancel_count(provider, live.id) == 1


@pytest.mark.parametrize("api", [Api.OPENAI, Api.ANTHROPIC])
async def test_a_wrong_key_is_rejected_as_such_on_every_api(sim: SimServer, api: Api) -> None:
    async with client(sim, api, key="sk-wrong") as direct:
        with pytest.raises(GatewayHTTPError) as caught:
            await direct.list_page(api.value)
    assert caught.value.is_auth and caught.value.short == "401 key rejected"
    assert "sk-wrong" not in caught.value.message


@pytest.mark.parametrize("api", [Api.OPENAI, Api.ANTHROPIC])
async def test_an_unknown_batch_is_not_found_on_every_api(sim: SimServer, api: Api) -> None:
    async with client(sim, api) as direct:
        with pytest.raises(GatewayHTTPError) as caught:
            await direct.retrieve(api.value, "batch_nope" if api is Api.OPENAI else "msgbatch_nope")
    assert caught.value.is_not_found


def test_cli_lists_through_anthropics_api_without_providers(sim: SimServer, monkeypatch) -> None:
    monkeypatch.setenv("GW_KEY", KEY)  # run_cli passes the environment on
    result = run_cli(
        "list", "--json", "--api", "anthropic", "--base-url", sim.base_url + "/anthropic", "--api-key-env", "GW_KEY"
    )
    assert result.code == 0, result.err
    listed = json.loads(result.out)
    assert {b["id"] for b in listed} == {b["id"] for b in sim.world.batches("anthropic")}
    assert {b["provider"] for b in listed} == {"anthropic"}


def test_cli_base_url_without_providers_needs_an_api_that_has_none(sim: SimServer) -> None:
    result = run_cli("list", "--base-url", sim.base_url)
    assert result.code == 2 and "--api openai" in result.err


async def test_the_board_through_anthropics_api_shows_bifrosts_anthropic_rows(sim: SimServer) -> None:
    board_rows = {}
    for api, base in (("bifrost", sim.base_url), ("anthropic", sim.base_url + "/anthropic")):
        app = make_app(sim, base_url=base, api=api, providers=("anthropic",), api_key=KEY)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for_polls(pilot, app, 1)
            table = table_of(app)
            board_rows[api] = [
                tuple(str(table.get_cell_at((row, col))) for col in range(len(table.columns)))
                for row in range(table.row_count)
            ]
    assert board_rows["anthropic"] and board_rows["anthropic"] == board_rows["bifrost"]
