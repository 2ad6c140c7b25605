"""Partial screen updates that start where the change starts.

Textual writes a partial update (a widget's ``refresh(region)``) from the left edge of the
widget's strip to the end of the region: ``ChopsUpdate.render_segments`` in
textual/_compositor.py crops a strip at its end but never at its start (Textualize/textual
issue #5625). For the batch table that means a row whose counts moved is sent from its
first column — status, provider, id, name — though only the counts changed.

:func:`install` replaces that method with one that also crops at the start, where the cut
is clean: at a segment boundary, or inside a segment of single-width characters. A cut
through a double-width character would leave half of it to a space, so there the update
starts at the strip's edge, as Textual's own does. Nothing else changes: the same strips,
the same cursor moves, the same order. Installed once, when the board starts; the test in
tests/test_partial_update.py checks, with a terminal emulator, that the screen after a
cropped update equals the screen after a full one.
"""

from __future__ import annotations

import inspect

from rich.cells import cell_len
from rich.console import Console
from rich.control import Control
from textual._compositor import ChopsUpdate
from textual.strip import Strip

_EXPECTED_FIELDS = ("self", "chops", "spans", "chop_ends")


def clean_cut(strip: Strip, offset: int) -> bool:
    """A cut ``offset`` cells into ``strip`` splits no double-width character."""
    position = 0
    for segment in strip:
        if position >= offset:
            return True
        length = cell_len(segment.text)
        if position + length > offset:
            return len(segment.text) == length
        position += length
    return True


def render_segments(self: ChopsUpdate, console: Console) -> str:
    """ChopsUpdate.render_segments, cropping each chop to the update's start as well."""
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        for end, (x, strip) in zip(self.chop_ends[y], self.chops[y].items()):
            if strip is None or x >= x2 or end <= x1:
                continue
            start = x1 - x if x < x1 and clean_cut(strip, x1 - x) else 0
            stop = min(end, x2) - x
            if start or stop < strip.cell_length:
                strip = strip.crop(start, stop)
            append(move_to(x + start, y).segment.text)
            append(strip.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def install() -> bool:
    """Use :func:`render_segments` for Textual's partial updates; False (and Textual's own
    left as it is) when ChopsUpdate is not the one this was written against."""
    if ChopsUpdate.render_segments is render_segments:
        return True
    fields = tuple(inspect.signature(ChopsUpdate.__init__).parameters)
    if fields != _EXPECTED_FIELDS:
        return False
    ChopsUpdate.render_segments = render_segments  # type: ignore[method-assign]
    return True
