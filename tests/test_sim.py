"""The gateway simulator, driven over real HTTP on loopback with plain httpx.

These tests pin the wire format the simulator writes (per provider), its determinism,
pagination, auth, cancel, every fault kind, and its life cycle (down, up, stop).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tui.sim import FaultRule, SimServer

START = 1_764_050_000.0
PROVIDERS = ("openai", "anthropic", "bedrock", "gemini")
KEY = "sk-bf-sim-test-0123456789"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def sim():
    server = SimServer(frozen=True, start_time=START, seed=7).start()
    yield server
    server.stop()


@pytest.fixture
def client(sim: SimServer):
    with httpx.Client(base_url=sim.base_url, timeout=5.0) as http:
        yield http


def batch_path(batch_id: str, action: str = "") -> str:
    return f"/v1/batches/{quote(batch_id, safe='')}{action}"


def list_all(http: httpx.Client, provider: str) -> list[dict]:
    response = http.get("/v1/batches", params={"provider": provider, "limit": 100})
    assert response.status_code == 200
    return response.json()["data"]


def retrieve(http: httpx.Client, provider: str, batch_id: str) -> dict:
    response = http.get(batch_path(batch_id), params={"provider": provider})
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, error_type: str) -> dict:
    assert response.status_code == status
    body = response.json()
    assert body["status_code"] == status
    assert body["type"] == error_type
    assert body["error"] == {"type": error_type, "code": str(status), "message": body["error"]["message"]}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["is_bifrost_error"], bool)
    assert isinstance(body["extra_fields"], dict)
    return body


def assert_no_nulls(value: object) -> None:
    """The gateway omits empty fields; it never sends null."""
    assert value is not None
    if isinstance(value, dict):
        for item in value.values():
            assert_no_nulls(item)
    elif isinstance(value, list):
        for item in value:
            assert_no_nulls(item)


TIMESTAMPS = ("created_at", "in_progress_at", "expires_at", "finalizing_at", "completed_at",
              "failed_at", "expired_at", "cancelling_at", "cancelled_at", "archived_at")


def assert_common(batch: dict) -> None:
    assert_no_nulls(batch)
    assert isinstance(batch["id"], str) and isinstance(batch["status"], str)
    counts = batch["request_counts"]
    assert {"total", "completed", "failed"} <= counts.keys()
    assert all(type(v) is int and v > 0 for k, v in counts.items() if k not in ("total", "completed", "failed"))
    for name in TIMESTAMPS:
        if name in batch:
            assert type(batch[name]) is int and batch[name] > 0


# -- provider shapes ---------------------------------------------------------------------


def test_openai_shape(client: httpx.Client) -> None:
    batches = list_all(client, "openai")
    assert len(batches) == 8
    for batch in batches:
        assert_common(batch)
        assert re.fullmatch(r"batch_[0-9a-f]{24}", batch["id"])
        assert batch["object"] == "batch" and batch["completion_window"] == "24h"
        assert set(batch["request_counts"]) == {"total", "completed", "failed"}
        assert batch["expires_at"] == batch["created_at"] + 86_400
        assert batch["status"] in {"validating", "in_progress", "finalizing", "completed",
                                   "failed", "expired", "cancelling", "cancelled"}
    statuses = {b["status"] for b in batches}
    assert {"validating", "in_progress", "completed", "failed", "expired"} <= statuses
    failed = next(b for b in batches if b["status"] == "failed")
    assert failed["errors"]["object"] == "list"
    error = failed["errors"]["data"][0]
    assert error["code"] == "invalid_json_line" and error["line"] == 12 and "param" not in error
    done = [b for b in batches if b["status"] == "completed"]
    assert all("output_file_id" in b for b in done)
    assert any("error_file_id" in b and b["request_counts"]["failed"] for b in done)

    spellings = set()
    for batch in batches:
        extra = retrieve(client, "openai", batch["id"])["extra_fields"]
        assert extra["request_type"] == "batch_retrieve" and extra["provider"] == "openai"
        assert type(extra["latency"]) is int and extra["chunk_index"] == 0
        if "resolved_model_used" in extra:
            assert extra["original_model_requested"]
            spellings.add("new")
        else:
            assert extra["model_requested"] and extra["model_deployment"]
            spellings.add("old")
    assert spellings == {"new", "old"}


def test_anthropic_shape(client: httpx.Client) -> None:
    batches = list_all(client, "anthropic")
    for batch in batches:
        assert_common(batch)
        assert re.fullmatch(r"msgbatch_[A-Za-z0-9]{24}", batch["id"])
        assert batch["status"] in {"in_progress", "cancelling", "ended"}
        counts = batch["request_counts"]
        done = sum(counts.get(k, 0) for k in ("succeeded", "failed", "canceled", "expired"))
        assert counts["completed"] == counts.get("succeeded", 0)  # Bifrost: completed = succeeded
        assert counts["total"] == done + counts.get("pending", 0)
        if batch["status"] == "ended":
            assert batch["processing_status"] == "ended"
            assert "completed_at" in batch and batch["results_url"].startswith("https://")
        else:
            assert batch["processing_status"] == "in_progress"
            assert "results_url" not in batch
    ended = [b["request_counts"] for b in batches if b["status"] == "ended"]
    assert any(c.get("canceled") for c in ended)
    assert any(c.get("expired") for c in ended)
    assert any(c["failed"] for c in ended)
    assert any("archived_at" in b for b in batches)


def test_bedrock_lists_without_counts_but_retrieves_them(client: httpx.Client) -> None:
    batches = list_all(client, "bedrock")
    assert any(b["status"] == "scheduled" for b in batches)  # a provider state passed through
    for batch in batches:
        assert_common(batch)
        assert batch["id"].startswith("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/")
        assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
        full = retrieve(client, "bedrock", batch["id"])
        assert full["id"] == batch["id"]
        assert full["request_counts"]["total"] > 0
        assert set(full["request_counts"]) == {"total", "completed", "failed"}
        assert full["extra_fields"]["provider"] == "bedrock"


def test_gemini_ids_with_slash_are_retrievable_percent_encoded(client: httpx.Client) -> None:
    batches = list_all(client, "gemini")
    assert any(b["request_counts"]["total"] == 0 and b["request_counts"]["completed"] > 0 for b in batches)
    for batch in batches:
        assert_common(batch)
        assert re.fullmatch(r"batches/[a-z0-9]{20}", batch["id"])
        assert batch["operation_name"] == batch["id"]
        assert batch["done"] is (batch["status"] in {"completed", "failed", "cancelled", "expired"})
        assert retrieve(client, "gemini", batch["id"])["id"] == batch["id"]
    # Not encoded, the slash splits the path and the batch is not found.
    response = client.get(f"/v1/batches/{batches[0]['id']}", params={"provider": "gemini"})
    assert_error(response, 404, "not_found")


def test_unknown_batch_is_404(client: httpx.Client) -> None:
    response = client.get(batch_path("batch_doesnotexist"), params={"provider": "openai"})
    body = assert_error(response, 404, "not_found")
    assert body["extra_fields"] == {"provider": "openai", "request_type": "batch_retrieve"}


def test_hostile_batches_travel_as_valid_json() -> None:
    with SimServer(frozen=True, start_time=START, hostile=True) as server, \
            httpx.Client(base_url=server.base_url) as http:
        for provider in PROVIDERS:
            batches = list_all(http, provider)
            assert len(batches) == 9
            hostile = [b for b in batches if any("\x1b" in v for v in b.get("metadata", {}).values())]
            assert len(hostile) == 1
            metadata = hostile[0]["metadata"]
            assert metadata["job"] == "\x1b[31mred\x1b[0m"
            assert "\u202e" in metadata["rtl"] and len(metadata["long"]) == 300
            assert "\x1b" in hostile[0]["errors"]["data"][0]["message"]


# -- time, determinism ---------------------------------------------------------------------


def test_progress_follows_the_clock(sim: SimServer, client: httpx.Client) -> None:
    batch_id = sim.world.add_batch("openai", total=100, rate=10.0, start_delay=0.0,
                                   finalize_for=5.0, failure_fraction=0.1, metadata={})
    counts = lambda b: (b["status"], b["request_counts"])  # noqa: E731
    assert counts(retrieve(client, "openai", batch_id)) == ("in_progress", {"total": 100, "completed": 0, "failed": 0})
    sim.clock.advance(5)
    assert counts(retrieve(client, "openai", batch_id)) == ("in_progress", {"total": 100, "completed": 45, "failed": 5})
    sim.clock.advance(5)
    assert counts(retrieve(client, "openai", batch_id)) == ("finalizing", {"total": 100, "completed": 90, "failed": 10})
    sim.clock.advance(5)
    done = retrieve(client, "openai", batch_id)
    assert done["status"] == "completed" and done["completed_at"] == int(START) + 15
    assert done["finalizing_at"] == int(START) + 10 and "output_file_id" in done and "error_file_id" in done
    # The newest batch comes first in the list.
    assert list_all(client, "openai")[0]["id"] == batch_id


def test_validating_then_expired(sim: SimServer, client: httpx.Client) -> None:
    openai_id = sim.world.add_batch("openai", total=100, rate=1.0, start_delay=10.0, outcome="expired")
    anthropic_id = sim.world.add_batch("anthropic", total=100, rate=1.0, start_delay=10.0, outcome="expired")
    validating = retrieve(client, "openai", openai_id)
    assert validating["status"] == "validating" and validating["request_counts"]["total"] == 0
    assert retrieve(client, "anthropic", anthropic_id)["request_counts"]["pending"] == 100
    sim.clock.advance(60)  # window = 10 s validating + half of 100 s of work
    expired = retrieve(client, "openai", openai_id)
    assert expired["status"] == "expired" and expired["expired_at"] == int(START) + 60
    assert expired["request_counts"] == {"total": 100, "completed": 50, "failed": 0}
    ended = retrieve(client, "anthropic", anthropic_id)
    assert ended["status"] == "ended"
    assert ended["request_counts"] == {"total": 100, "completed": 50, "failed": 0, "succeeded": 50, "expired": 50}


def test_same_seed_and_time_give_the_same_bytes() -> None:
    def snapshot(server: SimServer) -> list[bytes]:
        with httpx.Client(base_url=server.base_url) as http:
            pages = [http.get("/v1/batches", params={"provider": p}).content for p in PROVIDERS]
            first = json.loads(pages[3])["data"][0]["id"]
            pages.append(http.get(batch_path(first), params={"provider": "gemini"}).content)
            return pages

    with SimServer(frozen=True, start_time=START, seed=11) as one, \
            SimServer(frozen=True, start_time=START, seed=11) as two, \
            SimServer(frozen=True, start_time=START, seed=12) as other:
        first = snapshot(one)
        assert snapshot(one) == first  # polling again changes nothing
        assert snapshot(two) == first
        assert snapshot(other) != first
        one.clock.advance(30)
        assert snapshot(one) != first


# -- listing -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_pagination_visits_every_batch_once(sim: SimServer, client: httpx.Client, provider: str) -> None:
    expected = [b["id"] for b in sim.world.batches(provider)]
    created = [b["created_at"] for b in sim.world.batches(provider)]
    assert created == sorted(created, reverse=True)

    def walk(use_cursor: bool) -> tuple[list[str], list[str]]:
        seen, cursors, params = [], [], {"provider": provider, "limit": 3}
        while True:
            body = client.get("/v1/batches", params=params).json()
            ids = [b["id"] for b in body["data"]]
            seen += ids
            assert body["first_id"] == ids[0] and body["last_id"] == ids[-1]
            assert body["extra_fields"]["request_type"] == "batch_list"
            assert body["extra_fields"]["provider"] == provider
            if "has_more" not in body:
                assert "next_cursor" not in body
                return seen, cursors
            assert body["has_more"] is True
            cursors.append(body["next_cursor"])
            params["after"] = body["next_cursor"] if use_cursor else body["last_id"]

    by_cursor, cursors = walk(use_cursor=True)
    assert by_cursor == expected
    assert len(cursors) == 2 and all(c.endswith("=") for c in cursors)
    assert walk(use_cursor=False)[0] == expected


def test_list_parameters(client: httpx.Client) -> None:
    body = client.get("/v1/batches", params={"provider": "openai"}).json()
    assert len(body["data"]) == 8 and "has_more" not in body
    assert len(client.get("/v1/batches", params={"provider": "openai", "limit": 500}).json()["data"]) == 8
    for bad in ("0", "-3", "ten"):
        assert_error(client.get("/v1/batches", params={"provider": "openai", "limit": bad}), 400,
                     "invalid_request_error")
    for cursor in ("not-a-cursor!", "Zm9vOmJhcg==", "b3BlbmFpOmJhdGNoX3g="):
        response = client.get("/v1/batches", params={"provider": "openai", "after": cursor})
        assert_error(response, 400, "invalid_request_error")
    # A cursor is bound to its provider.
    cursor = client.get("/v1/batches", params={"provider": "openai", "limit": 2}).json()["next_cursor"]
    assert_error(client.get("/v1/batches", params={"provider": "gemini", "after": cursor}), 400,
                 "invalid_request_error")


def test_page_size_is_the_default_limit() -> None:
    with SimServer(frozen=True, start_time=START, page_size=5) as server:
        body = httpx.get(f"{server.base_url}/v1/batches", params={"provider": "openai"}).json()
        assert len(body["data"]) == 5 and body["has_more"] is True


# -- gateway errors and auth ------------------------------------------------------------------


def test_missing_unknown_and_unsupported_provider(client: httpx.Client) -> None:
    body = assert_error(client.get("/v1/batches"), 400, "invalid_request_error")
    assert body["error"]["message"] == "provider query parameter is required"
    assert body["is_bifrost_error"] is True
    assert_error(client.get(batch_path("batch_x"), params={"provider": "nope"}), 400, "invalid_request_error")
    body = assert_error(client.get("/v1/batches", params={"provider": "mistral"}), 400, "unsupported_operation")
    assert body["error"]["message"] == "batch_list is not supported by mistral provider"
    body = assert_error(client.post(batch_path("batch_x", "/cancel"), params={"provider": "mistral"}),
                        400, "unsupported_operation")
    assert body["error"]["message"] == "batch_cancel is not supported by mistral provider"
    assert_error(client.get("/v1/nothing-here", params={"provider": "openai"}), 404, "not_found")


@pytest.mark.parametrize("header", ["Authorization", "x-bf-vk", "x-api-key", "x-goog-api-key"])
def test_auth(header: str) -> None:
    with SimServer(frozen=True, start_time=START, api_key=KEY) as server, \
            httpx.Client(base_url=server.base_url) as http:
        params = {"provider": "openai"}
        body = assert_error(http.get("/v1/batches", params=params), 401, "virtual_key_required")
        assert body["is_bifrost_error"] is True
        wrong = "Bearer sk-bf-wrong" if header == "Authorization" else "sk-bf-wrong"
        assert_error(http.get("/v1/batches", params=params, headers={header: wrong}), 403, "virtual_key_not_found")
        right = f"Bearer {KEY}" if header == "Authorization" else KEY
        response = http.get("/v1/batches", params=params, headers={header: right})
        assert response.status_code == 200
        assert_error(http.get("/_sim/state"), 401, "virtual_key_required")
        assert http.get("/_sim/state", headers={header: right}).status_code == 200
        for response in (http.get("/v1/batches", params=params, headers={header: right}),
                         http.get("/v1/batches", params=params, headers={header: KEY + "x"})):
            assert KEY not in response.text


# -- cancel ----------------------------------------------------------------------------------


def test_cancel_live_openai_batch(sim: SimServer, client: httpx.Client) -> None:
    batch_id = sim.world.add_batch("openai", total=1000, rate=10.0, start_delay=0.0, cancel_settle=5.0)
    sim.clock.advance(30)
    response = client.post(batch_path(batch_id, "/cancel"), params={"provider": "openai"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == batch_id and body["status"] == "cancelling"
    assert body["cancelling_at"] == int(START) + 30
    assert body["extra_fields"]["request_type"] == "batch_cancel"
    # Cancelling again while cancelling: the batch as it is, not an error.
    again = client.post(batch_path(batch_id, "/cancel"), params={"provider": "openai"})
    assert again.status_code == 200 and again.json()["status"] == "cancelling"
    sim.clock.advance(4.5)
    assert retrieve(client, "openai", batch_id)["status"] == "cancelling"
    sim.clock.advance(1)
    done = retrieve(client, "openai", batch_id)
    assert done["status"] == "cancelled" and done["cancelled_at"] == int(START) + 35
    assert done["request_counts"] == {"total": 1000, "completed": 300, "failed": 0}
    assert sim.world.cancel_count("openai", batch_id) == 2
    refused = client.post(batch_path(batch_id, "/cancel"), params={"provider": "openai"})
    assert_error(refused, 400, "invalid_request_error")
    assert sim.world.cancel_count("openai", batch_id) == 3


def test_cancel_live_anthropic_batch_counts_pending_as_canceled(sim: SimServer, client: httpx.Client) -> None:
    batch_id = sim.world.add_batch("anthropic", total=1000, rate=10.0, start_delay=0.0,
                                   failure_fraction=0.1, cancel_settle=3.0)
    sim.clock.advance(40)
    client.post(batch_path(batch_id, "/cancel"), params={"provider": "anthropic"})
    sim.clock.advance(10)  # work stops at the cancel: nothing more runs
    cancelling = retrieve(client, "anthropic", batch_id)
    assert (cancelling["status"], cancelling["processing_status"]) == ("ended", "ended")
    assert cancelling["request_counts"] == {"total": 1000, "completed": 360, "failed": 40,
                                            "succeeded": 360, "canceled": 600}
    assert cancelling["cancelling_at"] == int(START) + 40 and cancelling["completed_at"] == int(START) + 43


def test_anthropic_cancelling_state(sim: SimServer, client: httpx.Client) -> None:
    batch_id = sim.world.add_batch("anthropic", total=100, rate=1.0, start_delay=0.0)
    client.post(batch_path(batch_id, "/cancel"), params={"provider": "anthropic"})
    batch = retrieve(client, "anthropic", batch_id)
    assert (batch["status"], batch["processing_status"]) == ("cancelling", "canceling")
    assert batch["request_counts"]["pending"] == 100


@pytest.mark.parametrize(("provider", "status", "error_type"), [
    ("openai", 400, "invalid_request_error"),
    ("anthropic", 409, "invalid_request_error"),
    ("bedrock", 400, "ValidationException"),
    ("gemini", 400, "FAILED_PRECONDITION"),
])
def test_cancel_of_a_finished_batch_is_refused(sim: SimServer, client: httpx.Client, provider: str,
                                               status: int, error_type: str) -> None:
    batch_id = sim.world.add_batch(provider, total=10, rate=10.0, start_delay=0.0, finalize_for=0.0,
                                   created_offset=-60)
    response = client.post(batch_path(batch_id, "/cancel"), params={"provider": provider})
    body = assert_error(response, status, error_type)
    assert body["extra_fields"] == {"provider": provider, "request_type": "batch_cancel"}
    if provider == "openai":
        assert body["error"]["message"] == "Cannot cancel a batch with status 'completed'."
    assert sim.world.cancel_count(provider, batch_id) == 1
    assert retrieve(client, provider, batch_id)["status"] in {"completed", "ended"}


def test_cancel_of_an_unknown_batch_is_404(client: httpx.Client) -> None:
    response = client.post(batch_path("batches/nope", "/cancel"), params={"provider": "gemini"})
    assert_error(response, 404, "not_found")


# -- faults ----------------------------------------------------------------------------------


def test_status_and_rate_limit_faults(sim: SimServer, client: httpx.Client) -> None:
    params = {"provider": "openai"}
    sim.faults.add(FaultRule("status", status=503, times=1))
    body = assert_error(client.get("/v1/batches", params=params), 503, "service_unavailable")
    assert body["extra_fields"]["provider"] == "openai"
    sim.faults.add(FaultRule("rate_limit", retry_after=2, times=1))
    response = client.get("/v1/batches", params=params)
    assert_error(response, 429, "rate_limited")
    assert response.headers["Retry-After"] == "2"
    sim.faults.add(FaultRule("rate_limit", times=1))
    response = client.get("/v1/batches", params=params)
    assert_error(response, 429, "rate_limited")
    assert "Retry-After" not in response.headers
    for status, error_type in ((401, "virtual_key_required"), (403, "virtual_key_not_found"),
                               (404, "not_found"), (500, "internal_server_error"), (504, "gateway_timeout")):
        sim.faults.add(FaultRule("status", status=status, times=1))
        assert_error(client.get("/v1/batches", params=params), status, error_type)
    assert client.get("/v1/batches", params=params).status_code == 200
    assert sim.faults.fired() == 8


def test_body_faults(sim: SimServer, client: httpx.Client) -> None:
    params = {"provider": "openai"}
    sim.faults.add(FaultRule("malformed_json", times=1))
    response = client.get("/v1/batches", params=params)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()
    sim.faults.add(FaultRule("wrong_shape", times=2))
    assert client.get("/v1/batches", params=params).json()["data"] == "not a list"
    batch_id = sim.world.batches("openai")[0]["id"]
    assert isinstance(client.get(batch_path(batch_id), params=params).json(), list)
    sim.faults.add(FaultRule("unsupported", times=1))
    body = assert_error(client.get("/v1/batches", params=params), 400, "unsupported_operation")
    assert body["error"]["message"] == "batch_list is not supported by openai provider"
    sim.faults.add(FaultRule("oversized", size=1_500_000, times=1))
    response = client.get("/v1/batches", params=params)
    assert len(response.content) > 1_000_000
    assert len(response.json()["data"]) == 8


@pytest.mark.parametrize("kind", ["drop", "reset"])
def test_connection_faults(sim: SimServer, client: httpx.Client, kind: str) -> None:
    sim.faults.add(FaultRule(kind, times=1))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.get("/v1/batches", params={"provider": "openai"})
    assert client.get("/v1/batches", params={"provider": "openai"}).status_code == 200


def test_reset_after_processing_a_cancel(sim: SimServer, client: httpx.Client) -> None:
    # The worst case for a client: the cancel happened, the answer never arrived.
    batch_id = sim.world.add_batch("openai", start_delay=0.0)
    sim.faults.add(FaultRule("reset", method="POST", times=1))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post(batch_path(batch_id, "/cancel"), params={"provider": "openai"})
    assert retrieve(client, "openai", batch_id)["status"] == "cancelling"
    assert sim.world.cancel_count("openai", batch_id) == 1


def test_dropped_cancel_is_counted_but_not_applied(sim: SimServer, client: httpx.Client) -> None:
    batch_id = sim.world.add_batch("openai", start_delay=0.0)
    sim.faults.add(FaultRule("drop", path="/v1/batches/", method="POST", times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(batch_path(batch_id, "/cancel"), params={"provider": "openai"})
    assert retrieve(client, "openai", batch_id)["status"] == "in_progress"
    assert sim.world.cancel_count("openai", batch_id) == 1


def test_slow_faults(sim: SimServer, client: httpx.Client) -> None:
    batch_id = sim.world.add_batch("openai", metadata={})
    params = {"provider": "openai"}
    size = len(client.get(batch_path(batch_id), params=params).content)
    assert size < 800
    sim.faults.add(FaultRule("trickle", rate=2000, times=1))
    started = time.monotonic()
    response = client.get(batch_path(batch_id), params=params)
    elapsed = time.monotonic() - started
    assert response.json()["id"] == batch_id
    assert elapsed >= 0.8 * size / 2000
    sim.faults.add(FaultRule("latency", delay=0.3, times=1))
    started = time.monotonic()
    assert client.get("/v1/batches", params=params).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_filters_and_times(sim: SimServer, client: httpx.Client) -> None:
    sim.faults.add(FaultRule("status", status=502, provider="anthropic", path="/v1/batches", method="GET", times=2))
    assert client.get("/v1/batches", params={"provider": "openai"}).status_code == 200
    assert client.post(batch_path("msgbatch_x", "/cancel"), params={"provider": "anthropic"}).status_code == 404
    assert client.get("/v1/batches", params={"provider": "anthropic"}).status_code == 502
    assert client.get("/v1/batches", params={"provider": "anthropic"}).status_code == 502
    assert client.get("/v1/batches", params={"provider": "anthropic"}).status_code == 200
    assert sim.faults.active() == []
    rule = sim.faults.add(FaultRule("status", status=500))
    assert client.get("/_sim/state").status_code == 200  # control endpoints are never faulted
    assert client.get("/v1/batches", params={"provider": "openai"}).status_code == 500
    assert sim.faults.remove(rule) is True
    assert client.get("/v1/batches", params={"provider": "openai"}).status_code == 200
    with pytest.raises(ValueError):
        FaultRule("explode")


def test_fault_probability_is_deterministic_by_seed() -> None:
    def pattern(seed: int) -> list[int]:
        with SimServer(frozen=True, start_time=START, seed=seed) as server, \
                httpx.Client(base_url=server.base_url) as http:
            server.faults.add(FaultRule("status", status=503, probability=0.5))
            return [http.get("/v1/batches", params={"provider": "gemini"}).status_code for _ in range(24)]

    first = pattern(3)
    assert pattern(3) == first
    assert {200, 503} == set(first)
    assert pattern(4) != first


# -- control endpoints -------------------------------------------------------------------------


def test_control_endpoints(sim: SimServer, client: httpx.Client) -> None:
    params = {"provider": "openai"}
    response = client.post("/_sim/faults", json={"kind": "status", "status": 418, "times": 3})
    assert response.status_code == 201
    rule_id = response.json()["id"]
    assert client.get("/v1/batches", params=params).status_code == 418
    state = client.get("/_sim/state").json()
    assert state["faults"][0]["id"] == rule_id and state["faults_fired"] == 1
    assert state["now"] == START and state["frozen"] is True and state["seed"] == 7
    assert state["providers"]["openai"]["batches"] == 8
    assert client.delete(f"/_sim/faults/{rule_id}").json() == {"removed": 1}
    assert client.delete(f"/_sim/faults/{rule_id}").status_code == 404
    client.post("/_sim/faults", json={"kind": "drop"})
    assert client.delete("/_sim/faults").json() == {"removed": 1}
    assert client.get("/v1/batches", params=params).status_code == 200
    assert_error(client.post("/_sim/faults", json={"kind": "nope"}), 400, "invalid_request_error")
    assert_error(client.post("/_sim/faults", json={"kind": "drop", "colour": "red"}), 400,
                 "invalid_request_error")
    assert_error(client.post("/_sim/faults", content=b"[1]"), 400, "invalid_request_error")

    batch_id = sim.world.add_batch("openai", total=100, rate=1.0, start_delay=0.0)
    assert client.post("/_sim/clock", json={"advance": 25}).json() == {"now": START + 25, "frozen": True}
    assert retrieve(client, "openai", batch_id)["request_counts"]["completed"] == 25
    assert_error(client.post("/_sim/clock", json={"advance": "soon"}), 400, "invalid_request_error")
    # Only batch API calls count as requests.
    assert client.get("/_sim/state").json()["requests"] == sim.request_count == 3


# -- life cycle --------------------------------------------------------------------------------


def test_go_down_and_come_up_on_the_same_port(sim: SimServer) -> None:
    params = {"provider": "openai"}
    batch_id = sim.world.add_batch("openai", start_delay=0.0)
    port = sim.port
    with httpx.Client(base_url=sim.base_url, timeout=2.0) as pooled:
        assert pooled.post(batch_path(batch_id, "/cancel"), params=params).status_code == 200
        sim.go_down()
        with pytest.raises(httpx.TransportError):  # the kept-alive connection is gone too
            pooled.get("/v1/batches", params=params)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/v1/batches", params=params)
        sim.come_up()
        assert sim.port == port
        assert retrieve(pooled, "openai", batch_id)["status"] == "cancelling"  # state survived


def test_stop_releases_the_port() -> None:
    server = SimServer(frozen=True, start_time=START).start()
    port = server.port
    with httpx.Client(base_url=server.base_url) as http:
        assert http.get("/v1/batches", params={"provider": "openai"}).status_code == 200
        server.stop()
        server.stop()  # idempotent
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
    with SimServer(port=port) as again:
        assert again.port == port


def test_https() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with SimServer(frozen=True, start_time=START, ssl_context=server_context) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        with httpx.Client(base_url=server.base_url, verify=client_context) as http:
            assert http.get("/v1/batches", params={"provider": "gemini"}).status_code == 200


def test_quiet_unless_verbose(capfd: pytest.CaptureFixture[str]) -> None:
    with SimServer(frozen=True, start_time=START, api_key=KEY) as quiet:
        httpx.get(f"{quiet.base_url}/v1/batches", params={"provider": "openai"}, headers={"x-bf-vk": KEY})
    assert capfd.readouterr() == ("", "")
    with SimServer(frozen=True, start_time=START, api_key=KEY, verbose=True) as loud:
        loud.faults.add(FaultRule("latency", times=1))
        httpx.get(f"{loud.base_url}/v1/batches", params={"provider": "openai", "q": KEY}, headers={"x-bf-vk": KEY})
    out, err = capfd.readouterr()
    assert out == "" and KEY not in err
    assert re.fullmatch(r"127\.0\.0\.1 GET /v1/batches\?provider=openai&q=\*\*\* 200 \d+ms fault=latency\n", err)


def test_standalone_serve_prints_one_line_and_stops_cleanly_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    # A child started from a backgrounded shell job inherits SIGINT ignored: restore it.
    code = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from tui.sim import serve; raise SystemExit(serve(port=0, seed=3, speed=2.0))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=REPO)
    try:
        banner = proc.stdout.readline()
        match = re.fullmatch(r"batchtop sim: Bifrost-compatible gateway on (http://127\.0\.0\.1:\d+) "
                             r"\(seed 3, speed 2x, providers openai, anthropic, bedrock, gemini\)\n", banner)
        assert match, banner
        assert httpx.get(f"{match[1]}/v1/batches", params={"provider": "openai"}).status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err and "GET /v1/batches?provider=openai 200" in err


def test_simulator_imports_only_the_standard_library() -> None:
    code = ("import sys, tui.sim; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'textual', 'rich', 'httpx', 'pydantic'} or m.startswith(('tui.api', 'tui.config'))))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "[]"


def test_arrivals_bring_new_batches_as_time_passes() -> None:
    def ids(server: SimServer) -> list[str]:
        return [b["id"] for b in server.world.batches("openai")]

    with SimServer(seed=3, frozen=True, start_time=START, arrivals=600) as sim, \
            SimServer(seed=3, frozen=True, start_time=START, arrivals=600) as twin:
        before = ids(sim)
        sim.clock.advance(3600)
        twin.clock.advance(3600)
        after = ids(sim)
        assert set(before) < set(after)
        assert 4 <= len(after) - len(before) <= 7  # about one per 10 minutes
        assert after == ids(twin)  # a pure function of seed and time
    with SimServer(seed=3, frozen=True, start_time=START) as still:
        first = ids(still)
        still.clock.advance(3600)
        assert ids(still) == first  # off unless asked for
