"""Shared fixtures: every test runs hermetic, with its own config/state dirs."""

from __future__ import annotations

import pytest

from apphelp import START
from tui.sim import SimServer


@pytest.fixture(autouse=True)
def hermetic_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point platformdirs (XDG on Linux, HOME on macOS) and BATCHTOP_CONFIG at temp dirs."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                     ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        (home / sub).mkdir()
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("BATCHTOP_CONFIG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield home


@pytest.fixture
def sim():
    """The simulator most tests talk to: seed 7, four providers, clock frozen at START."""
    server = SimServer(seed=7, frozen=True, start_time=START).start()
    yield server
    server.stop()


# -- snapshots live in the top-level snapshots/ folder, not tests/__snapshots__ -----------

import pytest_textual_snapshot  # noqa: E402
from pathlib import Path  # noqa: E402

SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "snapshots"


class TopLevelSnapshots(pytest_textual_snapshot.SVGImageExtension):
    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SNAPSHOT_DIR / Path(test_location.filepath).stem)


# snap_compare looks the extension up by this name each time it runs.
pytest_textual_snapshot.SVGImageExtension = TopLevelSnapshots
