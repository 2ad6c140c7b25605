"""Shared fixtures: every test runs hermetic, with its own config/state dirs; the simulator,
plain and behind TLS with a CA of its own."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from apphelp import START

from tui.sim import SimServer


@pytest.fixture(autouse=True)
def hermetic_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point platformdirs (XDG on Linux, HOME on macOS) and BATCHTOP_CONFIG at temp dirs."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
    ):
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


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """A certificate authority no system trusts."""
    return trustme.CA()


@pytest.fixture
def tls_sim(tls_ca: trustme.CA) -> Iterator[SimServer]:
    """The simulator over https, with a certificate from ``tls_ca`` for 127.0.0.1."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    with SimServer(seed=7, frozen=True, start_time=START, ssl_context=context) as server:
        yield server


@pytest.fixture
def ca_bundle(tls_ca: trustme.CA, tmp_path: Path) -> Path:
    """``tls_ca``'s certificate as a PEM file, for a profile's ca_bundle."""
    path = tmp_path / "gateway-ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


# -- snapshots live in the top-level snapshots/ folder, not tests/__snapshots__ -----------

import pytest_textual_snapshot  # noqa: E402

SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "snapshots"


class TopLevelSnapshots(pytest_textual_snapshot.SVGImageExtension):
    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SNAPSHOT_DIR / Path(test_location.filepath).stem)


# snap_compare looks the extension up by this name each time it runs.
pytest_textual_snapshot.SVGImageExtension = TopLevelSnapshots
