"""Any launcher gets the server's start-up: ``app.py`` is a ``st.App`` whose lifespan switches
Nagle off before the first connection and warms the imports and the default preset.

Streamlit's own discovery (what ``streamlit run app.py`` does) must find the app; the lifespan is
run as Starlette runs it; and the Dockerfile's command line (what a Hugging Face Space runs) is
started without Docker and serves a session.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import gc
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.web.server.app_discovery import discover_asgi_app

from tests.browser_support import free_port, stop_server
from tests.ui.test_serve import _accepted_nodelay
from ui import serve, startup

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def plain_asyncio():
    """asyncio as Python ships it (Nagle left on for protocol-0 sockets), restored afterwards."""
    before = asyncio.base_events._set_nodelay
    asyncio.base_events._set_nodelay = serve.ASYNCIO_SET_NODELAY
    yield
    asyncio.base_events._set_nodelay = before


def test_streamlit_run_finds_the_app_as_an_asgi_app():
    """``streamlit run app.py`` then imports app.py and serves its ``st.App`` (with its lifespan)."""
    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"


def test_app_module_is_a_streamlit_app_with_the_startup_lifespan():
    import importlib

    import streamlit as st

    module = importlib.import_module("app")
    assert isinstance(module.app, st.App)
    assert module.app._user_lifespan is startup.lifespan


def test_lifespan_switches_nagle_off_before_serving(plain_asyncio, monkeypatch):
    monkeypatch.setenv(startup.WARM_ENV, "0")
    assert asyncio.run(_accepted_nodelay()) is False

    async def run_lifespan() -> bool:
        async with startup.lifespan(None):
            return await _accepted_nodelay()

    assert asyncio.run(run_lifespan()) is True


def test_warm_up_imports_every_module_and_builds_the_default_preset():
    from lora_core.model.presets import DEFAULT_PRESET
    from ui.common.loaded_model import ModelRef, load

    names = startup.warm_modules()
    assert {"torch", "transformers", "peft", "lora_core.model.skeleton", "ui.common.loaded_model"} <= set(names)
    try:
        seconds, count = startup.warm_up()
        assert count == len(names) and all(n in sys.modules for n in names)
        assert load(ModelRef("preset", DEFAULT_PRESET)).ref.label == DEFAULT_PRESET  # from the cache
        # what it left alive is out of the cyclic collector's reach: a full collection walks the rest only
        assert gc.get_freeze_count() > 100_000 and gc.get_freeze_count() > 2 * len(gc.get_objects())
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual


def dockerfile_command(port: int) -> list[str]:
    """The Dockerfile's ``CMD``, with this venv's streamlit, 127.0.0.1 and ``port``."""
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M).group(1))
    assert cmd[:3] == ["streamlit", "run", "app.py"]
    cmd = [sys.executable, "-m", *cmd]
    cmd = [re.sub(r"^--server.port=\d+$", f"--server.port={port}", a) for a in cmd]
    return [re.sub(r"^--server.address=.*$", "--server.address=127.0.0.1", a) for a in cmd]


def test_the_dockerfile_command_serves_the_app(tmp_path):
    """What a Hugging Face Docker Space runs: warm start, then a session renders without errors."""
    from tests.browser_support import _wait_healthy
    from tests.st_client import WsSession

    port = free_port()
    log = tmp_path / "server.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT), LORA_EXPLORER_OFFLINE="1", HF_HUB_OFFLINE="1")
    with log.open("w") as out:
        proc = subprocess.Popen(dockerfile_command(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc, log, 120)
        assert "Warmed up in" in log.read_text()  # the lifespan ran before the server answered

        async def first_visit():
            async with WsSession(port) as s:
                return await s.rerun("")

        run = asyncio.run(first_visit())
        assert run.failures == [] and run.model
    finally:
        stop_server(proc)
