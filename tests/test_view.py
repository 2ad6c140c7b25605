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


# -- the kept order: only what the board replaced is sorted again ---------------------------

STATUSES = ("validating", "in_progress", "finalizing", "cancelling", "completed", "failed", "expired", "cancelled")
FILTERS = ("", "night", "ANTHRO", "completed", "msgbatch_1")


def random_batch(rng, batch_id: str, provider: str) -> Batch:
    total = rng.choice((0, 10, 100))
    done = rng.randint(0, total)
    failed = rng.randint(0, done)
    return batch(
        batch_id,
        provider=provider,
        status=rng.choice(STATUSES),
        created=rng.randint(1, 30),  # ties in creation time: the key breaks them
        completed=done - failed,
        failed=failed,
        name=rng.choice((None, "nightly eval", "backfill")),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def full_sort(board: Board, view: BoardView) -> list:
    return board.sorted_keys(view.sort_order, board.matching(view.filter_text, view.live_only))


def test_a_kept_order_brought_up_to_date_is_the_order_a_full_sort_gives() -> None:
    import random

    orders = [o for o in SortOrder if o is not SortOrder.ETA]  # ETA moves with every sample: sorted each time
    for seed in range(3):
        rng = random.Random(seed)
        clock = Clock()
        shown = Board(clock)
        made = [("openai" if i % 3 else "anthropic", f"{'batch' if i % 3 else 'msgbatch'}_{i}") for i in range(400)]
        shown.apply([random_batch(rng, batch_id, provider) for provider, batch_id in made])
        views = [
            BoardView(filter_text=f, live_only=live, sort_order=o)
            for o in orders
            for f in FILTERS
            for live in (False, True)
        ]
        for view in views:
            assert view.shown(shown) == full_sort(shown, view)
        kept = [view._sorted for view in views]
        for _ in range(20):
            clock.now += 2
            poll = [
                random_batch(rng, batch_id, provider) for provider, batch_id in rng.sample(made, rng.randint(0, 60))
            ]
            # The same objects again, and equal copies: not replaced, so never re-sorted.
            poll += [shown.get(key).batch for key in rng.sample(made, 10)]
            for _ in range(rng.randint(0, 5)):
                made.append(("openai", f"batch_{len(made)}"))
                poll.append(random_batch(rng, made[-1][1], "openai"))
            rng.shuffle(poll)
            shown.apply(poll)
            for view in views:
                assert view.shown(shown) == full_sort(shown, view), (seed, view)
        # Every answer above came from the kept order, not from sorting afresh.
        assert all(view._sorted is sorted_before for view, sorted_before in zip(views, kept))


def test_a_view_far_behind_its_board_or_on_another_board_sorts_afresh() -> None:
    import random

    rng = random.Random(7)
    clock = Clock()
    shown = Board(clock)
    made = [("openai", f"batch_{i}") for i in range(50)]
    shown.apply([random_batch(rng, batch_id, provider) for provider, batch_id in made])
    view = BoardView(sort_order=SortOrder.FAILED)
    assert view.shown(shown) == full_sort(shown, view)
    mark = shown.journal_mark
    for _ in range(1000):  # far more replacements than the board keeps a record of (4,096)
        clock.now += 2
        shown.apply([random_batch(rng, batch_id, provider) for provider, batch_id in rng.sample(made, 5)])
    assert shown.replaced_since(mark) is None
    assert view.shown(shown) == full_sort(shown, view)
    other = Board(clock)  # a profile switched to: a new board, the same view
    other.apply([random_batch(rng, f"other_{i}", "anthropic") for i in range(5)])
    assert view.shown(other) == full_sort(other, view)
    assert view.shown(shown) == full_sort(shown, view)
