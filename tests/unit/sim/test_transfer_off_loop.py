"""Blocking file transfers leave the event loop: other routers answer while one waits for a server.

A real TFTP server on loopback, started here, holds its answer to a read request until it is
released (or 5 s pass). Router r1 copies a file from it; router r2 is asked ``show clock`` on the
same event loop just after. r2 must answer within a second, and its answer releases the server;
when the copy blocks the loop (inline socket I/O), r2's turn comes only after r1's TFTP client has
given up (1.5 s), and the copy fails.
"""

import asyncio
import re
import socket
import threading
import time
from typing import Any

from pkilab.hostsrv import RRQ, data_packet, parse_packet
from pkilab.sim.lab import Lab
from pkilab.sim.router import Router
from unit.sim.simkit import OfflineLab, finish, make_spec

LOCAL = "127.0.0.1"
PAYLOAD = b"hostname restored\n"
HOLD_LIMIT = 5.0  # the server answers by itself after this long, so a failing run still ends


class HeldTftpServer:
    """A TFTP server (one read request) that answers only once :attr:`release` is set."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOCAL, 0))
        self.port = self.sock.getsockname()[1]
        self.release = threading.Event()
        self.asked: str | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(HOLD_LIMIT)
        try:
            raw, peer = self.sock.recvfrom(2048)  # the first request; the client's retries are ignored
        except TimeoutError:
            return
        opcode, filename, _ = parse_packet(raw)
        if opcode != RRQ:
            return
        self.asked = filename
        self.release.wait(HOLD_LIMIT)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as data:
            data.bind((LOCAL, 0))
            data.settimeout(HOLD_LIMIT)
            data.sendto(data_packet(1, PAYLOAD), peer)
            try:
                data.recvfrom(2048)  # the client's ACK of the last (only) block
            except TimeoutError:
                pass

    def close(self) -> None:
        self.release.set()
        self.thread.join(HOLD_LIMIT + 1)
        self.sock.close()


def _lab(server: HeldTftpServer) -> tuple[Lab, Router, Router]:
    hostsrv = {"address": LOCAL, "tftp_port": server.port, "http_port": server.port}
    offline = OfflineLab(make_spec("r1", "10.0.0.1/24"), make_spec("r2", "10.0.0.2/24"), hostsrv=hostsrv)
    return offline.lab, offline.routers["r1"], offline.routers["r2"]


async def _copy_while_asking(lab: Lab, r1: Router, r2: Router, server: HeldTftpServer) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    lab.network.loop = loop  # as Lab.start sets it: the lab's event loop is running
    seen: dict[str, Any] = {}

    def ask_r2() -> None:
        seen["clock"] = r2.new_session(15).feed("show clock").output
        seen["answered_in"] = time.monotonic() - seen["asked_at"]
        server.release.set()

    session = r1.new_session(15)
    for line in ("copy tftp://127.0.0.1/restore.cfg flash:restore.cfg", "", ""):
        assert session.feed(line).wait is None
    seen["asked_at"] = time.monotonic()
    loop.call_soon(ask_r2)
    # "Destination filename": the transfer starts
    seen["copy"] = await finish(session, session.feed(""), HOLD_LIMIT * 2)
    return seen


def test_other_router_answers_during_a_slow_transfer() -> None:
    server = HeldTftpServer()
    try:
        lab, r1, r2 = _lab(server)
        seen = asyncio.run(_copy_while_asking(lab, r1, r2, server))
    finally:
        server.close()
    assert server.asked == "restore.cfg"
    assert "clock" in seen, "r2 never answered"
    assert seen["answered_in"] < 1.0, f"r2 answered show clock after {seen['answered_in']:.2f} s"
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3} ", str(seen["clock"])), seen["clock"]
    assert f"[OK - {len(PAYLOAD)} bytes]" in str(seen["copy"]), seen["copy"]
    assert r1.fs.read("flash:restore.cfg") == PAYLOAD


def test_offline_lab_copies_inline() -> None:
    """Without an event loop (unit tests' offline labs) the same copy runs inline and completes."""
    server = HeldTftpServer()
    server.release.set()
    try:
        _, r1, _ = _lab(server)
        session = r1.new_session(15)
        for line in ("copy tftp://127.0.0.1/restore.cfg flash:restore.cfg", "", ""):
            session.feed(line)
        step = session.feed("")
    finally:
        server.close()
    assert step.wait is None
    assert f"[OK - {len(PAYLOAD)} bytes]" in step.output
    assert r1.fs.read("flash:restore.cfg") == PAYLOAD
