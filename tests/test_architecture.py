"""The core never imports Textual, and the headless commands never load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
