"""The OpenAI and Anthropic batch APIs as the client reads them (issue 12).

Against the simulator where it can produce the answer (tests/test_gateways.py); here, what
it cannot: a LiteLLM proxy's error bodies (as the issue records them from a real proxy,
litellm[proxy] with no database) and the mapping of Anthropic's message batches, pinned to
Bifrost's own converter."""

from __future__ import annotations

import json

import httpx
import pytest

from tui.api import BifrostClient, GatewayHTTPError
from tui.api.dialects import Api, anthropic_to_bifrost, dialect_for, read_error_quirks
from tui.api.models import Batch
from tui.config.model import Profile

# -- what is sent -------------------------------------------------------------------------


def test_each_api_asks_its_own_paths_params_and_headers() -> None:
    bifrost = dialect_for(Api.BIFROST)
    assert bifrost.list_call("openai", 100, "c1").params == {"provider": "openai", "limit": 100, "after": "c1"}
    assert bifrost.auth_headers("k", "x-bf-vk") == {"x-bf-vk": "k"}

    openai_named = dialect_for(Api.OPENAI, providers_named=True)
    openai_plain = dialect_for(Api.OPENAI, providers_named=False)
    assert openai_named.list_call("azure", 20, None).params == {"provider": "azure", "limit": 20}
    assert openai_plain.list_call("openai", 20, "batch_9").params == {"limit": 20, "after": "batch_9"}
    assert openai_plain.cancel_call("openai", "batch_9").path == "/v1/batches/batch_9/cancel"
    assert openai_plain.auth_headers("k", "x-bf-vk") == {"Authorization": "Bearer k"}

    # https://docs.anthropic.com/en/api/listing-message-batches: limit, after_id, before_id;
    # x-api-key and anthropic-version on every request.
    anthropic = dialect_for(Api.ANTHROPIC)
    call = anthropic.list_call("anthropic", 100, "msgbatch_01")
    assert (call.path, call.params) == ("/v1/messages/batches", {"limit": 100, "after_id": "msgbatch_01"})
    assert anthropic.retrieve_call("anthropic", "msgbatch_01").path == "/v1/messages/batches/msgbatch_01"
    assert anthropic.auth_headers("k", "authorization") == {"x-api-key": "k", "anthropic-version": "2023-06-01"}


# -- Anthropic's message batches, as Bifrost maps them -------------------------------------

ENDED = {
    "id": "msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d",
    "type": "message_batch",
    "processing_status": "ended",
    "request_counts": {"processing": 0, "succeeded": 90, "errored": 6, "canceled": 3, "expired": 1},
    "ended_at": "2026-11-30T10:05:00Z",
    "created_at": "2026-11-30T09:00:00.123456Z",
    "expires_at": "2026-12-01T09:00:00Z",
    "archived_at": None,
    "cancel_initiated_at": "2026-11-30T10:00:00+00:00",
    "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d/results",
}


def test_an_anthropic_batch_maps_as_bifrost_maps_it() -> None:
    """core/providers/anthropic/batch.go ToBifrostBatchRetrieveResponse and ToBifrostBatchStatus."""
    wire = anthropic_to_bifrost(ENDED)
    assert wire["object"] == "batch" and wire["status"] == "ended" and wire["processing_status"] == "ended"
    assert wire["request_counts"] == {
        "total": 100,
        "completed": 90,
        "failed": 6,
        "succeeded": 90,
        "expired": 1,
        "canceled": 3,
        "pending": 0,
    }
    assert wire["completed_at"] == 1796033100  # ended_at, whatever the ending
    assert wire["cancelling_at"] == 1796032800  # cancel_initiated_at
    assert wire["created_at"] == 1796029200  # fractions dropped, as time.Unix()
    assert "archived_at" not in wire
    batch = Batch.from_wire(wire, "anthropic")
    assert batch.finished and batch.request_counts.failed == 6


def test_a_running_anthropic_batch_reads_as_bifrosts_does() -> None:
    running = {**ENDED, "processing_status": "canceling", "ended_at": None}
    running["request_counts"] = {"processing": 500, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    wire = anthropic_to_bifrost(running)
    assert wire["status"] == "cancelling"
    assert wire["request_counts"]["pending"] == 500 and "completed_at" not in wire
    assert not Batch.from_wire(wire, "anthropic").finished


@pytest.mark.parametrize(
    "hostile",
    [
        {"id": "x", "processing_status": "in_progress", "request_counts": "lots", "created_at": "yesterday"},
        {
            "id": "x",
            "processing_status": "paused_by_anthropic",
            "request_counts": {"processing": -4, "succeeded": True},
        },
        {"id": "x", "processing_status": "ended", "created_at": "2026-13-45T99:00:00Z", "ended_at": 12},
    ],
)
def test_odd_anthropic_batches_do_not_crash(hostile) -> None:
    batch = Batch.from_wire(anthropic_to_bifrost(hostile), "anthropic")
    assert batch.id == "x"


def test_an_anthropic_batch_without_a_usable_status_is_refused_like_any_other() -> None:
    """As for Bifrost's objects: the page reader counts it as unreadable and goes on."""
    with pytest.raises(ValueError):
        Batch.from_wire(anthropic_to_bifrost({"id": "x", "processing_status": 7}), "anthropic")


# -- LiteLLM's error answers (issue 12: observed on a real proxy) -----------------------------


def litellm_client(status: int, message: str, *, code: str | None = None) -> BifrostClient:
    body = {"error": {"message": message, "type": "None", "param": "None", "code": code or str(status)}}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=json.dumps(body).encode(), headers={"content-type": "application/json"})

    return BifrostClient(
        "http://127.0.0.1:4000",
        api_key="sk-not-the-master-key",
        transport=httpx.MockTransport(answer),
        dialect=dialect_for(Api.OPENAI, providers_named=False),
    )


async def test_litellm_without_a_database_rejecting_a_key_reads_as_key_rejected() -> None:
    # litellm 1.108.7: {"error": {"message": "No connected db.", "type": "no_db_connection", ...}}
    async with litellm_client(400, "No connected db.") as client:
        with pytest.raises(GatewayHTTPError) as caught:
            await client.list_page("openai")
    assert caught.value.is_auth and caught.value.short == "400 key rejected"
    assert "master key" in caught.value.message
    assert "sk-not-the-master-key" not in caught.value.message


async def test_litellm_error_code_prefix_gives_the_upstream_message() -> None:
    message = (
        "Error code: 404 - {'error': {'message': \"No batch found with id 'batch_x'.\", "
        "'type': 'invalid_request_error', 'param': None, 'code': None}}"
    )
    async with litellm_client(404, message) as client:
        with pytest.raises(GatewayHTTPError) as caught:
            await client.retrieve("openai", "batch_x")
    assert caught.value.message == "404: No batch found with id 'batch_x'."
    assert caught.value.is_not_found


async def test_litellm_naming_a_provider_it_cannot_list_is_unsupported() -> None:
    # As litellm 1.108.7 answered it (the proxy of tests/conformance, 2026-12-03).
    message = (
        "litellm.BadRequestError: LiteLLM doesn't support foo for 'list_batch'. "
        "Supported providers: azure, hosted_vllm, litellm_proxy, openai, vertex_ai, xai."
    )
    async with litellm_client(400, message) as client:
        with pytest.raises(GatewayHTTPError) as caught:
            await client.list_page("foo")
    assert caught.value.is_unsupported and not caught.value.is_auth
    assert caught.value.message.startswith("400: LiteLLM doesn't support foo")


def test_quirks_apply_to_the_openai_api_only() -> None:
    assert not read_error_quirks(Api.BIFROST, 400, "No connected db.").auth
    assert read_error_quirks(Api.OPENAI, 400, "No connected db.").auth
    plain = "Error code: 500 - upstream exploded"
    assert read_error_quirks(Api.OPENAI, 500, plain).message == "upstream exploded"
    assert read_error_quirks(Api.BIFROST, 500, plain).message == plain


# -- usage and model (OpenAI's batch object) -------------------------------------------------


def test_usage_and_model_are_kept_and_odd_usage_is_dropped() -> None:
    """https://platform.openai.com/docs/api-reference/batch/object: model, usage."""
    wire = {
        "id": "batch_1",
        "status": "in_progress",
        "request_counts": {"total": 10, "completed": 4, "failed": 0},
        "model": "gpt-4o-mini",
        "usage": {"input_tokens": 1200, "output_tokens": 300, "total_tokens": 1500},
    }
    batch = Batch.from_wire(wire, "openai")
    assert batch.model == "gpt-4o-mini" and batch.usage is not None and batch.usage.total == 1500
    assert Batch.from_wire({**wire, "usage": "lots"}, "openai").usage is None
    half = Batch.from_wire({**wire, "usage": {"input_tokens": 5, "output_tokens": None}}, "openai")
    assert half.usage is not None and half.usage.total == 5


# -- the profile ------------------------------------------------------------------------------


def test_profiles_of_each_api_and_their_providers() -> None:
    openai = Profile.model_validate({"base_url": "http://127.0.0.1:4000", "api": "openai"})
    assert (openai.providers, openai.providers_named) == (["openai"], False)
    assert "providers" not in openai.as_fields()  # saved and overridden, it stays unnamed
    named = Profile.model_validate({"base_url": "http://127.0.0.1:4000", "api": "openai", "providers": ["azure"]})
    assert (named.providers, named.providers_named) == (["azure"], True)
    anthropic = Profile.model_validate({"base_url": "https://api.anthropic.com", "api": "anthropic"})
    assert anthropic.providers == ["anthropic"]
    with pytest.raises(ValueError, match="must be left out"):
        Profile.model_validate({"base_url": "https://api.anthropic.com", "api": "anthropic", "providers": ["openai"]})
    with pytest.raises(ValueError):
        Profile.model_validate({"base_url": "http://bifrost:8080"})  # Bifrost's API needs providers
