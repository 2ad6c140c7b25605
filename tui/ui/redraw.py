"""Redraws fed by the app's signals, guarded: a bug in drawing is logged and said in a
notification, and never ends the app, nor the polling that feeds the screen."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TypeVar

from textual.dom import DOMNode
from textual.signal import Signal

Data = TypeVar("Data")


def guarded(node: DOMNode, draw: Callable[[], object]) -> None:
    """Run ``draw`` (a redraw, or what it shows first); if it fails, say so instead of failing."""
    try:
        draw()
    except Exception as exc:  # noqa: BLE001 — a bug in drawing must not stop the polling that feeds it
        node.log.error(traceback.format_exc())
        node.app.notify(f"internal error while drawing: {type(exc).__name__}", severity="error")


def redraw_on(signal: Signal[Data], node: DOMNode, redraw: Callable[[Data], object]) -> None:
    """Call ``redraw`` at once whenever ``signal`` is published (subscribe from ``on_mount``,
    and let go with :func:`stop_redraws` from ``on_unmount``)."""
    signal.subscribe(node, lambda data: guarded(node, lambda: redraw(data)), immediate=True)


def stop_redraws(node: DOMNode, *signals: Signal) -> None:
    """Unsubscribe ``node``: a signal keeps a subscriber until its next publication, and
    one that is seldom published (a cancel) would keep every closed screen alive till then."""
    for signal in signals:
        signal.unsubscribe(node)
