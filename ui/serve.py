"""Serve the app: ``python -m ui.serve run app.py [options]`` is ``streamlit run app.py [options]``
with Nagle's algorithm off on every connection.

Streamlit 1.67 binds its listening socket itself (``socket.socket(family)``, protocol number 0),
and Python 3.11's asyncio switches Nagle off (``TCP_NODELAY``) only on sockets whose protocol is
``IPPROTO_TCP``. So every websocket kept Nagle on: after the first message of a rerun the server
held the rest until the browser acknowledged it, and clients delay that ACK by 40 ms, so every
click waited 40 ms more than its script took. :func:`install` widens asyncio's test to any
stream socket of an IP family (which is TCP); :func:`main` installs it and runs Streamlit's CLI
with the same arguments. Any other launcher (``streamlit run app.py``, ``uvicorn app:app``, a
Hugging Face Space) gets the same fix from the app itself: ``app.py`` is a ``st.App`` whose
lifespan (:mod:`ui.startup`) calls :func:`install` before the server accepts a connection.
"""

from __future__ import annotations

import asyncio.base_events
import socket
import sys

ASYNCIO_SET_NODELAY = asyncio.base_events._set_nodelay  # type: ignore[attr-defined]  # for tests


def set_nodelay(sock: socket.socket) -> None:
    """``TCP_NODELAY`` on ``sock`` when it is a TCP stream, whatever protocol number it was made with."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def install() -> None:
    """Make asyncio's transports call :func:`set_nodelay` on every accepted connection."""
    asyncio.base_events._set_nodelay = set_nodelay  # type: ignore[attr-defined]


def main(argv: list[str]) -> None:
    """``streamlit *argv`` (e.g. ``run app.py --server.port=8501``) with :func:`install` done first."""
    from streamlit.web import cli

    install()
    sys.argv = ["streamlit", *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
