"""batchtop through a real LiteLLM proxy (issue 12): marker ``litellm``, run on purpose.

It installs ``litellm[proxy]`` and ``prisma`` from PyPI into a throwaway venv (about 2.5 min
and 760 MB; ``LITELLM_VENV=DIR`` reuses one), starts the simulator with an upstream key, and
starts the proxy on 127.0.0.1 with an OpenAI deployment whose ``api_base`` is the simulator's
OpenAI API (``/openai/v1``), a master key and no database, as a new user would. Then the
command line lists, shows, cancels and watches through it, the board makes its first poll
through it, and a wrong key and a provider LiteLLM cannot list read as what they are.

    .venv/bin/python -m pytest -m litellm -s -p no:cacheprovider tests/conformance
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from apphelp import make_app, table_of, wait_for_polls
from clihelp import run_cli

from tui.sim import SimServer

pytestmark = pytest.mark.litellm

LITELLM = os.environ.get("LITELLM_SPEC", "litellm[proxy]==1.108.7")
"""What to install: the release this suite last passed with (LITELLM_SPEC=litellm[proxy]
tries the newest)."""
PRISMA = "prisma==0.15.0"
UPSTREAM_KEY = "sk-upstream-conformance-31"
MASTER_KEY = "sk-litellm-master-conformance-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def litellm_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reuse = os.environ.get("LITELLM_VENV")
    venv = Path(reuse) if reuse else tmp_path_factory.mktemp("litellm") / "venv"
    binary = venv / "bin" / "litellm"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        started = time.monotonic()
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", LITELLM, PRISMA],
            check=True,
            timeout=1200,
        )
        print(f"\ninstalled {LITELLM} and {PRISMA} in {time.monotonic() - started:.0f} s")
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"litellm {version}")
    return binary


@pytest.fixture(scope="module")
def upstream():
    server = SimServer(seed=3, api_key=UPSTREAM_KEY).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(litellm_bin: Path, upstream: SimServer, tmp_path_factory: pytest.TempPathFactory):
    """The proxy on a free loopback port; its base URL."""
    here = tmp_path_factory.mktemp("proxy")
    (here / "config.yaml").write_text(
        "model_list:\n"
        "  - model_name: gpt-4o-mini\n"
        "    litellm_params:\n"
        "      model: openai/gpt-4o-mini\n"
        "      api_base: os.environ/SIM_OPENAI_BASE\n"
        "      api_key: os.environ/SIM_KEY\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
    )
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(here),
        "SIM_OPENAI_BASE": upstream.base_url + "/openai/v1",
        "SIM_KEY": UPSTREAM_KEY,
        # list/retrieve/cancel of batches take the provider's credentials from these.
        "OPENAI_API_BASE": upstream.base_url + "/openai/v1",
        "OPENAI_API_KEY": UPSTREAM_KEY,
    }
    log = (here / "proxy.log").open("w")
    process = subprocess.Popen(
        [str(litellm_bin), "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port)],
        cwd=here,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(base + "/health/liveliness", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log.close()
            pytest.fail("LiteLLM proxy did not start:\n" + (here / "proxy.log").read_text()[-3000:])
        time.sleep(0.5)
    yield base
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def flags(proxy: str) -> list[str]:
    return ["--api", "openai", "--base-url", proxy, "--api-key-env", "LITELLM_KEY"]


KEY_ENV = {"LITELLM_KEY": MASTER_KEY}


def test_list_through_the_proxy_is_the_upstreams_list(proxy: str, upstream: SimServer) -> None:
    result = run_cli("list", "--json", *flags(proxy), env=KEY_ENV)
    assert result.code == 0, result.err
    listed = json.loads(result.out)
    assert [b["id"] for b in listed] == [b["id"] for b in upstream.world.batches("openai")]
    assert all(b.get("model") for b in listed)


def test_show_keeps_model_and_tokens(proxy: str, upstream: SimServer) -> None:
    batch_id = next(b["id"] for b in upstream.world.batches("openai") if b["status"] == "in_progress")
    result = run_cli("show", batch_id, "--provider", "openai", *flags(proxy), env=KEY_ENV)
    assert result.code == 0, result.err
    assert "model" in result.out and "tokens" in result.out


def test_cancel_and_watch_through_the_proxy(proxy: str, upstream: SimServer) -> None:
    batch_id = [b["id"] for b in upstream.world.batches("openai") if b["status"] == "in_progress"][-1]
    result = run_cli("cancel", batch_id, "--provider", "openai", "--yes", *flags(proxy), env=KEY_ENV)
    assert result.code == 0, result.err
    assert upstream.world.cancel_count("openai", batch_id) == 1
    watched = run_cli("watch", batch_id, "--timeout", "60s", *flags(proxy), env=KEY_ENV, timeout=90)
    assert watched.code == 3, watched.err  # ended badly: cancelled (watch's own exit codes)
    assert "cancelled" in watched.out


def test_a_key_that_is_not_the_master_key_is_rejected_as_such(proxy: str) -> None:
    result = run_cli("list", *flags(proxy), env={"LITELLM_KEY": "sk-not-the-master"})
    assert result.code == 1
    assert "key rejected: a LiteLLM proxy without a database accepts only its master key" in result.err
    assert "sk-not-the-master" not in result.err


def test_a_provider_litellm_cannot_list_is_said_plainly(proxy: str) -> None:
    result = run_cli("list", *flags(proxy), "--provider", "foo", env=KEY_ENV)
    assert result.code == 1
    assert "400: LiteLLM doesn't support foo for 'list_batch'" in result.err


async def test_the_boards_first_poll_through_the_proxy(proxy: str, upstream: SimServer) -> None:
    app = make_app(upstream, base_url=proxy, api="openai", providers=(), api_key=MASTER_KEY)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_polls(pilot, app, 1)
        assert table_of(app).row_count == len(upstream.world.batches("openai"))
        assert all(h.last_error is None for h in app.runner.health.values())
