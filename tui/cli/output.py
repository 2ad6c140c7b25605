"""What the headless commands print: the error line, aligned columns and fields, JSON.

Everything that came from the gateway or a config is passed through ``safe_text`` by the
command before it reaches these printers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Sequence
from typing import Any, TextIO


def err(message: str) -> None:
    """One line on stderr, named, so it reads well in a script's log."""
    print(f"batchtop: {message}", file=sys.stderr)


def print_columns(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    out: TextIO,
    right_aligned: Collection[int] = (),
) -> None:
    """A table: a header and rows, columns two spaces apart, no trailing blanks."""
    widths = [max([len(header[i]), *(len(row[i]) for row in rows)]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [cell.rjust(widths[i]) if i in right_aligned else cell.ljust(widths[i]) for i, cell in enumerate(cells)]
        return "  ".join(parts).rstrip()

    print(line(header), file=out)
    for row in rows:
        print(line(row), file=out)


def print_fields(fields: Sequence[tuple[str, object]], out: TextIO) -> None:
    """One ``label  value`` line per field, the values lined up."""
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        print(f"{label.ljust(width)}  {value}", file=out)


def print_json(value: Any, out: TextIO) -> None:
    """Indented, ASCII-only JSON (escapes survive any terminal and any pipe), then a newline."""
    json.dump(value, out, indent=2, ensure_ascii=True)
    out.write("\n")
