"""SSH adapter: an asyncssh server per router, feeding a :class:`CliSession` line by line.

The line discipline is ours (asyncssh's line editor is off) because IOS does things a generic
editor does not: ``?`` answers at once without Enter, Ctrl-Z ends configuration mode, and
password prompts must not echo. Output newlines are written as CR LF.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from pkilab.sim._asyncssh import asyncssh
from pkilab.sim.features.system import System
from pkilab.sim.interp import CliSession, Step

if TYPE_CHECKING:
    from pkilab.sim.router import Router


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


class CliChannel(asyncssh.SSHServerSession[str]):
    """One SSH shell channel bound to a CLI session."""

    def __init__(self, router: Router, user: str, privilege: int) -> None:
        self.router = router
        self.session = CliSession(router, privilege=privilege, user=user)
        self.chan: Any = None
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.echo = True

    # ---- asyncssh callbacks --------------------------------------------------------------
    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        return False

    def session_started(self) -> None:
        self.router.lab.register_channel(self.router, self)
        self.router.feature(System).monitors.append(self._monitor)
        self._write("\n" + self.session.banner())
        self.task = asyncio.get_running_loop().create_task(self._process())

    def data_received(self, data: str, datatype: Any) -> None:
        for ch in data:
            self.queue.put_nowait(ch)

    def eof_received(self) -> bool:
        self.queue.put_nowait(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.queue.put_nowait(None)
        self._detach()

    # ---- helpers -------------------------------------------------------------------------
    def _detach(self) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.router.feature(System).monitors.remove(self._monitor)
        self.router.lab.unregister_channel(self.router, self)

    def _write(self, text: str) -> None:
        if self.chan is not None and text:
            with contextlib.suppress(Exception):
                self.chan.write(_crlf(text))

    def _monitor(self, line: str) -> None:
        if self.session.monitor:
            self._write("\n" + line + "\n")

    def close(self) -> None:
        """Drop the connection (reload, lab stop) and end its input task."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.chan is not None:
            with contextlib.suppress(Exception):
                self.chan.close()

    async def _process(self) -> None:
        buf: list[str] = []
        last_cr = False
        while True:
            ch = await self.queue.get()
            if ch is None:
                return
            if ch == "\n" and last_cr:
                last_cr = False
                continue
            last_cr = ch == "\r"
            if ch in "\r\n":
                line = "".join(buf)
                buf.clear()
                self._write("\n")
                if not await self._step(self.session.feed(line)):
                    return
            elif ch == "\x1a":
                line = "".join(buf)
                buf.clear()
                self._write("^Z\n")
                if not await self._step(self.session.feed(line + "\x1a")):
                    return
            elif ch in "\x03\x1e":
                buf.clear()
                self._write("\n")
                await self._step(self.session.interrupt())
            elif ch in "\x7f\x08":
                if buf:
                    buf.pop()
                    if self.echo:
                        self._write("\b \b")
            elif ch == "?" and self.echo and self.session.pending is None:
                self._write("?\n")
                step = self.session.feed("".join(buf) + "?")
                self._write(step.output + "".join(buf))
            elif ch >= " ":
                buf.append(ch)
                if self.echo:
                    self._write(ch)

    async def _step(self, step: Step) -> bool:
        while True:
            self._write(step.output)
            self.echo = step.echo
            if step.closed:
                self._write("\n")
                self.close()
                return False
            if step.wait is None:
                return True
            try:
                value = await step.wait
            except Exception as exc:  # a failed network operation must not kill the session
                value = exc
            step = self.session.resume(value)


class CliServer(asyncssh.SSHServer):
    """Password authentication against the router's ``username`` entries."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.user = ""
        self.privilege = 1

    def begin_auth(self, username: str) -> bool:
        self.user = username
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        if not self.router.up:
            return False
        privilege = self.router.feature(System).check_login(username, password)
        if privilege is None:
            return False
        self.privilege = privilege
        return True

    def session_requested(self) -> CliChannel:
        return CliChannel(self.router, self.user, self.privilege)


async def start_server(router: Router, host: str, port: int, host_key: Any) -> Any:
    """Start the SSH server of ``router`` on ``host:port``."""
    return await asyncssh.create_server(
        lambda: CliServer(router),
        host,
        port,
        server_host_keys=[host_key],
        line_editor=False,
        keepalive_interval=0,
        reuse_address=True,
    )
