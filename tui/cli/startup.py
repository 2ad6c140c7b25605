"""What batchtop's own process does before it imports anything heavy.

Two optional imports of its libraries cost start-up and are never used here:

- httpcore imports ``trio`` whenever trio is installed, to support running under trio;
  batchtop runs on asyncio only. Measured on a 2-core machine with trio installed (it
  comes with the test extra's selenium): creating the first client took 0.15 s with it,
  0.035 s without.
- ``import httpx`` imports its command-line tool (``httpx._main``) when click and pygments
  are installed, ~30 ms; batchtop never runs it.

Marking them as absent (``None`` in ``sys.modules``) makes those libraries take the path
they take when the package is not installed. Only the process's entry point does this,
and only for a library not imported yet, so code that imports batchtop (the tests, a
notebook) is left alone.
"""

from __future__ import annotations

import sys

UNUSED_OPTIONAL_IMPORTS = {"trio": "httpcore", "httpx._main": "httpx"}
"""An optional module, and the library that would import it: the module is skipped only
while that library is not loaded yet."""


def skip_unused_imports() -> list[str]:
    """Mark the unused optional modules absent; returns those it marked."""
    skipped = []
    for module, importer in UNUSED_OPTIONAL_IMPORTS.items():
        if importer not in sys.modules and module not in sys.modules:
            sys.modules[module] = None  # type: ignore[assignment]  # "not installed", to import
            skipped.append(module)
    return skipped
