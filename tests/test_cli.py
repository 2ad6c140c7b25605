"""The headless CLI end to end, as a user runs it, against a real simulator on loopback.

Most cases run ``tui.cli.main`` in-process (fast); the ones about what a person sees from
a real process (exit status, tracebacks, a terminal prompt, imports, signals) run
``python -m tui`` in a subprocess. Every subprocess inherits the hermetic XDG/HOME dirs
that ``conftest.hermetic_dirs`` sets up.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from clihelp import FINISHED, REPO, START, Result, cli, run_cli, run_in_pty, total_cancels

from tui.cli import main
from tui.cli.parser import build_parser
from tui.config import ConfigError
from tui.session import SessionRequest, open_session
from tui.sim import FaultRule, SimServer

SECRET = "sk-bf-secret-test-1234"


# -- helpers ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def table_ids(out: str) -> list[str]:
    """The ID column (third) of a `batchtop list` table, in order."""
    lines = out.splitlines()
    assert lines and lines[0].split()[:3] == ["PROVIDER", "STATUS", "ID"], out
    return [line.split()[2] for line in lines[1:]]


def first_id(sim: SimServer, provider: str, statuses: set[str]) -> str:
    for batch in sim.world.batches(provider):
        if batch["status"] in statuses:
            return str(batch["id"])
    raise AssertionError(f"the simulator has no {provider} batch in {statuses}")


def sim_status(sim: SimServer, provider: str, batch_id: str) -> str:
    batch = sim.world.batch(provider, batch_id)
    assert batch is not None
    return str(batch["status"])


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err, result.err
    assert "Traceback" not in result.out, result.out


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


# -- fixtures -----------------------------------------------------------------------


@pytest.fixture
def keyed_sim() -> Iterator[SimServer]:
    server = SimServer(seed=7, frozen=True, start_time=START, api_key=SECRET).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def url(sim: SimServer) -> str:
    return sim.base_url


# -- 1. list ------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_list_table_has_every_batch_newest_first(sim: SimServer, url: str, where: str) -> None:
    flags = ["--base-url", url, "--provider", "openai", "--provider", "anthropic"]
    args = [*flags, "list"] if where == "before" else ["list", *flags]
    result = run_cli(*args)
    no_traceback(result)
    assert result.code == 0, result.err
    assert result.err == ""

    created = {str(b["id"]): int(b["created_at"]) for p in ("openai", "anthropic") for b in sim.world.batches(p)}
    ids = table_ids(result.out)
    assert sorted(ids) == sorted(created)  # every batch, once, and nothing else
    ages = [created[i] for i in ids]
    assert ages == sorted(ages, reverse=True), "not newest first"
    # Rows name their provider.
    rows = result.out.splitlines()[1:]
    for row in rows:
        provider, _, batch_id = row.split()[:3]
        assert provider == ("anthropic" if batch_id.startswith("msgbatch_") else "openai")


def test_list_flags_split_around_the_subcommand(capsys, sim: SimServer, url: str) -> None:
    result = cli(capsys, "--base-url", url, "list", "--provider", "gemini")
    assert result.code == 0, result.err
    assert sorted(table_ids(result.out)) == sorted(str(b["id"]) for b in sim.world.batches("gemini"))


def test_list_bedrock_counts_unknown_show_a_dash(capsys, sim: SimServer, url: str) -> None:
    """Bedrock list items carry no counts (core/providers/bedrock/bedrock.go BatchList): a
    running job shows "counts at end" and dashes, never "0 of 0"; a finished one is retrieved
    for the counts its output manifest holds."""
    result = cli(capsys, "list", "--base-url", url, "--provider", "bedrock")
    assert result.code == 0, result.err
    rows = result.out.splitlines()[1:]
    assert len(rows) == len(sim.world.batches("bedrock"))
    live = [r for r in rows if " in_progress " in r or " validating " in r]
    assert live
    for row in rows:
        assert "0 of 0" not in row
    for row in live:
        assert "counts at end" in row and "—" in row
    assert any(" completed " in r and "100% of" in r for r in rows)


# -- 2. list --json -----------------------------------------------------------------


def test_list_json(capsys, sim: SimServer, url: str) -> None:
    result = cli(capsys, "list", "--json", "--base-url", url, "--provider", "openai", "--provider", "bedrock")
    assert result.code == 0, result.err
    items = json.loads(result.out)
    assert isinstance(items, list)

    wire = {(p, str(b["id"])): b for p in ("openai", "bedrock") for b in sim.world.batches(p)}
    assert sorted((i["provider"], i["id"]) for i in items) == sorted(wire)
    created = [i.get("created_at") or 0 for i in items]
    assert created == sorted(created, reverse=True)

    checked_openai = 0
    for item in items:
        expected = wire[(item["provider"], item["id"])]
        assert item["status"] == expected["status"]
        counts = item["request_counts"]
        if item["provider"] == "bedrock":
            if item["status"] in ("in_progress", "validating"):  # counts only at the end
                assert counts["succeeded"] is None, item
                assert counts["pending"] is None, item
            continue
        for key in ("total", "completed", "failed"):
            assert counts[key] == expected["request_counts"][key]
        if counts["total"] == 0:
            continue
        checked_openai += 1
        assert counts["succeeded"] == counts["completed"], item
        if item["status"] in FINISHED:
            assert counts["pending"] == 0, item
        else:
            assert counts["pending"] == counts["total"] - counts["completed"] - counts["failed"], item
    assert checked_openai >= 4


# -- 3. show ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "gemini", "bedrock"])
def test_show_text_and_json(capsys, sim: SimServer, url: str, provider: str) -> None:
    batch_id = first_id(sim, provider, {"in_progress"})
    if provider != "openai":
        assert "/" in batch_id  # batches/..., arn:aws:bedrock:...:model-invocation-job/...
    expected = sim.world.batch(provider, batch_id)
    assert expected is not None

    text = cli(capsys, "show", batch_id, "--provider", provider, "--base-url", url)
    assert text.code == 0, text.err
    fields = dict(line.split(None, 1) for line in text.out.splitlines() if len(line.split(None, 1)) == 2)
    assert fields["id"] == batch_id
    assert fields["provider"] == provider
    assert fields["status"] == expected["status"]

    as_json = cli(capsys, "show", batch_id, "--provider", provider, "--base-url", url, "--json")
    assert as_json.code == 0, as_json.err
    item = json.loads(as_json.out)
    assert item["id"] == batch_id
    assert item["provider"] == provider
    assert item["status"] == expected["status"]
    for key in ("total", "completed", "failed"):
        assert item["request_counts"][key] == expected["request_counts"][key]


def test_show_unknown_id_is_exit_1_with_the_gateways_message(sim: SimServer, url: str) -> None:
    query = urllib.parse.urlencode({"provider": "openai"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{url}/v1/batches/batch_nope?{query}", timeout=5)
    message = json.loads(raised.value.read())["error"]["message"]
    raised.value.close()

    result = run_cli("show", "batch_nope", "--provider", "openai", "--base-url", url)
    no_traceback(result)
    assert result.code == 1
    assert result.out == ""
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1


# -- 4. cancel ----------------------------------------------------------------------


def test_cancel_without_terminal_or_yes_sends_nothing(sim: SimServer, url: str) -> None:
    batch_id = first_id(sim, "openai", {"in_progress"})
    result = run_cli("cancel", batch_id, "--provider", "openai", "--base-url", url)
    no_traceback(result)
    assert result.code == 2
    assert "--yes" in result.err
    assert sim.world.cancel_count("openai", batch_id) == 0
    assert total_cancels(sim) == 0
    assert sim_status(sim, "openai", batch_id) == "in_progress"


@pytest.mark.parametrize("provider", ["openai", "gemini", "bedrock"])
def test_cancel_yes_sends_one_cancel(capsys, sim: SimServer, url: str, provider: str) -> None:
    batch_id = first_id(sim, provider, {"in_progress"})
    result = cli(capsys, "cancel", batch_id, "--provider", provider, "--base-url", url, "--yes")
    assert result.code == 0, result.err
    assert batch_id in result.out
    assert sim_status(sim, provider, batch_id) == "cancelling"
    assert sim.world.cancel_count(provider, batch_id) == 1
    assert total_cancels(sim) == 1


def test_cancel_same_id_twice_is_sent_once(capsys, sim: SimServer, url: str) -> None:
    batch_id = first_id(sim, "openai", {"in_progress"})
    result = cli(capsys, "cancel", batch_id, batch_id, "-y", "--provider", "openai", "--base-url", url)
    assert result.code == 0, result.err
    assert sim.world.cancel_count("openai", batch_id) == 1
    assert total_cancels(sim) == 1


def test_cancel_finished_batch_is_reported_not_sent_and_exit_1(capsys, sim: SimServer, url: str) -> None:
    """Issue 8: a batch that already finished was not cancelled — exit 1, saying why."""
    batch_id = first_id(sim, "openai", {"completed"})
    result = cli(capsys, "cancel", batch_id, "--yes", "--provider", "openai", "--base-url", url)
    assert result.code == 1, result.err
    assert f"{batch_id}: already completed; not cancelled, nothing sent" in result.err
    assert "nothing to cancel" in result.out
    assert total_cancels(sim) == 0


def test_cancel_refused_by_the_gateway_is_exit_1(capsys, sim: SimServer, url: str) -> None:
    batch_id = first_id(sim, "openai", {"in_progress"})
    sim.faults.add(FaultRule("status", status=409, path="/v1/batches/", method="POST"))
    result = cli(capsys, "cancel", batch_id, "--yes", "--provider", "openai", "--base-url", url)
    assert result.code == 1, result.out + result.err
    assert "409" in result.err


def test_cancel_mixed_live_finished_unknown(capsys, sim: SimServer, url: str) -> None:
    live = first_id(sim, "openai", {"in_progress"})
    done = first_id(sim, "openai", {"completed"})
    result = cli(capsys, "cancel", live, done, "batch_nope", "--yes", "--provider", "openai", "--base-url", url)
    assert result.code == 1  # the unknown one failed
    assert "batch_nope" in result.err
    assert sim.world.cancel_count("openai", live) == 1
    assert sim.world.cancel_count("openai", done) == 0
    assert sim.world.cancel_count("openai", "batch_nope") == 0
    assert sim_status(sim, "openai", live) == "cancelling"


@pytest.mark.parametrize("where", ["before", "after"])
def test_cancel_read_only_flag_sends_nothing(capsys, sim: SimServer, url: str, where: str) -> None:
    batch_id = first_id(sim, "openai", {"in_progress"})
    cmd = ["cancel", batch_id, "--yes", "--provider", "openai", "--base-url", url]
    args = ["--read-only", *cmd] if where == "before" else [*cmd, "--read-only"]
    result = cli(capsys, *args)
    assert result.code == 2
    assert "read-only" in result.err
    assert total_cancels(sim) == 0


def test_cancel_read_only_profile_sends_nothing(capsys, monkeypatch, tmp_path, sim: SimServer, url: str) -> None:
    config = write_config(
        tmp_path / "config.toml",
        f"""\
default_profile = "ro"

[profiles.ro]
base_url = "{url}"
providers = ["openai"]
read_only = true
""",
    )
    monkeypatch.setenv("BATCHTOP_CONFIG", str(config))
    batch_id = first_id(sim, "openai", {"in_progress"})
    result = cli(capsys, "cancel", batch_id, "--yes")
    assert result.code == 2
    assert "read-only" in result.err
    assert total_cancels(sim) == 0
    # The profile still works for reading.
    assert cli(capsys, "list").code == 0


def test_cancel_several_providers_needs_provider_flag(capsys, monkeypatch, tmp_path, sim: SimServer, url: str) -> None:
    batch_id = first_id(sim, "openai", {"in_progress"})
    result = cli(
        capsys, "cancel", batch_id, "--yes", "--base-url", url, "--provider", "openai", "--provider", "anthropic"
    )
    assert result.code == 2
    assert "--provider" in result.err

    config = write_config(
        tmp_path / "config.toml",
        f"""\
[profiles.two]
base_url = "{url}"
providers = ["openai", "anthropic"]
""",
    )
    monkeypatch.setenv("BATCHTOP_CONFIG", str(config))
    result = cli(capsys, "cancel", batch_id, "--yes")
    assert result.code == 2
    assert "--provider" in result.err
    assert total_cancels(sim) == 0

    # Naming the provider resolves it.
    result = cli(capsys, "cancel", batch_id, "--yes", "--provider", "openai")
    assert result.code == 0, result.err
    assert sim.world.cancel_count("openai", batch_id) == 1


def test_cancel_prompt_on_terminal_yes_sends(sim: SimServer, url: str) -> None:
    batch_id = first_id(sim, "openai", {"in_progress"})
    code, shown, prompted = run_in_pty(["cancel", batch_id, "--provider", "openai", "--base-url", url], "y\n")
    assert prompted, shown
    assert "Traceback" not in shown
    before_prompt = shown.split("[y/N]")[0]
    assert batch_id in before_prompt  # the person sees what they are about to cancel
    assert f"127.0.0.1:{sim.port}" in before_prompt
    assert code == 0, shown
    assert sim.world.cancel_count("openai", batch_id) == 1
    assert sim_status(sim, "openai", batch_id) == "cancelling"


@pytest.mark.parametrize("answer", ["n\n", "\n"], ids=["n", "enter"])
def test_cancel_prompt_on_terminal_no_sends_nothing(sim: SimServer, url: str, answer: str) -> None:
    batch_id = first_id(sim, "openai", {"in_progress"})
    code, shown, prompted = run_in_pty(["cancel", batch_id, "--provider", "openai", "--base-url", url], answer)
    assert prompted, shown
    assert "Traceback" not in shown
    assert "Nothing cancelled" in shown
    assert code != 0  # nothing was done
    assert total_cancels(sim) == 0
    assert sim_status(sim, "openai", batch_id) == "in_progress"


# -- 5. exit codes ------------------------------------------------------------------


def test_gateway_down_is_exit_1_one_line() -> None:
    port = free_port()
    result = run_cli("list", "--base-url", f"http://127.0.0.1:{port}", "--provider", "openai")
    no_traceback(result)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("batchtop: ")
    assert f"127.0.0.1:{port}" in lines[0]


def test_wrong_key_is_exit_1_without_the_key(keyed_sim: SimServer) -> None:
    wrong = "sk-bf-wrong-key-98765"
    result = run_cli(
        "list",
        "--base-url",
        keyed_sim.base_url,
        "--provider",
        "openai",
        "--api-key-env",
        "BATCHTOP_TEST_KEY",
        env={"BATCHTOP_TEST_KEY": wrong},
    )
    no_traceback(result)
    assert result.code == 1
    assert "403" in result.err or "401" in result.err
    for secret in (wrong, "wrong-key-98765", SECRET, "secret-test-1234"):
        assert secret not in result.err
        assert secret not in result.out


def test_no_key_is_exit_1_with_401(capsys, keyed_sim: SimServer) -> None:
    result = cli(capsys, "list", "--base-url", keyed_sim.base_url, "--provider", "openai")
    assert result.code == 1
    assert "401" in result.err


def test_right_key_is_exit_0(capsys, monkeypatch, keyed_sim: SimServer) -> None:
    monkeypatch.setenv("BATCHTOP_TEST_KEY", SECRET)
    result = cli(
        capsys, "list", "--base-url", keyed_sim.base_url, "--provider", "openai", "--api-key-env", "BATCHTOP_TEST_KEY"
    )
    assert result.code == 0, result.err
    assert len(table_ids(result.out)) == len(keyed_sim.world.batches("openai"))
    assert SECRET not in result.out + result.err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--provider", "open ai"], "'open ai' is not a provider name"),
        (["--provider", "openai", "--interval", "0"], "--interval"),
        (["--provider", "openai", "--interval", "-1"], "--interval"),
        (["--provider", "openai", "--interval", "abc"], "--interval"),
        (["--provider", "openai", "--profile", "nope"], "nope"),
    ],
    ids=["malformed-provider", "interval-0", "interval-negative", "interval-abc", "unknown-profile"],
)
def test_usage_errors_are_exit_2(url: str, args: list[str], needle: str) -> None:
    result = run_cli("list", "--base-url", url, *args)
    no_traceback(result)
    assert result.code == 2
    assert needle in result.err
    assert result.out == ""


def test_broken_config_is_exit_2_naming_file_and_line(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "broken.toml",
        """\
[profiles.prod]
base_url = "https://bifrost.example.com"
providers = ["openai"
interval = 3
""",
    )
    result = run_cli("list", env={"BATCHTOP_CONFIG": str(config)})
    no_traceback(result)
    assert result.code == 2
    assert str(config) in result.err
    assert "line 4" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_plain_http_to_another_host_is_refused() -> None:
    result = run_cli("list", "--base-url", "http://example.com", "--provider", "openai")
    no_traceback(result)
    assert result.code == 2
    assert "example.com" in result.err
    assert "--allow-insecure-http" in result.err


@pytest.mark.parametrize("where", ["before", "after"])
def test_allow_insecure_http_passes_the_check(where: str) -> None:
    flags = ["--base-url", "http://example.com", "--provider", "openai"]
    args = ["--allow-insecure-http", *flags, "list"] if where == "before" else ["list", *flags, "--allow-insecure-http"]
    session = open_session(SessionRequest.from_args(build_parser().parse_args(args)))  # no request is sent
    try:
        assert session.profile.base_url.startswith("http://example.com")
    finally:
        session.close()


def test_allow_insecure_http_in_profile_passes_the_check(monkeypatch, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        """\
[profiles.lan]
base_url = "http://gateway.internal:8080"
providers = ["openai"]
allow_insecure_http = true
""",
    )
    monkeypatch.setenv("BATCHTOP_CONFIG", str(config))
    session = open_session(SessionRequest.from_args(build_parser().parse_args(["list"])))
    try:
        assert session.profile_name == "lan"
    finally:
        session.close()


# -- 5b. the session request: what the flags ask to connect to ------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_session_request_from_the_flags_either_side_of_the_subcommand(where: str) -> None:
    flags = [
        "--profile",
        "prod",
        "--base-url",
        "https://b.example.com",
        "--provider",
        "openai",
        "--provider",
        "gemini",
        "--api-key-env",
        "KEY",
        "--interval",
        "2.5",
        "--read-only",
        "--allow-insecure-http",
        "--demo",
    ]
    args = [*flags, "list"] if where == "before" else ["list", *flags]
    assert SessionRequest.from_args(build_parser().parse_args(args)) == SessionRequest(
        profile="prod",
        base_url="https://b.example.com",
        providers=("openai", "gemini"),
        api_key_env="KEY",
        interval=2.5,
        read_only=True,
        allow_insecure_http=True,
        demo=True,
    )


@pytest.mark.parametrize("argv", [["list"], ["show", "b1"], ["cancel", "b1"], ["profiles", "list"], []])
def test_no_flags_make_the_default_request(argv: list[str]) -> None:
    assert SessionRequest.from_args(build_parser().parse_args(argv)) == SessionRequest()


def test_a_request_opens_a_profile_by_name_without_a_command_line(monkeypatch, tmp_path: Path, url: str) -> None:
    """What the board does to switch profiles: a typed request, no argparse Namespace."""
    config = write_config(
        tmp_path / "config.toml",
        f"""\
default_profile = "a"

[profiles.a]
base_url = "{url}"
providers = ["openai"]

[profiles.b]
base_url = "{url}"
providers = ["gemini", "anthropic"]
""",
    )
    monkeypatch.setenv("BATCHTOP_CONFIG", str(config))
    for request, name, providers, read_only in [
        (SessionRequest(), "a", ["openai"], False),
        (SessionRequest(profile="b"), "b", ["gemini", "anthropic"], False),
        (SessionRequest(profile="b", read_only=True), "b", ["gemini", "anthropic"], True),
        (SessionRequest(profile="b", providers=("gemini",)), "b", ["gemini"], False),
    ]:
        session = open_session(request)
        try:
            assert (session.profile_name, session.profile.providers, session.profile.read_only) == (
                name,
                providers,
                read_only,
            )
        finally:
            session.close()


def test_open_session_still_takes_a_namespace(monkeypatch, tmp_path: Path, url: str) -> None:
    """tui/ui/app.py passes an argparse.Namespace until it builds a SessionRequest itself."""
    import argparse

    config = write_config(
        tmp_path / "config.toml",
        f"""\
[profiles.b]
base_url = "{url}"
providers = ["gemini"]
""",
    )
    monkeypatch.setenv("BATCHTOP_CONFIG", str(config))
    session = open_session(argparse.Namespace(profile="b", read_only=True))
    try:
        assert (session.profile_name, session.profile.read_only) == ("b", True)
    finally:
        session.close()


# -- 6. profiles --------------------------------------------------------------------


def test_profiles_add_list_show_remove(capsys, monkeypatch, tmp_path: Path) -> None:
    key = "sk-bf-abcdef1234"
    config = tmp_path / "cfg" / "config.toml"
    monkeypatch.setenv("BATCHTOP_CONFIG", str(config))
    monkeypatch.setenv("BIFROST_KEY", key)
    everything = ""

    result = cli(capsys, "profiles", "list")
    assert result.code == 0
    assert "no profiles" in result.out
    assert not config.exists()

    result = cli(
        capsys,
        "profiles",
        "add",
        "prod",
        "--base-url",
        "https://bifrost.example.com",
        "--provider",
        "openai",
        "--provider",
        "anthropic",
        "--api-key-env",
        "BIFROST_KEY",
    )
    everything += result.out + result.err
    assert result.code == 0, result.err
    assert config.exists()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600

    result = cli(capsys, "profiles", "list")
    everything += result.out + result.err
    assert result.code == 0
    rows = result.out.splitlines()
    assert rows[0].split()[0] == "NAME"
    assert any(r.split()[0] == "prod" and "https://bifrost.example.com" in r for r in rows[1:])

    result = cli(capsys, "profiles", "show", "prod")
    everything += result.out + result.err
    assert result.code == 0, result.err
    key_line = next(line for line in result.out.splitlines() if line.startswith("key"))
    # A 10-character secret is too short to show even its tail (see tui.config.keys).
    assert "sk-bf-…" in key_line
    assert "BIFROST_KEY" in key_line

    result = cli(capsys, "profiles", "add", "prod", "--base-url", "https://other.example.com", "--provider", "openai")
    everything += result.out + result.err
    assert result.code == 2
    assert "--replace" in result.err
    assert "bifrost.example.com" in config.read_text()  # untouched

    result = cli(capsys, "profiles", "remove", "nope")
    everything += result.out + result.err
    assert result.code == 2
    assert "nope" in result.err

    result = cli(capsys, "profiles", "remove", "prod")
    everything += result.out + result.err
    assert result.code == 0
    assert "prod" not in cli(capsys, "profiles", "list").out

    assert key not in everything
    assert "abcdef1234" not in everything


def test_profiles_show_long_key_masked_to_its_tail(monkeypatch, tmp_path: Path) -> None:
    key = "sk-bf-abcdefghijkl1234"
    config = tmp_path / "config.toml"
    monkeypatch.setenv("BATCHTOP_CONFIG", str(config))
    env = {"BIFROST_KEY": key}
    add = run_cli(
        "profiles",
        "add",
        "prod",
        "--base-url",
        "https://bifrost.example.com",
        "--provider",
        "openai",
        "--api-key-env",
        "BIFROST_KEY",
        env=env,
    )
    assert add.code == 0, add.err
    show = run_cli("profiles", "show", "prod", env=env)
    no_traceback(show)
    assert show.code == 0, show.err
    assert "sk-bf-…1234" in show.out
    for text in (add.out, add.err, show.out, show.err, config.read_text()):
        assert key not in text
        assert "abcdefghijkl" not in text


# -- 6b. no command: the board ------------------------------------------------------------


def test_no_command_opens_the_board_with_the_flags(monkeypatch) -> None:
    import tui.ui.app

    seen: list[object] = []
    monkeypatch.setattr(tui.ui.app, "run_app", lambda args: seen.append(args) or 0)
    assert main(["--profile", "prod", "--read-only"]) == 0
    (args,) = seen
    assert SessionRequest.from_args(args) == SessionRequest(profile="prod", read_only=True)


def test_a_config_error_opening_the_board_is_exit_2(capsys, monkeypatch) -> None:
    import tui.ui.app

    def broken(args: object) -> int:
        raise ConfigError("no profile 'prod'")

    monkeypatch.setattr(tui.ui.app, "run_app", broken)
    result = cli(capsys)
    assert (result.code, result.out, result.err) == (2, "", "batchtop: no profile 'prod'\n")


# -- 7. no Textual in headless commands ---------------------------------------------


def imported_modules(importtime_stderr: str) -> list[str]:
    names = [
        line.rsplit("|", 1)[1].strip() for line in importtime_stderr.splitlines() if line.startswith("import time:")
    ]
    return [n for n in names if n != "package"]  # drop the header line


@pytest.mark.parametrize("command", ["list", "profiles", "help"])
def test_headless_commands_never_import_textual(url: str, command: str) -> None:
    args = {
        "list": ["list", "--base-url", url, "--provider", "openai"],
        "profiles": ["profiles", "list"],
        "help": ["--help"],
    }[command]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui", *args],
        cwd=REPO,
        env=os.environ.copy(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = imported_modules(proc.stderr)
    assert "tui.cli" in modules  # the check below is looking at a real import log
    if command == "list":
        assert {"tui.cli.dispatch", "tui.cli.listing"} <= set(modules)
    textual = [m for m in modules if m == "textual" or m.startswith("textual.")]
    assert textual == []


# -- 8. sim subcommand --------------------------------------------------------------


def read_line(stream, timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, f"no line within {timeout} s"
    return stream.readline()


def test_sim_subcommand_serves_and_stops_on_ctrl_c(capsys) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "sim", "--port", str(port), "--seed", "3", "--quiet"],
        cwd=REPO,
        env=os.environ.copy(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = read_line(proc.stdout, 15)
        assert f"127.0.0.1:{port}" in banner

        result = cli(capsys, "list", "--provider", "openai", "--base-url", f"http://127.0.0.1:{port}")
        assert result.code == 0, result.err
        # Same seed, same ids: the standalone simulator is the same world.
        expected = SimServer(seed=3).world.batches("openai")
        assert sorted(table_ids(result.out)) == sorted(str(b["id"]) for b in expected)

        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert "Traceback" not in err
    assert code == 0, err


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_sim_on_busy_port_fails_with_a_clear_message(busy_port: int) -> None:
    result = run_cli("sim", "--port", str(busy_port), "--quiet", timeout=15)
    no_traceback(result)
    assert result.code != 0
    assert f"127.0.0.1:{busy_port}" in result.err
    assert "in use" in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err


def test_sim_on_busy_port_is_exit_2(busy_port: int) -> None:
    result = run_cli("sim", "--port", str(busy_port), "--quiet", timeout=15)
    assert result.code == 2


# -- 9. --demo ----------------------------------------------------------------------


def test_demo_list_needs_no_config_and_writes_none(hermetic_dirs: Path) -> None:
    config_dir = hermetic_dirs / "config"
    result = run_cli("--demo", "list")
    no_traceback(result)
    assert result.code == 0, result.err
    ids = table_ids(result.out)
    assert len(ids) >= 8
    assert list(config_dir.rglob("*")) == []


def test_demo_ignores_a_broken_user_config(capsys, hermetic_dirs: Path) -> None:
    config = hermetic_dirs / "config" / "batchtop" / "config.toml"
    config.parent.mkdir()
    broken = "[profiles.prod\nbase_url = 1\n"
    config.write_text(broken)
    result = cli(capsys, "list", "--demo", "--provider", "openai")
    assert result.code == 0, result.err
    assert len(table_ids(result.out)) >= 8
    assert config.read_text() == broken


# -- extra: piping into head ----------------------------------------------------------


def test_list_into_a_closed_pipe_has_no_traceback(url: str) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "list",
            "--json",
            "--base-url",
            url,
            "--provider",
            "openai",
            "--provider",
            "anthropic",
        ],
        cwd=REPO,
        env=os.environ.copy(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # the reader (`head`) has gone away before the output comes
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err, err


# -- issue 8: providers are an open set; incomplete lists are said --------------------------------


def test_unknown_provider_is_listed_with_a_warning(capsys) -> None:
    """A provider batchtop knows nothing of (Bifrost keeps adding them; deployments name
    custom ones) is accepted, read OpenAI-shaped, and named in a warning on stderr."""
    with SimServer(seed=7, frozen=True, start_time=START, providers=("siliconflow",)) as sim:
        result = cli(capsys, "list", "--base-url", sim.base_url, "--provider", "siliconflow")
        assert result.code == 0, result.err
        assert "warning: provider 'siliconflow' is not one batchtop knows" in result.err
        assert len(table_ids(result.out)) == len(sim.world.batches("siliconflow"))


def test_list_says_when_the_gateway_repeats_its_first_page(capsys) -> None:
    with SimServer(seed=7, frozen=True, start_time=START, batches_per_provider=104, providers=("gemini",)) as sim:
        sim.faults.add(FaultRule("ignore_after", provider="gemini"))
        result = cli(capsys, "list", "--base-url", sim.base_url, "--provider", "gemini")
        assert result.code == 0, result.err
        assert (
            "gemini: the gateway returned only the newest 100 batches (its next page repeats the first)"
        ) in result.err
        assert len(table_ids(result.out)) == 100


def test_list_of_a_provider_the_gateway_cannot_list_is_exit_1(capsys, sim: SimServer, url: str) -> None:
    result = cli(capsys, "list", "--base-url", url, "--provider", "mistral")
    assert result.code == 1
    assert "batch_list is not supported by mistral provider" in result.err


def test_list_fills_in_counts_the_gemini_list_lacks(capsys, sim: SimServer, url: str) -> None:
    """core/providers/gemini/gemini.go batchListByKey sets no counts: `list` retrieves them,
    so a running Gemini batch shows its progress instead of a row of dashes."""
    result = cli(capsys, "list", "--base-url", url, "--provider", "gemini", "--json")
    assert result.code == 0, result.err
    running = [b for b in json.loads(result.out) if b["status"] == "in_progress"]
    assert running and all(b["request_counts"]["pending"] is not None for b in running)
    assert all(b["request_counts"]["total"] > 0 for b in running)


@pytest.mark.parametrize(
    ("argv", "fps"),
    [(["--low-bandwidth"], "4"), (["--max-fps", "10"], "10"), (["--low-bandwidth", "--max-fps", "2"], "2")],
)
def test_frame_cap_reaches_textual_before_it_is_imported(monkeypatch, argv: list[str], fps: str) -> None:
    """Textual reads TEXTUAL_FPS once, at import (textual.constants.MAX_FPS): the board's
    command sets it before importing the app."""
    import tui.ui.app
    from tui.cli import dispatch

    monkeypatch.delenv("TEXTUAL_FPS", raising=False)
    seen: list[str | None] = []
    monkeypatch.setattr(tui.ui.app, "run_app", lambda args: seen.append(os.environ.get("TEXTUAL_FPS")) or 0)
    assert dispatch.run_board(build_parser().parse_args(argv)) == 0
    assert seen == [fps]


@pytest.mark.parametrize("value", ["0", "x", "1000"])
def test_max_fps_rejects_nonsense(capsys, value: str) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["--max-fps", value])
    assert info.value.code == 2 and "--max-fps" in capsys.readouterr().err
