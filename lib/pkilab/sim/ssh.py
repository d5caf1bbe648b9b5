"""SSH adapter: an asyncssh server per router, feeding a :class:`CliSession` line by line.

The line discipline is :mod:`pkilab.sim.lineedit` (asyncssh's line editor is off) because IOS does
things a generic editor does not: ``?`` answers at once without Enter, Ctrl-Z ends configuration
mode, and password prompts must not echo. Output newlines are written as CR LF.

Every router of a lab shares one event loop, so a session must never hold it for long: input is
taken in the chunks SSH delivers, a line is bounded (:data:`pkilab.sim.lineedit.MAX_LINE`), the
session yields to the loop after every command and every chunk, and flow control holds a client
that sends faster than its commands run (reading pauses above :data:`INBOX_HIGH` characters queued)
or reads slower than they print (commands wait while asyncssh's send buffer is full).

A session ends as IOS ends it: the output is sent, the channel is closed, and once the client has
closed its side the connection is closed with an SSH disconnect, so clients see an orderly end and
never a reset. An exec request (``ssh router "show clock"``) runs the one command at the user's
privilege, sends its output without prompts, and ends the same way with exit status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING, Any

import asyncssh

from pkilab.sim.features.login import Login
from pkilab.sim.features.system import System
from pkilab.sim.interp import CliSession, Step
from pkilab.sim.lineedit import Event, Key, LineEditor

if TYPE_CHECKING:
    from pkilab.sim.router import Router

#: Queued input (characters) above which the channel stops reading; reading resumes below INBOX_LOW.
INBOX_HIGH = 64 * 1024
INBOX_LOW = 16 * 1024
#: How long a closing session waits for the client to close its side of the channel (seconds).
CLOSE_GRACE = 2.0


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


class CliChannel(asyncssh.SSHServerSession[str]):
    """One SSH session channel (shell or exec request) bound to a CLI session."""

    def __init__(self, router: Router, user: str, privilege: int) -> None:
        self.router = router
        self.session = CliSession(router, privilege=privilege, user=user)
        self.editor = LineEditor()
        self.chan: Any = None
        self.command: str | None = None  # an exec request's command line
        self.task: asyncio.Task[None] | None = None
        self._inbox: deque[str] = deque()
        self._queued = 0
        self._eof = False
        self._wake = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._paused = False
        self._out: list[str] = []

    # ---- asyncssh callbacks --------------------------------------------------------------
    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return True

    def session_started(self) -> None:
        self.router.lab.register_channel(self.router, self)
        self.router.feature(System).monitors.append(self._monitor)
        if self.command is not None:
            self.session.prompting = False
            self.editor.echo = False
        else:
            self._write("\n" + self.session.banner())
            self._flush()
        self.task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: str, datatype: Any) -> None:
        self._inbox.append(data)
        self._queued += len(data)
        if self._queued > INBOX_HIGH and not self._paused and self.chan is not None:
            self._paused = True
            self.chan.pause_reading()
        self._wake.set()

    def eof_received(self) -> bool:
        # Stay half-open: an exec request's client closes its input at once and still wants the output.
        self._eof = True
        self._wake.set()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake.set()
        self._writable.set()
        self._detach()
        self.chan = None

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # ---- output --------------------------------------------------------------------------
    def _detach(self) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.router.feature(System).monitors.remove(self._monitor)
        self.router.lab.unregister_channel(self.router, self)

    def _write(self, text: str) -> None:
        if text:
            self._out.append(text)

    def _flush(self) -> None:
        """Send what is buffered as one write (one SSH packet where it fits)."""
        text, self._out = "".join(self._out), []
        if text and self.chan is not None and not self.chan.is_closing():
            with contextlib.suppress(OSError):
                self.chan.write(_crlf(text))

    def _monitor(self, line: str) -> None:
        if self.session.monitor:
            self._write("\n" + line + "\n")
            self._flush()

    # ---- ending --------------------------------------------------------------------------
    def close(self) -> None:
        """Drop the session now (reload, lab stop): channel closed, SSH disconnect, TCP closed."""
        if self.task is not None and not self.task.done() and self.task is not asyncio.current_task():
            self.task.cancel()
        self._disconnect()

    def _disconnect(self) -> None:
        chan = self.chan
        if chan is not None:
            with contextlib.suppress(Exception):
                chan.get_extra_info("connection").disconnect(
                    asyncssh.DISC_BY_APPLICATION, "Session closed by the router"
                )

    async def _hang_up(self, exit_status: int | None) -> None:
        """End the session: flush, close the channel, let the client close its side, disconnect."""
        self._flush()
        chan = self.chan
        if chan is None:
            return
        with contextlib.suppress(Exception):
            if exit_status is None:
                chan.close()
            else:
                chan.exit(exit_status)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(chan.wait_closed(), CLOSE_GRACE)
        with contextlib.suppress(Exception):
            chan.get_extra_info("connection").disconnect(asyncssh.DISC_BY_APPLICATION, "Session closed")

    # ---- input ---------------------------------------------------------------------------
    async def _next_input(self) -> str | None:
        """The next chunk the client sent, or None at its end of input."""
        while not self._inbox:
            self._flush()
            if self._eof:
                return None
            self._wake.clear()
            await self._wake.wait()
        data = self._inbox.popleft()
        self._queued -= len(data)
        if self._paused and self._queued < INBOX_LOW and self.chan is not None:
            self._paused = False
            self.chan.resume_reading()
        return data

    async def _yield(self) -> None:
        """Let every other session of the lab run, and wait while the client is not reading."""
        self._flush()
        await asyncio.sleep(0)
        await self._writable.wait()

    async def _run(self) -> None:
        try:
            if self.command is not None and not await self._handle(Event(Key.ENTER, self.command)):
                return
            while self.command is None or self.session.pending is not None:
                data = await self._next_input()
                if data is None:
                    break
                if not await self._consume(data):
                    return
            await self._hang_up(0 if self.command is not None else None)
        except asyncio.CancelledError:
            pass

    async def _consume(self, data: str) -> bool:
        """Feed one chunk through the line editor; False once the session has ended."""
        pos = 0
        while pos < len(data):
            self.editor.help = self.session.pending is None
            fed = self.editor.feed(data, pos)
            pos += fed.consumed
            self._write(fed.echo)
            if fed.event is not None:
                if not await self._handle(fed.event):
                    return False
                if self.command is not None and self.session.pending is None:
                    return True  # an exec request's dialog is answered: the rest of the input is not read
            await self._yield()
        return True

    async def _handle(self, event: Event) -> bool:
        """Run what an event asks for; False once the session has ended."""
        if event.key is Key.HELP:
            self._write("?\n")
            step = self.session.feed(event.line + "?")
            self._write(step.output + event.line)
            return True
        if event.key is Key.INTERRUPT:
            self._write("\n")
            return await self._step(self.session.interrupt())
        if event.key is Key.CTRL_Z:
            self._write("^Z\n")
            return await self._step(self.session.feed(event.line + "\x1a"))
        if self.command is None:
            self._write("\n")
        return await self._step(self.session.feed(event.line))

    async def _step(self, step: Step) -> bool:
        while True:
            self._write(step.output)
            self.editor.echo = step.echo and self.command is None
            if step.closed:
                self._write("\n")
                await self._hang_up(None if self.command is None else 0)
                return False
            if step.wait is None:
                return True
            self._flush()
            try:
                value = await step.wait
            except Exception as exc:  # a failed network operation must not kill the session
                value = exc
            step = self.session.resume(value)


class CliServer(asyncssh.SSHServer):
    """Password authentication against the router's ``username`` entries, under its login policy."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.user = ""
        self.privilege = 1
        self.source = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.source = str(peer[0]) if peer else ""
        # A quiet period refuses the connection itself, as IOS's quiet-mode access list does.
        if self.router.up and not self.router.feature(Login).admits(self.source):
            conn.abort()

    def begin_auth(self, username: str) -> bool:
        self.user = username
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        if not self.router.up:
            return False
        login = self.router.feature(Login)
        wait = login.pace()
        if wait > 0:
            await asyncio.sleep(wait)
        if not self.router.up or not login.admits(self.source):
            return False
        check = self.router.feature(System).check_login
        # The password hash takes milliseconds of CPU: off the loop the other routers share.
        privilege = await asyncio.get_running_loop().run_in_executor(None, check, username, password)
        if not self.router.up:
            return False
        login.record(privilege is not None, username, self.source)
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
