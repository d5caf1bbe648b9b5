"""Test helpers for the simulated lab's access paths: a raw telnet client, SSH scenarios, the lab running.

``TelnetClient`` is deliberately not pkilab's telnet code: a socket, its own IAC handling (it
records every command the server sends and answers as a plain client would), and ``expect``
reading with a deadline, so the console server is checked against an independent client.

The access testbeds (``testbeds/sim-console.yaml``, ``sim-termserver.yaml``, ``sim-jumphost.yaml``)
load with pkilab's own loader (:func:`pkilab.testbed.load`): devices without a role, proxies and
terminal-server commands are the loader's. The client side's tests
(``tests/integration/test_access_paths.py``) reach the simulated lab's own consoles, terminal
server and jump host; no stand-in servers remain.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

from pkilab.labs.sim import SimLabRunner
from pkilab.sim._asyncssh import asyncssh
from pkilab.sim.faults import FAULTS
from pkilab.testbed import DeviceSpec, Testbed, load

ROOT = Path(__file__).resolve().parents[1]
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
NAMES = {DONT: "DONT", DO: "DO", WONT: "WONT", WILL: "WILL"}

T = TypeVar("T")


class ScenarioRunner(Protocol):
    """What :func:`ssh_scenarios` returns: runs ``await scenario(conn)``, returns its result."""

    def __call__(
        self, scenario: Callable[[asyncssh.SSHClientConnection], Awaitable[T]], password: str | None = None
    ) -> T: ...


def load_access_testbed(path: Path) -> Testbed:
    """The testbed at ``path``, loaded and validated by pkilab's loader with the simulator's faults."""
    return load(path, known_faults=FAULTS)


@contextlib.contextmanager
def running(testbed: Testbed) -> Iterator[SimLabRunner]:
    """The simulated lab of ``testbed``, running for the duration of the block."""
    runner = SimLabRunner(testbed).start()
    try:
        yield runner
    finally:
        runner.stop()


def ssh_port(spec: DeviceSpec) -> int:
    """The SSH port of the simulated device ``spec``."""
    assert spec.sim is not None and spec.sim.ssh_port is not None, f"{spec.name} has no simulated SSH server"
    return spec.sim.ssh_port


def console_port(spec: DeviceSpec) -> int:
    """The telnet console port of the simulated device ``spec``."""
    assert spec.sim is not None and spec.sim.console is not None, f"{spec.name} has no simulated console"
    return spec.sim.console


def ssh_scenarios(spec: DeviceSpec) -> ScenarioRunner:
    """``run(scenario, password=None)``: run ``await scenario(conn)`` with an SSH connection to ``spec``."""

    def run(scenario: Callable[[asyncssh.SSHClientConnection], Awaitable[T]], password: str | None = None) -> T:
        async def main() -> T:
            sim = spec.sim
            assert sim is not None, f"{spec.name} is not a simulated device"
            async with asyncssh.connect(
                sim.address,
                sim.ssh_port,
                username=spec.username,
                password=password or spec.password,
                known_hosts=None,
            ) as conn:
                return await scenario(conn)

        return asyncio.run(main())

    return run


class Expecting:
    """Output matched with a deadline: ``text`` grows, ``seen`` is how far matching has consumed it."""

    text = ""
    seen = 0

    def _consume(self, rx: re.Pattern[str]) -> re.Match[str] | None:
        m = rx.search(self.text, self.seen)
        if m:
            self.seen = m.end()
        return m

    def _missed(self, pattern: str, timeout: float) -> AssertionError:
        tail = self.text[self.seen :][-500:]
        return AssertionError(f"{pattern!r} not seen within {timeout} s; unconsumed output ends {tail!r}")


def shifted_yaml(path: Path, offset: int, out: Path, ssh_options: str = "") -> Path:
    """A copy of the testbed at ``path`` with every port moved by ``offset`` (for clients that read YAML).

    ``ssh_options`` is added to the connections of the terminal servers and jump hosts.
    """
    import yaml

    data = yaml.safe_load(path.read_text())
    for dev in data["devices"].values():
        sim = (dev.get("custom") or {}).get("sim") or {}
        for key in ("console", "ssh_port", "http_port"):
            if key in sim:
                sim[key] += offset
        for conn in (dev.get("connections") or {}).values():
            if isinstance(conn, dict) and "port" in conn:
                conn["port"] += offset
                if ssh_options and sim.get("kind") in ("terminal_server", "jumphost"):
                    conn["ssh_options"] = ssh_options
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


class TelnetClient(Expecting):
    """A minimal telnet client on a raw socket."""

    def __init__(self, host: str, port: int, ttype: str | None = None, refuse_echo: bool = False) -> None:
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.settimeout(0.05)
        self.ttype = ttype
        self.refuse_echo = refuse_echo
        self.received: list[str] = []  # the server's commands, "WILL 1", "SB 24 1" ...
        self.sent: list[str] = []
        self.text = ""  # everything the server sent as data
        self.seen = 0  # how far expect() has consumed self.text
        self._pending = b""

    def close(self) -> None:
        self.sock.close()

    def _reply(self, verb: int, option: int) -> None:
        self.sent.append(f"{NAMES[verb]} {option}")
        self.sock.sendall(bytes((IAC, verb, option)))

    def _negotiate(self, verb: int, option: int) -> None:
        self.received.append(f"{NAMES[verb]} {option}")
        if verb == WILL:  # the server offers to echo / suppress go-ahead
            self._reply(DONT if (option == 1 and self.refuse_echo) or option not in (1, 3) else DO, option)
        elif verb == DO:
            self._reply(WILL if option == 24 and self.ttype else WONT, option)

    def pump(self) -> bool:
        """Read what the server has sent; False when the connection is closed."""
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return True
        except OSError:
            return False
        if not chunk:
            return False
        data = self._pending + chunk
        self._pending = b""
        out = bytearray()
        i = 0
        while i < len(data):
            b = data[i]
            if b != IAC:
                out.append(b)
                i += 1
                continue
            if i + 1 >= len(data):
                self._pending = data[i:]
                break
            cmd = data[i + 1]
            if cmd == IAC:
                out.append(IAC)
                i += 2
            elif cmd in NAMES:
                if i + 2 >= len(data):
                    self._pending = data[i:]
                    break
                self._negotiate(cmd, data[i + 2])
                i += 3
            elif cmd == SB:
                end = data.find(bytes((IAC, SE)), i)
                if end < 0:
                    self._pending = data[i:]
                    break
                body = data[i + 2 : end]
                self.received.append("SB " + " ".join(str(x) for x in body))
                if body == bytes((24, 1)) and self.ttype:
                    self.sock.sendall(bytes((IAC, SB, 24, 0)) + self.ttype.encode() + bytes((IAC, SE)))
                i = end + 2
            else:
                self.received.append(f"CMD {cmd}")
                i += 2
        self.text += out.decode("utf-8", "replace")
        return True

    def expect(self, pattern: str, timeout: float = 5.0) -> re.Match[str]:
        """Wait for ``pattern`` (a regex) in the output not yet consumed; consume up to its end."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while (m := self._consume(rx)) is None:
            if time.monotonic() > deadline or not self.pump():
                raise self._missed(pattern, timeout)
        return m

    def send(self, text: str) -> None:
        """Type ``text`` (a 0xFF byte is doubled, as telnet requires)."""
        self.sock.sendall(text.encode().replace(b"\xff", b"\xff\xff"))

    def line(self, text: str) -> None:
        """Type a line: the text then CR NUL, as a telnet client sends RETURN."""
        self.send(text + "\r\0")

    def closed(self, timeout: float = 5.0) -> bool:
        """True once the server has closed the connection."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.pump():
                return True
        return False


class SshShell(Expecting):
    """An interactive asyncssh process (PTY) read with ``expect``, like :class:`TelnetClient`."""

    def __init__(self, process: asyncssh.SSHClientProcess[str]) -> None:
        self.process = process

    @classmethod
    async def open(cls, conn: asyncssh.SSHClientConnection, command: str | None = None) -> SshShell:
        return cls(await conn.create_process(command, term_type="xterm", term_size=(200, 50)))

    def send(self, text: str) -> None:
        self.process.stdin.write(text)

    async def expect(self, pattern: str, timeout: float = 5.0) -> re.Match[str]:
        """Wait for ``pattern`` (a regex) in the output not yet consumed; consume up to its end."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while (m := self._consume(rx)) is None:
            try:
                chunk = await asyncio.wait_for(self.process.stdout.read(65536), max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                chunk = None
            if not chunk:
                raise self._missed(pattern, timeout)
            self.text += chunk
        return m
