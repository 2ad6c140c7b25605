"""The core never imports Textual, and the headless commands never load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contract_is_kept(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    assert lint_imports(no_cache=True) == 0


def _modules_loaded(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return set(out.stdout.split())


def test_headless_entry_points_do_not_load_textual() -> None:
    cli_modules = sorted(f"tui.cli.{p.stem}" for p in (ROOT / "tui" / "cli").glob("*.py") if p.stem != "__init__")
    assert "tui.cli.dispatch" in cli_modules  # the glob found the package
    loaded = _modules_loaded(
        f"import tui.cli, {', '.join(cli_modules)}, tui.session, tui.api, tui.config, tui.monitor, tui.sim, "
        "tui.cancel.audit, tui.cancel.send"
    )
    assert set(cli_modules) <= loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_simulator_stands_alone() -> None:
    loaded = _modules_loaded("import tui.sim")
    assert not {
        m
        for m in loaded
        if m.split(".")[0] in {"textual", "httpx", "pydantic"} or m.startswith(("tui.api", "tui.config"))
    }


def test_the_command_line_loads_no_client_and_no_command_before_it_runs() -> None:
    """Issue 10 d: start-up imports only what it needs. Parsing the command line needs
    neither httpx nor the commands' modules (tui/cli/dispatch.py imports a command when it
    runs; tui/api/__init__.py imports its names when first used)."""
    loaded = _modules_loaded("import tui.cli; from tui.cli.parser import build_parser; build_parser()")
    assert not {m for m in loaded if m.split(".")[0] in {"httpx", "httpcore", "textual"}}
    assert not loaded & {"tui.api.client", "tui.cli.watch", "tui.cli.listing", "tui.cli.cancel", "tui.cli.audit"}


def test_batchtops_own_process_skips_trio_and_the_httpx_command_line() -> None:
    """httpcore imports trio whenever it is installed (0.15 s of start-up to the first client,
    against 0.035 s without, measured on a 2-core machine); batchtop runs on asyncio only.
    tui/cli/startup.py marks it absent in batchtop's own process, before the client loads."""
    installed = _modules_loaded("import importlib.util; importlib.util.find_spec('trio') and __import__('trio')")
    if "trio" not in installed:
        pytest.skip("trio is not installed here: nothing to skip")
    loaded = _modules_loaded(
        "from tui.cli.startup import skip_unused_imports\n"
        "assert skip_unused_imports() == ['trio', 'httpx._main']\n"
        "import httpx; httpx.AsyncClient(); import sys\n"
        "assert sys.modules['trio'] is None and sys.modules['httpx._main'] is None\n"
        "sys.modules.pop('trio'); sys.modules.pop('httpx._main')"
    )
    assert "httpcore" in loaded and "trio" not in loaded and "httpx._main" not in loaded
    # Where the library is loaded already (the tests, a notebook), nothing is marked.
    assert "trio" in _modules_loaded(
        "import httpx; httpx.AsyncClient()\nfrom tui.cli.startup import skip_unused_imports\n"
        "assert skip_unused_imports() == []"
    )
