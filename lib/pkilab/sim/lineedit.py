r"""The simulated terminal's line discipline, sans-IO: typed characters in, echo and events out.

Rules of this editor (what the SSH adapter relies on):

* CR or LF ends a line; an LF right after a CR belongs to the same Enter.
* ``?`` asks for help at once (no Enter) while help is enabled (echo on, no dialog pending);
  the line typed so far stays in the buffer, as IOS redisplays it after the help.
* Ctrl-Z (``\\x1a``) ends the line and configuration mode; Ctrl-C and Ctrl-^ (``\\x03``,
  ``\\x1e``) discard the line and interrupt; Backspace and DEL remove one character.
* Other control characters are ignored.
* A line holds at most :data:`MAX_LINE` characters. Characters typed beyond it are dropped, with
  one bell per :meth:`LineEditor.feed` call, where the first was dropped (the limit and the bell
  are this simulator's choice; see docs/sim-ssh.md).

:meth:`LineEditor.feed` stops after the first event so that the adapter can act on it (a password
prompt turns echo off for what follows) before feeding the rest. Runs of ordinary characters are
taken with one regular-expression search, so a megabyte of input costs milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

#: The longest command line kept (characters); see the module docstring.
MAX_LINE = 1024

BELL = "\x07"

_SPECIAL = re.compile(r"[\x00-\x1f\x7f?]")


class Key(Enum):
    """What ended a run of typed characters."""

    ENTER = "enter"
    CTRL_Z = "ctrl-z"
    INTERRUPT = "interrupt"
    HELP = "help"


@dataclass(frozen=True)
class Event:
    """A completed input: the key and the line as it stood (help keeps the buffer)."""

    key: Key
    line: str


@dataclass(frozen=True)
class Fed:
    """The result of one :meth:`LineEditor.feed` call."""

    echo: str
    event: Event | None
    consumed: int


class LineEditor:
    """The line being typed on one terminal."""

    def __init__(self, limit: int = MAX_LINE) -> None:
        self.limit = limit
        self.buffer: list[str] = []
        self.size = 0
        self.echo = True
        self.help = True
        self._after_cr = False

    def text(self) -> str:
        """The line typed so far."""
        return "".join(self.buffer)

    def _take(self) -> str:
        line = self.text()
        self.buffer.clear()
        self.size = 0
        return line

    def feed(self, data: str, start: int = 0) -> Fed:
        """Consume ``data[start:]`` up to and including the first event."""
        out: list[str] = []
        rang = False  # one bell per call, where the first character was dropped
        pos = start
        end = len(data)
        while pos < end:
            m = _SPECIAL.search(data, pos)
            stop = m.start() if m else end
            if stop > pos:
                self._after_cr = False
                room = self.limit - self.size
                run = data[pos : min(stop, pos + room)] if room > 0 else ""
                if run:
                    self.buffer.append(run)
                    self.size += len(run)
                    if self.echo:
                        out.append(run)
                if len(run) < stop - pos and not rang:
                    rang = True
                    if self.echo:
                        out.append(BELL)
                pos = stop
                continue
            ch = data[pos]
            pos += 1
            event = self._special(ch, out)
            if event is not None:
                return Fed("".join(out), event, pos - start)
        return Fed("".join(out), None, pos - start)

    def _special(self, ch: str, out: list[str]) -> Event | None:
        after_cr, self._after_cr = self._after_cr, ch == "\r"
        if ch == "\n" and after_cr:
            return None
        if ch in "\r\n":
            return Event(Key.ENTER, self._take())
        if ch == "\x1a":
            return Event(Key.CTRL_Z, self._take())
        if ch in "\x03\x1e":
            self._take()
            return Event(Key.INTERRUPT, "")
        if ch in "\x7f\x08":
            if self.buffer:
                last = self.buffer[-1]
                if len(last) > 1:
                    self.buffer[-1] = last[:-1]
                else:
                    self.buffer.pop()
                self.size -= 1
                if self.echo:
                    out.append("\b \b")
            return None
        if ch == "?":
            if self.help and self.echo:
                return Event(Key.HELP, self.text())
            if self.size < self.limit:  # a "?" past the bound is dropped silently
                self.buffer.append(ch)
                self.size += 1
                if self.echo:
                    out.append(ch)
        return None
