"""``ssh`` and ``telnet`` typed on the simulated jump host's shell: the next hop of a CLI proxy.

A CLI proxy (unicon's, a user at the prompt) reaches a device behind a jump host by typing the
connection command there. These two commands do what the Linux clients do, as far as a proxy
can tell: ``ssh`` asks ``USER@HOST's password:`` (three tries, ``Permission denied, please try
again.``), requests a PTY and bridges the session until it ends (``Connection to HOST closed.``);
``telnet`` prints ``Trying HOST...``, ``Connected to HOST.``, ``Escape character is '^]'.``,
negotiates as a client (:data:`pkilab.protocols.telnet.CLIENT`) and bridges until the server closes
(``Connection closed by foreign host.``). Both reach only the lab's own ports
(:func:`pkilab.sim.jumphost.allowed`), refused like a closed port. Host keys are not checked and
``Ctrl-]`` simply closes a telnet connection (no ``telnet>`` command prompt): simplifications.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from pkilab.protocols.telnet import CLIENT, TelnetCodec
from pkilab.sim._asyncssh import asyncssh
from pkilab.sim.lineedit import Key, LineEditor

if TYPE_CHECKING:
    from pkilab.sim.jumphost import JumpShell

_SSH_VALUE_OPTIONS = set("bcDEeFIiJLlmOopQRSWw")


def parse_ssh(words: list[str], default_user: str) -> tuple[str, str, int] | str:
    """``ssh`` arguments → (user, host, port), or a usage message."""
    user, port, dest = "", 22, ""
    i = 1
    while i < len(words):
        word = words[i]
        if word.startswith("-") and len(word) > 1:
            flag, value = word[1], word[2:]
            if flag in _SSH_VALUE_OPTIONS and not value:
                i += 1
                value = words[i] if i < len(words) else ""
            if flag == "l":
                user = value
            elif flag == "p":
                if not value.isdigit():
                    return f"Bad port '{value}'\r\n"
                port = int(value)
        elif not dest:
            dest = word
        else:
            return "ssh: remote commands are not supported by this jump host\r\n"
        i += 1
    if not dest:
        return "usage: ssh [-l login_name] [-p port] [user@]hostname\r\n"
    if "@" in dest:
        user, dest = dest.rsplit("@", 1)
    return user or default_user, dest, port


def start_hop(shell: JumpShell, words: list[str]) -> Any:
    """Start ``ssh``/``telnet`` from ``shell``; None (after printing why) when it cannot start."""
    from pkilab.sim.jumphost import allowed

    hop: SshHop | TelnetHop
    if words[0] == "ssh":
        parsed = parse_ssh(words, shell.user)
        if isinstance(parsed, str):
            shell.send(parsed)
            return None
        user, host, port = parsed
        refused = f"ssh: connect to host {host} port {port}: Connection refused\r\n"
        hop = SshHop(shell, user, host, port)
    else:
        if len(words) not in (2, 3) or (len(words) == 3 and not words[2].isdigit()):
            shell.send("usage: telnet host [port]\r\n")
            return None
        host, port = words[1], int(words[2]) if len(words) == 3 else 23
        refused = f"Trying {host}...\r\ntelnet: Unable to connect to remote host: Connection refused\r\n"
        hop = TelnetHop(shell, host, port)
    if not allowed(shell.lab, host, port):
        shell.send(refused)
        return None
    shell.lab.spawn(hop.run())
    return hop


class TelnetHop:
    """``telnet HOST PORT``: a telnet client bridged to the shell's channel."""

    def __init__(self, shell: JumpShell, host: str, port: int) -> None:
        self.shell = shell
        self.host = host
        self.port = port
        self.codec = TelnetCodec(CLIENT)
        self.writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        """Connect, then copy the server's data to the shell until it closes."""
        self.shell.send(f"Trying {self.host}...\r\n")
        try:
            reader, self.writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            self.shell.hop_ended("telnet: Unable to connect to remote host: Connection refused\r\n")
            return
        self.shell.send(f"Connected to {self.host}.\r\nEscape character is '^]'.\r\n")
        while True:
            data = await reader.read(4096)
            if not data:
                break
            out = self.codec.feed(data)
            if out.reply:
                self.writer.write(bytes(out.reply))
            self.shell.send(out.data.decode("utf-8", "replace"))
        self.close()
        self.shell.hop_ended("Connection closed by foreign host.\r\n")

    def type(self, data: str) -> None:
        """Typed characters go to the server (CR as CR NUL, as a telnet client sends it)."""
        if self.writer is None:
            return
        if "\x1d" in data:
            self.close()
            return
        self.writer.write(self.codec.encode(data.replace("\r", "\r\0").encode("utf-8", "replace")))

    def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class _HopClient(asyncssh.SSHClient):
    """Asks the shell's user for the password, as OpenSSH does, three times at most."""

    def __init__(self, hop: SshHop) -> None:
        self.hop = hop
        self.tries = 0

    def password_auth_requested(self) -> Any:
        if self.tries:
            self.hop.shell.send("Permission denied, please try again.\r\n")
        if self.tries >= 3:
            return None
        self.tries += 1
        return self.hop.ask_password()


class _HopSession(asyncssh.SSHClientSession[str]):
    def __init__(self, hop: SshHop) -> None:
        self.hop = hop

    def data_received(self, data: str, datatype: Any) -> None:
        self.hop.shell.send(data)


class SshHop:
    """``ssh USER@HOST -p PORT``: an SSH client bridged to the shell's channel."""

    def __init__(self, shell: JumpShell, user: str, host: str, port: int) -> None:
        self.shell = shell
        self.user = user
        self.host = host
        self.port = port
        self.editor = LineEditor()
        self.editor.echo = self.editor.help = False  # the password is not echoed
        self.password: asyncio.Future[str] | None = None
        self.chan: Any = None
        self.conn: Any = None

    def ask_password(self) -> asyncio.Future[str]:
        """Prompt on the shell; the typed line completes the returned future."""
        self.shell.send(f"{self.user}@{self.host}'s password: ")
        self.password = asyncio.get_running_loop().create_future()
        return self.password

    async def run(self) -> None:
        """Log in, open a shell with a PTY, wait until it ends."""
        try:
            self.conn = await asyncssh.connect(
                self.host,
                self.port,
                username=self.user,
                known_hosts=None,
                client_factory=lambda: _HopClient(self),
                preferred_auth="password",
            )
        except asyncssh.PermissionDenied:
            self.shell.hop_ended(f"{self.user}@{self.host}: Permission denied (password).\r\n")
            return
        except (OSError, asyncssh.Error):
            self.shell.hop_ended(f"ssh: connect to host {self.host} port {self.port}: Connection refused\r\n")
            return
        self.chan, _ = await self.conn.create_session(lambda: _HopSession(self), term_type="xterm")
        await self.chan.wait_closed()
        self.close()
        self.shell.hop_ended(f"Connection to {self.host} closed.\r\n")

    def type(self, data: str) -> None:
        """Typed characters: the password while logging in, then the remote session's input."""
        if self.chan is not None:
            self.chan.write(data)
            return
        pos = 0
        while pos < len(data):
            fed = self.editor.feed(data, pos)
            pos += fed.consumed
            if fed.event is None or fed.event.key is not Key.ENTER:
                continue
            if self.password is not None and not self.password.done():
                self.shell.send("\r\n")
                self.password.set_result(fed.event.line)

    def close(self) -> None:
        """Close the connection."""
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None
