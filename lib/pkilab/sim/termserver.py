"""A simulated CML-style terminal server: SSH in, ``open /<lab>/<node>/0``, you are on that router's console.

What CML's console server shows (from public captures, see docs/sim-access.md): its banner and
the ``consoles>`` prompt after login; ``open /<lab>/<node>/<line>`` answers ``Connecting to
console for <node>``, ``Connected to CML terminalserver.``, ``Escape character is '^]'.`` and
from then on the SSH channel is the node's console line (:class:`pkilab.sim.console.ConsoleLine`:
no telnet in between). ``ssh user@server open /lab/node/0`` (an exec request) does the same.

Here the lab is the testbed's name and a node is a device's name (or ``n<index>``, the node ids
CML writes, counted over the routers in file order); ``/lab/<lab>/<node>/0`` is accepted too.
Line 0 is the console. ``Ctrl-]`` leaves the console for the ``consoles>`` prompt. The ``list``
and ``help`` outputs and the error messages are invented (no capture of them was found).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pkilab.sim._asyncssh import asyncssh
from pkilab.sim.lineedit import Key, LineEditor
from pkilab.sim.terminal import crlf

if TYPE_CHECKING:
    from pkilab.sim.console import ConsoleLine
    from pkilab.sim.lab import Lab
    from pkilab.testbed import DeviceSpec

PROMPT = "consoles> "
ESCAPE = "\x1d"  # Ctrl-]


def banner(lab_name: str, first_node: str) -> str:
    """CML2's console server banner (the example names the lab's own first node)."""
    return (
        "\n****\nCML2 Console Server\nCopyright (c) 2019-2023 Cisco Systems, Inc. and/or its affiliates\n****\n\n"
        'tab completion works\nlist available nodes and node labels / IDs with "list"\n'
        f'it\'s also possible to do a "open /{lab_name}/{first_node}/0" command\n'
        f'or to directly connect via UUID "connect {first_node}"\n'
        "(e.g. lab name followed by node name and line number\n\n"
    )


def connected(node: str) -> str:
    """What ``open`` prints once the console is attached."""
    return f"Connecting to console for {node}\nConnected to CML terminalserver.\nEscape character is '^]'.\n\n"


class TermServer:
    """The terminal server's view of the lab: which console a path names."""

    def __init__(self, lab: Lab, spec: DeviceSpec) -> None:
        self.lab = lab
        self.spec = spec
        self.connections: set[Any] = set()

    @property
    def lab_name(self) -> str:
        """The lab's name in console paths: the testbed's name."""
        return self.lab.testbed.name

    def nodes(self) -> dict[str, str]:
        """Console names: every router by device name and by CML-style node id ``n<index>``."""
        names: dict[str, str] = {}
        for index, name in enumerate(self.lab.consoles):
            names[name] = name
            names[f"n{index}"] = name
        return names

    def resolve(self, path: str) -> tuple[ConsoleLine, str] | str:
        """The console line a path names, with the node's name; or an error message."""
        parts = [p for p in path.strip().split("/") if p]
        if len(parts) == 4 and parts[0] == "lab":
            parts = parts[1:]
        if len(parts) != 3:
            return f"invalid console path {path!r}: expected /<lab>/<node>/<line>"
        lab_name, node, line = parts
        if lab_name != self.lab_name:
            return f"no such lab: {lab_name}"
        name = self.nodes().get(node)
        if name is None:
            return f"no such node in {lab_name}: {node}"
        if line != "0":
            return f"{name} has no console line {line}"
        return self.lab.consoles[name], name

    def listing(self) -> str:
        """``list``: the lab's nodes (invented layout)."""
        rows = [f"/{self.lab_name}/{name}/0  (n{i})" for i, name in enumerate(self.lab.consoles)]
        return "\n".join(rows) + "\n"


class PtySession(asyncssh.SSHServerSession[str]):
    """An interactive SSH session with a PTY: the shells of the lab's hosts (terminal server, jump host).

    Typing goes through the routers' line editor (:class:`pkilab.sim.lineedit.LineEditor`, without
    IOS's ``?`` help: a Linux shell's Enter, Backspace and Ctrl-C).
    """

    def __init__(self) -> None:
        self.chan: Any = None
        self.editor = LineEditor()
        self.editor.help = False

    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def eof_received(self) -> bool:
        return False

    def send(self, text: str) -> None:
        """Write to the SSH channel (console output arrives here already CR LF)."""
        if self.chan is not None and text:
            with contextlib.suppress(Exception):
                self.chan.write(text)

    def typed_lines(self, data: str) -> Iterator[tuple[str, int]]:
        """The lines completed in ``data``, each with the position after it; echo is sent as typed.

        Ctrl-C prints ``^C`` and completes an empty line, as a shell does; Ctrl-Z is ignored.
        """
        pos = 0
        while pos < len(data):
            fed = self.editor.feed(data, pos)
            pos += fed.consumed
            self.send(fed.echo)
            if fed.event is None or fed.event.key is Key.CTRL_Z:
                continue
            self.send("^C\r\n" if fed.event.key is Key.INTERRUPT else "\r\n")
            yield fed.event.line, pos

    def end(self, status: int) -> None:
        """End the session with exit ``status``; the connection stays for the client to close.

        A Linux host's sshd ends the channel only (the client closes its connection when no channel
        is left, and may open another meanwhile), unlike a router, which disconnects
        (:func:`pkilab.sim.ssh.end_channel`).
        """
        chan, self.chan = self.chan, None
        if chan is not None:
            with contextlib.suppress(Exception):
                chan.exit(status)


class TermSession(PtySession):
    """One SSH session on the terminal server: the ``consoles>`` prompt, or a console."""

    def __init__(self, server: TermServer) -> None:
        super().__init__()
        self.server = server
        self.console: ConsoleLine | None = None
        self.command: str | None = None  # an exec request: run it, exit when the console is left

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return True

    def session_started(self) -> None:
        if self.command is not None:
            self._run(self.command)
            if self.console is None:
                self.end(1)
            return
        first = next(iter(self.server.lab.consoles), "node")
        self.send(crlf(banner(self.server.lab_name, first)) + PROMPT)

    def data_received(self, data: str, datatype: Any) -> None:
        if self.chan is None:
            return
        if self.console is not None:
            typed, escape, rest = data.partition(ESCAPE)
            if typed:
                self.console.type(typed)
            if escape:
                self._leave()
                self.data_received(rest, datatype)
            return
        for line, pos in self.typed_lines(data):
            self._run(line)
            if self.console is not None:  # opened: what follows is typed on the console
                self.data_received(data[pos:], datatype)
                return
            if self.chan is None:
                return
            self.send(PROMPT)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.console is not None:
            self.console.detach(self)
            self.console = None
        self.chan = None

    # ---- the console attachment ----------------------------------------------------------
    def hold(self, paused: bool) -> None:
        """Flow control from the console line: stop or resume reading this channel."""
        if self.chan is not None:
            with contextlib.suppress(Exception):
                if paused:
                    self.chan.pause_reading()
                else:
                    self.chan.resume_reading()

    def close(self) -> None:
        """The console line is going away (the lab stops)."""
        self.console = None
        self.end(0)

    # ---- commands ----------------------------------------------------------------------
    def _run(self, line: str) -> None:
        words = line.split()
        if not words:
            return
        verb, rest = words[0].lower(), " ".join(words[1:])
        if verb in ("exit", "quit", "logout"):
            self.end(0)
        elif verb == "open" and rest:
            self._open(rest)
        elif verb == "connect" and rest:
            self._open(f"/{self.server.lab_name}/{rest}/0")
        elif verb == "list":
            self.send(crlf(self.server.listing()))
        elif verb == "help":
            self.send(crlf("commands: open /<lab>/<node>/<line>, connect <node>, list, help, exit\n"))
        else:
            self.send(crlf(f"unknown command: {words[0]}\n"))

    def _open(self, path: str) -> None:
        found = self.server.resolve(path)
        if isinstance(found, str):
            self.send(crlf(found + "\n"))
            return
        line, name = found
        self.send(crlf(connected(name)))
        self.console = line
        line.attach(self)

    def _leave(self) -> None:
        if self.console is not None:
            self.console.detach(self)
            self.console = None
        if self.command is not None:
            self.end(0)
        else:
            self.send("\r\n" + PROMPT)


class HostSSH(asyncssh.SSHServer):
    """The SSH server of a lab host (terminal server, jump host): its own credentials, its connections kept."""

    def __init__(self, spec: DeviceSpec, connections: set[Any]) -> None:
        self.spec = spec
        self.connections = connections
        self.conn: Any = None
        self.user = ""

    def connection_made(self, conn: Any) -> None:
        self.conn = conn
        self.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        self.user = username
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self.spec.username and password == self.spec.password


class TermServerSSH(HostSSH):
    """The terminal server's SSH server: every session starts at the ``consoles>`` prompt."""

    def __init__(self, server: TermServer) -> None:
        super().__init__(server.spec, server.connections)
        self.server = server

    def session_requested(self) -> TermSession:
        return TermSession(self.server)


class Listener:
    """An SSH listener of the lab that also closes its open connections when it closes."""

    def __init__(self, acceptor: Any, connections: set[Any]) -> None:
        self.acceptor = acceptor
        self.connections = connections

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self.acceptor.close()
        for conn in list(self.connections):
            conn.close()

    async def wait_closed(self) -> None:
        """Wait until the listener is closed."""
        await self.acceptor.wait_closed()


async def start_host_server(spec: DeviceSpec, factory: Any, connections: set[Any], host_key: Any) -> Listener:
    """Listen on the host ``spec``'s SSH port with ``factory`` making each connection's server."""
    assert spec.sim is not None and spec.sim.ssh_port is not None
    acceptor = await asyncssh.create_server(
        factory,
        spec.sim.address,
        spec.sim.ssh_port,
        server_host_keys=[host_key],
        line_editor=False,
        keepalive_interval=0,
        reuse_address=True,
    )
    return Listener(acceptor, connections)


async def start_termserver(lab: Lab, spec: DeviceSpec, host_key: Any) -> Listener:
    """Start the terminal server ``spec`` of ``lab``."""
    server = TermServer(lab, spec)
    return await start_host_server(spec, lambda: TermServerSSH(server), server.connections, host_key)
