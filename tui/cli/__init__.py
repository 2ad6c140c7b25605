"""The ``batchtop`` command: parser, dispatch, one module per command group.

Headless commands never import Textual; the board is imported only when it runs.
"""

from tui.cli.parser import main

__all__ = ["main"]
