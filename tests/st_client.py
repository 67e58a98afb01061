"""Real browser-less Streamlit sessions: a ``streamlit run`` server and websocket clients.

A :class:`WsSession` speaks the protocol the browser speaks on ``/_stcore/stream``: it sends a
``BackMsg.rerun_script`` (query string, page) and reads ``ForwardMsg`` protobufs until
``script_finished``, keeping the text of every markdown and alert element it was sent. It also
remembers every keyed widget it was sent (its element id and the fragment that drew it), so
:meth:`WsSession.click` can change one widget as the browser does: a ``rerun_script`` carrying
that widget's new value and, for a widget inside an ``st.fragment``, the fragment's id (the
server then reruns only that fragment). Each connection is its own server-side session with its
own ``st.session_state``, so twenty of them are twenty users. Used by ``tests/ui/test_concurrency.py`` and ``bench/bench_load.py``; all traffic
stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from tests.browser_support import running_server

RUN_TIMEOUT_S = 180.0


@contextmanager
def streamlit_server(app: str = "app.py") -> Iterator[tuple[int, subprocess.Popen]]:
    """``streamlit run app`` headless on 127.0.0.1 and a free port; yields ``(port, process)``."""
    with running_server(app) as server:
        yield server.port, server.proc


@dataclass
class Run:
    """One script run as the client saw it."""

    seconds: float
    texts: list[str] = field(default_factory=list)
    elements: int = 0
    nbytes: int = 0

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


@dataclass(frozen=True)
class Widget:
    """A keyed widget as the server last drew it: its element id and the fragment it is in."""

    id: str
    fragment_id: str = ""


def _widget(msg: ForwardMsg) -> tuple[str, Widget] | None:
    """``(user key, widget)`` when ``msg`` draws a keyed widget."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return None
    el = msg.delta.new_element
    wid = getattr(getattr(el, el.WhichOneof("type") or "", None), "id", "")
    if not isinstance(wid, str) or not wid.startswith("$$ID-"):
        return None
    key = wid.split("-", maxsplit=2)[-1]
    return (key, Widget(wid, msg.delta.fragment_id)) if key != "None" else None


class WsSession:
    """One user: a websocket to the server, rerun on demand."""

    def __init__(self, port: int) -> None:
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.ws = None
        self.pages: dict[str, str] = {}  # url path ("targets") -> page script hash, from navigation
        self.widgets: dict[str, Widget] = {}  # user key -> the widget as last drawn
        self.page_hash = ""  # the page the session is on, as the server last said
        self.query_string = ""  # the URL's query string, as the server last set it

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
        msg.rerun_script.query_string = self.query_string = query_string
        msg.rerun_script.page_script_hash = self.pages[page] if page else ""
        return await self._send(msg, timeout)

    async def click(self, key: str, value: bool | int | float | str, timeout: float = RUN_TIMEOUT_S) -> Run:
        """Set the widget drawn with ``key`` to ``value`` as the browser does, and read the run.

        Only that widget's state is sent (the server keeps the others); a widget inside an
        ``st.fragment`` carries the fragment's id, so only the fragment reruns.
        """
        widget = self.widgets[key]
        msg = BackMsg()
        state = WidgetState(id=widget.id)
        kind = {bool: "bool_value", int: "int_value", float: "double_value", str: "string_value"}[type(value)]
        setattr(state, kind, value)
        msg.rerun_script.widget_states.widgets.append(state)
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.page_script_hash = self.page_hash
        msg.rerun_script.fragment_id = widget.fragment_id
        return await self._send(msg, timeout)

    async def _send(self, msg: BackMsg, timeout: float) -> Run:
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        run = Run(0.0)
        while True:
            data = await asyncio.wait_for(self.ws.recv(), timeout)
            fm = ForwardMsg()
            fm.ParseFromString(data)
            run.nbytes += len(data)
            run.texts += _texts(fm)
            kind = fm.WhichOneof("type")
            if kind == "delta":
                run.elements += 1
                if (widget := _widget(fm)) is not None:
                    self.widgets[widget[0]] = widget[1]
            elif kind == "navigation":
                self.pages.update({p.url_pathname: p.page_script_hash for p in fm.navigation.app_pages})
                self.page_hash = fm.navigation.page_script_hash or self.page_hash
            elif kind == "new_session":
                self.page_hash = fm.new_session.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                self.query_string = fm.page_info_changed.query_string
            elif kind == "script_finished":
                run.seconds = time.perf_counter() - start
                return run
