"""The simulator's direct provider APIs, driven over real HTTP on loopback with plain httpx.

Beside Bifrost's native ``/v1/batches`` the simulator serves OpenAI's Batch API under
``/openai`` and Anthropic's Message Batches API under ``/anthropic``. Every test that pins a
wire fact names its source:

- [OAI] https://platform.openai.com/docs/api-reference/batch (the batch object and its
  example, list, retrieve, cancel), with openai/openai-python ``src/openai/types/batch.py``,
  ``batch_request_counts.py``, ``batch_usage.py``, ``batch_list_params.py``;
- [ANT] https://docs.anthropic.com/en/api/ (creating/retrieving/listing/canceling message
  batches, errors, versioning), with anthropics/anthropic-sdk-python
  ``src/anthropic/types/messages/message_batch.py``, ``message_batch_request_counts.py``,
  ``batch_list_params.py``;
- [BF] maximhq/bifrost ``core/providers/anthropic/batch.go`` (AnthropicBatchResponse,
  ToBifrostBatchRetrieveResponse), for what the native route shows of the same batch.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import httpx
import pytest

from tui.sim import FaultRule, SimServer

START = 1_764_050_000.0
KEY = "sk-sim-apis-test-0123456789"
OPENAI_AUTH = {"Authorization": f"Bearer {KEY}"}
ANTHROPIC_HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
BIFROST_AUTH = {"Authorization": f"Bearer {KEY}"}

# [OAI] the batch object example, field by field in its order (model and usage included).
OPENAI_FIELDS = [
    "id",
    "object",
    "endpoint",
    "model",
    "errors",
    "input_file_id",
    "completion_window",
    "status",
    "output_file_id",
    "error_file_id",
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "request_counts",
    "usage",
    "metadata",
]
OPENAI_STATUSES = {
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
}
OPENAI_TIMES = [
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
]
# [ANT] message_batch.py / [BF] AnthropicBatchResponse.
ANTHROPIC_FIELDS = [
    "id",
    "type",
    "processing_status",
    "request_counts",
    "ended_at",
    "created_at",
    "expires_at",
    "archived_at",
    "cancel_initiated_at",
    "results_url",
]
ANTHROPIC_COUNTS = ["processing", "succeeded", "errored", "canceled", "expired"]


@pytest.fixture
def sim():
    server = SimServer(frozen=True, start_time=START, seed=7, api_key=KEY, batches_per_provider=12).start()
    yield server
    server.stop()


@pytest.fixture
def http(sim: SimServer):
    with httpx.Client(base_url=sim.base_url, timeout=5.0) as client:
        yield client


def openai_get(http: httpx.Client, path: str = "", **params: object) -> httpx.Response:
    return http.get(f"/openai/v1/batches{path}", params=params, headers=OPENAI_AUTH)


def anthropic_get(http: httpx.Client, path: str = "", **params: object) -> httpx.Response:
    return http.get(f"/anthropic/v1/messages/batches{path}", params=params, headers=ANTHROPIC_HEADERS)


def native_retrieve(http: httpx.Client, provider: str, batch_id: str) -> dict:
    response = http.get(f"/v1/batches/{quote(batch_id, safe='')}", params={"provider": provider}, headers=BIFROST_AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def openai_error(response: httpx.Response, status: int) -> dict:
    """[OAI] errors: ``{"error": {"message", "type", "param", "code"}}``, param and code null
    when unset."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    assert list(body["error"]) == ["message", "type", "param", "code"]
    return body["error"]


def anthropic_error(response: httpx.Response, status: int, error_type: str) -> dict:
    """[ANT] errors page: ``{"type": "error", "error": {"type", "message"}, "request_id"}``,
    the same id in the ``request-id`` header."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert body["request_id"].startswith("req_") and response.headers["request-id"] == body["request_id"]
    return body["error"]


def parse_time(value: str) -> int:
    """An RFC 3339 string ([ANT] message_batch.py) back to whole unix seconds."""
    assert value.endswith("Z")
    return int(datetime.fromisoformat(value).timestamp())


def all_openai(http: httpx.Client, **params: object) -> list[dict]:
    response = openai_get(http, limit=100, **params)
    assert response.status_code == 200, response.text
    assert response.json()["has_more"] is False
    return response.json()["data"]


def all_anthropic(http: httpx.Client) -> list[dict]:
    response = anthropic_get(http, limit=1000)
    assert response.status_code == 200, response.text
    assert response.json()["has_more"] is False
    return response.json()["data"]


# -- OpenAI: list ----------------------------------------------------------------------------


def test_openai_list_pages_through_every_batch_by_after(sim: SimServer, http: httpx.Client) -> None:
    """[OAI] list: ``{object: "list", data, first_id, last_id, has_more}``; batch_list_params.py:
    ``after`` is the id of the last object of the previous page."""
    everything = [b["id"] for b in all_openai(http)]
    assert everything == [plan.id for plan, _ in sim.world.views("openai", sim.clock.now())]  # newest first
    seen: list[str] = []
    after = None
    for _ in range(20):
        params = {"limit": 5} if after is None else {"limit": 5, "after": after}
        response = openai_get(http, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert list(body) == ["object", "data", "first_id", "last_id", "has_more"]
        assert body["object"] == "list"
        ids = [b["id"] for b in body["data"]]
        assert 1 <= len(ids) <= 5
        assert (body["first_id"], body["last_id"]) == (ids[0], ids[-1])
        seen += ids
        if not body["has_more"]:
            break
        after = body["last_id"]
    assert seen == everything
    created = [b["created_at"] for b in all_openai(http)]
    assert created == sorted(created, reverse=True)


def test_openai_list_limit(http: httpx.Client) -> None:
    """batch_list_params.py: "Limit can range between 1 and 100, and the default is 20"."""
    body = openai_get(http).json()  # 12 batches, fewer than the default 20: one page
    assert len(body["data"]) == len(all_openai(http)) and body["has_more"] is False
    assert len(openai_get(http, limit=1).json()["data"]) == 1
    for bad in ("0", "101", "ten"):
        assert openai_error(openai_get(http, limit=bad), 400)["param"] == "limit"
    # An ``after`` that names no batch is refused (the simulator's choice: not in [OAI]).
    assert openai_error(openai_get(http, after="batch_nope"), 400)["param"] == "after"


def test_openai_default_page_is_20() -> None:
    """batch_list_params.py: the default ``limit`` is 20."""
    with (
        SimServer(frozen=True, start_time=START, providers=("openai",), batches_per_provider=30) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        body = http.get("/openai/v1/batches").json()
        assert len(body["data"]) == 20 and body["has_more"] is True
        rest = http.get("/openai/v1/batches", params={"after": body["last_id"]}).json()
        assert len(rest["data"]) == 10 and rest["has_more"] is False
        assert not {b["id"] for b in body["data"]} & {b["id"] for b in rest["data"]}


def test_openai_batch_object(http: httpx.Client) -> None:
    """[OAI] the batch object example: every field present, in its order, null when unset
    (OpenAI sends nulls where Bifrost omits); request_counts total/completed/failed
    (batch_request_counts.py); usage as in batch_usage.py."""
    batches = all_openai(http)
    assert {b["status"] for b in batches} >= {"completed", "in_progress", "validating", "failed", "expired"}
    for batch in batches:
        assert list(batch) == OPENAI_FIELDS
        assert batch["object"] == "batch" and batch["status"] in OPENAI_STATUSES
        assert batch["completion_window"] == "24h" and batch["endpoint"] == "/v1/chat/completions"
        assert batch["input_file_id"].startswith("file-") and isinstance(batch["model"], str)
        assert list(batch["request_counts"]) == ["total", "completed", "failed"]
        for name in OPENAI_TIMES:
            assert batch[name] is None or isinstance(batch[name], int)
        usage = batch["usage"]
        assert list(usage) == [
            "input_tokens",
            "input_tokens_details",
            "output_tokens",
            "output_tokens_details",
            "total_tokens",
        ]
        assert list(usage["input_tokens_details"]) == ["cached_tokens"]
        assert list(usage["output_tokens_details"]) == ["reasoning_tokens"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        assert (usage["total_tokens"] > 0) == (batch["request_counts"]["completed"] > 0)
    validating = next(b for b in batches if b["status"] == "validating")
    assert validating["in_progress_at"] is None and validating["request_counts"]["total"] == 0
    assert validating["output_file_id"] is None and validating["errors"] is None
    failed = next(b for b in batches if b["status"] == "failed")
    # batch_error.py: code, line, message, param.
    assert failed["errors"]["object"] == "list"
    assert set(failed["errors"]["data"][0]) == {"code", "message", "param", "line"}
    done = next(b for b in batches if b["status"] == "completed")
    assert done["output_file_id"].startswith("file-") and done["completed_at"] >= done["finalizing_at"]


def test_openai_usage_only_after_september_2025() -> None:
    """batch.py: usage is "Only populated on batches created after September 7, 2025"."""
    with (
        SimServer(frozen=True, start_time=1_750_000_000.0, providers=("openai",), batches_per_provider=3) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        assert {b["usage"] is None for b in http.get("/openai/v1/batches").json()["data"]} == {True}


# -- OpenAI: retrieve and cancel -------------------------------------------------------------


def test_openai_retrieve_and_unknown_batch(http: httpx.Client) -> None:
    """[OAI] retrieve answers the batch object; an unknown batch is a 404 invalid_request_error."""
    for batch in all_openai(http):
        response = openai_get(http, f"/{quote(batch['id'], safe='')}")
        assert response.status_code == 200 and response.json() == batch
    err = openai_error(openai_get(http, "/batch_000000000000000000000000"), 404)
    assert err["type"] == "invalid_request_error" and "batch_000000000000000000000000" in err["message"]
    assert openai_error(http.post("/openai/v1/batches/batch_000/cancel", headers=OPENAI_AUTH), 404)


def test_openai_cancel(sim: SimServer, http: httpx.Client) -> None:
    """[OAI] cancel: the batch is "cancelling" (with cancelling_at) "before changing to
    cancelled"; the answer is the batch object."""
    live = next(b for b in all_openai(http) if b["status"] == "in_progress")
    response = http.post(f"/openai/v1/batches/{live['id']}/cancel", headers=OPENAI_AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == OPENAI_FIELDS
    assert body["status"] == "cancelling" and body["cancelling_at"] == int(START) and body["cancelled_at"] is None
    assert sim.world.cancel_count("openai", live["id"]) == 1
    again = http.post(f"/openai/v1/batches/{live['id']}/cancel", headers=OPENAI_AUTH)
    assert again.status_code == 200 and again.json()["status"] == "cancelling"
    sim.clock.advance(60)
    settled = openai_get(http, f"/{live['id']}").json()
    assert settled["status"] == "cancelled" and settled["cancelled_at"] > settled["cancelling_at"]


def test_openai_cancel_of_a_finished_batch_is_refused(sim: SimServer, http: httpx.Client) -> None:
    """Not in [OAI]: the live API answers openai.ConflictError (409) "Cannot cancel a batch
    with status 'completed'." (BerriAI/litellm tests/batches_tests/test_openai_batches_and_files.py
    expects exactly that)."""
    done = next(b for b in all_openai(http) if b["status"] == "completed")
    err = openai_error(http.post(f"/openai/v1/batches/{done['id']}/cancel", headers=OPENAI_AUTH), 409)
    assert err == {
        "message": "Cannot cancel a batch with status 'completed'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert openai_get(http, f"/{done['id']}").json()["status"] == "completed"
    assert sim.world.cancel_count("openai", done["id"]) == 1


# -- OpenAI: auth and ?provider= -------------------------------------------------------------


def test_openai_auth(http: httpx.Client) -> None:
    """[OAI] ``Authorization: Bearer``. OpenAI answers a missing key 401 invalid_request_error
    with code null ("You didn't provide an API key...") and a wrong one 401 code
    "invalid_api_key"; the simulator never repeats the key, not even masked."""
    missing = openai_error(http.get("/openai/v1/batches"), 401)
    assert missing["type"] == "invalid_request_error" and missing["code"] is None
    assert missing["message"].startswith("You didn't provide an API key.")
    for headers in (
        {"Authorization": "Bearer sk-wrong"},
        {"Authorization": f"Bearer {KEY}x"},
        {"Authorization": f"Basic {KEY}"},
    ):
        response = http.get("/openai/v1/batches", headers=headers)
        wrong = openai_error(response, 401)
        assert wrong["type"] == "invalid_request_error" and wrong["code"] == "invalid_api_key"
        assert KEY not in response.text and "sk-wrong" not in response.text
    # Bifrost's other key headers are not OpenAI's.
    assert openai_error(http.get("/openai/v1/batches", headers={"x-api-key": KEY}), 401)["code"] is None
    assert openai_error(http.get("/openai/v1/batches", headers={"Authorization": "Bearer"}), 401)["code"] is None
    assert http.get("/openai/v1/batches", headers=OPENAI_AUTH).status_code == 200
    # The key gates every path under the prefix, known or not.
    assert openai_error(http.get("/openai/v1/nothing"), 401)
    assert (
        openai_error(http.get("/openai/v1/nothing", headers=OPENAI_AUTH), 404)["message"]
        == "Invalid URL (GET /v1/nothing)"
    )


def test_openai_route_selects_a_provider(sim: SimServer, http: httpx.Client) -> None:
    """LiteLLM honours ``?provider=``: that simulated provider's batches, in OpenAI's shape;
    absent, the world's "openai". An unknown provider: an OpenAI-shaped 400."""
    now = sim.clock.now()
    assert [b["id"] for b in all_openai(http)] == [p.id for p, _ in sim.world.views("openai", now)]
    for provider in ("anthropic", "gemini", "bedrock"):
        batches = all_openai(http, provider=provider)
        assert [b["id"] for b in batches] == [p.id for p, _ in sim.world.views(provider, now)]
        assert {tuple(b) for b in batches} == {tuple(OPENAI_FIELDS)}
        assert {b["status"] for b in batches} <= OPENAI_STATUSES
        # Ids with "/" and ":" go percent-encoded into the path.
        one = batches[0]
        response = openai_get(http, f"/{quote(one['id'], safe='')}", provider=provider)
        assert response.status_code == 200 and response.json() == one
    anthropic = {b["id"]: b for b in all_openai(http, provider="anthropic")}
    running = next(p for p, s in sim.world.views("anthropic", now) if s.status == "in_progress")
    # Anthropic reports no counts until the batch ends ([ANT] message_batch_request_counts.py).
    assert anthropic[running.id]["request_counts"] == {"total": running.total, "completed": 0, "failed": 0}
    err = openai_error(openai_get(http, provider="nope"), 400)
    assert err["param"] == "provider" and err["type"] == "invalid_request_error"


def test_openai_route_reads_like_the_native_route(http: httpx.Client) -> None:
    """The same batch through Bifrost's OpenAI shape (core/providers/openai/batch.go copies
    OpenAI's fields) and through OpenAI's own: same status, counts, times, files, metadata."""
    for batch in all_openai(http):
        native = native_retrieve(http, "openai", batch["id"])
        for name in ["status", "request_counts", "input_file_id", "output_file_id", "error_file_id", *OPENAI_TIMES]:
            assert batch[name] == native.get(name), name
        assert (batch["metadata"] or {}) == native.get("metadata", {})


# -- Anthropic -------------------------------------------------------------------------------


def test_anthropic_list_pages_by_after_id_and_before_id(sim: SimServer, http: httpx.Client) -> None:
    """[ANT] listing-message-batches: newest first; ``after_id`` gives "the page of results
    immediately after this object", ``before_id`` the page immediately before; ``has_more``
    is about "the requested page direction"; ``first_id``/``last_id`` the page's ends."""
    everything = [b["id"] for b in all_anthropic(http)]
    assert everything == [p.id for p, _ in sim.world.views("anthropic", sim.clock.now())]
    pages: list[list[str]] = []
    after = None
    while True:
        params = {"limit": 5} if after is None else {"limit": 5, "after_id": after}
        body = anthropic_get(http, **params).json()
        assert list(body) == ["data", "has_more", "first_id", "last_id"]
        ids = [b["id"] for b in body["data"]]
        assert (body["first_id"], body["last_id"]) == (ids[0], ids[-1])
        pages.append(ids)
        if not body["has_more"]:
            break
        after = body["last_id"]
    assert [i for page in pages for i in page] == everything and len(pages) == 3
    # Back again from the last page with before_id = first_id of the page after it.
    before = pages[-1][0]
    for expected in reversed(pages[:-1]):
        body = anthropic_get(http, limit=5, before_id=before).json()
        assert [b["id"] for b in body["data"]] == expected
        assert body["has_more"] is (expected is not pages[0])
        before = body["first_id"]
    empty = anthropic_get(http, after_id=everything[-1]).json()
    assert empty == {"data": [], "has_more": False, "first_id": None, "last_id": None}


def test_anthropic_list_limit() -> None:
    """[ANT] batch_list_params.py: "Defaults to 20. Ranges from 1 to 1000."."""
    with (
        SimServer(frozen=True, start_time=START, providers=("anthropic",), batches_per_provider=25) as server,
        httpx.Client(base_url=server.base_url, headers={"anthropic-version": "2023-06-01"}) as http,
    ):
        body = http.get("/anthropic/v1/messages/batches").json()
        assert len(body["data"]) == 20 and body["has_more"] is True
        assert len(http.get("/anthropic/v1/messages/batches", params={"limit": 1000}).json()["data"]) == 25
        for bad in ("0", "1001", "many"):
            response = http.get("/anthropic/v1/messages/batches", params={"limit": bad})
            anthropic_error(response, 400, "invalid_request_error")


def test_anthropic_batch_object(http: httpx.Client) -> None:
    """[ANT] message_batch.py: id, type "message_batch", processing_status, request_counts,
    RFC 3339 timestamps (null when unset), results_url once ended; expires_at 24 h after
    creation; "The sum of all values always matches the total number of requests"."""
    batches = all_anthropic(http)
    assert {b["processing_status"] for b in batches} == {"in_progress", "ended"}
    for batch in batches:
        assert list(batch) == ANTHROPIC_FIELDS
        assert batch["type"] == "message_batch" and batch["id"].startswith("msgbatch_")
        assert list(batch["request_counts"]) == ANTHROPIC_COUNTS
        assert parse_time(batch["expires_at"]) - parse_time(batch["created_at"]) == 24 * 3600
        ended = batch["processing_status"] == "ended"
        assert (batch["ended_at"] is not None) is ended
        assert (batch["results_url"] is not None) is ended
        if ended:
            assert batch["results_url"] == f"https://api.anthropic.com/v1/messages/batches/{batch['id']}/results"
            assert batch["request_counts"]["processing"] == 0
        else:
            # message_batch_request_counts.py: the others are "zero until processing of the
            # entire Message Batch has ended".
            counts = batch["request_counts"]
            assert counts["processing"] > 0 and counts["succeeded"] == counts["errored"] == 0
    assert any(b["archived_at"] for b in batches) and any(b["cancel_initiated_at"] for b in batches)


def test_anthropic_reads_like_the_native_route(http: httpx.Client) -> None:
    """The same batch through the native route ([BF] ToBifrostBatchRetrieveResponse:
    processing_status raw, Completed = succeeded, Failed = errored, canceled/expired ride
    along, pending = processing while running; CompletedAt = ended_at, CancellingAt =
    cancel_initiated_at) and through Anthropic's own API reads the same."""
    for batch in all_anthropic(http):
        native = native_retrieve(http, "anthropic", batch["id"])
        counts, native_counts = batch["request_counts"], native["request_counts"]
        assert batch["processing_status"] == native["processing_status"]
        assert counts["succeeded"] == native_counts["completed"] == native_counts.get("succeeded", 0)
        assert counts["errored"] == native_counts["failed"]
        assert counts["canceled"] == native_counts.get("canceled", 0)
        assert counts["expired"] == native_counts.get("expired", 0)
        assert counts["processing"] == native_counts.get("pending", 0)
        assert sum(counts.values()) == native_counts["total"]
        assert parse_time(batch["created_at"]) == native["created_at"]
        assert parse_time(batch["expires_at"]) == native["expires_at"]
        for ours, theirs in (
            ("ended_at", "completed_at"),
            ("cancel_initiated_at", "cancelling_at"),
            ("archived_at", "archived_at"),
        ):
            assert (parse_time(batch[ours]) if batch[ours] else None) == native.get(theirs), ours
        assert batch["results_url"] == native.get("results_url")


def test_anthropic_needs_its_version_header(http: httpx.Client) -> None:
    """[ANT] versioning: ``anthropic-version`` is required; without it Anthropic answers 400
    invalid_request_error "anthropic-version: header is required"."""
    err = anthropic_error(
        http.get("/anthropic/v1/messages/batches", headers={"x-api-key": KEY}), 400, "invalid_request_error"
    )
    assert err["message"] == "anthropic-version: header is required"
    err = anthropic_error(
        http.get("/anthropic/v1/messages/batches", headers={"x-api-key": KEY, "anthropic-version": "2020-01-01"}),
        400,
        "invalid_request_error",
    )
    assert err["message"] == 'anthropic-version: "2020-01-01" is not a valid version'
    assert http.get("/anthropic/v1/messages/batches", headers=ANTHROPIC_HEADERS).status_code == 200


def test_anthropic_auth(http: httpx.Client) -> None:
    """[ANT] the key goes in ``x-api-key``; Anthropic answers 401 authentication_error
    "x-api-key header is required" without it and "invalid x-api-key" for a wrong one. The
    key is never repeated."""
    version = {"anthropic-version": "2023-06-01"}
    err = anthropic_error(http.get("/anthropic/v1/messages/batches", headers=version), 401, "authentication_error")
    assert err["message"] == "x-api-key header is required"
    # Bearer is not how Anthropic's API takes an API key.
    response = http.get("/anthropic/v1/messages/batches", headers={**version, "Authorization": f"Bearer {KEY}"})
    assert anthropic_error(response, 401, "authentication_error")["message"] == "x-api-key header is required"
    for wrong in ("sk-ant-wrong", KEY + "x"):
        response = http.get("/anthropic/v1/messages/batches", headers={**version, "x-api-key": wrong})
        assert anthropic_error(response, 401, "authentication_error")["message"] == "invalid x-api-key"
        assert KEY not in response.text and "sk-ant-wrong" not in response.text
    # The key gates unknown paths too; with it, they are a 404 not_found_error.
    anthropic_error(http.get("/anthropic/v1/nothing", headers=version), 401, "authentication_error")
    anthropic_error(http.get("/anthropic/v1/nothing", headers=ANTHROPIC_HEADERS), 404, "not_found_error")


def test_anthropic_unknown_batch(http: httpx.Client) -> None:
    """[ANT] errors: 404 not_found_error."""
    anthropic_error(anthropic_get(http, "/msgbatch_doesnotexist"), 404, "not_found_error")
    response = http.post("/anthropic/v1/messages/batches/msgbatch_doesnotexist/cancel", headers=ANTHROPIC_HEADERS)
    anthropic_error(response, 404, "not_found_error")


def test_anthropic_cancel(sim: SimServer, http: httpx.Client) -> None:
    """[ANT] canceling-message-batches: "Batches may be canceled any time before processing
    ends"; the batch enters "canceling", then ends with the unprocessed requests canceled.
    Counts do not move until it has ended."""
    live = next(b for b in all_anthropic(http) if b["processing_status"] == "in_progress")
    response = http.post(f"/anthropic/v1/messages/batches/{live['id']}/cancel", headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ANTHROPIC_FIELDS
    assert body["processing_status"] == "canceling"
    assert parse_time(body["cancel_initiated_at"]) == int(START)
    assert body["request_counts"] == live["request_counts"] and body["ended_at"] is None
    assert sim.world.cancel_count("anthropic", live["id"]) == 1
    assert native_retrieve(http, "anthropic", live["id"])["status"] == "cancelling"
    sim.clock.advance(60)
    ended = anthropic_get(http, f"/{live['id']}").json()
    assert ended["processing_status"] == "ended" and ended["request_counts"]["canceled"] > 0
    assert sum(ended["request_counts"].values()) == live["request_counts"]["processing"]
    assert parse_time(ended["ended_at"]) > parse_time(ended["cancel_initiated_at"])
    # Once ended, a cancel is refused (what Anthropic answers is not in [ANT]: the simulator
    # sends the 409 invalid_request_error its gateway shapes pass up for Anthropic).
    again = http.post(f"/anthropic/v1/messages/batches/{live['id']}/cancel", headers=ANTHROPIC_HEADERS)
    assert "already ended" in anthropic_error(again, 409, "invalid_request_error")["message"]


# -- faults and the native route -------------------------------------------------------------


def test_faults_reach_the_direct_routes(sim: SimServer, http: httpx.Client) -> None:
    """Fault rules apply to the direct routes by path and provider, in each API's error shape:
    OpenAI's 5xx type "server_error", Anthropic's 529 overloaded_error ([ANT] errors page)."""
    sim.faults.add(FaultRule("status", status=503, path="/openai/", times=1))
    err = openai_error(openai_get(http), 503)
    assert err["type"] == "server_error"
    assert openai_get(http).status_code == 200
    sim.faults.add(FaultRule("status", status=529, path="/anthropic/", times=1))
    anthropic_error(anthropic_get(http), 529, "overloaded_error")
    sim.faults.add(FaultRule("rate_limit", retry_after=7, provider="anthropic", times=1))
    response = anthropic_get(http)
    anthropic_error(response, 429, "rate_limit_error")
    assert response.headers["retry-after"] == "7"
    sim.faults.add(FaultRule("rate_limit", retry_after=2, provider="gemini", times=1))
    assert openai_get(http).status_code == 200  # another provider's rule
    response = openai_get(http, provider="gemini")
    assert openai_error(response, 429)["code"] == "rate_limit_exceeded" and response.headers["retry-after"] == "2"
    # A rule for the native path leaves the direct routes alone.
    sim.faults.add(FaultRule("status", status=500, path="/v1/batches", times=1))
    assert openai_get(http).status_code == 200 and anthropic_get(http).status_code == 200
    sim.faults.clear()
    sim.faults.add(FaultRule("drop", path="/anthropic/", method="POST", times=1))
    live = next(b for b in all_anthropic(http) if b["processing_status"] == "in_progress")
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(f"/anthropic/v1/messages/batches/{live['id']}/cancel", headers=ANTHROPIC_HEADERS)
    assert anthropic_get(http, f"/{live['id']}").json()["processing_status"] == "in_progress"
    assert sim.world.cancel_count("anthropic", live["id"]) == 1
    sim.faults.add(FaultRule("malformed_json", path="/openai/", times=1))
    assert openai_get(http).content == b'{"object": "list", "data": ['


def test_native_route_is_unchanged(http: httpx.Client) -> None:
    """Bifrost's own API stays where it was, in Bifrost's shape (transports/bifrost-http
    inference.go: provider is required; core/schemas/batch.go: extra_fields on every list)."""
    response = http.get("/v1/batches", headers=BIFROST_AUTH)
    assert response.status_code == 400 and response.json()["error"]["message"] == "provider query parameter is required"
    body = http.get("/v1/batches", params={"provider": "openai"}, headers=BIFROST_AUTH).json()
    assert body["object"] == "list" and "extra_fields" in body and "first_id" not in body
