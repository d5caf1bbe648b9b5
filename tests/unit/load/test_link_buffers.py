"""Both ends of a link port keep a burst: a thousand datagrams sent while nobody reads arrive."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pkilab.sim.linkport import BURST_BUFFER, make_roomy

BURST, SIZE = 1000, 1400  # a thousand main mode messages with a certificate in them


def _rmem_max() -> int:
    path = Path("/proc/sys/net/core/rmem_max")
    return int(path.read_text()) if path.exists() else 0


def _received_of_burst(roomy: bool) -> int:
    """Datagrams kept of a burst sent to a socket that reads only afterwards.

    Not roomy: the receiver gets the kernel's usual default (208 KiB), set explicitly so that the
    contrast does not depend on this machine's ``net.core.rmem_default``.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        if roomy:
            make_roomy(rx)
            make_roomy(tx)
        else:
            rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 212992 // 2)  # Linux doubles it
        rx.bind(("127.0.0.1", 0))
        rx.setblocking(False)
        tx.connect(rx.getsockname())
        for i in range(BURST):
            tx.send(i.to_bytes(4, "big") + bytes(SIZE - 4))
        got = 0
        while True:
            try:
                rx.recv(65535)
            except BlockingIOError:
                return got
            got += 1


@pytest.mark.skipif(_rmem_max() < BURST_BUFFER, reason="net.core.rmem_max is below the buffer a link port asks for")
def test_a_roomy_socket_keeps_a_burst_the_default_one_drops() -> None:
    assert _received_of_burst(roomy=True) == BURST
    # The kernel's usual default buffer cannot hold it: the same burst loses datagrams (what the lab's end did).
    assert _received_of_burst(roomy=False) < BURST


def test_make_roomy_asks_for_the_burst_buffer() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        before = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        make_roomy(sock)
        after = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    # Linux doubles the request for its bookkeeping and caps it at rmem_max.
    assert after >= min(BURST_BUFFER, max(_rmem_max(), before))
    assert after > before or _rmem_max() <= before
