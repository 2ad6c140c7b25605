"""Partial updates cropped at their start leave the terminal exactly as Textual's own do,
with fewer bytes (checked on pyte, a terminal emulator)."""

from __future__ import annotations

import pyte
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate
from textual.strip import Strip

from tui.ui import partial_update

ORIGINAL = ChopsUpdate.render_segments
if ORIGINAL is partial_update.render_segments:  # installed by an app made earlier in the run
    raise RuntimeError("import this test before any BatchtopApp is made")  # pragma: no cover

WIDTH = 40
CONSOLE = Console(color_system="truecolor", width=WIDTH, force_terminal=True)


def strip_of(*parts: tuple[str, str]) -> Strip:
    return Strip([Segment(text, Style.parse(style) if style else None) for text, style in parts])


def screen_after(*writes: str) -> list[str]:
    screen = pyte.Screen(WIDTH, 2)
    stream = pyte.Stream(screen)
    for data in writes:
        stream.feed(data)
    return [line.rstrip() for line in screen.display]


def full_line(strip: Strip) -> str:
    return "\x1b[1;1H" + strip.render(CONSOLE)


def update(strip: Strip, x1: int, x2: int) -> ChopsUpdate:
    return ChopsUpdate([{0: strip}], [(0, x1, x2)], [[strip.cell_length]])


BEFORE = strip_of(("▶ in_progress ", "bold"), ("openai  batch_1 ", ""), ("1,200", "red"), ("  300  ", ""))
AFTER = strip_of(("▶ in_progress ", "bold"), ("openai  batch_1 ", ""), ("1,250", "red"), ("  250  ", ""))
START = 30  # the counts; everything before is unchanged


def test_a_cropped_update_leaves_the_screen_a_full_one_would() -> None:
    ours = partial_update.render_segments(update(AFTER, START, AFTER.cell_length), CONSOLE)
    textuals = ORIGINAL(update(AFTER, START, AFTER.cell_length), CONSOLE)
    expected = screen_after(full_line(AFTER))
    assert screen_after(full_line(BEFORE), ours) == expected
    assert screen_after(full_line(BEFORE), textuals) == expected
    assert len(ours) < len(textuals) / 2
    assert "in_progress" not in ours


def test_a_cut_through_a_wide_character_starts_at_the_edge() -> None:
    before = strip_of(("name 日本語 ", ""), ("1,200", "red"))
    after = strip_of(("name 日本語 ", ""), ("1,250", "red"))
    # Cell 6 is the right half of 日: the update must not start there.
    assert not partial_update.clean_cut(after, 6)
    ours = partial_update.render_segments(update(after, 6, after.cell_length), CONSOLE)
    assert ours == ORIGINAL(update(after, 6, after.cell_length), CONSOLE)
    assert screen_after(full_line(before), ours) == screen_after(full_line(after))


def test_spans_wholly_inside_and_outside_a_chop() -> None:
    left, right = strip_of(("abc", "")), strip_of(("defgh", "bold"))
    chops = ChopsUpdate([{0: left, 3: right}], [(0, 4, 6)], [[3, 8]])
    ours = partial_update.render_segments(chops, CONSOLE)
    assert "abc" not in ours and "ef" in ours and "g" not in ours
    assert screen_after(full_line(strip_of(("abcxxxxx", ""))), ours)[0] == "abcxefxx"


def test_install_is_idempotent_and_checks_what_it_replaces() -> None:
    assert partial_update.install()
    assert partial_update.install()
    assert ChopsUpdate.render_segments is partial_update.render_segments
