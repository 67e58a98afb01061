"""ui.serve: every connection the app's server accepts has Nagle's algorithm off (TCP_NODELAY).

Streamlit binds its listening socket with ``socket.socket(family)`` (protocol number 0), and
asyncio then leaves Nagle on for the connections it accepts; these tests build the same kind of
socket and check what asyncio does with and without ``ui.serve.install``.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import socket

import pytest

from ui import serve


def _nodelay(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


async def _accepted_nodelay() -> bool:
    """Serve on a socket bound as Streamlit binds it; whether the accepted connection has TCP_NODELAY."""
    listener = socket.socket(family=socket.AF_INET)  # protocol 0, like streamlit's _bind_socket
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    accepted: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(_nodelay(writer.get_extra_info("socket")))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=listener)
    async with server:
        _reader, writer = await asyncio.open_connection("127.0.0.1", listener.getsockname()[1])
        result = await asyncio.wait_for(accepted, 10)
        writer.close()
    return result


@pytest.fixture
def restore_asyncio():
    original = asyncio.base_events._set_nodelay
    yield
    asyncio.base_events._set_nodelay = original


def test_streamlit_style_socket_keeps_nagle_without_serve(restore_asyncio):
    assert socket.socket(family=socket.AF_INET).proto == 0
    assert asyncio.run(_accepted_nodelay()) is False  # the delay ui.serve removes


def test_serve_switches_nagle_off_on_accepted_connections(restore_asyncio):
    serve.install()
    assert asyncio.run(_accepted_nodelay()) is True


def test_set_nodelay_leaves_other_sockets_alone():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        serve.set_nodelay(udp)  # no TCP option on a datagram socket, and no error
    with socket.socket(family=socket.AF_INET) as tcp:
        serve.set_nodelay(tcp)
        assert _nodelay(tcp)
