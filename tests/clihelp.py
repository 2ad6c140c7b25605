"""Running batchtop on a pseudo-terminal, for the prompts that only appear on one."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_in_pty(args: list[str], answer: str, prompt: bytes = b"[y/N]", timeout: float = 30,
               also: tuple[bytes, ...] = ()) -> tuple[int, str, bool]:
    """Run ``python -m tui ARGS`` on a pseudo-terminal; type ``answer`` once ``prompt`` (or any
    of ``also``) has been shown. Returns (exit code, what the terminal showed, prompted)."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "tui", *args], cwd=REPO, env=os.environ.copy(),
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
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
