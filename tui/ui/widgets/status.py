"""One-line bars: the header (profile, gateway, modes) and the provider status line."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from tui.monitor import ProviderHealth, ProviderState
from tui.text.safe import safe_text
from tui.ui.widgets.palette import hue

STATE_GLYPHS = {
    ProviderState.CONNECTING: ("…", ""),
    ProviderState.OK: ("✓", "green"),
    ProviderState.STALE: ("!", "bold yellow"),
    ProviderState.UNAVAILABLE: ("×", "dim"),
}


class QuietStatic(Static):
    """A Static that is repainted only when its text changes: over SSH every repaint is
    bytes on the wire, and most polls change nothing a bar shows."""

    _text: Text | str | None = None
    ONE_LINE = True
    """Always one line high: a new text needs no layout pass (which repaints far more)."""

    def show_text(self, text: Text | str) -> None:
        if text != self._text:
            self._text = text
            self.update(text, layout=not self.ONE_LINE)


class HeaderBar(QuietStatic):
    """``batchtop · prod · bifrost.example.com · READ-ONLY · PAUSED``"""

    DEFAULT_CSS = """
    HeaderBar { height: 1; background: $panel; padding: 0 1; }
    """

    def show(
        self,
        profile: str,
        host: str,
        *,
        read_only: bool,
        paused: bool,
        tls_unverified: bool = False,
        attention: int | None = None,
        read_only_of: str | None = None,
        badge: str | None = None,
    ) -> None:
        """``read_only_of`` names the read-only profiles when only some of the board's are;
        ``badge`` comes first after the name (a replay's ``REPLAY 03:12:05 ×10``)."""
        text = Text.assemble(("batchtop", "bold"), " · ", safe_text(profile, 40), " · ", safe_text(host, 60))
        if badge:
            text.append("  ")
            text.append(f" {badge} ", style="bold reverse")
        if attention:
            # A word and a count, not a colour alone; "!" opens the list.
            text.append("  ")
            text.append(
                f" {attention:,} need{'s' if attention == 1 else ''} attention ", style=hue("bold reverse yellow")
            )
        if tls_unverified:
            text.append("  ")
            text.append(" TLS NOT VERIFIED ", style="bold reverse")
        if read_only:
            text.append("  ")
            of = f": {safe_text(read_only_of, 40)}" if read_only_of else ""
            text.append(f" READ-ONLY{of} ", style="bold reverse")
        if paused:
            text.append("  ")
            text.append(" PAUSED ", style="bold reverse")
        self.show_text(text)


class ProviderStatusLine(QuietStatic):
    """Each provider's state: ``openai ✓ · anthropic ! stale 40s · 503 from gateway · retry in 8s``."""

    DEFAULT_CSS = """
    ProviderStatusLine { height: auto; max-height: 3; padding: 0 1; }
    """

    MAX_LINES = 3
    ONE_LINE = False  # wraps to up to three lines
    _measured: tuple[list[tuple[str, str, ProviderState, str]], int] | None = None

    def show(self, health: list[ProviderHealth] | list[tuple[str, ProviderHealth]], now: float) -> None:
        """Each provider's state; given (profile, health) pairs, grouped by profile
        (``prod: ✓ openai, anthropic   staging: ! openai stale 40s · 503 from gateway``)."""
        # Providers in the same state for the same reason share one entry, so that a
        # gateway that is down reads as one line at 80 columns, not one per provider.
        by_origin: dict[str, list[ProviderHealth]] = {}
        words: list[tuple[str, str, ProviderState, str]] = []
        for item in health:
            origin, one = item if isinstance(item, tuple) else ("", item)
            by_origin.setdefault(origin, []).append(one)
            words.append((origin, one.provider, one.state, _detail(one, lambda item: item.describe(now))))
        width = max((self.size.width or self.app.size.width) - 2, 20)
        if (words, width) == self._measured:
            return  # the same words at the same width: nothing to build, wrap or draw again
        self._measured = (words, width)
        text = self._by_origin(by_origin, lambda item: item.describe(now))
        if len(text.wrap(self.app.console, width)) > self.MAX_LINES:
            # Too many different troubles for the full form: name each cause, drop the timings.
            text = self._by_origin(by_origin, lambda item: item.brief())
        self.show_text(text)

    @classmethod
    def _by_origin(cls, by_origin: dict[str, list[ProviderHealth]], detail_of) -> Text:
        if list(by_origin) == [""]:
            return cls._entries(by_origin[""], detail_of)
        text = Text()
        for origin, health in by_origin.items():
            if text:
                text.append("   ")
            text.append(f"{safe_text(origin, 24)}:", style="bold")
            text.append(" ")
            text.append_text(cls._entries(health, detail_of))
        return text

    @staticmethod
    def _entries(health: list[ProviderHealth], detail_of) -> Text:
        groups: dict[tuple[ProviderState, str], list[str]] = {}
        for item in health:
            detail = _detail(item, detail_of)
            groups.setdefault((item.state, detail), []).append(item.provider)
        text = Text()
        for (state, detail), providers in groups.items():
            if text:
                text.append("  ")
            glyph, style = STATE_GLYPHS[state]
            text.append(f"{glyph} ", style=hue(style))
            text.append(safe_text(", ".join(providers), 80))
            if detail:
                # A note beside a healthy provider (an incomplete list) is a caution, not an "ok".
                shade = hue("yellow") if state is ProviderState.OK else hue(style) or "dim"
                text.append(f" {safe_text(detail, 120)}", style=shade)
        return text


def _detail(health: ProviderHealth, detail_of: Callable[[ProviderHealth], str]) -> str:
    """What the line says beside a provider's name: its note when healthy, else its trouble."""
    return (health.note or "") if health.state is ProviderState.OK else detail_of(health)
