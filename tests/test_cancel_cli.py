"""``batchtop cancel`` for incident response: by ids or ``--all`` by filter.

In-process through ``tui.cli.main`` (fast) against a fresh simulator per test; a real
process on a pseudo-terminal only where the typed confirmation needs a tty.

The simulator's clock is frozen at START (November 2025) while ``--created-after`` with a
duration compares with the real ``time.time()``: the filters below use ISO dates around
START, or durations that are deterministic however late the tests run (every simulated
batch is older than "2h ago").
"""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest
from clihelp import FINISHED, START, Result, run_in_pty, total_cancels
from clihelp import cli as run_main

from tui.cancel.audit import audit_path
from tui.cli import main
from tui.sim import FaultRule, SimServer


def cli(capsys: pytest.CaptureFixture[str], sim: SimServer, *args: str) -> Result:
    """``batchtop cancel ARGS --provider openai`` against ``sim``, in-process."""
    return run_main(capsys, "cancel", *args, "--provider", "openai", "--base-url", sim.base_url)


def openai(sim: SimServer) -> list[dict]:
    return list(sim.world.batches("openai"))


def live_ids(sim: SimServer, where=lambda b: True) -> set[str]:
    return {str(b["id"]) for b in openai(sim) if b["status"] not in FINISHED and where(b)}


def listed(out: str) -> set[str]:
    """The ids under "Would cancel …:" / "Cancelling …:" (two-space indented lines)."""
    return {line.split()[0] for line in out.splitlines() if line.startswith("  ")}


def cancels(sim: SimServer) -> dict[str, int]:
    return {str(b["id"]): sim.world.cancel_count("openai", str(b["id"])) for b in openai(sim)}


def audit_lines() -> list[dict]:
    path = audit_path()
    if not path.exists():
        return []
    return [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines() if raw.strip()]


def cancel_path(batch_id: str) -> str:
    return f"/v1/batches/{urllib.parse.quote(batch_id, safe='')}/cancel"


# -- --all --dry-run: what would be cancelled --------------------------------------------


def test_dry_run_lists_exactly_the_live_batches_and_sends_nothing(capsys, sim: SimServer) -> None:
    result = cli(capsys, sim, "--all", "--dry-run")
    assert result.code == 0, result.err
    expected = live_ids(sim)
    assert len(expected) == 4
    assert listed(result.out) == expected
    for batch in openai(sim):
        if batch["status"] in FINISHED:
            assert f"{batch['id']}: already" in result.out  # said skipped, not listed
    assert "dry run: nothing sent (4 would be cancelled)" in result.out
    assert total_cancels(sim) == 0
    assert audit_lines() == []


@pytest.mark.parametrize("status", ["in_progress", "validating"])
def test_dry_run_status_filter(capsys, sim: SimServer, status: str) -> None:
    result = cli(capsys, sim, "--all", "--dry-run", "--status", status)
    assert result.code == 0, result.err
    expected = live_ids(sim, lambda b: b["status"] == status)
    assert expected
    assert listed(result.out) == expected
    assert total_cancels(sim) == 0


def test_dry_run_repeated_status_is_either(capsys, sim: SimServer) -> None:
    result = cli(capsys, sim, "--all", "--dry-run", "--status", "in_progress", "--status", "validating")
    assert listed(result.out) == live_ids(sim)


def test_dry_run_metadata_filter(capsys, sim: SimServer) -> None:
    job = next(b["metadata"]["job"] for b in openai(sim) if b["status"] == "in_progress" and b.get("metadata"))
    expected = live_ids(sim, lambda b: (b.get("metadata") or {}).get("job") == job)
    assert expected and expected != live_ids(sim)
    result = cli(capsys, sim, "--all", "--dry-run", "--metadata", f"job={job}")
    assert result.code == 0, result.err
    assert listed(result.out) == expected
    # Two pairs must both match.
    team = next(b["metadata"]["team"] for b in openai(sim) if b["id"] in expected)
    both = live_ids(sim, lambda b: (b.get("metadata") or {}).get("job") == job and b["metadata"].get("team") == team)
    result = cli(capsys, sim, "--all", "--dry-run", "--metadata", f"job={job}", "--metadata", f"team={team}")
    assert listed(result.out) == both
    result = cli(capsys, sim, "--all", "--dry-run", "--metadata", "job=no-such-job")
    assert listed(result.out) == set() and "nothing to cancel" in result.out
    assert total_cancels(sim) == 0


def test_dry_run_created_after(capsys, sim: SimServer) -> None:
    # A date long before every batch: all; long after: none.
    assert listed(cli(capsys, sim, "--all", "--dry-run", "--created-after", "2000-01-01").out) == live_ids(sim)
    result = cli(capsys, sim, "--all", "--dry-run", "--created-after", "2999-01-01")
    assert result.code == 0 and listed(result.out) == set() and "nothing to cancel" in result.out
    # "2h" is measured from the real now: every simulated batch (November 2025) is older.
    assert time.time() > START + 3 * 3600
    assert listed(cli(capsys, sim, "--all", "--dry-run", "--created-after", "2h").out) == set()
    # An hour before START (05:53Z): only the newer ones.
    cutoff = "2025-11-25T04:53:20Z"
    expected = live_ids(sim, lambda b: b["created_at"] >= START - 3600)
    assert expected and expected != live_ids(sim)
    assert listed(cli(capsys, sim, "--all", "--dry-run", "--created-after", cutoff).out) == expected
    # Filters combine.
    both = live_ids(sim, lambda b: b["created_at"] >= START - 3600 and b["status"] == "in_progress")
    assert (
        listed(cli(capsys, sim, "--all", "--dry-run", "--created-after", cutoff, "--status", "in_progress").out) == both
    )
    assert total_cancels(sim) == 0


def test_bad_created_after_is_a_usage_error(capsys, sim: SimServer) -> None:
    result = cli(capsys, sim, "--all", "--dry-run", "--created-after", "yesterday-ish")
    assert result.code == 2
    assert "--created-after" in result.err and "Traceback" not in result.err
    assert total_cancels(sim) == 0


# -- --all for real --------------------------------------------------------------------


def test_all_without_yes_is_refused(capsys, sim: SimServer) -> None:
    result = cli(capsys, sim, "--all")
    assert result.code == 2
    assert "--yes" in result.err
    result = cli(capsys, sim, "--all", "--status", "in_progress")
    assert result.code == 2
    assert total_cancels(sim) == 0
    assert audit_lines() == []


def test_all_yes_cancels_each_matching_batch_once_with_an_audit_line(capsys, sim: SimServer) -> None:
    expected = live_ids(sim)
    result = cli(capsys, sim, "--all", "--yes")
    assert result.code == 0, result.err
    assert cancels(sim) == {i: int(i in expected) for i in cancels(sim)}
    assert f"{len(expected)} accepted, 0 refused, 0 failed" in result.out.splitlines()
    assert "retry" not in result.out
    lines = audit_lines()
    assert len(lines) == len(expected)
    assert {line["batch_id"] for line in lines} == expected
    assert {line["source"] for line in lines} == {"cli"}
    assert {line["outcome"] for line in lines} == {"accepted"}
    assert {line["provider"] for line in lines} == {"openai"}
    assert len({line["session"] for line in lines}) == 1  # one invocation, one session
    assert {line["gateway"] for line in lines} == {f"127.0.0.1:{sim.port}"}


def test_all_yes_with_a_filter_touches_only_the_matching(capsys, sim: SimServer) -> None:
    expected = live_ids(sim, lambda b: b["status"] == "in_progress")
    result = cli(capsys, sim, "--all", "--yes", "--status", "in_progress")
    assert result.code == 0, result.err
    assert cancels(sim) == {i: int(i in expected) for i in cancels(sim)}
    assert f"{len(expected)} accepted, 0 refused, 0 failed" in result.out
    assert len(audit_lines()) == len(expected)


def test_second_all_run_does_not_cancel_the_cancelling_again(capsys, sim: SimServer) -> None:
    expected = live_ids(sim)
    assert cli(capsys, sim, "--all", "--yes").code == 0
    assert all(sim.world.batch("openai", i)["status"] == "cancelling" for i in expected)
    dry = cli(capsys, sim, "--all", "--dry-run")
    assert listed(dry.out) == set(), dry.out
    again = cli(capsys, sim, "--all", "--yes")
    assert "nothing to cancel" in again.out
    assert cancels(sim) == {i: int(i in expected) for i in cancels(sim)}
    assert len(audit_lines()) == len(expected)


@pytest.mark.parametrize(
    "args",
    [
        ["--all", "{id}", "--yes"],
        ["{id}", "--status", "in_progress", "--yes"],
        ["{id}", "--metadata", "job=x", "--yes"],
        ["{id}", "--created-after", "2h", "--yes"],
        ["--yes"],
        ["--all", "--yes", "--metadata", "novalue"],
    ],
)
def test_usage_errors_send_nothing(capsys, sim: SimServer, args: list[str]) -> None:
    batch_id = sorted(live_ids(sim))[0]
    result = cli(capsys, sim, *[a.replace("{id}", batch_id) for a in args])
    assert result.code == 2, result
    assert result.err.startswith("batchtop: ")
    assert total_cancels(sim) == 0
    assert audit_lines() == []


# -- partial failure --------------------------------------------------------------------


def test_any_refused_or_failed_is_exit_1_and_retry_names_only_the_failed(capsys, sim: SimServer) -> None:
    live = sorted(live_ids(sim))
    failed, refused = live[0], live[1]
    sim.faults.add(FaultRule("status", status=503, method="POST", path=cancel_path(failed)))
    sim.faults.add(FaultRule("status", status=409, method="POST", path=cancel_path(refused)))
    result = cli(capsys, sim, "--all", "--yes")
    assert result.code == 1
    assert "2 accepted, 1 refused, 1 failed" in result.out.splitlines()
    retry = [line for line in result.out.splitlines() if line.startswith("retry the failed ones:")]
    assert len(retry) == 1
    command = retry[0].split(":", 1)[1].split()
    assert command[:5] == ["batchtop", "cancel", "--provider", "openai", "--yes"]
    assert command[5:] == [failed]
    assert f"{failed}: failed" in result.err and f"{refused}: refused" in result.err
    assert all(n == int(i in live) for i, n in cancels(sim).items())  # one each, even the failed
    outcomes = {line["batch_id"]: line["outcome"] for line in audit_lines()}
    assert outcomes == {i: "failed" if i == failed else "refused" if i == refused else "accepted" for i in live}

    # Running the printed retry line (the fault gone) sends only that one again.
    sim.faults.clear()
    assert main([*command[1:], "--base-url", sim.base_url]) == 0
    assert cancels(sim)[failed] == 2
    assert all(n == 1 for i, n in cancels(sim).items() if i in live and i != failed)


def test_ids_with_one_failing_is_exit_1(capsys, sim: SimServer) -> None:
    a, b = sorted(live_ids(sim))[:2]
    sim.faults.add(FaultRule("drop", method="POST", path=cancel_path(b)))
    result = cli(capsys, sim, a, b, "--yes")
    assert result.code == 1
    assert "1 accepted, 0 refused, 1 failed" in result.out
    assert result.out.splitlines()[-1].endswith(f"--yes {b}")
    assert "may have reached the gateway" in result.err  # the connection dropped after sending
    assert cancels(sim)[a] == 1 and cancels(sim)[b] == 1


# -- on a terminal: type the number ------------------------------------------------------


@pytest.mark.parametrize(
    "answer, sends",
    [("y\n", False), ("\n", False), ("3\n", False), ("2\n", True)],
    ids=["y", "enter", "wrong-number", "two"],
)
def test_terminal_asks_to_type_the_number(sim: SimServer, answer: str, sends: bool) -> None:
    a, b = sorted(live_ids(sim))[:2]
    code, shown, prompted = run_in_pty(
        ["cancel", a, b, "--provider", "openai", "--base-url", sim.base_url], answer, prompt=b"to cancel them:"
    )
    assert prompted, shown
    assert "Traceback" not in shown
    before = shown.split("to cancel them:")[0]
    assert "Type 2" in before
    assert a in before and b in before
    if sends:
        assert code == 0, shown
        assert "2 accepted, 0 refused, 0 failed" in shown
        assert cancels(sim)[a] == 1 and cancels(sim)[b] == 1
        assert len(audit_lines()) == 2
    else:
        assert code != 0
        assert "Nothing cancelled" in shown
        assert total_cancels(sim) == 0
        assert audit_lines() == []


def test_protected_profile_on_a_terminal_needs_more_than_y(sim: SimServer, tmp_path, monkeypatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.prod]\nbase_url = "{sim.base_url}"\nproviders = ["openai"]\nprotected = true\n', encoding="utf-8"
    )
    config.chmod(0o600)
    monkeypatch.setenv("BATCHTOP_CONFIG", str(config))
    batch_id = sorted(live_ids(sim))[0]
    code, shown, prompted = run_in_pty(["cancel", batch_id], "y\n", prompt=b"[y/N]", timeout=10, also=(b"Type",))
    assert prompted, shown
    assert total_cancels(sim) == 0, shown
    assert code != 0


def test_one_live_batch_beside_a_finished_one_is_typed(sim: SimServer) -> None:
    """tui/cancel/policy.py: one batch to cancel with others left out is typed ("1"), on the
    board and here alike; a "y" sends nothing. The finished one is never sent."""
    live = sorted(live_ids(sim))[0]
    done = next(b["id"] for b in sim.world.batches("openai") if b["status"] in FINISHED)
    args = ["cancel", live, done, "--provider", "openai", "--base-url", sim.base_url]
    code, shown, prompted = run_in_pty(args, "y\n", prompt=b"to cancel it:")
    assert prompted, shown
    assert "Type 1 (one batch)" in shown
    assert code != 0 and total_cancels(sim) == 0
    code, shown, prompted = run_in_pty(args, "1\n", prompt=b"to cancel it:")
    assert prompted, shown
    assert cancels(sim)[live] == 1 and cancels(sim).get(done, 0) == 0
    assert code == 1, shown  # the finished one was not cancelled
