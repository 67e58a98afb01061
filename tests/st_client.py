"""Real browser-less Streamlit sessions: a ``streamlit run`` server and websocket clients.

A :class:`WsSession` speaks the protocol the browser speaks on ``/_stcore/stream``: it sends a
``BackMsg.rerun_script`` (query string, page) and reads ``ForwardMsg`` protobufs until
``script_finished``, keeping the text of every markdown and alert element it was sent. Each
connection is its own server-side session with its own ``st.session_state``, so twenty of them
are twenty users. Used by ``tests/test_concurrency.py`` and ``bench/bench_load.py``; all traffic
stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_S = 180.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(app: str = "app.py", timeout: float = 90.0) -> Iterator[tuple[int, subprocess.Popen]]:
    """``streamlit run app`` headless on 127.0.0.1 and a free port; yields ``(port, process)``."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", app, "--server.headless=true",
           "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
           "--server.fileWatcherType=none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}: {proc.stderr.read()[-2000:]!r}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Run:
    """One script run as the client saw it."""

    seconds: float
    texts: list[str] = field(default_factory=list)

    def after(self, caption: str) -> str | None:
        """The text right after ``caption`` (the sidebar writes a caption, then its value)."""
        for i, t in enumerate(self.texts[:-1]):
            if t == caption:
                return self.texts[i + 1]
        return None

    @property
    def model(self) -> str | None:
        return self.after("Current model")

    @property
    def plan(self) -> str | None:
        return self.after("Current plan")

    @property
    def alerts(self) -> list[str]:
        """Alerts and exceptions shown, as ``ALERT:<error|warning|info|exception>:<text>``."""
        return [t for t in self.texts if t.startswith("ALERT:")]

    @property
    def failures(self) -> list[str]:
        """Errors, warnings and exceptions: a clean run has none."""
        return [a for a in self.alerts if a.split(":")[1] in ("error", "warning", "exception")]


def _texts(msg: ForwardMsg) -> list[str]:
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return []
    el = msg.delta.new_element
    kind = el.WhichOneof("type")
    if kind == "markdown":
        return [el.markdown.body]
    if kind == "alert":
        return [f"ALERT:{Alert.Format.Name(el.alert.format).lower()}:{el.alert.body}"]
    if kind == "exception":
        return [f"ALERT:exception:{el.exception.message}"]
    return []


class WsSession:
    """One user: a websocket to the server, rerun on demand."""

    def __init__(self, port: int) -> None:
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.ws = None
        self.pages: dict[str, str] = {}  # url path ("targets") -> page script hash, from navigation

    async def __aenter__(self) -> WsSession:
        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=2**26,
                                           open_timeout=30)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def rerun(self, query_string: str = "", page: str = "", timeout: float = RUN_TIMEOUT_S) -> Run:
        """Ask for a script run (as a page load or rerun does) and read it to the end.

        ``page`` is a page's URL path (``"targets"``) once a run has listed the pages; empty
        means the page the session is on (the default page at first).
        """
        msg = BackMsg()
        msg.rerun_script.query_string = query_string
        msg.rerun_script.page_script_hash = self.pages[page] if page else ""
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        run = Run(0.0)
        while True:
            fm = ForwardMsg()
            fm.ParseFromString(await asyncio.wait_for(self.ws.recv(), timeout))
            run.texts += _texts(fm)
            if fm.WhichOneof("type") == "navigation":
                self.pages.update({p.url_pathname: p.page_script_hash for p in fm.navigation.app_pages})
            if fm.WhichOneof("type") == "script_finished":
                run.seconds = time.perf_counter() - start
                return run
