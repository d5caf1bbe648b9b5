"""A terminal's input loop over a :class:`CliSession`, shared by SSH sessions and console lines.

Typed input arrives in chunks (an SSH packet, a telnet segment); :class:`TerminalDriver` runs each
through :class:`pkilab.sim.lineedit.LineEditor` and hands every completed line, Ctrl-Z, Ctrl-C or
``?`` to the session, writes the echo and the session's output (CR LF newlines), and follows the
session's dialogs (a password prompt turns echo off; an awaited result is waited for).

Every router of a lab shares one event loop, so a terminal must never hold it for long: the
driver yields to the loop after every command and every chunk; above :data:`INBOX_HIGH` queued
characters it asks its transport to stop reading (below :data:`INBOX_LOW` to resume), and while
the transport cannot take more output commands wait. The transport is a subclass: it delivers
input with :meth:`TerminalDriver.feed_input`, writes with :meth:`TerminalDriver._send` and decides
what ending a session means (:meth:`TerminalDriver._hang_up`): an SSH session closes its channel
and connection (:mod:`pkilab.sim.ssh`), a console line goes back to ``Press RETURN``
(:mod:`pkilab.sim.console`).
"""

from __future__ import annotations

import abc
import asyncio
from collections import deque

from pkilab.sim.interp import CliSession, Step
from pkilab.sim.lineedit import Event, Key, LineEditor

#: Queued input (characters) above which the transport stops reading; reading resumes below INBOX_LOW.
INBOX_HIGH = 64 * 1024
INBOX_LOW = 16 * 1024


def crlf(text: str) -> str:
    """Terminal newlines are CR LF."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


class TerminalDriver(abc.ABC):
    """One terminal (an SSH session, a console line) bound to a CLI session."""

    def __init__(self, session: CliSession) -> None:
        self.session = session
        self.editor = LineEditor()
        self.command: str | None = None  # an SSH exec request's command line: run it, then end
        self.task: asyncio.Task[None] | None = None
        self._inbox: deque[str] = deque()
        self._queued = 0
        self._eof = False
        self._wake = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._paused = False
        self._out: list[str] = []

    # ---- what a transport provides -------------------------------------------------------
    @abc.abstractmethod
    def _send(self, text: str) -> None:
        """Write ``text`` (CR LF newlines) to the client."""

    def _pause_input(self) -> None:
        """Stop reading from the client (flow control); a transport without it ignores this."""
        return None

    def _resume_input(self) -> None:
        """Read from the client again; a transport without flow control ignores this."""
        return None

    @abc.abstractmethod
    async def _hang_up(self, exit_status: int | None) -> None:
        """The session ended (``exit``, or the end of an exec request with ``exit_status``)."""

    def _help_allowed(self) -> bool:
        """Whether ``?`` asks for help now (else it is an ordinary character)."""
        return self.session.pending is None

    # ---- input from the transport --------------------------------------------------------
    def start(self) -> None:
        """Start reading input (call from the lab's event loop)."""
        self.task = asyncio.get_running_loop().create_task(self._run())

    def feed_input(self, data: str) -> None:
        """Characters the client sent."""
        self._inbox.append(data)
        self._queued += len(data)
        if self._queued > INBOX_HIGH and not self._paused:
            self._paused = True
            self._pause_input()
        self._wake.set()

    def end_input(self) -> None:
        """The client sent its last input (or went away)."""
        self._eof = True
        self._wake.set()

    def stop(self) -> None:
        """End the input loop now (the lab stops, the router reloads)."""
        if self.task is not None and not self.task.done() and self.task is not asyncio.current_task():
            self.task.cancel()

    # ---- output --------------------------------------------------------------------------
    def _write(self, text: str) -> None:
        if text:
            self._out.append(text)

    def _flush(self) -> None:
        """Send what is buffered as one write (one SSH packet where it fits)."""
        text, self._out = "".join(self._out), []
        if text:
            self._send(crlf(text))

    # ---- the loop ------------------------------------------------------------------------
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
        if self._paused and self._queued < INBOX_LOW:
            self._paused = False
            self._resume_input()
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
            self.editor.help = self._help_allowed()
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
