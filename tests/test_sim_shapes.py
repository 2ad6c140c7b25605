"""The simulator against the gateway payload fixtures in tests/payloads/.

Each fixture records what Bifrost sends for one provider and one call, read from Bifrost's
Go source (its ``source`` field names the files). For every list, retrieve and cancel
fixture, the simulator is made to answer the same call for the same provider, over real
HTTP on loopback, with a batch in the fixture's ``sim_state``; then the same fields must be
present and absent: the top-level keys, the ``request_counts`` keys, the ``extra_fields``
keys and, for lists, the page keys and every item's keys (plus ``status`` and ``object``,
which the fixtures pin too). Error fixtures the simulator can produce are compared on the
key sets of the body, ``body.error`` and ``body.extra_fields``.

A fixture with a scenario the simulator cannot set up is skipped with the reason.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tui.sim import FaultRule, SimServer

START = 1_764_050_000.0
PAYLOADS = Path(__file__).resolve().parent / "payloads"
FIELDS = {"source", "provider", "call", "sim_state", "http_status", "note", "body"}


def _fixtures() -> list[Path]:
    found = []
    for path in sorted(PAYLOADS.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and FIELDS <= data.keys():
            found.append(path)
    return found


FIXTURES = _fixtures()


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def by_call(*calls: str) -> list[Path]:
    return [p for p in FIXTURES if load(p)["call"] in calls]


def test_fixtures_are_there() -> None:
    assert by_call("list") and by_call("retrieve") and by_call("cancel") and by_call("error")


# -- putting a batch in a state -----------------------------------------------------------------

# A provider-native state each converter does not know, for "paused_unknown".
UNKNOWN_STATE = {
    "vertex": "JOB_STATE_PAUSED",
    "gemini": "BATCH_STATE_UNSPECIFIED",
    "bedrock": "Paused",
    "openai": "paused",
    "anthropic": "paused",
}


def make_batch(server: SimServer, provider: str, state: str, *, offset: float = 0.0, **overrides: object) -> str:
    """Add a batch that is in ``state`` at the (frozen) clock's now, created around
    ``offset`` seconds from now."""
    world = server.world
    plan: dict[str, object] = {
        "total": 1000,
        "rate": 10.0,
        "failure_fraction": 0.01,
        "finalize_for": 5.0,
        "cancel_settle": 5.0,
    }
    done = {"total": 100, "rate": 10.0, "start_delay": 5.0, "finalize_for": 5.0}
    cancel_back: float | None = None
    if state == "validating":
        plan.update(start_delay=1e7, created=offset)
    elif state in ("in_progress", "paused_unknown"):
        plan.update(start_delay=10.0, created=offset - 30)
        if state == "paused_unknown":
            plan["raw_status"] = UNKNOWN_STATE[provider]
    elif state == "finalizing":
        plan.update(start_delay=0.0, finalize_for=1e6, created=offset - 110)
    elif state in ("completed", "completed_with_failures", "all_failed"):
        plan.update(
            done,
            created=offset - 1000,
            failure_fraction={"completed": 0.0, "completed_with_failures": 0.1, "all_failed": 1.0}[state],
        )
    elif state == "failed_validation":
        plan.update(outcome="failed", start_delay=5.0, created=offset - 1000)
    elif state == "expired":
        plan.update(
            outcome="expired",
            total=100,
            rate=1.0,
            start_delay=5.0,
            window=55.0,
            failure_fraction=0.0,
            created=offset - 1000,
        )
    elif state == "cancelling":
        plan.update(start_delay=0.0, cancel_settle=1e7, created=offset - 30)
        cancel_back = 0.0
    elif state == "cancelled":
        plan.update(start_delay=0.0, failure_fraction=0.05, created=offset - 100)
        cancel_back = 50.0
    else:
        raise AssertionError(f"unknown sim_state {state!r}")
    plan.update(overrides)
    created = plan.pop("created")
    batch_id = world.add_batch(provider, created_offset=float(created), **plan)  # type: ignore[arg-type]
    if cancel_back is not None:
        # Cancel in the past, so the state at now is a pure function of that moment.
        server.clock.advance(-cancel_back)
        assert world.cancel(provider, batch_id).outcome == "accepted"  # type: ignore[union-attr]
        server.clock.advance(cancel_back)
    return batch_id


def overrides_for(provider: str, state: str | None, item: dict) -> dict[str, object]:
    """Plan details the fixture's batch has and the state alone does not decide: whether
    its creator gave metadata, whether it reports errors, and (Gemini) whether its requests
    were inline, which leaves no responses file."""
    over: dict[str, object] = {"metadata": {"job": "nightly-eval"} if "metadata" in item else {}}
    if provider == "vertex":
        over["metadata"] = {"job": item.get("display_name", "job")}
    if "errors" in item:
        over["errors"] = ({"code": "invalid_json_line", "message": "Line 3 is not valid JSON"},)
    if provider == "gemini" and item.get("status") == "completed" and "output_file_id" not in item:
        over["inline_requests"] = True
    return over


def item_state(provider: str, item: dict) -> str:
    """The sim state a fixture list item shows (the first item's is the fixture's own)."""
    status, counts = item["status"], item["request_counts"]
    if provider == "anthropic" and status == "ended":
        if counts.get("canceled"):
            return "cancelled"
        if counts.get("expired"):
            return "expired"
    if status in ("completed", "ended"):
        return "completed_with_failures" if counts["failed"] else "completed"
    if status == "failed":
        return "failed_validation"
    if status in ("validating", "in_progress", "finalizing", "expired", "cancelling", "cancelled"):
        return status
    return "paused_unknown"


# -- comparing -----------------------------------------------------------------------------


def assert_same_fields(ours: dict, theirs: dict, where: str) -> None:
    assert set(ours) == set(theirs), f"{where}: top-level keys"
    for name in ("request_counts", "extra_fields"):
        if name in theirs:
            assert set(ours[name]) == set(theirs[name]), f"{where}: {name} keys"
    for name in ("status", "object"):
        if name in theirs:
            assert ours[name] == theirs[name], f"{where}: {name}"


def path_of(batch_id: str, action: str = "") -> str:
    return f"/v1/batches/{quote(batch_id, safe='')}{action}"


def decoded_cursor(encoded: str) -> dict | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(encoded))
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None


# -- list, retrieve, cancel --------------------------------------------------------------------


@pytest.mark.parametrize("path", by_call("retrieve"), ids=lambda p: p.stem)
def test_retrieve_fixture(path: Path) -> None:
    fixture = load(path)
    provider, body = fixture["provider"], fixture["body"]
    with (
        SimServer(frozen=True, start_time=START, providers=(provider,), batches_per_provider=0) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        batch_id = make_batch(
            server, provider, fixture["sim_state"], **overrides_for(provider, fixture["sim_state"], body)
        )
        response = http.get(path_of(batch_id), params={"provider": provider})
        assert response.status_code == fixture["http_status"]
        assert_same_fields(response.json(), body, path.stem)


@pytest.mark.parametrize("path", by_call("cancel"), ids=lambda p: p.stem)
def test_cancel_fixture(path: Path) -> None:
    fixture = load(path)
    provider, body = fixture["provider"], fixture["body"]
    with (
        SimServer(frozen=True, start_time=START, providers=(provider,), batches_per_provider=0) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        # The answer to cancelling a running batch; the fixture's sim_state is the state the
        # batch is left in.
        assert fixture["sim_state"] in ("cancelling", "cancelled")
        batch_id = make_batch(server, provider, "in_progress", cancel_settle=1e7)
        response = http.post(path_of(batch_id, "/cancel"), params={"provider": provider})
        assert response.status_code == fixture["http_status"]
        assert_same_fields(response.json(), body, path.stem)
        assert server.world.batch(provider, batch_id)["status"] == "cancelling"  # type: ignore[index]


@pytest.mark.parametrize("path", by_call("list"), ids=lambda p: p.stem)
def test_list_fixture(path: Path) -> None:
    fixture = load(path)
    provider, body = fixture["provider"], fixture["body"]
    items = body["data"]
    hop = decoded_cursor(body["next_cursor"]) if "next_cursor" in body else None
    multi_key = hop is not None and hop.get("i", 0) > 0 and hop.get("c") == ""
    keys = int(hop["i"]) + 1 if multi_key else 1  # type: ignore[index]
    with (
        SimServer(
            frozen=True, start_time=START, providers=(provider,), batches_per_provider=0, keys={provider: keys}
        ) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        page_key = keys - 2 if multi_key else 0  # the key this page comes from
        ids = []
        for index, item in enumerate(items):
            state = fixture["sim_state"] if index == 0 and fixture["sim_state"] else item_state(provider, item)
            ids.append(
                make_batch(
                    server,
                    provider,
                    state,
                    offset=-10_000.0 * index,
                    key=page_key,
                    **overrides_for(provider, state, item),
                )
            )
        params: dict[str, object] = {"provider": provider, "limit": max(len(items), 1)}
        if multi_key:
            # Another key after this one holds a batch, and this page is its key's last:
            # BuildNextCursor hands on to key i+1 with an empty native cursor.
            make_batch(server, provider, "completed", offset=-1e6, key=keys - 1)
            params["after"] = base64.urlsafe_b64encode(
                json.dumps({"v": 1, "i": page_key, "c": ""}, separators=(",", ":")).encode()
            ).decode()
        elif body.get("has_more"):
            # One more batch than the page holds, so the provider has another page.
            make_batch(server, provider, "completed", offset=-1e6)
        else:
            params["limit"] = 100
        response = http.get("/v1/batches", params=params)
        assert response.status_code == fixture["http_status"]
        ours = response.json()
        assert set(ours) == set(body), f"{path.stem}: page keys"
        assert set(ours["extra_fields"]) == set(body["extra_fields"])
        assert len(ours["data"]) == len(items)
        assert [b["id"] for b in ours["data"]] == ids
        for index, (mine, theirs) in enumerate(zip(ours["data"], items)):
            assert_same_fields(mine, theirs, f"{path.stem} item {index}")
        if "next_cursor" in body:
            mine_hop, their_hop = decoded_cursor(ours["next_cursor"]), decoded_cursor(body["next_cursor"])
            assert mine_hop is not None and their_hop is not None
            assert set(mine_hop) == set(their_hop) and mine_hop["v"] == their_hop["v"]
            assert mine_hop["i"] == their_hop["i"] and (mine_hop["c"] == "") == (their_hop["c"] == "")


# -- errors --------------------------------------------------------------------------------


def _answer(make: Callable[[SimServer, httpx.Client], httpx.Response], **server_options: object) -> httpx.Response:
    with (
        SimServer(frozen=True, start_time=START, **server_options) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):  # type: ignore[arg-type]
        return make(server, http)


def _with_fault(rule: FaultRule, provider: str) -> Callable[[SimServer, httpx.Client], httpx.Response]:
    def make(server: SimServer, http: httpx.Client) -> httpx.Response:
        server.faults.add(rule)
        return http.get("/v1/batches", params={"provider": provider})

    return make


ERROR_SCENARIOS: dict[str, Callable[[dict], httpx.Response]] = {
    # NewUnsupportedOperationError, new and old (no code).
    "error_unsupported": lambda f: _answer(_with_fault(FaultRule("unsupported"), f["provider"])),
    "error_unsupported_old": lambda f: _answer(_with_fault(FaultRule("unsupported", legacy=True), f["provider"])),
    # inference.go: no ?provider=.
    "error_missing_provider": lambda f: _answer(lambda s, h: h.get("/v1/batches")),
    # A truncated serial cursor with two keys (with one, it would be taken as native).
    "error_invalid_cursor": lambda f: _answer(
        lambda s, h: h.get("/v1/batches", params={"provider": f["provider"], "after": "eyJ2IjoxLCJpIjowLCJjIjoi"}),
        providers=(f["provider"],),
        keys={f["provider"]: 2},
    ),
    "error_rate_limited": lambda f: _answer(_with_fault(FaultRule("rate_limit"), f["provider"])),
    "error_upstream_cause": lambda f: _answer(_with_fault(FaultRule("status", status=f["http_status"]), f["provider"])),
}


@pytest.mark.parametrize("path", by_call("error"), ids=lambda p: p.stem)
def test_error_fixture(path: Path) -> None:
    fixture = load(path)
    scenario = ERROR_SCENARIOS.get(path.stem)
    if scenario is None:
        pytest.skip(f"no simulator scenario produces {path.stem}")
    response = scenario(fixture)
    assert response.status_code == fixture["http_status"]
    ours, theirs = response.json(), fixture["body"]
    assert set(ours) == set(theirs), "body keys"
    assert set(ours["error"]) == set(theirs["error"]), "error keys"
    assert set(ours["extra_fields"]) == set(theirs["extra_fields"]), "extra_fields keys"
    assert ours["is_bifrost_error"] == theirs["is_bifrost_error"]
    if "code" in theirs["error"]:
        assert ours["error"]["code"] == theirs["error"]["code"]
    if "message" in theirs["error"] and path.stem in (
        "error_unsupported",
        "error_unsupported_old",
        "error_missing_provider",
        "error_invalid_cursor",
    ):
        assert ours["error"]["message"] == theirs["error"]["message"]
