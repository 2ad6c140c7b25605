"""The key never leaks: not on screen, not in output, logs, errors, snapshots or the audit log.

One known key is used everywhere; every CLI command and every screen of the app runs with
it, and everything they produce is searched for it (and for a long piece of it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from apphelp import START, FakeClock, WatchedApp, wait_for_polls, wait_until

from tui.cancel.audit import audit_path
from tui.config import Profile
from tui.session import Session
from tui.sim import FaultRule, SimServer
from tui.ui.app import BatchtopApp

KEY = "sk-bf-LEAKCHECK-0f3e9a7b5c1d"
WRONG = "sk-bf-WRONGKEY-77aa88bb99cc"
PIECES = (KEY, KEY[6:], WRONG, WRONG[6:])
ROOT = Path(__file__).resolve().parent.parent


def assert_clean(text: str, where: str) -> None:
    for piece in PIECES:
        assert piece not in text, f"key material in {where}"


@pytest.fixture
def sim():
    server = SimServer(seed=7, frozen=True, start_time=START, api_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture
def configured(sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(
        'default_profile = "prod"\n\n[profiles.prod]\n'
        f'base_url = "{sim.base_url}"\nproviders = ["openai"]\napi_key_env = "BATCHTOP_TEST_KEY"\n'
    )
    config.chmod(0o600)
    env = {**os.environ, "BATCHTOP_CONFIG": str(config), "BATCHTOP_TEST_KEY": KEY, "PYTHONPATH": str(ROOT)}
    return env


def run(env: dict[str, str], *args: str, key: str = KEY) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env={**env, "BATCHTOP_TEST_KEY": key},
        cwd=ROOT,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_every_cli_command_keeps_the_key_out(sim: SimServer, configured: dict[str, str]) -> None:
    live = next(b["id"] for b in sim.world.batches("openai") if b["status"] == "in_progress")
    done = next(b["id"] for b in sim.world.batches("openai") if b["status"] == "completed")
    commands = [
        ("list",),
        ("list", "--json"),
        ("show", live),
        ("show", live, "--json"),
        ("show", "batch_missing"),
        ("cancel", "--yes", live),
        ("cancel", "--yes", done),
        ("cancel", "--all", "--dry-run"),
        ("profiles", "list"),
        ("profiles", "show"),
        ("audit",),
        ("audit", "--json"),
        ("--help",),
        ("list", "--base-url", "http://example.com"),
    ]
    outputs = []
    for command in commands:
        result = run(configured, *command)
        outputs.append(result)
        assert "Traceback" not in result.stderr, (command, result.stderr)
        assert_clean(result.stdout + result.stderr, " ".join(command))
    # With a wrong key every call is rejected: the message says so, without either key.
    for command in (("list",), ("show", live), ("cancel", "--yes", live)):
        result = run(configured, *command, key=WRONG)
        assert result.returncode == 1
        assert "403" in result.stderr or "key rejected" in result.stderr
        assert_clean(result.stdout + result.stderr, "wrong-key " + " ".join(command))
    assert sim.world.cancel_count("openai", live) == 1
    assert_clean(audit_path().read_text(), "audit log")
    assert outputs[9].stdout.count("sk-bf-…") == 1  # profiles show masks it


def test_profiles_show_masks_and_config_errors_never_quote_the_key(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.p]\nbase_url = "http://127.0.0.1:1"\nproviders = ["openai"]\napi_key = "{KEY}"\ninterval = "fast"\n'
    )
    config.chmod(0o644)
    env = {**os.environ, "BATCHTOP_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    for command in (("list",), ("profiles", "show", "p"), ("profiles", "list")):
        result = run(env, *command)
        assert result.returncode == 2
        assert_clean(result.stdout + result.stderr, " ".join(command))


async def test_every_screen_of_the_app_keeps_the_key_out(sim: SimServer, monkeypatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(BatchtopApp, "_log", lambda self, *a, **k: logged.append(repr((a, k))))
    profile = Profile.model_validate(
        {"base_url": sim.base_url, "providers": ["openai", "anthropic"], "interval": 3600.0}
    )
    app = WatchedApp(Session("prod", profile, KEY, None), clock=FakeClock())
    screens: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_polls(pilot, app, 2)
        screens.append(app.export_screenshot())
        live = next(t.key for t in app.board.tracked() if t.batch.status == "in_progress")
        app.screen.table.select(live)
        await pilot.press("enter")
        screens.append(app.export_screenshot())
        await pilot.press("c")
        screens.append(app.export_screenshot())
        await pilot.press("y")
        await wait_until(pilot, lambda: sim.world.cancel_count(*live) == 1)
        await pilot.press("escape", "L")
        screens.append(app.export_screenshot())
        await pilot.press("escape", "question_mark")
        screens.append(app.export_screenshot())
        await pilot.press("escape")
        # A failing gateway: error text on screen and in notifications.
        sim.faults.add(FaultRule("status", status=403))
        await pilot.press("r")
        await wait_until(pilot, lambda: app.runner.health["openai"].last_error is not None)
        screens.append(app.export_screenshot())
        notifications = " ".join(f"{n.title} {n.message}" for n in app.messages.notifications())
    for i, svg in enumerate(screens):
        assert_clean(svg, f"screen {i}")
    assert_clean(" ".join(logged), "textual log")
    assert_clean(notifications, "notifications")
    assert_clean(audit_path().read_text(), "audit log")


def test_snapshots_hold_no_key_material() -> None:
    for svg in (ROOT / "snapshots").rglob("*.svg"):
        text = svg.read_text()
        assert "sk-bf-" not in text.replace("sk-bf-…", ""), svg


def test_tls_verification_off_is_warned(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[profiles.p]\nbase_url = "https://127.0.0.1:1"\nproviders = ["openai"]\nverify_tls = false\ntimeout = 0.5\n'
    )
    env = {**os.environ, "BATCHTOP_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    result = run(env, "list")
    assert "TLS verification is off" in result.stderr
    assert "Traceback" not in result.stderr


async def test_tls_verification_off_shows_a_header_badge(sim: SimServer) -> None:
    profile = Profile.model_validate(
        {
            "base_url": "https://127.0.0.1:1",
            "providers": ["openai"],
            "verify_tls": False,
            "interval": 3600.0,
            "timeout": 0.5,
        }
    )
    app = WatchedApp(Session("p", profile, None, None), clock=FakeClock())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "TLS NOT VERIFIED" in str(app.screen.query_one("#header").render())
