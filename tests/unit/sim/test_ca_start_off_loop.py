"""A certificate server reads its database back off the event loop: other routers answer meanwhile.

The test host's real TFTP and FTP servers (:class:`pkilab.hostsrv.HostServers`), started here, hold
every file they are asked to read until released (or 4 s pass). Router r1's certificate server
starts with its ``database url`` on them, as the seed's off-system storage has it; router r2 is
asked ``show clock`` on the same event loop meanwhile. r2 must answer within a second, and its
answer releases the server. When the read blocks the loop (inline socket I/O), r2's turn comes only
after r1's TFTP client has given up on both files (2 x 1.5 s) or the FTP server's hold has ended.

The database's ``NAME.ser`` says the last serial was 0x5: a CA that runs with last serial 5 has
read it from the server.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pkilab.ftpsrv import FtpCredentials, FtpServer
from pkilab.hostsrv import HostServers, HostServerSpec, TftpServer
from pkilab.sim.features.ca_server import CaServer
from pkilab.sim.features.system import System
from pkilab.sim.interp import CliSession, Step
from pkilab.sim.lab import Lab
from pkilab.sim.router import Router
from unit.sim.simkit import OfflineLab, finish, make_spec

LOCAL = "127.0.0.1"
CA = "labca"
ACCOUNT = FtpCredentials("backup", "ftp-Secret-42")
HOLD_LIMIT = 4.0  # the servers answer by themselves after this long, so a failing run still ends
SERIAL_FILE = b"serial = 0x5\nrequest = 3\ncrl = 2\n"
URLS = {
    "tftp": f"tftp://{LOCAL}/certs",
    "ftp": f"ftp://{ACCOUNT.username}:{ACCOUNT.password}@{LOCAL}/certs",
}
HeldServers = tuple[HostServers, threading.Event]  # the ``held`` fixture: the servers and their release


class HeldTftpServer(TftpServer):
    """The host's TFTP server, answering a read request only once ``release`` is set."""

    def __init__(self, root: Path, release: threading.Event) -> None:
        super().__init__(root, LOCAL, 0)
        self.release = release

    def _read(self, sock: Any, client: tuple[str, int], path: Path) -> int:
        self.release.wait(HOLD_LIMIT)
        return super()._read(sock, client, path)


def _hold_ftp_reads(ftp: FtpServer, release: threading.Event) -> None:
    """Make the running FTP server answer RETR only once ``release`` is set (pyftpdlib's ``handler``)."""
    server = ftp._server
    assert server is not None
    base = server.handler

    def ftp_RETR(handler: Any, file: str) -> Any:
        release.wait(HOLD_LIMIT)
        return base.ftp_RETR(handler, file)

    server.handler = type("HeldFtpHandler", (base,), {"ftp_RETR": ftp_RETR})


@pytest.fixture
def held(tmp_path: Path) -> Iterator[HeldServers]:
    """The host's servers with the CA's database (NAME.ser saying serial 0x5, an empty NAME.crl)."""
    release = threading.Event()
    servers = HostServers(HostServerSpec(LOCAL, 0, 0, None, 0, ACCOUNT), tmp_path / "root")
    servers.tftp = HeldTftpServer(servers.root, release)
    with servers:
        assert servers.ftp is not None
        _hold_ftp_reads(servers.ftp, release)
        serial, _ = servers.precreate("certs", [f"{CA}.ser", f"{CA}.crl"])
        serial.write_bytes(SERIAL_FILE)
        try:
            yield servers, release
        finally:
            release.set()


def _lab(servers: HostServers | int) -> tuple[Lab, Router, Router]:
    """r1 and r2 reaching ``servers`` (or, given a port, a TFTP server there and no FTP)."""
    hostsrv: dict[str, Any] = {"address": LOCAL, "tftp_port": servers, "http_port": servers}
    if isinstance(servers, HostServers):
        bound = servers.bound_spec()
        hostsrv = {
            "address": LOCAL,
            "tftp_port": bound.tftp_port,
            "http_port": bound.http_port,
            "ftp_port": bound.ftp_port,
            "ftp_username": ACCOUNT.username,
            "ftp_password": ACCOUNT.password,
        }
    offline = OfflineLab(make_spec("r1", "10.0.0.1/24"), make_spec("r2", "10.0.0.2/24"), hostsrv=hostsrv)
    return offline.lab, offline.routers["r1"], offline.routers["r2"]


def _configure(r1: Router, url: str, clock: bool) -> CliSession:
    """r1's server configured on ``url`` (not started); the session stays in ``(cs-server)``."""
    session = r1.new_session(15)
    lines = ["clock set 12:00:00 1 Feb 2026"] if clock else []
    for line in (*lines, "configure terminal", "ip http server", f"crypto pki server {CA}", f"database url {url}"):
        assert session.feed(line).wait is None
    return session


async def _until(condition: Callable[[], object], timeout: float) -> None:
    """Poll ``condition`` on the loop until it holds (AssertionError after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not true in time"
        await asyncio.sleep(0.02)


def _logged(router: Router, text: str) -> bool:
    return any(text in m.text for m in router.feature(System).log.messages)


def _asker(r1: Router, r2: Router, release: threading.Event, seen: dict[str, Any]) -> Callable[[], None]:
    """What runs on the loop while r1 starts: r2's ``show clock`` (timed), r1's server as shown."""

    def ask() -> None:
        seen["clock"] = r2.new_session(15).feed("show clock").output
        seen["answered_in"] = time.monotonic() - seen["asked_at"]
        seen["running"] = r1.feature(CaServer).running() is not None
        seen["show"] = r1.new_session(15).feed(f"show crypto pki server {CA}").output
        release.set()

    return ask


def _wrote_crl(servers: HostServers) -> bool:
    """The started CA's NAME.crl reached the server (its writes are done: NAME.ser goes first)."""
    done = [(t.op, t.filename) for t in servers.tftp.transfers if not t.error]
    done += [(t.op, t.filename) for t in (servers.ftp.transfers if servers.ftp else [])]
    return ("write", f"certs/{CA}.crl") in done


def _check_started(r1: Router, seen: dict[str, Any]) -> None:
    assert "clock" in seen, "r2 never answered"
    assert seen["answered_in"] < 1.0, f"r2 answered show clock after {seen['answered_in']:.2f} s"
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3} ", seen["clock"]), seen["clock"]
    # While the files are read the server is enabled but not running, shown as before it starts.
    assert seen["running"] is False
    assert "Status: disabled" in seen["show"] and "CA cert fingerprint: -Not found-" in seen["show"], seen["show"]
    ca = r1.feature(CaServer).running()
    assert ca is not None and ca.last_serial == 5, "the CA did not continue the serial of its NAME.ser"
    assert _logged(r1, "%PKI-6-CS_ENABLED: Certificate server now enabled.")


@pytest.mark.parametrize("scheme", ["tftp", "ftp"])
def test_no_shutdown_reads_the_database_while_other_routers_answer(held: HeldServers, scheme: str) -> None:
    servers, release = held
    lab, r1, r2 = _lab(servers)
    session = _configure(r1, URLS[scheme], clock=True)
    seen: dict[str, Any] = {}

    async def run() -> None:
        loop = asyncio.get_running_loop()
        lab.network.loop = loop  # as Lab.start sets it: the lab's event loop is running
        assert "Are you sure" in session.feed("no shutdown").output
        seen["asked_at"] = time.monotonic()
        loop.call_soon(_asker(r1, r2, release, seen))
        seen["no_shut"] = await finish(session, session.feed("yes"), HOLD_LIMIT * 3)
        await _until(lambda: _wrote_crl(servers), HOLD_LIMIT * 2)

    asyncio.run(run())
    _check_started(r1, seen)
    assert "% Certificate Server enabled.\n" in seen["no_shut"], seen["no_shut"]


def test_tick_start_reads_the_database_while_other_routers_answer(held: HeldServers) -> None:
    """A server enabled before the clock was set starts by itself (tick): its read leaves the loop too."""
    servers, release = held
    lab, r1, r2 = _lab(servers)
    session = _configure(r1, URLS["tftp"], clock=False)
    assert "Time has not been set" in session.feed("no shutdown").output + session.feed("yes").output
    seen: dict[str, Any] = {}

    async def run() -> None:
        lab.network.loop = asyncio.get_running_loop()
        assert r1.new_session(15).feed("clock set 12:00:00 1 Feb 2026").wait is None
        seen["asked_at"] = time.monotonic()
        r1.tick(time.monotonic())  # the lab's ticker: the server's conditions now hold
        assert not r1.errors
        _asker(r1, r2, release, seen)()
        await _until(lambda: r1.feature(CaServer).running() is not None, HOLD_LIMIT * 2)
        await _until(lambda: _wrote_crl(servers), HOLD_LIMIT * 2)

    asyncio.run(run())
    _check_started(r1, seen)
    reads = [t.filename for t in servers.tftp.transfers if t.op == "read" and not t.error]
    # The server records a transfer when it ends, each in its own thread: the router asks for .ser
    # before .crl, but the .ser thread can take the last ACK after the one-block .crl is done.
    assert sorted(reads[:2]) == [f"certs/{CA}.crl", f"certs/{CA}.ser"], reads


def test_shutdown_while_reading_drops_that_start(held: HeldServers) -> None:
    """``shutdown`` typed while the files are read: the read's result is ignored, nothing starts."""
    servers, release = held
    lab, r1, _ = _lab(servers)
    session = _configure(r1, URLS["tftp"], clock=False)
    session.feed("no shutdown")
    session.feed("yes")

    async def run() -> None:
        lab.network.loop = asyncio.get_running_loop()
        r1.new_session(15).feed("clock set 12:00:00 1 Feb 2026")
        r1.tick(time.monotonic())
        assert r1.feature(CaServer).starting is not None
        assert "%" not in session.feed("shutdown").output  # nothing was running to disable
        release.set()
        await _until(lambda: not lab._tasks, HOLD_LIMIT * 2)  # the read ended and its result reached the loop
        r1.tick(time.monotonic())  # the ticker: a shut-down server does not start

    asyncio.run(run())
    assert r1.feature(CaServer).running() is None
    assert not _logged(r1, "%PKI-6-CS_ENABLED")


def test_offline_lab_reads_inline(held: HeldServers) -> None:
    """Without an event loop (unit tests' offline labs) the same start runs inline and completes."""
    servers, release = held
    release.set()
    _, r1, _ = _lab(servers)
    session = _configure(r1, URLS["tftp"], clock=True)
    session.feed("no shutdown")
    step = session.feed("yes")
    assert step.wait is None
    assert "% Certificate Server enabled." in step.output
    ca = r1.feature(CaServer).running()
    assert ca is not None and ca.last_serial == 5


def test_unreachable_database_host_fails_as_before() -> None:
    """A database host the router cannot reach: the same refusal, at once, in a running lab too."""
    lab, r1, _ = _lab(9)

    async def run() -> Step:
        lab.network.loop = asyncio.get_running_loop()
        session = _configure(r1, "tftp://10.1.1.1/certs", clock=True)
        session.feed("no shutdown")
        return session.feed("yes")

    step = asyncio.run(run())
    assert step.wait is None
    assert "% Failed to start the Certificate Server: cannot open tftp://10.1.1.1/certs" in step.output
    assert r1.feature(CaServer).running() is None


def test_silent_database_server_times_out_as_before() -> None:
    """The host's address with no TFTP server answering: the reads time out in a worker (r2 answers
    meanwhile), the CA starts without its old files, and its writes fail with IOS's log message."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((LOCAL, 0))  # takes the requests and never answers
        lab, r1, r2 = _lab(silent.getsockname()[1])
        session = _configure(r1, URLS["tftp"], clock=True)
        seen: dict[str, Any] = {}
        ca_file = f"%Error opening tftp://{LOCAL}/certs/{CA}"
        failed = "%PKI-3-CS_DB_WRITE_FAIL: Certificate Server database write failed: "

        async def run() -> None:
            loop = asyncio.get_running_loop()
            lab.network.loop = loop
            session.feed("no shutdown")
            seen["asked_at"] = time.monotonic()
            loop.call_soon(_asker(r1, r2, threading.Event(), seen))
            seen["no_shut"] = await finish(session, session.feed("yes"), HOLD_LIMIT * 3)
            await _until(lambda: _logged(r1, f"{failed}{ca_file}.crl (Timed out)"), HOLD_LIMIT * 2)

        asyncio.run(run())
    assert seen["answered_in"] < 1.0, f"r2 answered show clock after {seen['answered_in']:.2f} s"
    assert "% Certificate Server enabled.\n" in seen["no_shut"], seen["no_shut"]
    ca = r1.feature(CaServer).running()
    assert ca is not None and ca.last_serial == 1
    assert _logged(r1, f"{failed}{ca_file}.ser (Timed out)")


def test_session_gone_while_reading_leaves_the_start_to_the_ticker(held: HeldServers) -> None:
    """The session that typed ``no shutdown`` ends during the read: the ticker starts the server."""
    servers, release = held
    release.set()
    lab, r1, _ = _lab(servers)
    session = _configure(r1, URLS["tftp"], clock=True)
    session.feed("no shutdown")

    async def run() -> None:
        lab.network.loop = asyncio.get_running_loop()
        step = session.feed("yes")
        assert step.wait is not None and r1.feature(CaServer).starting is not None
        step.wait.close()  # type: ignore[attr-defined]  # never awaited: the client left
        session.interrupt()  # the handler is closed where it waited
        assert r1.feature(CaServer).starting is None
        r1.tick(time.monotonic())
        await _until(lambda: r1.feature(CaServer).running() is not None, HOLD_LIMIT * 2)
        await _until(lambda: _wrote_crl(servers), HOLD_LIMIT * 2)

    asyncio.run(run())
    ca = r1.feature(CaServer).running()
    assert ca is not None and ca.last_serial == 5
