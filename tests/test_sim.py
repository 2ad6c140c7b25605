"""The gateway simulator, driven over real HTTP on loopback with plain httpx.

These tests pin the wire format the simulator writes (per provider family), its
determinism, paging over several keys, errors, auth, cancel, every fault kind, and its life
cycle (down, up, stop). Every test that pins a wire fact names the Bifrost source it comes
from (github.com/maximhq/bifrost; "@0119287d" is the newest provider code read).
"""

from __future__ import annotations

import base64
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

from tui.sim import DEFAULT_PROVIDERS, DEMO_PROVIDERS, FaultRule, SimServer

START = 1_764_050_000.0
PROVIDERS = ("openai", "anthropic", "bedrock", "gemini")
KEY = "sk-bf-sim-test-0123456789"
REPO = Path(__file__).resolve().parent.parent
FINISHED = {"completed", "failed", "expired", "cancelled", "ended"}


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


def cursor(encoded: str) -> dict:
    """core/schemas/pagination.go EncodeSerialCursor: base64.URLEncoding, padding kept."""
    assert len(encoded) % 4 == 0 and re.fullmatch(r"[A-Za-z0-9_-]+=*", encoded)
    return json.loads(base64.urlsafe_b64decode(encoded))


def make_cursor(key: int, native: str) -> str:
    return base64.urlsafe_b64encode(
        json.dumps({"v": 1, "i": key, "c": native}, separators=(",", ":")).encode()
    ).decode()


def assert_gateway_error(response: httpx.Response, status: int) -> dict:
    """A BifrostError (core/schemas/bifrost.go) sent with the status SendBifrostError picks
    (transports/bifrost-http/handlers/utils.go): status_code when set, else 400 for
    is_bifrost_error false, else 500."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["is_bifrost_error"], bool)
    if "status_code" in body:
        assert body["status_code"] == status
    else:
        assert status == (500 if body["is_bifrost_error"] else 400)
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["extra_fields"], dict)
    return body


def assert_sim_error(response: httpx.Response, status: int, error_type: str) -> dict:
    """Errors of the simulator itself (auth, /_sim/, unknown paths)."""
    assert response.status_code == status
    body = response.json()
    assert body["status_code"] == status and body["type"] == error_type
    assert body["error"]["type"] == error_type and body["error"]["message"]
    return body


def assert_no_nulls(value: object) -> None:
    """The gateway omits empty fields (omitempty); it never sends null."""
    assert value is not None
    if isinstance(value, dict):
        for item in value.values():
            assert_no_nulls(item)
    elif isinstance(value, list):
        for item in value:
            assert_no_nulls(item)


TIMESTAMPS = (
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "archived_at",
)


def assert_common(batch: dict) -> None:
    """core/schemas/batch.go BatchRequestCounts: total/completed/failed always, the
    Anthropic-only counters (omitempty) only when non-zero."""
    assert_no_nulls(batch)
    assert isinstance(batch["id"], str) and isinstance(batch["status"], str)
    counts = batch["request_counts"]
    assert {"total", "completed", "failed"} <= counts.keys()
    assert all(type(v) is int and v > 0 for k, v in counts.items() if k not in ("total", "completed", "failed"))
    for name in TIMESTAMPS:
        if name in batch:
            assert type(batch[name]) is int and batch[name] > 0


def assert_item_extra(batch: dict, latency_set: bool) -> None:
    """openai/openai.go@0119287d: converters set only Latency on list items; request_type
    (no omitempty) is "", provider (omitempty) absent. Bedrock/Gemini/Vertex items leave
    ExtraFields at zero."""
    extra = batch["extra_fields"]
    assert extra.keys() == {"request_type", "latency", "chunk_index"}
    assert extra["request_type"] == "" and extra["chunk_index"] == 0
    assert (extra["latency"] > 0) is latency_set


def assert_top_extra(body: dict, provider: str, request_type: str) -> None:
    """core/schemas/bifrost.go PopulateExtraFields stamps request_type and provider; batch
    calls carry no model, so the omitempty model fields are absent."""
    extra = body["extra_fields"]
    assert extra == {"request_type": request_type, "provider": provider, "latency": extra["latency"], "chunk_index": 0}
    assert type(extra["latency"]) is int


# -- provider shapes ---------------------------------------------------------------------


def test_openai_shape(sim: SimServer, client: httpx.Client) -> None:
    """core/providers/openai/batch.go ToBifrostBatchRetrieveResponse, ToBifrostBatchStatus."""
    batches = list_all(client, "openai")
    assert len(batches) == 8
    for batch in batches:
        assert_common(batch)
        assert_item_extra(batch, latency_set=True)
        assert re.fullmatch(r"batch_[0-9a-f]{24}", batch["id"])
        assert batch["object"] == "batch" and batch["completion_window"] == "24h"
        assert set(batch["request_counts"]) == {"total", "completed", "failed"}
        assert batch["expires_at"] == batch["created_at"] + 86_400
        assert batch["status"] in {
            "validating",
            "in_progress",
            "finalizing",
            "completed",
            "failed",
            "expired",
            "cancelling",
            "cancelled",
        }
    statuses = {b["status"] for b in batches}
    assert {"validating", "in_progress", "completed", "failed", "expired"} <= statuses
    failed = next(b for b in batches if b["status"] == "failed")
    assert failed["errors"]["object"] == "list"
    error = failed["errors"]["data"][0]
    assert error["code"] == "invalid_json_line" and error["line"] == 12 and "param" not in error
    done = [b for b in batches if b["status"] == "completed"]
    assert all("output_file_id" in b for b in done)
    assert any("error_file_id" in b and b["request_counts"]["failed"] for b in done)
    for batch in batches:
        full = retrieve(client, "openai", batch["id"])
        assert_top_extra(full, "openai", "batch_retrieve")
        assert {k: v for k, v in full.items() if k != "extra_fields"} == {
            k: v for k, v in batch.items() if k != "extra_fields"
        }  # one converter for both


def test_custom_provider_names_are_served_openai_shaped() -> None:
    """Any configured provider name reaches core (inference.go takes ?provider= as given);
    names without their own converter use OpenAI's (azure/azure.go does)."""
    with (
        SimServer(frozen=True, start_time=START, providers=("siliconflow", "azure")) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        for provider in ("siliconflow", "azure"):
            body = http.get("/v1/batches", params={"provider": provider}).json()
            assert_top_extra(body, provider, "batch_list")
            assert all(re.fullmatch(r"batch_[0-9a-f]{24}", b["id"]) for b in body["data"])
            assert all(b["completion_window"] == "24h" for b in body["data"])


def test_anthropic_shape(client: httpx.Client) -> None:
    """core/providers/anthropic/batch.go ToBifrostBatchRetrieveResponse: object "batch"
    (ToBifrostObjectType), processing_status raw, completed = succeeded, failed = errored,
    pending = processing; completed_at = ended_at; no metadata. Counts do not move until the
    batch has ended (Anthropic API reference)."""
    batches = list_all(client, "anthropic")
    for batch in batches:
        assert_common(batch)
        assert_item_extra(batch, latency_set=True)
        assert re.fullmatch(r"msgbatch_[A-Za-z0-9]{24}", batch["id"])
        assert batch["object"] == "batch" and "metadata" not in batch and "errors" not in batch
        assert batch["status"] in {"in_progress", "cancelling", "ended"}
        counts = batch["request_counts"]
        if batch["status"] == "ended":
            assert batch["processing_status"] == "ended"
            assert "completed_at" in batch and batch["results_url"].startswith("https://")
            assert counts["completed"] == counts.get("succeeded", 0)
            assert (
                counts["total"]
                == sum(counts.get(k, 0) for k in ("succeeded", "canceled", "expired")) + counts["failed"]
            )
            assert "pending" not in counts
        else:
            assert (
                batch["processing_status"] == {"in_progress": "in_progress", "cancelling": "canceling"}[batch["status"]]
            )
            assert "results_url" not in batch and "completed_at" not in batch
            assert counts == {"total": counts["total"], "completed": 0, "failed": 0, "pending": counts["total"]}
    ended = [b["request_counts"] for b in batches if b["status"] == "ended"]
    assert any(c.get("canceled") for c in ended)
    assert any(c.get("expired") for c in ended)
    assert any(c["failed"] for c in ended)
    assert any("archived_at" in b for b in batches)


def test_anthropic_counts_jump_only_when_the_batch_ends(sim: SimServer, client: httpx.Client) -> None:
    """Anthropic API reference: requests move out of processing only once the whole batch
    ends; Bifrost maps processing to pending (anthropic/batch.go)."""
    batch_id = sim.world.add_batch(
        "anthropic", total=100, rate=10.0, start_delay=0.0, failure_fraction=0.1, finalize_for=0.0
    )
    for _ in range(3):
        assert retrieve(client, "anthropic", batch_id)["request_counts"] == {
            "total": 100,
            "completed": 0,
            "failed": 0,
            "pending": 100,
        }
        sim.clock.advance(3)
    sim.clock.advance(2)
    ended = retrieve(client, "anthropic", batch_id)
    assert ended["status"] == "ended" and ended["completed_at"] == int(START) + 10
    assert ended["request_counts"] == {"total": 100, "completed": 90, "failed": 10, "succeeded": 90}


def test_bedrock_lists_without_counts_and_retrieves_them_once_ended(sim: SimServer, client: httpx.Client) -> None:
    """core/providers/bedrock/bedrock.go@0119287d: BatchList sets only id (ARN), object,
    status, created_at and metadata {job_name, model_id}; BatchRetrieve adds the S3 files,
    expires_at, completed_at from endTime and counts from manifest.json.out, which exists
    only once the job has ended (completed = processed - errors, failed = errors)."""
    batches = list_all(client, "bedrock")
    assert any(b["status"] == "validating" for b in batches)  # AWS "Scheduled" among them
    for batch in batches:
        assert_common(batch)
        assert_item_extra(batch, latency_set=False)
        assert set(batch) == {"id", "object", "status", "request_counts", "metadata", "created_at", "extra_fields"}
        assert set(batch["metadata"]) == {"job_name", "model_id"}
        assert batch["id"].startswith("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/")
        assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
        full = retrieve(client, "bedrock", batch["id"])
        assert full["id"] == batch["id"] and full["status"] == batch["status"]
        assert full["input_file_id"].startswith("s3://") and full["output_file_id"].startswith("s3://")
        assert "expires_at" in full and "in_progress_at" not in full and "failed_at" not in full
        assert set(full["request_counts"]) == {"total", "completed", "failed"}
        assert_top_extra(full, "bedrock", "batch_retrieve")
        if full["status"] in FINISHED and "errors" not in full:
            assert "completed_at" in full and full["request_counts"]["total"] > 0
        if full["status"] not in FINISHED:
            assert "completed_at" not in full and full["request_counts"]["total"] == 0

    running = sim.world.add_batch(
        "bedrock", total=100, rate=10.0, start_delay=0.0, failure_fraction=0.1, finalize_for=0.0
    )
    sim.clock.advance(5)
    assert retrieve(client, "bedrock", running)["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    sim.clock.advance(10)
    ended = retrieve(client, "bedrock", running)
    # Completed with errors is AWS "PartiallyCompleted", which ToBifrostBatchStatus maps to failed.
    assert ended["status"] == "failed" and ended["completed_at"] == int(START) + 10
    assert ended["request_counts"] == {"total": 100, "completed": 90, "failed": 10}
    assert "errors" not in ended  # no AWS message for a partial completion


def test_bedrock_statuses(sim: SimServer, client: httpx.Client) -> None:
    """core/providers/bedrock/batch.go@3b9122c7 ToBifrostBatchStatus: Completed ->
    completed, Failed -> failed (with the job's message as errors), Stopping -> cancelling,
    Stopped -> cancelled, Expired -> expired; completed_at = endTime for any ending."""
    clean = sim.world.add_batch("bedrock", total=10, rate=10.0, start_delay=0.0, finalize_for=0.0, created_offset=-60)
    invalid = sim.world.add_batch(
        "bedrock",
        outcome="failed",
        start_delay=5.0,
        created_offset=-60,
        errors=({"code": "x", "message": "Input file not found"},),
    )
    expired = sim.world.add_batch(
        "bedrock", total=100, rate=1.0, start_delay=0.0, outcome="expired", created_offset=-100
    )
    live = sim.world.add_batch("bedrock", total=1000, rate=1.0, start_delay=0.0, cancel_settle=5.0)
    assert retrieve(client, "bedrock", clean)["status"] == "completed"
    failed = retrieve(client, "bedrock", invalid)
    assert failed["status"] == "failed" and failed["completed_at"] == int(START) - 55
    assert failed["errors"] == {"object": "list", "data": [{"message": "Input file not found"}]}
    assert failed["request_counts"] == {"total": 0, "completed": 0, "failed": 0}  # no manifest
    gone = retrieve(client, "bedrock", expired)
    assert gone["status"] == "expired" and gone["completed_at"] == int(START) - 50
    cancel = client.post(batch_path(live, "/cancel"), params={"provider": "bedrock"}).json()
    # bedrock.go BatchCancel: id/object/status from a re-retrieve, zero counts, no timestamps.
    assert {k: v for k, v in cancel.items() if k != "extra_fields"} == {
        "id": live,
        "object": "batch",
        "status": "cancelling",
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
    }
    sim.clock.advance(6)
    stopped = retrieve(client, "bedrock", live)
    assert stopped["status"] == "cancelled" and stopped["completed_at"] == int(START) + 5


def test_gemini_shape(sim: SimServer, client: httpx.Client) -> None:
    """core/providers/gemini/gemini.go@0119287d: list items are id (batches/...), object,
    status, created_at and operation_name with zero counts and no done; retrieve adds done
    (a *bool, false is sent) and counts total = requestCount, completed = total - pending,
    failed = completed - successful, succeeded/pending when non-zero; PENDING and RUNNING
    both read in_progress (gemini/batch.go ToBifrostBatchStatus)."""
    batches = list_all(client, "gemini")
    for batch in batches:
        assert_common(batch)
        assert_item_extra(batch, latency_set=False)
        assert re.fullmatch(r"batches/[a-z0-9]{20}", batch["id"])
        assert set(batch) == {
            "id",
            "object",
            "status",
            "request_counts",
            "created_at",
            "operation_name",
            "extra_fields",
        }
        assert batch["operation_name"] == batch["id"]
        assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
        assert batch["status"] != "validating"
        full = retrieve(client, "gemini", batch["id"])
        assert full["id"] == batch["id"]
        assert full["done"] is (full["status"] in {"completed", "failed", "cancelled", "expired"})
        assert not {"metadata", "display_name", "in_progress_at", "completed_at", "expires_at"} & full.keys()
    batch_id = sim.world.add_batch(
        "gemini", total=100, rate=10.0, start_delay=0.0, failure_fraction=0.2, finalize_for=0.0
    )
    sim.clock.advance(5)
    running = retrieve(client, "gemini", batch_id)
    assert running["status"] == "in_progress" and running["done"] is False
    assert running["request_counts"] == {"total": 100, "completed": 50, "failed": 10, "succeeded": 40, "pending": 50}
    sim.clock.advance(5)
    done = retrieve(client, "gemini", batch_id)
    assert done["status"] == "completed" and done["done"] is True and "output_file_id" in done
    assert done["request_counts"] == {"total": 100, "completed": 100, "failed": 20, "succeeded": 80}


def test_gemini_ids_with_slash_are_retrievable_percent_encoded(client: httpx.Client) -> None:
    batches = list_all(client, "gemini")
    assert retrieve(client, "gemini", batches[0]["id"])["id"] == batches[0]["id"]
    # Not encoded, the slash splits the path and the batch is not found.
    response = client.get(f"/v1/batches/{batches[0]['id']}", params={"provider": "gemini"})
    assert response.status_code == 404


def test_vertex_shape(client: httpx.Client) -> None:
    """core/providers/vertex/batch.go vertexBatchJobToBifrost, used by list and retrieve
    alike: full resource name as id, display_name, gs:// files, in_progress_at from
    startTime, the end time in the field of the mapped status, counts total = successful +
    failed + incomplete, completed = successful; no metadata, expires_at or done."""
    with (
        SimServer(frozen=True, start_time=START, providers=("vertex",)) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        batches = list_all(http, "vertex")
        assert len(batches) == 8
        assert {"validating", "in_progress", "completed", "failed", "expired"} <= {b["status"] for b in batches}
        for batch in batches:
            assert_common(batch)
            assert_item_extra(batch, latency_set=False)
            assert re.fullmatch(r"projects/123456789012/locations/us-central1/batchPredictionJobs/\d{19}", batch["id"])
            assert batch["input_file_id"].startswith("gs://") and batch["display_name"]
            assert not {"metadata", "expires_at", "done", "operation_name", "finalizing_at"} & batch.keys()
            assert set(batch["request_counts"]) == {"total", "completed", "failed"}
            ends = {k for k in ("completed_at", "failed_at", "expired_at", "cancelled_at") if k in batch}
            assert ends == ({f"{batch['status']}_at"} if batch["status"] in FINISHED else set())
            full = retrieve(http, "vertex", batch["id"])
            assert {k: v for k, v in full.items() if k != "extra_fields"} == {
                k: v for k, v in batch.items() if k != "extra_fields"
            }
        failed = next(b for b in batches if b["status"] == "failed")
        # job.Error -> BatchErrors{Data: [{Code: "%d", Message}]}: no "object".
        assert failed["errors"] == {"data": [{"code": "3", "message": failed["errors"]["data"][0]["message"]}]}
        running = next(b for b in batches if b["status"] == "in_progress" and b["request_counts"]["completed"])
        assert "in_progress_at" in running and "output_file_id" not in running
        assert all("output_file_id" in b for b in batches if b["status"] == "completed")


def test_vertex_counts_move_while_running(client: httpx.Client) -> None:
    with (
        SimServer(frozen=True, start_time=START, providers=("vertex",), batches_per_provider=0) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        batch_id = server.world.add_batch(
            "vertex",
            total=100,
            rate=10.0,
            start_delay=2.0,
            failure_fraction=0.1,
            finalize_for=3.0,
            metadata={"job": "nightly"},
        )
        queued = retrieve(http, "vertex", batch_id)
        assert queued["status"] == "validating" and queued["request_counts"] == {
            "total": 0,
            "completed": 0,
            "failed": 0,
        }
        assert queued["display_name"] == "nightly"
        server.clock.advance(7)
        running = retrieve(http, "vertex", batch_id)
        assert running["status"] == "in_progress" and running["in_progress_at"] == int(START) + 2
        assert running["request_counts"] == {"total": 100, "completed": 45, "failed": 5}
        server.clock.advance(6)  # all ran at +12: finalizing, which Vertex has not -> RUNNING
        assert retrieve(http, "vertex", batch_id)["status"] == "in_progress"
        server.clock.advance(3)
        done = retrieve(http, "vertex", batch_id)
        assert done["status"] == "completed" and done["completed_at"] == int(START) + 15
        assert done["request_counts"] == {"total": 100, "completed": 90, "failed": 10}
        # A bare job number is accepted, and the cancel echoes it (vertex.go batchCancelByKey).
        live = server.world.add_batch("vertex", start_delay=0.0)
        number = live.rsplit("/", 1)[1]
        assert retrieve(http, "vertex", number)["id"] == live
        answer = http.post(batch_path(number, "/cancel"), params={"provider": "vertex"}).json()
        assert {k: v for k, v in answer.items() if k != "extra_fields"} == {
            "id": number,
            "object": "batch",
            "status": "cancelling",
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "cancelling_at": int(START) + 16,
        }


@pytest.mark.parametrize(
    ("provider", "raw", "shown"),
    [
        ("vertex", "JOB_STATE_PAUSED", "JOB_STATE_PAUSED"),  # vertex/batch.go default branch
        ("gemini", "BATCH_STATE_UNSPECIFIED", "BATCH_STATE_UNSPECIFIED"),  # gemini/batch.go default
        ("bedrock", "Scheduled", "validating"),  # bedrock/batch.go Scheduled
        ("bedrock", "Queued", "Queued"),  # bedrock/batch.go default
        ("openai", "paused", "paused"),  # openai/batch.go default
        ("anthropic", "paused", "paused"),  # anthropic/batch.go default
    ],
)
def test_raw_provider_states_go_through_the_providers_mapping(provider: str, raw: str, shown: str) -> None:
    with (
        SimServer(frozen=True, start_time=START, providers=(provider,), batches_per_provider=0) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        batch_id = server.world.add_batch(provider, start_delay=0.0, raw_status=raw, created_offset=-10)
        batch = retrieve(http, provider, batch_id)
        assert batch["status"] == shown
        if provider == "anthropic":
            assert batch["processing_status"] == raw
        if provider == "gemini":
            assert batch["done"] is False
        if provider == "vertex":
            assert not {"completed_at", "failed_at", "cancelled_at", "expired_at"} & batch.keys()
            assert batch["request_counts"]["total"] == 1000  # completionStats move on


def test_unknown_batch_is_the_providers_404(client: httpx.Client) -> None:
    """openai/openai.go BatchRetrieve tries every key and returns the last ParseOpenAIError:
    the upstream status, is_bifrost_error false, OpenAI's type/message, raw_response kept
    (utils.go HandleProviderAPIError)."""
    response = client.get(batch_path("batch_doesnotexist"), params={"provider": "openai"})
    body = assert_gateway_error(response, 404)
    assert body["is_bifrost_error"] is False and body["status_code"] == 404
    assert body["error"] == {"type": "invalid_request_error", "message": "No batch found with id 'batch_doesnotexist'."}
    assert body["extra_fields"]["provider"] == "openai"
    assert body["extra_fields"]["request_type"] == "batch_retrieve"
    assert "raw_response" in body["extra_fields"]


def strings(value: object) -> list[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_hostile_batches_travel_as_valid_json() -> None:
    # Where each converter puts the creator's strings: OpenAI metadata; Bedrock job_name
    # (bedrock.go metadata["job_name"]); Vertex display_name; Anthropic and Gemini map none.
    with (
        SimServer(frozen=True, start_time=START, hostile=True, providers=DEMO_PROVIDERS) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        for provider in DEMO_PROVIDERS:
            batches = list_all(http, provider)
            assert len(batches) == 9
            full = [retrieve(http, provider, b["id"]) for b in batches]
            hostile = [b for b in full if any("\x1b" in s for s in strings(b))]
            if provider in ("anthropic", "gemini"):
                assert hostile == []
                continue
            assert len(hostile) == 1
            batch = hostile[0]
            carrier = {
                "openai": lambda b: b["metadata"]["job"],
                "bedrock": lambda b: b["metadata"]["job_name"],
                "vertex": lambda b: b["display_name"],
            }[provider]
            assert carrier(batch) == "\x1b[31mred\x1b[0m"
            if provider == "openai":
                assert "\u202e" in batch["metadata"]["rtl"] and len(batch["metadata"]["long"]) == 300
            assert "\x1b" in batch["errors"]["data"][0]["message"]


# -- time, determinism ---------------------------------------------------------------------


def test_progress_follows_the_clock(sim: SimServer, client: httpx.Client) -> None:
    batch_id = sim.world.add_batch(
        "openai", total=100, rate=10.0, start_delay=0.0, finalize_for=5.0, failure_fraction=0.1, metadata={}
    )
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
            pages = [http.get("/v1/batches", params={"provider": p}).content for p in DEMO_PROVIDERS]
            first = json.loads(pages[3])["data"][0]["id"]
            pages.append(http.get(batch_path(first), params={"provider": "gemini"}).content)
            return pages

    with (
        SimServer(frozen=True, start_time=START, seed=11, providers=DEMO_PROVIDERS) as one,
        SimServer(frozen=True, start_time=START, seed=11, providers=DEMO_PROVIDERS) as two,
        SimServer(frozen=True, start_time=START, seed=12, providers=DEMO_PROVIDERS) as other,
    ):
        first = snapshot(one)
        assert snapshot(one) == first  # polling again changes nothing
        assert snapshot(two) == first
        assert snapshot(other) != first
        one.clock.advance(30)
        assert snapshot(one) != first


def test_demo_providers() -> None:
    assert DEFAULT_PROVIDERS == ("openai", "anthropic", "bedrock", "gemini")
    assert DEMO_PROVIDERS == DEFAULT_PROVIDERS + ("vertex",)


def test_demo_batches_look_alive() -> None:
    """OpenAI, Gemini and Vertex counts move while running; Anthropic and Bedrock show
    nothing until a batch ends (frozen counts; no manifest yet), then jump."""
    with (
        SimServer(frozen=True, start_time=START, providers=DEMO_PROVIDERS, arrivals=600) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):

        def progress(provider: str) -> dict[str, tuple[int, str]]:
            return {
                b["id"]: (retrieve(http, provider, b["id"])["request_counts"]["completed"], b["status"])
                for b in list_all(http, provider)
            }

        before = {p: progress(p) for p in DEMO_PROVIDERS}
        server.clock.advance(600)
        after = {p: progress(p) for p in DEMO_PROVIDERS}
        for provider in ("openai", "gemini", "vertex"):
            assert any(
                after[provider][i][0] > done
                for i, (done, status) in before[provider].items()
                if status == "in_progress"
            ), provider
        for provider in ("anthropic", "bedrock"):
            moved = [i for i, (done, _) in before[provider].items() if after[provider][i][0] != done]
            assert all(after[provider][i][1] in FINISHED for i in moved), provider


# -- listing -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", DEMO_PROVIDERS)
def test_pagination_visits_every_batch_once(provider: str) -> None:
    """core/providers/utils/pagination.go BuildNextCursor + core/schemas/pagination.go
    EncodeSerialCursor: next_cursor = base64url({"v":1,"i":0,"c":<native>}); OpenAI and
    Anthropic's native cursor is the last batch id (openai.go/anthropic.go BatchList);
    has_more is omitempty and there is no first_id/last_id (core/schemas/batch.go)."""
    with (
        SimServer(frozen=True, start_time=START, providers=DEMO_PROVIDERS) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        expected = [b["id"] for b in server.world.batches(provider)]
        created = [b["created_at"] for b in server.world.batches(provider)]
        assert created == sorted(created, reverse=True)
        seen, cursors, params = [], [], {"provider": provider, "limit": 3}
        while True:
            body = http.get("/v1/batches", params=params).json()
            assert not {"first_id", "last_id"} & body.keys()
            assert_top_extra(body, provider, "batch_list")
            seen += [b["id"] for b in body["data"]]
            if "has_more" not in body:
                assert "next_cursor" not in body
                break
            assert body["has_more"] is True
            decoded = cursor(body["next_cursor"])
            assert decoded["v"] == 1 and decoded["i"] == 0
            if provider in ("openai", "anthropic"):
                assert decoded["c"] == body["data"][-1]["id"]
            cursors.append(body["next_cursor"])
            params["after"] = body["next_cursor"]
        assert seen == expected and len(cursors) == 2


def test_single_key_accepts_a_plain_batch_id_as_after(client: httpx.Client) -> None:
    """NewSerialListHelper(..., allowNativeCursorFallback=true) with exactly one key takes an
    undecodable cursor as the provider's own (openai.go@0119287d)."""
    ids = [b["id"] for b in list_all(client, "openai")]
    body = client.get("/v1/batches", params={"provider": "openai", "after": ids[2], "limit": 2}).json()
    assert [b["id"] for b in body["data"]] == ids[3:5]


def test_list_parameters(client: httpx.Client) -> None:
    """inference.go batchList: a non-integer or <= 0 limit is dropped (no 400) and the
    provider's default page applies; the providers cap it at 100."""
    body = client.get("/v1/batches", params={"provider": "openai"}).json()
    assert len(body["data"]) == 8 and "has_more" not in body
    assert len(client.get("/v1/batches", params={"provider": "openai", "limit": 500}).json()["data"]) == 8
    for ignored in ("0", "-3", "ten", "2.5", " 2"):
        response = client.get("/v1/batches", params={"provider": "openai", "limit": ignored})
        assert response.status_code == 200 and len(response.json()["data"]) == 8
    assert len(client.get("/v1/batches", params={"provider": "openai", "limit": "+2"}).json()["data"]) == 2


def test_limit_above_100_is_capped() -> None:
    with (
        SimServer(frozen=True, start_time=START, providers=("openai",), batches_per_provider=130) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        body = http.get("/v1/batches", params={"provider": "openai", "limit": 1000}).json()
        assert len(body["data"]) == 100 and body["has_more"] is True


@pytest.mark.parametrize(
    "after",
    [
        "not-a-cursor!",  # not base64url
        "eyJ2IjoxLCJpIjowLCJjIjoi",  # {"v":1,"i":0,"c":" cut short
        make_cursor(0, "batch_x")[:-1],  # padding broken
        base64.urlsafe_b64encode(b'{"v":2,"i":0,"c":""}').decode(),  # unsupported version
        base64.urlsafe_b64encode(b'{"v":1,"i":"0","c":""}').decode(),  # wrong type
        make_cursor(0, "batch_000000000000000000000000"),  # a cursor OpenAI never issued
    ],
)
def test_invalid_cursor_is_the_gateways_500(client: httpx.Client, after: str) -> None:
    """openai.go BatchList: NewSerialListHelper's error ->
    NewBifrostOperationError("invalid pagination cursor", err): is_bifrost_error true, no
    status_code, so SendBifrostError answers 500; the decode error is error.error."""
    response = client.get("/v1/batches", params={"provider": "openai", "after": after})
    body = assert_gateway_error(response, 500)
    assert body["is_bifrost_error"] is True and "status_code" not in body
    assert body["error"]["message"] == "invalid pagination cursor"
    assert isinstance(body["error"]["error"], str) and body["error"]["error"]
    assert body["extra_fields"] == {"provider": "openai", "request_type": "batch_list"}


def test_a_cursor_is_bound_to_its_provider(client: httpx.Client) -> None:
    openai_cursor = client.get("/v1/batches", params={"provider": "openai", "limit": 2}).json()["next_cursor"]
    assert_gateway_error(client.get("/v1/batches", params={"provider": "gemini", "after": openai_cursor}), 500)


def test_page_size_is_the_default_limit() -> None:
    with SimServer(frozen=True, start_time=START, page_size=5) as server:
        body = httpx.get(f"{server.base_url}/v1/batches", params={"provider": "openai"}).json()
        assert len(body["data"]) == 5 and body["has_more"] is True


def test_several_keys_are_walked_one_after_another() -> None:
    """pagination.go BuildNextCursor: a key with more pages gives {i, c: native}; the page
    that exhausts key i holds its last items with has_more true and {i+1, c: ""}; an empty
    key gives an empty page that still has more; the last key ends the walk."""
    with (
        SimServer(frozen=True, start_time=START, providers=("openai",), keys={"openai": (3, 0, 5)}) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        assert server.world.key_count("openai") == 3
        pages, params = [], {"provider": "openai", "limit": 2}
        while True:
            body = http.get("/v1/batches", params=params).json()
            pages.append(body)
            if "has_more" not in body:
                break
            params["after"] = body["next_cursor"]
        shapes_ = [(len(p["data"]), cursor(p["next_cursor"]) if "next_cursor" in p else None) for p in pages]
        ids = [[b["id"] for b in p["data"]] for p in pages]
        assert [n for n, _ in shapes_] == [2, 1, 0, 2, 2, 1]
        assert shapes_[0][1] == {"v": 1, "i": 0, "c": ids[0][-1]}
        assert shapes_[1][1] == {"v": 1, "i": 1, "c": ""}  # key 0 exhausted, not an empty page
        assert shapes_[2][1] == {"v": 1, "i": 2, "c": ""}  # the empty middle key
        assert shapes_[3][1] == {"v": 1, "i": 2, "c": ids[3][-1]}
        assert shapes_[5][1] is None
        walked = [i for page in ids for i in page]
        assert walked == [b["id"] for b in server.world.batches("openai")] and len(set(walked)) == 8
        key0 = [b for b in server.world.batches("openai")][:3]
        assert [b["created_at"] for b in key0] == sorted((b["created_at"] for b in key0), reverse=True)
        # Past the last key: an empty list without has_more (GetCurrentKey fails).
        past = http.get("/v1/batches", params={"provider": "openai", "after": make_cursor(3, "")}).json()
        assert past["data"] == [] and "has_more" not in past and "next_cursor" not in past
        # With several keys a plain id is no cursor (no native fallback).
        response = http.get("/v1/batches", params={"provider": "openai", "after": ids[0][0]})
        assert assert_gateway_error(response, 500)["error"]["message"] == "invalid pagination cursor"
        # Retrieve and cancel find a batch under any key (openai.go: `for _, key := range keys`).
        last = ids[-1][-1]
        assert retrieve(http, "openai", last)["id"] == last


def test_keys_by_count_deal_batches_round_robin() -> None:
    with SimServer(frozen=True, start_time=START, providers=("openai",), keys={"openai": 2}) as server:
        assert [len(v) for v in server.world.views_by_key("openai", server.clock.now())] == [4, 4]
        added = server.world.add_batch("openai", key=1)
        assert server.world.views_by_key("openai", server.clock.now())[1][0][0].id == added
        with pytest.raises(ValueError):
            server.world.add_batch("openai", key=2)


@pytest.mark.parametrize("provider", ["anthropic", "bedrock", "gemini"])
def test_ignore_after_fault_answers_page_one_again(provider: str) -> None:
    """anthropic.go (AfterID), bedrock.go and gemini.go (PageToken) BatchList read fields
    that inference.go batchList never fills, so ?after= is dropped: page 2 is page 1, with
    the same next_cursor. A fault knob, scoped by provider."""
    with SimServer(frozen=True, start_time=START) as server, httpx.Client(base_url=server.base_url) as http:
        server.faults.add(FaultRule("ignore_after", provider=provider))
        first = http.get("/v1/batches", params={"provider": provider, "limit": 3}).json()
        again = http.get("/v1/batches", params={"provider": provider, "limit": 3, "after": first["next_cursor"]}).json()
        assert again == first and again["has_more"] is True
        # Other providers page normally, and a retrieve is untouched.
        other = http.get("/v1/batches", params={"provider": "openai", "limit": 3}).json()
        second = http.get(
            "/v1/batches", params={"provider": "openai", "limit": 3, "after": other["next_cursor"]}
        ).json()
        assert second["data"][0]["id"] != other["data"][0]["id"]
        assert http.get(batch_path(first["data"][0]["id"]), params={"provider": provider}).status_code == 200


# -- gateway errors and auth ------------------------------------------------------------------


def test_missing_provider_and_providers_without_keys(client: httpx.Client) -> None:
    """inference.go: SendError(ctx, 400, "provider query parameter is required") sets
    status_code, is_bifrost_error false, no extra_fields. core/bifrost.go
    getKeysForBatchAndFileOps: "no keys found for provider: %v" with the error as
    error.error, no status (so 400)."""
    body = assert_gateway_error(client.get("/v1/batches"), 400)
    assert body == {
        "is_bifrost_error": False,
        "status_code": 400,
        "error": {"message": "provider query parameter is required"},
        "extra_fields": {},
    }
    for provider, response in (
        ("siliconflow", client.get("/v1/batches", params={"provider": "siliconflow"})),
        ("nope", client.get(batch_path("batch_x"), params={"provider": "nope"})),
        ("nope", client.post(batch_path("batch_x", "/cancel"), params={"provider": "nope"})),
    ):
        body = assert_gateway_error(response, 400)
        message = f"no keys found for provider: {provider}"
        assert body["is_bifrost_error"] is False and "status_code" not in body
        assert body["error"] == {"error": message, "message": message}
        assert body["extra_fields"]["provider"] == provider
    assert client.get("/v1/nothing-here", params={"provider": "openai"}).status_code == 404


def test_provider_without_a_batch_api_is_unsupported(client: httpx.Client) -> None:
    """core/providers/mistral/batch.go BatchList returns NewUnsupportedOperationError
    (core/providers/utils/utils.go): 400, error.code unsupported_operation, no status_code."""
    for request_type, response in (
        ("batch_list", client.get("/v1/batches", params={"provider": "mistral"})),
        ("batch_retrieve", client.get(batch_path("batch_x"), params={"provider": "groq"})),
        ("batch_cancel", client.post(batch_path("batch_x", "/cancel"), params={"provider": "cohere"})),
    ):
        body = assert_gateway_error(response, 400)
        provider = body["extra_fields"]["provider"]
        assert body["error"] == {
            "code": "unsupported_operation",
            "message": f"{request_type} is not supported by {provider} provider",
        }
        assert "status_code" not in body and body["is_bifrost_error"] is False


@pytest.mark.parametrize("header", ["Authorization", "x-bf-vk", "x-api-key", "x-goog-api-key"])
def test_auth(header: str) -> None:
    with (
        SimServer(frozen=True, start_time=START, api_key=KEY) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        params = {"provider": "openai"}
        body = assert_sim_error(http.get("/v1/batches", params=params), 401, "virtual_key_required")
        assert body["is_bifrost_error"] is True
        wrong = "Bearer sk-bf-wrong" if header == "Authorization" else "sk-bf-wrong"
        assert_sim_error(http.get("/v1/batches", params=params, headers={header: wrong}), 403, "virtual_key_not_found")
        right = f"Bearer {KEY}" if header == "Authorization" else KEY
        response = http.get("/v1/batches", params=params, headers={header: right})
        assert response.status_code == 200
        assert_sim_error(http.get("/_sim/state"), 401, "virtual_key_required")
        assert http.get("/_sim/state", headers={header: right}).status_code == 200
        for response in (
            http.get("/v1/batches", params=params, headers={header: right}),
            http.get("/v1/batches", params=params, headers={header: KEY + "x"}),
        ):
            assert KEY not in response.text


# -- cancel ----------------------------------------------------------------------------------


def test_cancel_live_openai_batch(sim: SimServer, client: httpx.Client) -> None:
    """openai/openai.go BatchCancel: id, object, status, request_counts, cancelling_at and
    cancelled_at only."""
    batch_id = sim.world.add_batch("openai", total=1000, rate=10.0, start_delay=0.0, cancel_settle=5.0)
    sim.clock.advance(30)
    response = client.post(batch_path(batch_id, "/cancel"), params={"provider": "openai"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "object", "status", "request_counts", "cancelling_at", "extra_fields"}
    assert body["id"] == batch_id and body["status"] == "cancelling"
    assert body["cancelling_at"] == int(START) + 30
    assert body["request_counts"] == {"total": 1000, "completed": 300, "failed": 0}
    assert_top_extra(body, "openai", "batch_cancel")
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
    assert assert_gateway_error(refused, 400)["error"]["type"] == "invalid_request_error"
    assert sim.world.cancel_count("openai", batch_id) == 3


def test_cancel_live_anthropic_batch_counts_pending_as_canceled(sim: SimServer, client: httpx.Client) -> None:
    """anthropic/anthropic.go BatchCancel keeps object "message_batch" and copies only
    total/completed/failed; counts stay frozen until the batch has ended."""
    batch_id = sim.world.add_batch(
        "anthropic", total=1000, rate=10.0, start_delay=0.0, failure_fraction=0.1, cancel_settle=3.0
    )
    sim.clock.advance(40)
    answer = client.post(batch_path(batch_id, "/cancel"), params={"provider": "anthropic"}).json()
    assert {k: v for k, v in answer.items() if k != "extra_fields"} == {
        "id": batch_id,
        "object": "message_batch",
        "status": "cancelling",
        "request_counts": {"total": 1000, "completed": 0, "failed": 0},
        "cancelling_at": int(START) + 40,
    }
    sim.clock.advance(10)  # work stops at the cancel: nothing more runs
    cancelled = retrieve(client, "anthropic", batch_id)
    assert (cancelled["status"], cancelled["processing_status"]) == ("ended", "ended")
    assert cancelled["request_counts"] == {
        "total": 1000,
        "completed": 360,
        "failed": 40,
        "succeeded": 360,
        "canceled": 600,
    }
    assert cancelled["cancelling_at"] == int(START) + 40 and cancelled["completed_at"] == int(START) + 43


def test_anthropic_cancelling_state(sim: SimServer, client: httpx.Client) -> None:
    batch_id = sim.world.add_batch("anthropic", total=100, rate=1.0, start_delay=0.0)
    client.post(batch_path(batch_id, "/cancel"), params={"provider": "anthropic"})
    batch = retrieve(client, "anthropic", batch_id)
    assert (batch["status"], batch["processing_status"]) == ("cancelling", "canceling")
    assert batch["request_counts"] == {"total": 100, "completed": 0, "failed": 0, "pending": 100}


@pytest.mark.parametrize("provider", ["gemini", "vertex"])
def test_gemini_and_vertex_cancel_echo_the_id(sim: SimServer, provider: str) -> None:
    """gemini.go / vertex.go batchCancelByKey: the requested id, always "cancelling",
    cancelling_at = the gateway's clock, zero counts, no re-retrieve."""
    with (
        SimServer(frozen=True, start_time=START, providers=(provider,)) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        batch_id = server.world.add_batch(provider, total=100, rate=1.0, start_delay=0.0)
        server.clock.advance(20)
        body = http.post(batch_path(batch_id, "/cancel"), params={"provider": provider}).json()
        assert {k: v for k, v in body.items() if k != "extra_fields"} == {
            "id": batch_id,
            "object": "batch",
            "status": "cancelling",
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "cancelling_at": int(START) + 20,
        }
        assert_top_extra(body, provider, "batch_cancel")
        assert retrieve(http, provider, batch_id)["status"] == "cancelling"


@pytest.mark.parametrize(
    ("provider", "status", "error_type"),
    [
        ("openai", 400, "invalid_request_error"),
        ("anthropic", 409, "invalid_request_error"),
        ("bedrock", 400, "ValidationException"),
        ("gemini", 400, "FAILED_PRECONDITION"),
        ("vertex", 400, "FAILED_PRECONDITION"),
    ],
)
def test_cancel_of_a_finished_batch_is_refused(provider: str, status: int, error_type: str) -> None:
    """The provider's refusal passed up (utils.go HandleProviderAPIError): its status as
    status_code, is_bifrost_error false."""
    with (
        SimServer(frozen=True, start_time=START, providers=DEMO_PROVIDERS) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        batch_id = server.world.add_batch(
            provider, total=10, rate=10.0, start_delay=0.0, finalize_for=0.0, created_offset=-60
        )
        response = http.post(batch_path(batch_id, "/cancel"), params={"provider": provider})
        body = assert_gateway_error(response, status)
        assert body["is_bifrost_error"] is False and body["error"]["type"] == error_type
        assert body["extra_fields"]["provider"] == provider
        assert body["extra_fields"]["request_type"] == "batch_cancel"
        if provider == "openai":
            assert body["error"]["message"] == "Cannot cancel a batch with status 'completed'."
        assert server.world.cancel_count(provider, batch_id) == 1
        assert retrieve(http, provider, batch_id)["status"] in {"completed", "ended"}


def test_cancel_of_an_unknown_batch_is_404(client: httpx.Client) -> None:
    response = client.post(batch_path("batches/nope", "/cancel"), params={"provider": "gemini"})
    assert assert_gateway_error(response, 404)["status_code"] == 404


# -- faults ----------------------------------------------------------------------------------


def test_status_and_rate_limit_faults(sim: SimServer, client: httpx.Client) -> None:
    """4xx: the provider's answer passed up (HandleProviderAPIError + ParseOpenAIError:
    status_code, type/code/message, raw_response). 5xx: the gateway's own errors, each with
    its Go error as error.error: 502 NewBifrostUpstreamConnectionError
    (provider_connection_failed), 504 NewBifrostTimeoutError (request_timed_out,
    is_bifrost_error true), others an HTML page (ErrProviderResponseHTML)."""
    params = {"provider": "openai"}
    sim.faults.add(FaultRule("status", status=503, times=1))
    body = assert_gateway_error(client.get("/v1/batches", params=params), 503)
    assert body["extra_fields"]["provider"] == "openai" and body["error"]["error"]
    sim.faults.add(FaultRule("rate_limit", retry_after=2, times=1))
    response = client.get("/v1/batches", params=params)
    body = assert_gateway_error(response, 429)
    assert body["error"] == {
        "type": "requests",
        "code": "rate_limit_exceeded",
        "message": "Rate limit reached for requests",
    }
    assert response.headers["Retry-After"] == "2"
    sim.faults.add(FaultRule("rate_limit", times=1))
    response = client.get("/v1/batches", params=params)
    assert_gateway_error(response, 429)
    assert "Retry-After" not in response.headers
    for status in (401, 403, 404, 499, 500, 502, 504):
        sim.faults.add(FaultRule("status", status=status, times=1))
        body = assert_gateway_error(client.get("/v1/batches", params=params), status)
        assert body["status_code"] == status
        assert ("error" in body["error"]) is (status >= 500)
    assert body["error"]["type"] == "request_timed_out" and body["is_bifrost_error"] is True
    sim.faults.add(FaultRule("status", status=502, times=1))
    assert (
        assert_gateway_error(client.get("/v1/batches", params=params), 502)["error"]["type"]
        == "provider_connection_failed"
    )
    assert client.get("/v1/batches", params=params).status_code == 200
    assert sim.faults.fired() == 11


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
    sim.faults.add(FaultRule("oversized", size=1_500_000, times=1))
    response = client.get("/v1/batches", params=params)
    assert len(response.content) > 1_000_000
    assert len(response.json()["data"]) == 8


def test_unsupported_fault(sim: SimServer, client: httpx.Client) -> None:
    """core/providers/utils/utils.go NewUnsupportedOperationError: 400, no status_code,
    is_bifrost_error false, code "unsupported_operation"; older gateways sent no code."""
    sim.faults.add(FaultRule("unsupported", times=1))
    body = assert_gateway_error(client.get("/v1/batches", params={"provider": "openai"}), 400)
    assert body == {
        "is_bifrost_error": False,
        "error": {"code": "unsupported_operation", "message": "batch_list is not supported by openai provider"},
        "extra_fields": {"provider": "openai", "request_type": "batch_list"},
    }
    sim.faults.add(FaultRule("unsupported", legacy=True, times=1))
    body = assert_gateway_error(client.post(batch_path("batch_x", "/cancel"), params={"provider": "mistral"}), 400)
    assert body["error"] == {"message": "batch_cancel is not supported by mistral provider"}
    assert client.post("/_sim/faults", json={"kind": "unsupported", "legacy": True}).status_code == 201


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
    sim.faults.add(FaultRule("trickle", rate=1000, times=1))
    started = time.monotonic()
    response = client.get(batch_path(batch_id), params=params)
    elapsed = time.monotonic() - started
    assert response.json()["id"] == batch_id
    assert elapsed >= 0.8 * size / 1000
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
        with (
            SimServer(frozen=True, start_time=START, seed=seed) as server,
            httpx.Client(base_url=server.base_url) as http,
        ):
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
    assert_sim_error(client.post("/_sim/faults", json={"kind": "nope"}), 400, "invalid_request_error")
    assert_sim_error(client.post("/_sim/faults", json={"kind": "drop", "colour": "red"}), 400, "invalid_request_error")
    assert_sim_error(client.post("/_sim/faults", content=b"[1]"), 400, "invalid_request_error")

    batch_id = sim.world.add_batch("openai", total=100, rate=1.0, start_delay=0.0)
    assert client.post("/_sim/clock", json={"advance": 25}).json() == {"now": START + 25, "frozen": True}
    assert retrieve(client, "openai", batch_id)["request_counts"]["completed"] == 25
    assert_sim_error(client.post("/_sim/clock", json={"advance": "soon"}), 400, "invalid_request_error")
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
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from tui.sim import serve; raise SystemExit(serve(port=0, seed=3, speed=2.0))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    try:
        banner = proc.stdout.readline()
        match = re.fullmatch(
            r"batchtop sim: Bifrost-compatible gateway on (http://127\.0\.0\.1:\d+) "
            r"\(seed 3, speed 2x, providers openai, anthropic, bedrock, gemini\)\n",
            banner,
        )
        assert match, banner
        assert httpx.get(f"{match[1]}/v1/batches", params={"provider": "openai"}).status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err and "GET /v1/batches?provider=openai 200" in err


def test_simulator_imports_only_the_standard_library() -> None:
    code = (
        "import sys, tui.sim; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'textual', 'rich', 'httpx', 'pydantic'} or m.startswith(('tui.api', 'tui.config'))))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "[]"


def test_arrivals_bring_new_batches_as_time_passes() -> None:
    def ids(server: SimServer) -> list[str]:
        return [b["id"] for b in server.world.batches("openai")]

    with (
        SimServer(seed=3, frozen=True, start_time=START, arrivals=600) as sim,
        SimServer(seed=3, frozen=True, start_time=START, arrivals=600) as twin,
    ):
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
