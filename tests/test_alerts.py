"""The alert sinks: hostile text cannot escape the OSC sequences, the command runs without a
shell and is killed on timeout, the webhook batches posts and never leaks its secret path."""

from __future__ import annotations

import io
import json
import os
import socket
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tui.alerts import AlertSinks, is_terminal
from tui.alerts.command import run_event_command
from tui.alerts.terminal import BELL, desktop_sequence, osc9, osc777
from tui.alerts.webhook import QUEUE_LIMIT, Webhook
from tui.config.watching import AlertSettings
from tui.monitor.events import BatchEvent

SECRET_PATH = "/services/T0001/B0002/PathSecret42"
SECRET_QUERY = "token=QuerySecret99"


def event(n: int = 1, kind: str = "finished", **changes: object) -> BatchEvent:
    values: dict[str, object] = {
        "event": kind,
        "provider": "openai",
        "batch_id": f"batch_{n}",
        "at": 1000.0 + n,
        "title": f"batch {kind}",
        "message": f"openai batch_{n}: completed, 10/10",
        "status": "completed",
    }
    values.update(changes)
    return BatchEvent(**values)  # type: ignore[arg-type]


def _controls(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) == "Cc"]


# --- terminal sequences -------------------------------------------------------------------


def test_osc9_hostile_message_cannot_end_the_sequence() -> None:
    seq = osc9("done \x1b]0;evil\x07 then \x9b31m red \x7f\x00\n")
    assert seq.startswith("\x1b]9;") and seq.endswith("\x07")
    inner = seq[len("\x1b]9;") : -1]
    assert not _controls(inner)
    assert "evil" in inner  # the text stays readable, only the controls go


def test_osc777_title_separator_and_controls_replaced() -> None:
    seq = osc777("batch; failed\x1b[2J", "openai b1; 3 failed\x07")
    assert seq.startswith("\x1b]777;notify;") and seq.endswith("\x07")
    inner = seq[len("\x1b]777;notify;") : -1]
    title, message = inner.split(";", 1)
    assert title == "batch, failed [2J"
    assert message == "openai b1; 3 failed "
    assert not _controls(inner)


def test_sequences_cap_length_and_numbered_osc9_text() -> None:
    assert len(osc9("x" * 5000)) < 220
    assert len(osc777("t" * 5000, "m" * 5000)) < 440
    # "OSC 9;4;..." is a progress-bar command in Windows Terminal, not a notification.
    assert not osc9("4;3;50").startswith("\x1b]9;4;")


def test_desktop_sequence_kinds() -> None:
    assert desktop_sequence("off", "t", "m") is None
    assert desktop_sequence("osc9", "t", "m") == "\x1b]9;t: m\x07"
    assert desktop_sequence("osc777", "t", "m") == "\x1b]777;notify;t;m\x07"


# --- the command --------------------------------------------------------------------------

WRITE_ARGV = "import json, sys; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"


async def test_command_runs_with_placeholders_filled_once(tmp_path: Path) -> None:
    out = tmp_path / "argv.json"
    template = [
        sys.executable,
        "-c",
        WRITE_ARGV,
        str(out),
        "{title}",
        "<{message}>",
        "{event}",
        "{provider}/{id}",
        "{0} {}",
    ]
    hostile = event(title="batch {message} done", message="50% {title} {0} {} $(rm -rf /) {id")
    assert await run_event_command(template, hostile, timeout=30) is None
    assert json.loads(out.read_text()) == [
        "batch {message} done",
        "<50% {title} {0} {} $(rm -rf /) {id>",
        "finished",
        "openai/batch_1",
        "{0} {}",
    ]


async def test_command_failure_reports_exit_and_first_stderr_line() -> None:
    script = "import sys; sys.stderr.write('cannot reach dbus\\nsecond line\\n'); sys.exit(2)"
    problem = await run_event_command([sys.executable, "-c", script], event(), timeout=30)
    assert problem is not None
    assert "exited 2" in problem and "cannot reach dbus" in problem and "second" not in problem


async def test_command_beyond_timeout_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # A child that also holds stderr open: killing only the command would leave us waiting.
    script = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "open(sys.argv[1], 'w').write(f'{child.pid}'); time.sleep(60)"
    )
    started = time.monotonic()
    problem = await run_event_command([sys.executable, "-c", script, str(pids)], event(), timeout=1.0)
    assert problem is not None and "timed out after 1s" in problem
    assert time.monotonic() - started < 8
    grandchild = int(pids.read_text())
    for _ in range(50):
        if not _alive(grandchild):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the command's child survived the timeout")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # killed but not yet reaped (by init, not us): a zombie is dead enough
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


async def test_command_missing_program() -> None:
    problem = await run_event_command(["batchtop-no-such-notifier", "{title}"], event(), timeout=5)
    assert problem == "alert command 'batchtop-no-such-notifier' not found"


# --- the webhook --------------------------------------------------------------------------


@dataclass
class Hook:
    url: str
    bodies: list[dict] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    """A webhook receiver on 127.0.0.1 that records what it is sent."""
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    state = Hook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state.bodies.append(json.loads(self.rfile.read(length)))
            state.paths.append(self.path)
            self.send_response(state.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}{SECRET_PATH}?{SECRET_QUERY}"
    yield state
    server.shutdown()
    server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def _assert_no_secret(problem: str) -> None:
    assert "PathSecret42" not in problem and "QuerySecret99" not in problem and "T0001" not in problem


async def test_webhook_posts_then_holds_until_the_interval(hook: Hook) -> None:
    clock = Clock()
    webhook = Webhook(hook.url, 10, clock)
    try:
        assert await webhook.offer([event(1)]) is None
        assert len(hook.bodies) == 1
        assert hook.paths == [f"{SECRET_PATH}?{SECRET_QUERY}"]
        clock.now += 3
        assert await webhook.offer([event(2), event(3, "failed")]) is None
        assert len(hook.bodies) == 1 and webhook.pending == 2
        clock.now += 8
        assert await webhook.offer([]) is None
        assert len(hook.bodies) == 2 and webhook.pending == 0
    finally:
        await webhook.aclose()
    first, second = hook.bodies
    assert first == {"text": "batch finished: openai batch_1: completed, 10/10", "events": [event(1).as_json()]}
    assert (
        second["text"]
        == "batch finished: openai batch_2: completed, 10/10\nbatch failed: openai batch_3: completed, 10/10"
    )
    assert second["events"] == [event(2).as_json(), event(3, "failed").as_json()]


async def test_webhook_flush_caps_queue_and_escapes_slack_markup(hook: Hook) -> None:
    webhook = Webhook(hook.url, 60, Clock())
    try:
        await webhook.offer([event(0, message="<!channel> a & b")])
        assert await webhook.offer([event(n) for n in range(1, QUEUE_LIMIT + 6)]) is None
        assert await webhook.flush() is None
        assert await webhook.flush() is None  # nothing left: no empty post
    finally:
        await webhook.aclose()
    assert len(hook.bodies) == 2
    assert hook.bodies[0]["text"] == "batch finished: &lt;!channel&gt; a &amp; b"
    assert hook.bodies[0]["events"][0]["message"] == "<!channel> a & b"
    assert len(hook.bodies[1]["events"]) == QUEUE_LIMIT
    assert hook.bodies[1]["text"].endswith("\n… and 5 more")


async def test_webhook_server_error_is_reported_without_the_secret(hook: Hook) -> None:
    hook.status = 500
    clock = Clock()
    webhook = Webhook(hook.url, 10, clock)
    try:
        problem = await webhook.offer([event(1), event(2)])
        assert problem is not None
        assert problem.startswith(f"webhook http://127.0.0.1:{hook.url.split(':')[2].split('/')[0]}: HTTP 500")
        assert "2 alerts dropped" in problem
        _assert_no_secret(problem)
        hook.status = 200
        clock.now += 10
        assert await webhook.offer([event(3)]) is None
    finally:
        await webhook.aclose()
    assert [e["id"] for e in hook.bodies[1]["events"]] == ["batch_3"]  # the failed ones are not retried


async def test_webhook_refused_connection_is_reported_without_the_secret() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    webhook = Webhook(f"http://user:pw@127.0.0.1:{port}{SECRET_PATH}?{SECRET_QUERY}", 0, Clock())
    try:
        problem = await webhook.offer([event()])
    finally:
        await webhook.aclose()
    assert problem is not None
    assert problem.startswith(f"webhook http://127.0.0.1:{port}: ") and "1 alert dropped" in problem
    _assert_no_secret(problem)
    assert "pw" not in problem


# --- the sinks together -------------------------------------------------------------------


async def test_sinks_write_bell_once_and_a_notification_per_event() -> None:
    written: list[str] = []
    sinks = AlertSinks(AlertSettings(bell=True, desktop="osc9"), write_terminal=written.append, clock=Clock())
    assert await sinks.deliver([event(1), event(2)]) == []
    assert "".join(written) == BELL + osc9("batch finished: openai batch_1: completed, 10/10") + osc9(
        "batch finished: openai batch_2: completed, 10/10"
    )
    assert await sinks.close() == []


async def test_sinks_without_a_terminal_write_nothing_but_run_the_command(tmp_path: Path) -> None:
    out = tmp_path / "argv.json"
    settings = AlertSettings(bell=True, desktop="osc777", on_event=[sys.executable, "-c", WRITE_ARGV, str(out), "{id}"])
    sinks = AlertSinks(settings, write_terminal=None, clock=Clock())
    assert await sinks.deliver([event(7)]) == []
    assert json.loads(out.read_text()) == ["batch_7"]


async def test_sinks_honour_the_events_filter(hook: Hook) -> None:
    written: list[str] = []
    settings = AlertSettings(bell=True, webhook_url=hook.url, webhook_min_interval=0, events=["failed"])
    sinks = AlertSinks(settings, write_terminal=written.append, clock=Clock())
    try:
        assert await sinks.deliver([event(1, "finished"), event(2, "stalled")]) == []
        assert written == [] and hook.bodies == []
        assert await sinks.deliver([event(3, "failed")]) == []
        assert written == [BELL]
        assert [e["id"] for body in hook.bodies for e in body["events"]] == ["batch_3"]
    finally:
        await sinks.close()


async def test_sinks_report_problems_and_close_flushes_the_webhook(hook: Hook) -> None:
    settings = AlertSettings(on_event=["batchtop-no-such-notifier"], webhook_url=hook.url, webhook_min_interval=60)
    sinks = AlertSinks(settings, write_terminal=None, clock=Clock())
    problems = await sinks.deliver([event(1), event(2)])
    assert problems == ["alert command 'batchtop-no-such-notifier' not found"] * 2
    await sinks.deliver([event(3)])  # within the interval: held back
    assert len(hook.bodies) == 1
    assert await sinks.close() == []
    assert [e["id"] for e in hook.bodies[1]["events"]] == ["batch_3"]


def test_is_terminal_is_false_for_anything_that_cannot_say() -> None:
    class Broken:
        def isatty(self) -> bool:
            raise ValueError("I/O operation on closed file")

    assert is_terminal(io.StringIO()) is False
    assert is_terminal(Broken()) is False
    assert is_terminal(object()) is False
