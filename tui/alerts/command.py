"""Run the user's alert command for one event, without a shell."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal

from tui.monitor.events import BatchEvent
from tui.text.safe import safe_text

_PLACEHOLDER = re.compile(r"\{(title|message|event|provider|id)\}")


def fill(template: list[str], event: BatchEvent) -> list[str]:
    """Each argument with its placeholders replaced. One pass, so that a value holding
    "{title}" or stray braces is passed on as it is, never expanded again."""
    values = {
        "title": event.title,
        "message": event.message,
        "event": event.event,
        "provider": event.provider,
        "id": event.batch_id,
    }
    return [_PLACEHOLDER.sub(lambda m: values[m[1]], arg) for arg in template]


def _kill(proc: asyncio.subprocess.Process) -> None:
    # The command runs in a session of its own: kill what it started too, or a helper
    # holding stderr open would keep us waiting.
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()


async def run_event_command(template: list[str], event: BatchEvent, timeout: float) -> str | None:
    """Run the command for ``event``; None if it exited 0, otherwise what went wrong."""
    name = f"alert command {safe_text(template[0], 60)!r}"
    argv = fill(template, event)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        return f"{name} not found"
    except PermissionError:
        return f"{name} could not be run: permission denied"
    except (OSError, ValueError) as exc:
        return f"{name} could not be run: {safe_text(exc, 100)}"
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        _kill(proc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)
        return f"{name} timed out after {timeout:g}s"
    finally:
        if proc.returncode is None:  # cancelled: do not leave it running
            _kill(proc)
    if proc.returncode == 0:
        return None
    lines = err.decode("utf-8", "replace").strip().splitlines()
    said = f": {safe_text(lines[0].strip(), 120)}" if lines else ""
    if proc.returncode is not None and proc.returncode < 0:
        return f"{name} was killed by signal {-proc.returncode}{said}"
    return f"{name} exited {proc.returncode}{said}"
