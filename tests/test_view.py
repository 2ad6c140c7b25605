"""The view of the board without Textual: filter, live only, sort order, marks, what is
shown and what a cancel acts on."""

from __future__ import annotations

from tui.api import Batch
from tui.monitor import Board, BoardView, SortOrder


def batch(
    batch_id: str,
    *,
    provider: str = "openai",
    status: str = "in_progress",
    created: int = 1,
    completed: int = 0,
    failed: int = 0,
    name: str | None = None,
) -> Batch:
    body = {
        "id": batch_id,
        "status": status,
        "created_at": created,
        "request_counts": {"total": 100, "completed": completed, "failed": failed},
    }
    if name:
        body["metadata"] = {"name": name}
    return Batch.from_wire(body, provider)


def board() -> Board:
    board = Board(lambda: 1_000_000.0)
    board.apply(
        [
            batch("new", created=4, completed=10),
            batch("mid", created=3, completed=50, failed=9),
            batch("done", created=2, completed=100, status="completed"),
            batch("msgbatch_x", provider="anthropic", created=1, name="nightly eval"),
        ]
    )
    return board


def ids(keys) -> list[str]:
    return [k[1] for k in keys]


def test_everything_is_shown_newest_first_by_default() -> None:
    view = BoardView()
    assert ids(view.shown(board())) == ["new", "mid", "done", "msgbatch_x"]
    assert view.sort_order is SortOrder.NEWEST and not view.live_only and view.filter_text == ""


def test_filter_and_live_only_choose_what_is_shown() -> None:
    shown = board()
    view = BoardView(filter_text="ANTHRO")
    assert ids(view.shown(shown)) == ["msgbatch_x"]
    view.filter_text = "nightly"  # the name counts too
    assert ids(view.shown(shown)) == ["msgbatch_x"]
    view.filter_text = ""
    view.toggle_live_only()
    assert ids(view.shown(shown)) == ["new", "mid", "msgbatch_x"]
    view.filter_text = "completed"
    assert view.shown(shown) == []
    view.toggle_live_only()
    assert ids(view.shown(shown)) == ["done"]


def test_sort_order_cycles_and_orders_what_is_shown() -> None:
    shown = board()
    view = BoardView()
    orders = []
    for _ in range(len(SortOrder)):
        view.next_sort()
        orders.append(view.sort_order)
    assert orders == [SortOrder.PROGRESS, SortOrder.FAILED, SortOrder.ETA, SortOrder.STATUS, SortOrder.NEWEST]
    view.sort_order = SortOrder.FAILED
    assert ids(view.shown(shown))[0] == "mid"
    view.sort_order = SortOrder.PROGRESS
    assert ids(view.shown(shown))[0] == "done"


def test_marks_toggle_add_and_clear() -> None:
    view = BoardView()
    a, b = ("openai", "new"), ("openai", "mid")
    view.toggle_mark(a)
    assert view.marks == {a}
    view.toggle_mark(b)
    view.toggle_mark(a)  # again: unmarked
    assert view.marks == {b}
    view.mark([a, b])
    assert view.marks == {a, b}
    view.unmark(b)
    view.unmark(b)  # not marked: nothing to do
    assert view.marks == {a}
    view.clear_marks()
    assert view.marks == set()


def test_a_cancel_acts_on_the_marks_in_screen_order_else_on_the_selected_batch() -> None:
    shown = board()
    view = BoardView()
    assert view.cancel_targets(shown, None) == []
    assert view.cancel_targets(shown, ("openai", "mid")) == [("openai", "mid")]
    view.mark([("anthropic", "msgbatch_x"), ("openai", "new"), ("openai", "done")])
    # The marks win over the cursor, and come in the order the screen shows them.
    assert ids(view.cancel_targets(shown, ("openai", "mid"))) == ["new", "done", "msgbatch_x"]
    view.sort_order = SortOrder.STATUS
    assert ids(view.cancel_targets(shown, None)) == ["new", "msgbatch_x", "done"]
    # Marks stay even where the filter hides them: a cancel still names them all.
    view.filter_text = "anthropic"
    assert len(view.cancel_targets(shown, None)) == 3


def test_the_line_under_the_table_says_how_the_view_is_chosen() -> None:
    shown = board()
    view = BoardView()
    summary = shown.summary(view.shown(shown))
    assert view.describe(summary) == "4 batches · 3 live · 1 with failures · sort: newest"
    view.toggle_live_only()
    view.filter_text = "open"
    view.next_sort()
    view.mark([("openai", "new"), ("openai", "mid")])
    summary = shown.summary(view.shown(shown))
    assert view.describe(summary) == (
        "2 batches · 2 live · 1 with failures · sort: progress · live only · filter: open · 2 marked"
    )
