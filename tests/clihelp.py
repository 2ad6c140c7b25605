"""Running the batchtop command in tests: in-process, in a fresh process, on a pseudo-terminal;
and what the CLI tests ask of the simulator afterwards."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tui.cli import main
from tui.sim import SimServer

REPO = Path(__file__).resolve().parent.parent
START = 1_764_050_000  # 2025-11-25T05:53:20Z: the frozen clock of conftest's ``sim`` (apphelp.START)
FINISHED = {"completed", "failed", "expired", "cancelled", "canceled", "ended"}
"""The statuses of a batch that is over, as the simulator sends them."""


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """``tui.cli.main(ARGS)`` in-process; argparse's SystemExit becomes the exit code."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return Result(code, out, err)


def total_cancels(sim: SimServer) -> int:
    """Cancel requests the simulator received, over every batch of every provider."""
    return sum(sim.world.cancel_count(p, str(b["id"])) for p in sim.world.providers for b in sim.world.batches(p))


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: int | None = subprocess.DEVNULL, timeout: float = 30
) -> Result:
    """``python -m tui ARGS`` in a fresh process (inherits the hermetic dirs), stdin not a terminal."""
    full_env = os.environ.copy()
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=REPO,
        env=full_env,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_in_pty(
    args: list[str], answer: str, prompt: bytes = b"[y/N]", timeout: float = 30, also: tuple[bytes, ...] = ()
) -> tuple[int, str, bool]:
    """Run ``python -m tui ARGS`` on a pseudo-terminal; type ``answer`` once ``prompt`` (or any
    of ``also``) has been shown. Returns (exit code, what the terminal showed, prompted)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        cwd=REPO,
        env=os.environ.copy(),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    shown = b""
    prompted = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not prompted and any(p in shown for p in (prompt, *also)):
                prompted = True
                os.write(master, answer.encode())
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                shown += chunk
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            pytest.fail(f"batchtop did not finish on the terminal; it showed: {shown!r}")
        code = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, shown.decode("utf-8", "replace"), prompted
