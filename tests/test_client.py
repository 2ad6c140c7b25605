"""The Bifrost client against the simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import ssl
import time

import pytest
import trustme

from tui.api import (
    BifrostClient,
    GatewayHTTPError,
    GatewayResponseError,
    GatewayTimeout,
    GatewayUnreachable,
)
from tui.sim import FaultRule, SimServer

START = 1_764_050_000.0
KEY = "sk-bf-client-test-5678"


@pytest.fixture
def sim():
    server = SimServer(seed=11, frozen=True, start_time=START, page_size=5).start()
    yield server
    server.stop()


def ids_of(sim: SimServer, provider: str) -> list[str]:
    return [b["id"] for b in sim.world.batches(provider)]


async def test_list_follows_every_page_newest_first(sim: SimServer) -> None:
    async with BifrostClient(sim.base_url) as client:
        listing = await client.list_batches("openai", limit=3)
    assert [b.id for b in listing.batches] == ids_of(sim, "openai")
    assert listing.pages == -(-len(listing.batches) // 3)
    assert not listing.truncated
    created = [b.created_at or 0 for b in listing.batches]
    assert created == sorted(created, reverse=True)
    assert all(b.provider == "openai" for b in listing.batches)


async def test_list_page_cap_marks_listing_truncated(sim: SimServer) -> None:
    async with BifrostClient(sim.base_url) as client:
        listing = await client.list_batches("anthropic", limit=2, page_cap=2)
    assert listing.truncated
    assert [b.id for b in listing.batches] == ids_of(sim, "anthropic")[:4]


async def test_every_provider_shape_parses(sim: SimServer) -> None:
    async with BifrostClient(sim.base_url) as client:
        for provider in ("openai", "anthropic", "bedrock", "gemini"):
            listing = await client.list_batches(provider)
            assert listing.skipped == 0
            assert {b.id for b in listing.batches} == set(ids_of(sim, provider))
        bedrock = (await client.list_batches("bedrock")).batches
    # Bedrock list items carry no counts: unknown, not "nothing pending".
    assert all(not b.request_counts.known and b.request_counts.pending is None for b in bedrock)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock", "gemini"])
async def test_retrieve_encodes_ids_with_slashes_and_colons(sim: SimServer, provider: str) -> None:
    batch_id = ids_of(sim, provider)[0]
    async with BifrostClient(sim.base_url) as client:
        batch = await client.retrieve(provider, batch_id)
    assert batch.id == batch_id
    assert batch.provider == provider


async def test_bedrock_counts_arrive_only_when_the_job_ends(sim: SimServer) -> None:
    """core/providers/bedrock/bedrock.go BatchRetrieve: counts come from the output manifest,
    which exists only once the job has ended; list items carry none at all."""
    live = next(b for b in sim.world.batches("bedrock") if b["status"] == "in_progress")
    done = next(b for b in sim.world.batches("bedrock") if b["status"] == "completed")
    async with BifrostClient(sim.base_url) as client:
        running = await client.retrieve("bedrock", live["id"])
        ended = await client.retrieve("bedrock", done["id"])
    assert not running.request_counts.known and running.counts_at_end
    assert ended.request_counts.known and ended.request_counts.pending == 0
    assert not ended.counts_at_end


async def test_gemini_retrieve_has_the_counts_the_list_lacks(sim: SimServer) -> None:
    """core/providers/gemini/gemini.go: batchListByKey sets no counts, batchRetrieveByKey does."""
    live = next(b for b in sim.world.batches("gemini") if b["status"] == "in_progress")
    assert live["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    async with BifrostClient(sim.base_url) as client:
        batch = await client.retrieve("gemini", live["id"])
    counts = batch.request_counts
    assert counts.known and counts.pending is not None
    assert counts.succeeded + counts.failed_count + counts.pending == counts.total


async def test_openai_pending_derived_from_total_completed_failed(sim: SimServer) -> None:
    async with BifrostClient(sim.base_url) as client:
        batches = (await client.list_batches("openai")).batches
    live = [b for b in batches if b.status == "in_progress" and b.request_counts.total]
    assert live
    for batch in live:
        c = batch.request_counts
        assert c.succeeded == c.completed
        assert c.pending == c.total - c.completed - c.failed


async def test_counts_move_when_the_simulated_clock_advances(sim: SimServer) -> None:
    async with BifrostClient(sim.base_url) as client:
        before = {b.id: b.request_counts.done for b in (await client.list_batches("openai")).batches}
        sim.clock.advance(600)
        after = {b.id: b.request_counts.done for b in (await client.list_batches("openai")).batches}
    assert any((after[i] or 0) > (before[i] or 0) for i in before)


async def test_cancel_live_batch_then_it_ends_cancelled(sim: SimServer) -> None:
    live = next(b for b in sim.world.batches("openai") if b["status"] == "in_progress")
    async with BifrostClient(sim.base_url) as client:
        answer = await client.cancel("openai", live["id"])
        assert answer.status == "cancelling"
        sim.clock.advance(60)
        later = await client.retrieve("openai", live["id"])
    assert later.finished and later.outcome == "cancelled"
    assert later.request_counts.pending == 0
    assert sim.world.cancel_count("openai", live["id"]) == 1


async def test_cancel_of_finished_batch_is_refused_with_gateway_message(sim: SimServer) -> None:
    done = next(b for b in sim.world.batches("openai") if b["status"] == "completed")
    async with BifrostClient(sim.base_url) as client:
        with pytest.raises(GatewayHTTPError) as caught:
            await client.cancel("openai", done["id"])
    assert caught.value.status == 400
    assert "completed" in caught.value.message


async def test_unknown_batch_is_404(sim: SimServer) -> None:
    async with BifrostClient(sim.base_url) as client:
        with pytest.raises(GatewayHTTPError) as caught:
            await client.retrieve("openai", "batch_does_not_exist")
    assert caught.value.is_not_found


async def test_provider_the_gateway_cannot_list_is_unsupported(sim: SimServer) -> None:
    async with BifrostClient(sim.base_url) as client:
        with pytest.raises(GatewayHTTPError) as caught:
            await client.list_batches("mistral")
    assert caught.value.is_unsupported
    assert "mistral" in caught.value.message


@pytest.mark.parametrize("header", ["authorization", "x-bf-vk", "x-api-key"])
async def test_key_is_sent_in_the_chosen_header(header: str) -> None:
    with SimServer(seed=1, frozen=True, start_time=START, api_key=KEY) as sim:
        async with BifrostClient(sim.base_url, api_key=KEY, auth_header=header) as client:
            assert (await client.list_batches("openai")).batches


async def test_missing_and_wrong_keys_are_rejected_without_echoing_the_key() -> None:
    with SimServer(seed=1, frozen=True, start_time=START, api_key=KEY) as sim:
        async with BifrostClient(sim.base_url) as client:
            with pytest.raises(GatewayHTTPError) as missing:
                await client.list_batches("openai")
        wrong = "sk-bf-wrong-key-0000"
        async with BifrostClient(sim.base_url, api_key=wrong) as client:
            with pytest.raises(GatewayHTTPError) as rejected:
                await client.list_batches("openai")
    assert missing.value.status == 401 and missing.value.is_auth
    assert rejected.value.status == 403 and rejected.value.is_auth
    for error in (missing.value, rejected.value):
        assert wrong not in error.message and KEY not in error.message
        assert "key rejected" in error.short


async def test_keep_alive_reuses_one_connection(sim: SimServer) -> None:
    async with BifrostClient(sim.base_url) as client:
        for _ in range(5):
            await client.list_page("openai")
        pool = client._http._transport._pool  # the one pool every call goes through
        assert len(pool.connections) == 1


# -- faults -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_carry_status_and_message(sim: SimServer, status: int) -> None:
    sim.faults.add(FaultRule("status", status=status, times=1))
    async with BifrostClient(sim.base_url) as client:
        with pytest.raises(GatewayHTTPError) as caught:
            await client.list_batches("openai")
        assert caught.value.status == status
        assert caught.value.message.startswith(str(status))
        assert (await client.list_batches("openai")).batches  # the fault was one-off


async def test_rate_limit_with_and_without_retry_after(sim: SimServer) -> None:
    sim.faults.add(FaultRule("rate_limit", retry_after=7, times=1))
    sim.faults.add(FaultRule("rate_limit", times=1))
    async with BifrostClient(sim.base_url) as client:
        with pytest.raises(GatewayHTTPError) as first:
            await client.list_page("openai")
        with pytest.raises(GatewayHTTPError) as second:
            await client.list_page("openai")
    retry_afters = {first.value.retry_after, second.value.retry_after}
    assert retry_afters == {7.0, None}
    assert first.value.is_rate_limited and second.value.is_rate_limited


@pytest.mark.parametrize("kind", ["malformed_json", "wrong_shape"])
async def test_bad_bodies_are_response_errors(sim: SimServer, kind: str) -> None:
    sim.faults.add(FaultRule(kind, times=1))
    async with BifrostClient(sim.base_url) as client:
        with pytest.raises(GatewayResponseError):
            await client.list_batches("openai")


@pytest.mark.parametrize("kind", ["drop", "reset"])
async def test_dropped_connections_are_unreachable_errors(sim: SimServer, kind: str) -> None:
    sim.faults.add(FaultRule(kind, times=1))
    async with BifrostClient(sim.base_url) as client:
        with pytest.raises(GatewayUnreachable) as caught:
            await client.list_batches("openai")
    assert caught.value.short == "connection dropped"


async def test_slow_answer_times_out(sim: SimServer) -> None:
    sim.faults.add(FaultRule("latency", delay=2.0, times=1))
    async with BifrostClient(sim.base_url, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(GatewayTimeout):
            await client.list_batches("openai")
    assert time.monotonic() - started < 1.5


async def test_trickling_body_hits_the_overall_deadline(sim: SimServer) -> None:
    sim.faults.add(FaultRule("trickle", rate=200, times=1))
    async with BifrostClient(sim.base_url, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(GatewayTimeout) as caught:
            await client.list_batches("openai")
    assert time.monotonic() - started < 2.0
    assert "too slow" in caught.value.message


async def test_oversized_body_is_refused_unread(sim: SimServer) -> None:
    sim.faults.add(FaultRule("oversized", size=3_000_000, times=1))
    async with BifrostClient(sim.base_url, max_body_bytes=1_000_000) as client:
        with pytest.raises(GatewayResponseError) as caught:
            await client.list_batches("openai")
    assert "too large" in caught.value.message


async def test_a_several_megabyte_body_within_the_cap_parses(sim: SimServer) -> None:
    sim.faults.add(FaultRule("oversized", size=3_000_000, times=1))
    async with BifrostClient(sim.base_url) as client:
        listing = await client.list_batches("openai")
    assert listing.batches


async def test_gateway_down_then_up_again(sim: SimServer) -> None:
    async with BifrostClient(sim.base_url) as client:
        sim.go_down()
        with pytest.raises(GatewayUnreachable) as caught:
            await client.list_batches("openai")
        assert caught.value.short == "cannot connect"
        sim.come_up()
        assert (await client.list_batches("openai")).batches


# -- TLS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_sim(tls_ca: trustme.CA):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    with SimServer(seed=2, frozen=True, start_time=START, ssl_context=context) as sim:
        yield sim


async def test_untrusted_certificate_is_refused_clearly(tls_sim: SimServer) -> None:
    async with BifrostClient(tls_sim.base_url) as client:
        with pytest.raises(GatewayUnreachable) as caught:
            await client.list_batches("openai")
    assert "TLS" in caught.value.message and "ca_bundle" in caught.value.message


async def test_ca_bundle_trusts_the_gateway(tls_sim: SimServer, tls_ca: trustme.CA, tmp_path) -> None:
    bundle = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(bundle))
    async with BifrostClient(tls_sim.base_url, verify=str(bundle)) as client:
        assert (await client.list_batches("openai")).batches


async def test_a_plain_http_gateway_does_not_load_the_ca_store(sim: SimServer, monkeypatch) -> None:
    """Loading the CA store is ~100 ms of start-up (issue 10 d); over http it is never used."""
    loads: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def counted(self, *args, **kwargs):
        loads.append(args or kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    async with BifrostClient(sim.base_url) as client:
        assert (await client.list_batches("openai")).batches
    assert loads == []
    async with BifrostClient("https://gateway.invalid"):
        pass
    assert loads, "an https client loads the CA store (else this test proves nothing)"


# -- paging as Bifrost does it (issue 8) --------------------------------------------------


async def test_an_empty_middle_page_is_not_the_end() -> None:
    """core/providers/utils/pagination.go BuildNextCursor: with three keys and none batches
    under the middle one, the gateway answers an empty page with has_more and a cursor for
    the next key. Stopping there would drop the third key's batches."""
    with SimServer(seed=11, frozen=True, start_time=START, page_size=5, keys={"openai": (4, 0, 4)}) as sim:
        async with BifrostClient(sim.base_url) as client:
            listing = await client.list_batches("openai", limit=100)
            middle = await client.list_page(
                "openai", limit=100, after=(await client.list_page("openai", limit=100)).next_cursor
            )
        assert middle.data == [] and middle.has_more  # the sim does send the empty page
        assert {b.id for b in listing.batches} == set(ids_of(sim, "openai"))
        assert len(listing.batches) == 8 and listing.pages == 3 and listing.complete


async def test_a_gateway_that_ignores_after_is_noticed_not_looped() -> None:
    """anthropic.go / bedrock.go / gemini.go BatchList read AfterID / PageToken, which
    /v1/batches never fills (handlers/inference.go): every "next" page is the first again."""
    with SimServer(seed=11, frozen=True, start_time=START, page_size=5, batches_per_provider=12) as sim:
        sim.faults.add(FaultRule("ignore_after", provider="anthropic"))
        async with BifrostClient(sim.base_url) as client:
            listing = await client.list_batches("anthropic", limit=5)
        assert listing.repeated and not listing.truncated and not listing.complete
        assert listing.pages == 2  # the first page, and the repeat that gave it away
        assert [b.id for b in listing.batches] == ids_of(sim, "anthropic")[:5]
        assert listing.shortfall() == (
            "anthropic: the gateway returned only the newest 5 batches (its next page repeats the first)"
        )


async def test_unsupported_from_error_code_or_message_only() -> None:
    """core/providers/utils/utils.go NewUnsupportedOperationError: code unsupported_operation
    on newer gateways, the message alone on older ones. Either is "unavailable"."""
    with SimServer(seed=11, frozen=True, start_time=START) as sim:
        async with BifrostClient(sim.base_url) as client:
            with pytest.raises(GatewayHTTPError) as new:
                await client.list_batches("mistral")
            sim.faults.add(FaultRule("unsupported", provider="openai", legacy=True))
            with pytest.raises(GatewayHTTPError) as old:
                await client.list_batches("openai")
    assert new.value.is_unsupported and new.value.error_code == "unsupported_operation"
    assert old.value.is_unsupported and old.value.error_code is None
    assert "batch_list is not supported by openai provider" in old.value.message


async def test_a_first_page_of_the_same_bytes_is_not_decoded_or_read_again(sim: SimServer, monkeypatch) -> None:
    """Issue 10 b: at idle every poll's first page is the bytes of the last one. Decoding
    them again was a third of what reading a page costs; the batches come back as the very
    objects of the last read, which the board then passes over at once. Other bytes (a new
    batch) are decoded and read as ever; later pages are never taken from the memo."""
    import tui.api.client as client_module

    decoded: list[int] = []
    real = client_module.decode_json
    monkeypatch.setattr(client_module, "decode_json", lambda raw: decoded.append(len(raw)) or real(raw))
    async with BifrostClient(sim.base_url) as client:
        first = await client.list_page("openai", limit=3)
        again = await client.list_page("openai", limit=3)
        assert len(decoded) == 1
        assert all(a is b for a, b in zip(first.data, again.data, strict=True)) and len(first.data) == 3
        assert first.next_cursor == again.next_cursor is not None
        later = await client.list_page("openai", limit=3, after=first.next_cursor)
        await client.list_page("openai", limit=3, after=first.next_cursor)
        assert len(decoded) == 3 and later.data
        sim.world.add_batch("openai")  # a batch created now, the newest: page one moves
        moved = await client.list_page("openai", limit=3)
    assert len(decoded) == 4
    assert moved.data[0].id not in {b.id for b in first.data}
    assert [b.id for b in moved.data[1:]] == [b.id for b in first.data[:2]]
