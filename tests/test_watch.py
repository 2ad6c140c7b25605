"""``batchtop watch``: headless, until the batches finish, with exit codes of its own.

Every case talks real HTTP to a simulator on 127.0.0.1 whose clock runs 20x, with batches
made to finish within a few simulated seconds. Most run ``tui.cli.main`` in-process (stdout
is then no terminal: the timestamped log); the terminal's in-place lines run in-process on
a fake terminal, Ctrl-C in a real process. Where minutes would pass (the default
--give-up-after), the watcher gets a fake clock and sleep.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from clihelp import REPO, Result, cli

from tui.cli.parser import build_parser
from tui.cli.watch import Watcher, WatchExit, WatchOptions
from tui.cli.watch_flags import parse_duration
from tui.session import SessionRequest, open_session
from tui.sim import SimServer

SPEED = 20.0
INTERVAL = "0.2"
KEY = "sk-bf-watch-right-key-5678"


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """A simulator at 20x with no batches of its own: each test adds the ones it watches."""
    server = SimServer(seed=11, speed=SPEED, batches_per_provider=0, providers=("openai", "anthropic")).start()
    try:
        yield server
    finally:
        server.stop()


def fast(sim: SimServer, provider: str = "openai", **plan: object) -> str:
    """A batch that is over within a few simulated seconds (a fraction of a real one)."""
    fields: dict[str, object] = dict(total=100, rate=50.0, start_delay=1.0, finalize_for=1.0, cancel_settle=1.0)
    fields.update(plan)
    return sim.world.add_batch(provider, **fields)


def slow(sim: SimServer, provider: str = "openai") -> str:
    return sim.world.add_batch(provider, total=10_000, rate=1.0, start_delay=1.0, cancel_settle=10.0)


def watch(capsys: pytest.CaptureFixture[str], sim: SimServer, *args: str, provider: str = "openai") -> Result:
    return cli(capsys, "watch", *args, "--base-url", sim.base_url, "--provider", provider, "--interval", INTERVAL)


def later(seconds: float, action, *args: object) -> threading.Timer:
    timer = threading.Timer(seconds, action, args)
    timer.daemon = True
    timer.start()
    return timer


def ndjson(out: str) -> list[dict]:
    lines = out.splitlines()
    assert lines, "no output"
    objects = [json.loads(line) for line in lines]  # every line one JSON object
    assert all(isinstance(o, dict) and "event" in o for o in objects)
    return objects


# -- how it ends --------------------------------------------------------------------------


def test_a_batch_that_completes_is_exit_0(capsys, sim: SimServer) -> None:
    batch_id = fast(sim)
    result = watch(capsys, sim, batch_id)
    assert result.code == WatchExit.OK == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].endswith(
        "watching 1 batch at " + sim.base_url.removeprefix("http://") + ", polling every 0.2s (Ctrl-C stops)"
    )
    assert all(line[:4].isdigit() and line[19] == "Z" for line in lines)  # timestamped
    assert any(f"openai  {batch_id}  completed" in line for line in lines)
    assert f"batch finished: openai {batch_id}" in result.out
    assert lines[-1].endswith("the batch finished: 1 completed (exit 0)")
    assert result.err == ""


@pytest.mark.parametrize("outcome", ["failed", "expired"])
def test_a_batch_that_fails_or_expires_is_exit_3(capsys, sim: SimServer, outcome: str) -> None:
    batch_id = fast(sim, outcome=outcome, rate=20.0, start_delay=8.0)
    result = watch(capsys, sim, batch_id)
    assert result.code == WatchExit.BAD_END == 3, result.err
    assert f"batch {outcome}: openai {batch_id}" in result.out
    assert result.out.splitlines()[-1].endswith(f"the batch finished, 1 badly: 1 {outcome} (exit 3)")


def test_a_batch_cancelled_while_watched_is_exit_3(capsys, sim: SimServer) -> None:
    batch_id = slow(sim)
    later(0.6, sim.world.cancel, "openai", batch_id)
    started = time.monotonic()
    result = watch(capsys, sim, batch_id)
    assert result.code == 3, result.err
    assert time.monotonic() - started < 10
    assert "cancelling" in result.out  # the state on the way was seen and logged
    assert f"batch cancelled: openai {batch_id}" in result.out


def test_fail_on_errors_makes_a_completed_batch_with_30_percent_failed_exit_3(capsys, sim: SimServer) -> None:
    plain = watch(capsys, sim, fast(sim, failure_fraction=0.3))
    assert plain.code == 0, plain.err
    assert "FAILING 30%" in plain.out
    strict = watch(capsys, sim, fast(sim, failure_fraction=0.3), "--fail-on-errors")
    assert strict.code == 3, strict.err
    assert "finished, 1 badly: 1 completed (exit 3)" in strict.out
    # A clean batch stays 0 with the flag.
    assert watch(capsys, sim, fast(sim), "--fail-on-errors").code == 0


def test_timeout_before_the_batch_finishes_is_exit_4(capsys, sim: SimServer) -> None:
    batch_id = slow(sim)
    started = time.monotonic()
    result = watch(capsys, sim, batch_id, "--timeout", "2s")
    elapsed = time.monotonic() - started
    assert result.code == WatchExit.TIMEOUT == 4, result.err
    assert 1.9 <= elapsed < 5
    assert "timed out after 2s: 1 of 1 still running (exit 4)" in result.out
    assert sim.world.batch("openai", batch_id)["status"] == "in_progress"  # nothing was done to it


# -- the gateway going away ----------------------------------------------------------------


def test_gateway_gone_longer_than_give_up_after_is_exit_1(capsys, sim: SimServer) -> None:
    batch_id = slow(sim)
    later(0.5, sim.stop)
    started = time.monotonic()
    result = watch(capsys, sim, batch_id, "--give-up-after", "2s")
    elapsed = time.monotonic() - started
    assert result.code == WatchExit.GATEWAY == 1, result.err
    assert 2.0 <= elapsed < 6
    gone = [line for line in result.out.splitlines() if "retrying for up to 2s" in line]
    assert len(gone) == 1, result.out  # said once, not at every retry
    assert "gateway unreachable" in gone[0] or "connection" in gone[0]
    assert "gateway unreachable for 2s; giving up" in result.err
    assert "Traceback" not in result.err


def test_a_short_outage_is_ridden_out(capsys, sim: SimServer) -> None:
    batch_id = sim.world.add_batch("openai", total=100, rate=2.0, start_delay=1.0, finalize_for=1.0)

    def outage() -> None:
        sim.go_down()
        time.sleep(1.0)
        sim.come_up()

    later(0.5, outage)
    result = watch(capsys, sim, batch_id, "--give-up-after", "1m")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    away = [i for i, line in enumerate(lines) if "retrying for up to 1m" in line]
    back = [i for i, line in enumerate(lines) if "gateway back after" in line]
    assert len(away) == 1 and len(back) == 1 and away[0] < back[0]
    assert lines[-1].endswith("(exit 0)")


def test_give_up_after_runs_on_the_injected_clock(sim: SimServer) -> None:
    """The default five minutes, without waiting five minutes: the watcher's clock and
    sleep are fakes, the requests real (and refused once the simulator is stopped)."""
    batch_id = slow(sim)
    session = open_session(SessionRequest(base_url=sim.base_url, providers=("openai",), interval=5.0))
    fake_now = [1000.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        fake_now[0] += seconds
        if len(sleeps) == 1:
            sim.stop()  # after the first poll: every poll from now on fails

    out = io.StringIO()
    options = WatchOptions(batch_ids=(batch_id,))
    watcher = Watcher(session, options, out=out, terminal=False, monotonic=lambda: fake_now[0], sleep=sleep)
    started = time.monotonic()
    code = watcher.run()
    assert code == WatchExit.GATEWAY
    assert time.monotonic() - started < 5
    waited = sum(sleeps[1:])
    assert waited == pytest.approx(300.0)  # given up at five minutes, not before, not later
    backoff = sleeps[1:-1]
    assert backoff == sorted(backoff) and max(backoff) <= 60.0 and backoff[0] == 10.0  # backed off, capped
    assert out.getvalue().count("retrying for up to 5m") == 1


def test_a_wrong_key_is_exit_1_at_once_and_never_printed(capsys, monkeypatch) -> None:
    wrong = "sk-bf-wrong-key-0000"
    monkeypatch.setenv("WATCH_KEY", wrong)
    with SimServer(seed=11, speed=SPEED, batches_per_provider=0, api_key=KEY) as keyed:
        batch_id = fast(keyed)
        started = time.monotonic()
        result = cli(
            capsys,
            "watch",
            batch_id,
            "--base-url",
            keyed.base_url,
            "--provider",
            "openai",
            "--api-key-env",
            "WATCH_KEY",
        )
        assert result.code == 1
        assert time.monotonic() - started < 3  # no backoff, no retrying a bad key
        assert "the gateway rejected the key" in result.err
        for secret in (wrong, KEY):
            assert secret not in result.out + result.err
        monkeypatch.setenv("WATCH_KEY", KEY)
        right = cli(
            capsys, "watch", batch_id, "--base-url", keyed.base_url, "--provider", "openai", "--api-key-env",
            "WATCH_KEY", "--interval", INTERVAL,
        )  # fmt: skip
        assert right.code == 0, right.err
        assert KEY not in right.out + right.err


# -- usage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "watch what?"),
        (("some-id", "--all-live"), "not both"),
        (("some-id", "--timeout", "soon"), "argument --timeout: not a duration"),
        (("some-id", "--timeout", "0"), "argument --timeout: must be longer than 0"),
        (("some-id", "--give-up-after", "-5m"), "argument --give-up-after"),
        (("batch_nowhere",), "batch batch_nowhere not found on openai"),
    ],
)
def test_usage_errors_are_exit_2(capsys, sim: SimServer, args: tuple[str, ...], said: str) -> None:
    result = watch(capsys, sim, *args)
    assert result.code == WatchExit.USAGE == 2
    assert said in result.err
    assert "Traceback" not in result.err


def test_an_id_on_no_provider_names_every_provider_tried(capsys, sim: SimServer) -> None:
    on_anthropic = fast(sim, "anthropic")
    found = cli(
        capsys, "watch", on_anthropic, "--base-url", sim.base_url, "--provider", "openai", "--provider", "anthropic",
        "--interval", INTERVAL,
    )  # fmt: skip
    assert found.code == 0, found.err
    assert f"anthropic  {on_anthropic}  ended:completed" in found.out
    missing = cli(
        capsys, "watch", "batch_nowhere", on_anthropic, "--base-url", sim.base_url, "--provider", "openai",
        "--provider", "anthropic",
    )  # fmt: skip
    assert missing.code == 2
    assert "batch batch_nowhere not found on openai, anthropic (openai: 404" in missing.err


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("6h", 21600), ("1d", 86400), ("45", 45), ("2.5", 2.5)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_help_documents_the_exit_codes() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    text = commands.choices["watch"].format_help()  # type: ignore[attr-defined]
    for code in WatchExit:
        assert f"\n  {int(code)} " in text, code


# -- what it writes -----------------------------------------------------------------------------


def test_json_is_ndjson_with_status_events_and_a_done_line(capsys, sim: SimServer) -> None:
    clean, failing = fast(sim), fast(sim, failure_fraction=0.3)
    result = watch(capsys, sim, clean, failing, "--json")
    assert result.code == 0, result.err
    objects = ndjson(result.out)
    done = objects[-1]
    assert done["event"] == "done" and done["exit"] == 0
    assert [o["event"] for o in objects].count("done") == 1
    summary = done["summary"]
    assert summary["watched"] == 2 and summary["outcomes"] == {"completed": 2} and summary["live"] == 0
    assert {b["id"] for b in summary["batches"]} == {clean, failing}

    status = [o for o in objects if o["event"] == "status"]
    assert status
    for o in status:
        assert set(o) == {"event", "at", "provider", "id", "status", "outcome", "counts"}
        assert set(o["counts"]) == {"total", "succeeded", "failed", "canceled", "expired", "pending"}
        assert o["provider"] == "openai" and o["id"] in (clean, failing)
    for batch_id in (clean, failing):
        seen = [o["status"] for o in status if o["id"] == batch_id]
        assert seen[-1] == "completed"
        assert all(a != b for a, b in zip(seen, seen[1:]))  # one object per change of status, no repeats
    last = [o for o in status if o["id"] == failing][-1]
    assert last["counts"] == {"total": 100, "succeeded": 70, "failed": 30, "canceled": 0, "expired": 0, "pending": 0}

    ends = {o["id"]: o for o in objects if o["event"] == "finished"}
    assert set(ends) == {clean, failing}
    assert ends[failing]["bad"] is True and ends[clean]["bad"] is False
    assert set(ends[clean]) == {"event", "at", "provider", "id", "status", "bad", "detail", "message"}
    assert "30.0% of 100 failed" in ends[failing]["detail"]


def test_many_ids_are_polled_through_the_list(capsys, sim: SimServer) -> None:
    """Past a handful of ids, page one of the list (and retrieves of what it lacks) is
    cheaper than one retrieve each: the watch still follows each to its end."""
    ids = [fast(sim, rate=10.0) for _ in range(6)]
    slow(sim)  # live, on page one, not watched: never reported
    sim.verbose = True  # an access line per request, on stderr
    result = watch(capsys, sim, *ids, "--json")
    assert result.code == 0, result.err
    objects = ndjson(result.out)
    assert {b["id"] for b in objects[-1]["summary"]["batches"]} == set(ids)
    assert {o["id"] for o in objects if "id" in o} == set(ids)
    assert len([o for o in objects if o["event"] == "status" and o["status"] == "completed"]) == 6
    requests = [line for line in result.err.splitlines() if " GET /v1/batches" in line]
    retrieves = [line for line in requests if " GET /v1/batches/" in line]
    assert len(retrieves) == 6  # each id found once; then page one at each poll
    assert len(requests) > len(retrieves)


def test_all_live_watches_what_was_live_at_the_first_poll(capsys, sim: SimServer) -> None:
    earlier = fast(sim)
    time.sleep(0.5)  # over by now (about 10 simulated seconds)
    live = [fast(sim, rate=20.0), fast(sim, "anthropic", rate=20.0)]
    later(0.3, fast, sim)  # arrives once the watch has started: not watched
    result = cli(
        capsys, "watch", "--all-live", "--json", "--base-url", sim.base_url, "--provider", "openai",
        "--provider", "anthropic", "--interval", INTERVAL,
    )  # fmt: skip
    assert result.code == 0, result.err
    objects = ndjson(result.out)
    watched = {b["id"] for b in objects[-1]["summary"]["batches"]}
    assert watched == set(live)
    assert earlier not in result.out
    assert {o["id"] for o in objects if "id" in o} == set(live)
    assert len(sim.world.batches("openai")) == 3  # the late one exists, and was left alone


def test_all_live_with_nothing_live_says_so_and_is_exit_0(capsys, sim: SimServer) -> None:
    result = watch(capsys, sim, "--all-live")
    assert result.code == 0, result.err
    assert "no live batches on openai: nothing to watch" in result.out
    as_json = watch(capsys, sim, "--all-live", "--json")
    assert as_json.code == 0
    assert ndjson(as_json.out) == [ndjson(as_json.out)[-1]]
    assert ndjson(as_json.out)[0]["summary"]["watched"] == 0


def test_on_a_terminal_each_line_is_rewritten_in_place(sim: SimServer) -> None:
    ids = [sim.world.add_batch("openai", total=100, rate=10.0, start_delay=1.0, finalize_for=1.0), slow(sim)]
    later(1.2, sim.world.cancel, "openai", ids[1])
    session = open_session(SessionRequest(base_url=sim.base_url, providers=("openai",), interval=0.2))
    out = io.StringIO()
    watcher = Watcher(
        session, WatchOptions(batch_ids=tuple(ids)), out=out, terminal=True, terminal_size=lambda: (80, 24)
    )
    assert watcher.run() == 3
    text = out.getvalue()
    assert text.startswith("watching 2 batches at ")
    assert "\x1b[2A\r\x1b[2K" in text or "\x1b[1A\r\x1b[2K" in text  # cursor up, clear the line, rewrite
    block = text.split("\n")[1:3]
    assert block[0].startswith(f"openai  {ids[0]}  ") and block[1].startswith(f"openai  {ids[1]}  ")
    assert text.count(f"{ids[0]}  completed") == 1  # a line that stopped changing is not written again
    assert text.endswith("all 2 finished, 1 badly: 1 completed, 1 cancelled (exit 3)\n")
    plain = re.sub(r"\x1b\[\d*[A-Za-z]", "", text)
    assert all(len(line) < 80 for chunk in plain.split("\n") for line in chunk.split("\r"))  # none wraps


def test_ctrl_c_is_exit_130_quietly(sim: SimServer) -> None:
    batch_id = slow(sim)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "watch", batch_id, "--json", "--base-url", sim.base_url, "--provider", "openai"],
        cwd=REPO,
        env=os.environ.copy(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert json.loads(first)["event"] == "status"
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
        rest, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 130
    assert err == ""
    done = json.loads(rest.splitlines()[-1])
    assert done["event"] == "done" and done["exit"] == 130 and done["summary"]["live"] == 1


def test_alerts_sends_the_events_to_the_profiles_command(capsys, sim: SimServer, tmp_path, monkeypatch) -> None:
    batch_id = fast(sim)
    seen = tmp_path / "events.txt"
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[profiles.p]
base_url = "{sim.base_url}"
providers = ["openai"]
interval = {INTERVAL}

[profiles.p.alerts]
on_event = ["{sys.executable}", "-c", "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '|' + sys.argv[3] + chr(10))", "{seen}", "{{event}}", "{{id}}"]
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("BATCHTOP_CONFIG", str(config))
    quiet = cli(capsys, "watch", batch_id, "--profile", "p")
    assert quiet.code == 0, quiet.err
    assert not seen.exists()  # without --alerts, the sinks are left alone
    other = fast(sim)
    result = cli(capsys, "watch", other, "--profile", "p", "--alerts")
    assert result.code == 0, result.err
    assert seen.read_text(encoding="utf-8").splitlines() == [f"finished|{other}"]
