"""The batch table's columns fit the terminal, and a changed row costs few escape sequences."""

from __future__ import annotations

import pytest
from apphelp import make_app, table_of, wait_for_polls
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tui.sim import SimServer
from tui.ui.widgets.batch_table import join_same_looks
from tui.ui.widgets.cells import MIN_ID, SCROLLBAR, plan_columns


@pytest.mark.parametrize("width", range(80, 221, 7))
def test_columns_fit_the_width_with_the_scrollbar(width: int) -> None:
    plan = plan_columns(width)
    assert plan.total + SCROLLBAR <= width
    keys = [c.key for c in plan.columns]
    assert {"status", "provider", "id", "progress", "pending", "failed", "eta"} <= set(keys)
    if len(keys) > 8:  # an optional column was added: the id kept its room
        assert plan.widths["id"] >= MIN_ID


def test_wider_terminals_add_the_counts_first() -> None:
    at_120 = {c.key for c in plan_columns(120).columns}
    assert {"succeeded", "canceled"} <= at_120
    assert {c.key for c in plan_columns(160).columns} >= at_120 | {"name", "rate", "age"}


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_no_horizontal_scrollbar_at_common_widths(sim: SimServer, size) -> None:
    # At 120 columns the table used to be 125 wide: its last columns hid behind a
    # horizontal scrollbar, which was repainted at every poll.
    app = make_app(sim)
    async with app.run_test(size=size) as pilot:
        await wait_for_polls(pilot, app, 4)
        table = table_of(app)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert not table.show_horizontal_scrollbar


def test_neighbouring_segments_of_one_look_are_joined() -> None:
    bold = Style(bold=True)
    strip = Strip(
        [
            Segment(" ", bold + Style.from_meta({"row": 3, "column": 0})),
            Segment("▶ in_progress", bold + Style.from_meta({"row": 3, "column": 1})),
            Segment(" openai", Style.from_meta({"row": 3, "column": 2})),
            Segment(" batch_1", Style.from_meta({"row": 3, "column": 3})),
        ]
    )
    joined = join_same_looks(strip)
    assert [s.text for s in joined] == [" ▶ in_progress", " openai batch_1"]
    assert joined.cell_length == strip.cell_length
    assert joined._segments[0].style.meta == {"row": 3, "column": 0}  # a click still finds the row


def test_a_strip_of_different_looks_is_left_alone() -> None:
    strip = Strip([Segment("a", Style(bold=True)), Segment("b", Style(italic=True))])
    assert join_same_looks(strip) is strip


def test_trend_cell_scales_to_its_peak_and_waits_for_two_rates() -> None:
    from tui.ui.widgets.cells import trend_cell

    assert trend_cell([]).plain == "" and trend_cell([5.0]).plain == ""
    assert trend_cell([0.0, 0.0]).plain == "▁▁"
    assert trend_cell([10.0, 5.0, 0.0, 10.0]).plain == "█▅▁█"


def test_trend_column_only_where_everything_else_fits() -> None:
    from tui.ui.widgets.cells import plan_columns

    assert "trend" not in {c.key for c in plan_columns(120).columns}
    assert "trend" in {c.key for c in plan_columns(160).columns}


@pytest.mark.parametrize("width", range(80, 221, 7))
def test_a_tokens_column_only_for_usage_and_only_when_everything_else_fits(width: int) -> None:
    """Issue 12: OpenAI's API carries each batch's usage; a tokens column when wide."""
    plain = plan_columns(width)
    with_tokens = plan_columns(width, tokens=True)
    assert "tokens" not in {c.key for c in plain.columns}
    assert with_tokens.total + SCROLLBAR <= width
    if "tokens" in {c.key for c in with_tokens.columns}:
        assert {c.key for c in with_tokens.columns} - {"tokens"} == {c.key for c in plain.columns}
    assert "tokens" in {c.key for c in plan_columns(160, tokens=True).columns}


def test_token_counts_are_compact() -> None:
    from tui.text.humanize import compact_count

    cases = [(None, "—"), (0, "0"), (9_999, "9,999"), (10_000, "10.0k"), (107_250, "107k"), (8_298_434, "8.3M")]
    assert [compact_count(n) for n, _ in cases] == [text for _, text in cases]
    assert compact_count(3_400_000_000) == "3.4B" and compact_count(250_000_000_000) == "250B"


async def test_the_board_of_an_openai_api_gateway_shows_tokens(sim: SimServer) -> None:
    app = make_app(sim, base_url=sim.base_url + "/openai", api="openai", providers=())
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for_polls(pilot, app, 1)
        table = table_of(app)
        assert "tokens" in [str(key.value) for key in table.columns]
        cells = [str(table.get_cell_at((row, list(table.columns).index("tokens")))) for row in range(table.row_count)]
        assert any(cell.strip() not in ("—", "0", "") for cell in cells)


async def test_the_count_strip_sums_tokens_when_the_gateway_gives_them(sim: SimServer) -> None:
    from tui.ui.widgets.counts import CountTile

    app = make_app(sim, base_url=sim.base_url + "/openai", api="openai", providers=())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_polls(pilot, app, 1)
        await pilot.pause(0.1)
        tile = app.screen.query_one("#count-tokens", CountTile)
        used = sum(t.batch.usage.total or 0 for t in app.board.tracked() if t.batch.usage is not None)
        assert used > 0 and tile.display
        assert app.board.summary().tokens == used
        shown = str(tile.query(".value").first().render())
        assert shown in (f"{used:,}", f"{used / 1e6:.1f}M")
    plain = make_app(sim)
    async with plain.run_test(size=(80, 24)) as pilot:
        await wait_for_polls(pilot, plain, 4)
        assert not plain.screen.query_one("#count-tokens", CountTile).display
        assert plain.board.summary().tokens is None


# -- a table fed by hand: what it holds is what a fresh build would show ---------------------


def _batch(batch_id: str, rng, *, status: str | None = None, created: int | None = None):
    from tui.api import Batch

    done = rng.randint(0, 100)
    return Batch.from_wire(
        {
            "id": batch_id,
            "status": status or rng.choice(("in_progress", "validating", "completed", "failed", "cancelled")),
            "created_at": created if created is not None else rng.randint(1, 500),
            "request_counts": {"total": 100, "completed": done, "failed": rng.randint(0, 100 - done)},
        },
        "openai",
    )


def _table_app():
    from textual.app import App

    from tui.ui.widgets.batch_table import BatchTable

    class TableApp(App):
        def compose(self):
            yield BatchTable()

    return TableApp()


def _table_order(table) -> list:
    from tui.ui.widgets.batch_table import batch_key_of

    return [batch_key_of(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


async def test_a_table_fed_polls_holds_the_view_s_rows_in_order_and_none_stale() -> None:
    """Random polls (rows changed on and off screen, added, leaving a live-only view, entering
    it) shown with only the keys each touched: the table then holds exactly the view's rows, in
    its order, and every row's cells — those on screen and those not — are what a fresh build
    of it gives (a row off screen that changed must not keep its old cells); rows on screen
    brought again unchanged keep the very cells they were drawn from."""
    import random

    from tui.monitor import Board, BoardView, SortOrder
    from tui.ui.widgets.batch_table import BatchTable

    rng = random.Random(3)
    clock = [1_000_020.0]
    board = Board(lambda: clock[0])
    ids = [f"batch_{i}" for i in range(300)]
    board.apply([_batch(i, rng) for i in ids])
    app = _table_app()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(BatchTable)
        table.layout_for(120)
        for order, live_only in ((SortOrder.NEWEST, False), (SortOrder.FAILED, True), (SortOrder.STATUS, True)):
            clock[0] += 60 - clock[0] % 60  # the start of a minute: ages stay put over the polls below
            view = BoardView(sort_order=order, live_only=live_only)
            table.show(board, view.shown(board), clock[0])
            for step in range(12):
                clock[0] += 2
                poll = [_batch(i, rng, created=board.get(("openai", i)).batch.created_at) for i in rng.sample(ids, 40)]
                ids += [f"batch_{len(ids) + n}" for n in range(rng.randint(0, 3))]
                poll += [_batch(i, rng) for i in ids if ("openai", i) not in board]
                change = board.apply(poll)
                table.show(board, view.shown(board), clock[0], touched=change.seen)
                if step % 4 == 3:
                    table.scroll_to(y=rng.randint(0, max(table.row_count - 10, 0)), animate=False)
                    await pilot.pause()
                assert _table_order(table) == view.shown(board), (order, step)
                if step % 4 == 3:
                    # The rows drawn after the scroll, brought again unchanged, keep their
                    # cells (and so their renderings): nothing is built anew for nothing.
                    top, height = table.scroll_offset.y, table.scrollable_content_region.height
                    on_screen = set(_table_order(table)[top : top + height])
                    drawn = {key: row.cells for key, row in table._rows.items() if key in on_screen and row.cells}
                    assert drawn
                    table.show(board, view.shown(board), clock[0], touched=list(drawn))
                    assert all(table._rows[key].cells is cells for key, cells in drawn.items()), (order, step)
                for key, row in table._rows.items():
                    assert [c.plain for c in row.get()] == [c.plain for c in table._build(key)], (order, step, key)


def _looks(lines: list[list[Segment]]) -> list[list[tuple[str, Style | None]]]:
    return [[(segment.text, segment.style) for segment in Segment.simplify(line)] for line in lines]


@pytest.mark.parametrize(("size", "theme"), [((80, 24), "textual-dark"), ((160, 40), "ansi-light")])
async def test_the_tables_own_cell_rendering_is_what_datatable_renders(sim: SimServer, size, theme) -> None:
    """BatchTable renders a one-line cell itself (``_one_line_cell``: a quarter of the cost of
    Rich's Padding and render_lines, issue 10 d); every cell of a board, in every state the
    cursor and hover give it, must come out as DataTable's own ``_render_cell`` makes it:
    the same text in the same styles, the mouse's row and column included."""
    from textual.widgets import DataTable

    from tui.ui.widgets.batch_table import LazyCell

    app = make_app(sim)
    async with app.run_test(size=size) as pilot:
        app.theme = theme
        await wait_for_polls(pilot, app, 4)
        table = table_of(app)
        base = table.rich_style
        compared = 0
        for row in range(min(table.row_count, 40)):
            for column, spec in enumerate(table.ordered_columns):
                cell = table._get_row_renderables(row).cells[column]
                assert isinstance(cell, LazyCell)
                width = spec.get_render_width(table)
                for cursor, hover in ((False, False), (True, False), (False, True), (True, True)):
                    own = table._one_line_cell(cell.text, row, column, base, width, cursor, hover)
                    if own is None:
                        continue
                    table._update_count += 1  # past DataTable's own cache
                    assert _looks(own) == _looks(DataTable._render_cell(table, row, column, base, width, cursor, hover))
                    compared += 1
        assert compared > 500


async def test_only_drawn_rows_have_their_cells_made_and_a_whole_row_reads_whole() -> None:
    """Issue 10 d: the table's rows hold their cells in a map that makes each one when
    DataTable first asks for it (tui/ui/widgets/batch_table.py ``_RowCells``): at 10,000
    rows, making 110,000 cells up front was most of adding them. A row off screen has none
    made; reading a whole row (DataTable's get_row, a sort) still gives every cell."""
    sim = SimServer(providers=["openai"], batches_per_provider=4, history=120, frozen=True).start()
    try:
        app = make_app(sim, providers=("openai",))
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for_polls(pilot, app, 1)
            await pilot.pause(0.3)
            table = table_of(app)
            assert table.row_count == 124
            made = [dict.__len__(cells) for cells in table._data.values()]
            columns = len(table.ordered_columns)
            drawn = sum(1 for n in made if n)
            assert 0 < drawn <= table.scrollable_content_region.height + 2  # what is on screen
            assert all(n in (0, columns) for n in made)
            last = table.ordered_rows[-1].key
            assert dict.__len__(table._data[last]) == 0
            cells = table.get_row(last)  # off screen: read whole all the same
            assert len(cells) == columns and all(str(c) == c.plain for c in cells)
            assert [str(c) for c in cells][0] == table._rows[tuple(last.value.split("\x00"))].get()[0].plain
            assert len(table._data[last]) == columns and list(table._data[last]) == [
                c.key for c in table.ordered_columns
            ]
    finally:
        sim.stop()
