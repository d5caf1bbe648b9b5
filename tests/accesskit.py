"""Real access paths for tests: an SSH jump host, telnet consoles and a terminal server.

* :class:`JumpHost`: an asyncssh server that logs users in by password and forwards
  ``direct-tcpip`` to loopback only (what ``ssh -J`` uses), with no shell.
* :class:`Console`: a telnet console for one simulated router. It negotiates options as a
  console server does (WILL ECHO, WILL SGA), shows IOS's console dialogs — the initial
  configuration dialog and autoinstall question of a router without startup configuration,
  ``Press RETURN to get started!``, a line password — and then carries the keystrokes to the
  router's SSH CLI. When the router reloads (its SSH session drops) the console stays up,
  prints boot lines, and offers ``Press RETURN`` again once the router accepts logins.
* :class:`TerminalServer`: an SSH server with a CML-like shell (``consoles>``): ``open
  /<lab>/<device>/0`` joins the shell to that device's :class:`Console`.

The dialog wording is IOS's as unicon's generic plugin matches it; the boot lines are invented
for the test (a router's real boot output is longer). The simulated lab's own consoles and
terminal server (``custom.sim.console``) replace these once they exist; these stay as the
test doubles of the client side.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from typing import Any

import asyncssh

from pkilab.device.telnet import DO, ECHO, IAC, SGA, WILL, TelnetCodec

SETUP_QUESTION = "Would you like to enter the initial configuration dialog? [yes/no]: "
AUTOINSTALL_QUESTION = "Would you like to terminate autoinstall? [yes]: "
PRESS_RETURN = "Press RETURN to get started!"
BOOT_LINES = "\r\nSystem Bootstrap, Version 12.4(test), RELEASE SOFTWARE\r\n\r\nBooting the image...\r\n"


class Loop:
    """An asyncio loop in a daemon thread, for servers driven from synchronous tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, awaitable: Any, timeout: float = 30.0) -> Any:
        async def wrapped() -> Any:  # asyncssh's create_server is awaitable, not a coroutine
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def call(self, fn: Any) -> None:
        self.loop.call_soon_threadsafe(fn)

    def stop(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class _PasswordServer(asyncssh.SSHServer):
    def __init__(self, username: str, password: str, forward: bool) -> None:
        self.username, self.password, self.forward = username, password, forward
        self.forwards: list[tuple[str, int]] = []

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == (self.username, self.password)

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        # A jump host of the test: forwards to this machine's loopback only.
        ok = self.forward and dest_host in ("127.0.0.1", "localhost")
        if ok:
            JumpHost.forwarded.append((dest_host, dest_port))
        return ok


class JumpHost:
    """An SSH jump host on 127.0.0.1:``port`` (password login, direct-tcpip to loopback)."""

    forwarded: list[tuple[str, int]] = []

    def __init__(self, loop: Loop, port: int, username: str = "jumper", password: str = "jump-pw") -> None:
        self.loop, self.port, self.username, self.password = loop, port, username, password
        key = asyncssh.generate_private_key("ssh-ed25519")
        self.server = loop.run(
            asyncssh.create_server(
                lambda: _PasswordServer(username, password, True),
                "127.0.0.1",
                port,
                server_host_keys=[key],
            )
        )

    def close(self) -> None:
        self.loop.call(self.server.close)


def _returns(data: str, state: dict[str, bool]) -> list[str]:
    """Split console input into characters and RETURN keys (CR, CR LF, CR NUL, LF)."""
    out: list[str] = []
    for ch in data:
        if ch in ("\n", "\0") and state.get("cr"):
            state["cr"] = False
            continue
        state["cr"] = ch == "\r"
        out.append("\r" if ch in ("\r", "\n") else ch)
    return out


class _ConsoleLine:
    """One telnet connection to a :class:`Console`: dialogs, login, then the router's CLI."""

    def __init__(self, console: Console, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.console, self.reader, self.writer = console, reader, writer
        self.codec = TelnetCodec()
        self.keys: asyncio.Queue[str] = asyncio.Queue()
        self.crlf: dict[str, bool] = {}

    def out(self, text: str) -> None:
        self.writer.write(text.replace("\n", "\r\n").replace("\r\r\n", "\r\n").encode())

    async def pump(self) -> None:
        while data := await self.reader.read(4096):
            text, reply = self.codec.feed(data)
            if reply:
                self.writer.write(reply)
            for key in _returns(text.decode("utf-8", "replace"), self.crlf):
                await self.keys.put(key)
        await self.keys.put("")

    async def line(self, echo: bool = True) -> str:
        typed = ""
        while (key := await self.keys.get()) != "\r":
            if key == "":
                raise EOFError
            typed += key
            if echo:
                self.out(key)
        self.out("\n")
        return typed

    async def run(self) -> None:
        self.writer.write(bytes((IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, SGA)))
        pump = asyncio.get_running_loop().create_task(self.pump())
        try:
            if self.console.fresh:
                self.console.fresh = False
                await self._setup_dialog()
            while True:
                await self._login()
                await self._cli()
                # The router dropped the CLI: it is reloading. The console stays.
                self.out(BOOT_LINES)
                await self.console.wait_router()
                self.out(f"\n\n{PRESS_RETURN}\n")
                await self.line()
        except (EOFError, ConnectionError):
            pass
        finally:
            pump.cancel()
            self.writer.close()

    async def _setup_dialog(self) -> None:
        self.out("\n         --- System Configuration Dialog ---\n\n" + SETUP_QUESTION)
        while (answer := (await self.line()).strip()) not in ("yes", "no"):
            self.out("% Please answer 'yes' or 'no'.\n" + SETUP_QUESTION)
        self.console.log.append(f"setup:{answer}")
        self.out("\n" + AUTOINSTALL_QUESTION)
        answer = (await self.line()).strip() or "yes"
        self.console.log.append(f"autoinstall:{answer}")
        self.out(f"\n\n{PRESS_RETURN}\n")
        await self.line()

    async def _login(self) -> None:
        while self.console.line_password:
            self.out("\nUser Access Verification\n\nPassword: ")
            if await self.line(echo=False) == self.console.line_password:
                self.console.log.append("line-login")
                return
            self.out("% Bad passwords\n")

    async def _cli(self) -> None:
        async with await self.console.ssh() as conn:
            process = await conn.create_process(term_type="vt100", term_size=(511, 1000))
            self.console.log.append("cli")

            async def keys_to_router() -> None:
                while (key := await self.keys.get()) != "":
                    process.stdin.write(key)
                process.stdin.write_eof()

            forward = asyncio.get_running_loop().create_task(keys_to_router())
            try:
                while data := await process.stdout.read(4096):
                    self.out(data)
            finally:
                forward.cancel()
            if forward.done() and not forward.cancelled():
                raise EOFError


class Console:
    """A telnet console on 127.0.0.1:``port`` for the router at ``router_port`` (SSH)."""

    def __init__(
        self,
        loop: Loop,
        port: int,
        router_port: int,
        username: str,
        password: str,
        fresh: bool = False,
        line_password: str = "",
    ) -> None:
        self.loop, self.port, self.router_port = loop, port, router_port
        self.username, self.password = username, password
        self.fresh, self.line_password = fresh, line_password
        self.log: list[str] = []
        self.server = loop.run(asyncio.start_server(self._serve, "127.0.0.1", port))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _ConsoleLine(self, reader, writer).run()

    async def ssh(self) -> Any:
        return await asyncssh.connect(
            "127.0.0.1", self.router_port, username=self.username, password=self.password, known_hosts=None
        )

    async def wait_router(self, timeout: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                conn = await self.ssh()
            except (OSError, asyncssh.Error):
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)
                continue
            conn.close()
            return

    def close(self) -> None:
        self.loop.call(self.server.close)


class TerminalServer:
    """An SSH terminal server (``consoles>``): ``open /<lab>/<device>/0`` reaches that device's console."""

    PROMPT = "consoles> "

    def __init__(self, loop: Loop, port: int, lab: str, consoles: dict[str, int], username: str, password: str):
        self.loop, self.lab, self.consoles = loop, lab, consoles
        key = asyncssh.generate_private_key("ssh-ed25519")
        self.opened: list[str] = []
        self.server = loop.run(
            asyncssh.create_server(
                lambda: _PasswordServer(username, password, False),
                "127.0.0.1",
                port,
                server_host_keys=[key],
                process_factory=self._shell,
            )
        )

    async def _shell(self, process: Any) -> None:
        try:
            while True:
                process.stdout.write(self.PROMPT)
                line = (await process.stdin.readline()).strip()
                if not line:
                    if process.stdin.at_eof():
                        break
                    continue
                m = re.fullmatch(r"open /([^/]+)/([^/]+)/0", line)
                port = self.consoles.get(m.group(2)) if m and m.group(1) == self.lab else None
                if port is None:
                    process.stdout.write(f"%Error: no console {line[5:]!r}\r\n")
                    continue
                self.opened.append(line)
                await self._join(process, port)
                break
        finally:
            process.exit(0)

    async def _join(self, process: Any, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        process.channel.set_line_mode(False)
        process.channel.set_echo(False)
        codec = TelnetCodec()

        async def up() -> None:
            while data := await process.stdin.read(4096):
                writer.write(codec.encode(data))
            writer.close()

        task = asyncio.get_running_loop().create_task(up())
        try:
            while data := await reader.read(4096):
                text, reply = codec.feed(data)
                if reply:
                    writer.write(reply)
                process.stdout.write(text.decode("utf-8", "replace"))
        finally:
            task.cancel()
            with contextlib.suppress(Exception):
                writer.close()

    def close(self) -> None:
        self.loop.call(self.server.close)
