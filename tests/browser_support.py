"""Real-browser harness: a headless ``streamlit run`` server and Debian's Chromium via Playwright.

Used by ``tests/ui/test_browser.py`` (as pytest fixtures) and by ``bench/bench_browser.py`` (as
context managers). Follows streamlit's own ``e2e_playwright/conftest.py``: start the server on a
free port, poll ``/_stcore/health``, wait for the script state ``notRunning``, find elements by
test id or by the ``.st-key-<key>`` class Streamlit adds to keyed widgets.

Playwright's bundled browser cannot be downloaded on these machines, so Chromium is always
``/usr/bin/chromium`` (``make`` / ``.ci/run`` install it with apt). A missing browser is an error,
never a skip.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("LORA_EXPLORER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
HEALTH_TIMEOUT_S = 60.0
MAX_PNG_BYTES = 300_000


class BrowserMissing(RuntimeError):
    """Chromium is not where the harness expects it."""


def require_chromium() -> Path:
    """The Chromium binary, or ``BrowserMissing`` saying how to install it (in CI and outside)."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    where = "CI (CI=true)" if os.environ.get("CI", "").lower() == "true" else "this machine"
    raise BrowserMissing(
        f"Chromium not found at {CHROMIUM} on {where}; the browser test needs it. Install it with "
        "`apt-get install -y chromium fonts-liberation` (`make test` and .ci/run do this), or set "
        "LORA_EXPLORER_CHROMIUM to another Chromium binary.")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVE = ("-m", "ui.serve")  # streamlit's CLI with TCP_NODELAY on every connection, as `make run` serves


def server_command(port: int, app: str = "app.py", extra: tuple[str, ...] = (),
                   launcher: tuple[str, ...] = SERVE) -> list[str]:
    """The ``streamlit run`` command line, with this interpreter's streamlit (``extra``: more flags;
    ``launcher``: what runs streamlit's CLI: ``ui.serve`` by default, or e.g. a profiling wrapper)."""
    return [sys.executable, *launcher, "run", app, "--server.headless=true",
            "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none", *extra]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server by its PID (SIGTERM, then SIGKILL after 15 s) and wait for it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Server:
    """A running ``streamlit run`` process and where it listens."""

    url: str
    port: int
    proc: subprocess.Popen


@contextmanager
def running_server(app: str = "app.py", app_dir: Path = ROOT, extra: tuple[str, ...] = (),
                   launcher: tuple[str, ...] = SERVE, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Run ``streamlit run app [extra]`` in ``app_dir`` on a free port; yield it; stop it after.

    The Hub is switched off (``LORA_EXPLORER_OFFLINE=1``) so nothing waits on the network.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=str(app_dir), LORA_EXPLORER_OFFLINE="1", HF_HUB_OFFLINE="1",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **(env or {}))
    with tempfile.NamedTemporaryFile("w+", prefix="streamlit-", suffix=".log", delete=False) as f:
        log = Path(f.name)
        proc = subprocess.Popen(server_command(port, app, extra, launcher), cwd=app_dir, env=env, stdout=f,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_healthy(url, proc, log, HEALTH_TIMEOUT_S)
        yield Server(url, port, proc)
    finally:
        stop_server(proc)
        log.unlink(missing_ok=True)


@contextmanager
def streamlit_server(app_dir: Path = ROOT, app: str = "app.py", extra: tuple[str, ...] = ()) -> Iterator[str]:
    """:func:`running_server`, yielding only its URL."""
    with running_server(app, app_dir, extra) as server:
        yield server.url


@contextmanager
def chromium_browser(headless: bool = True) -> Iterator[object]:
    """A Playwright ``Browser`` on Debian's Chromium; raises ``BrowserMissing`` without it."""
    from playwright.sync_api import sync_playwright

    exe = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(exe), args=CHROMIUM_ARGS, headless=headless)
        try:
            yield browser
        finally:
            browser.close()


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until the app's script is not running (use with a content check after a click)."""
    page.wait_for_selector(IDLE, state="attached", timeout=timeout)


_SIGNATURE_JS = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const traces = el.querySelectorAll('.trace').length;
  const points = el.querySelectorAll('.point').length;
  return `${traces}|${points}|${el.innerText}`;
}"""

_CHANGED_JS = """([idle, selector, before]) => {
  if (!document.querySelector(idle)) return false;
  const el = document.querySelector(selector);
  if (!el) return false;
  const now = `${el.querySelectorAll('.trace').length}|${el.querySelectorAll('.point').length}|${el.innerText}`;
  return now !== before;
}"""


def signature(page, selector: str) -> str | None:
    """What ``selector`` shows now: its Plotly trace and point counts and its text."""
    return page.evaluate(_SIGNATURE_JS, selector)


def wait_changed(page, selector: str, before: str | None, timeout: float = 30_000) -> None:
    """Wait until the script is idle AND ``selector``'s signature differs from ``before``.

    The idle attribute alone races right after a click (it is still ``notRunning`` before the
    rerun starts), so a change in content is required too. Polls on animation frames.
    """
    page.wait_for_function(_CHANGED_JS, arg=[IDLE, selector, before], polling="raf", timeout=timeout)


def nav_link(page, title: str):
    """The sidebar link to the page titled ``title`` (an icon may precede the title)."""
    return page.locator('[data-testid="stSidebar"] a').filter(has_text=re.compile(rf"^\W*{re.escape(title)}\s*$"))


def error_texts(page) -> list[str]:
    """The text of every exception or error element on the page."""
    return [e.inner_text() for e in page.locator(ERRORS).all()]


def set_full_height(page, width: int, min_height: int = 800, max_height: int = 6000) -> int:
    """Size the viewport to ``width`` x the main block's content height; return that height.

    Streamlit scrolls inside ``stMain``, so a plain full-page screenshot would cut the page.
    """
    page.set_viewport_size({"width": width, "height": min_height})
    page.wait_for_timeout(300)
    height = page.evaluate(
        "() => { const b = document.querySelector('[data-testid=\"stMainBlockContainer\"]');"
        " if (!b) return 0; const kids = [...b.children].map(c => c.getBoundingClientRect().bottom);"
        " return Math.ceil(Math.max(b.getBoundingClientRect().top + 200, ...kids)) + 48; }")
    height = max(min_height, min(max_height, int(height)))
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(400)
    return height


def save_png(data: bytes, path: Path, limit: int = MAX_PNG_BYTES) -> int:
    """Write screenshot ``data`` to ``path`` as a 256-colour PNG (no dithering: UI colours are
    flat, text stays sharp, files are about a third of Chromium's); return its size in bytes.

    Raises ``ValueError`` when the image is still above ``limit`` (the repo must stay small).
    """
    from PIL import Image

    img = Image.open(io.BytesIO(data)).convert("RGB")
    buf = io.BytesIO()
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(buf, "PNG", optimize=True)
    if buf.tell() > limit:
        raise ValueError(f"{path.name} is {buf.tell():,} bytes, above {limit:,}: shorten the page or the shot")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return buf.tell()


# --- pytest fixtures (import them into the test module) ---------------------------------------
import pytest  # noqa: E402  (fixtures only; the helpers above are also used by bench/)


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The URL of a fresh ``streamlit run app.py`` for this module; stopped by PID afterwards."""
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright; a missing browser FAILS the test (in CI and outside)."""
    try:
        require_chromium()
        missing = None
    except BrowserMissing as e:
        missing = str(e)
    if missing:
        pytest.fail(missing, pytrace=False)
    with chromium_browser() as b:
        yield b
