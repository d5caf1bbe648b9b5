"""The simulated IOS command interpreter: one CLI session, sans-IO.

Lines go in (:meth:`CliSession.feed`), text comes out (:class:`Step`). A command handler is a
function ``handler(ctx, args)`` returning text, None, or a generator. A generator yields:

* ``str`` — output;
* :class:`Ask` — a dialog question; the answer line is sent back into the generator;
* :class:`Await` — an awaitable the adapter must await (network work); its result is sent back.

The adapter (SSH) echoes typed characters itself, writes ``Step.output`` and, when
``Step.wait`` is set, awaits it and calls :meth:`CliSession.resume`. Unit tests drive the
session synchronously for commands that never await.

IOS rules reproduced here: unique-prefix abbreviation; ``% Invalid input`` with a caret under
the offending word, ``% Incomplete command.``, ``% Ambiguous command:  "…"``; a command not
valid in a configuration sub-mode is tried in the parent modes and moves the session there;
``end``/Ctrl-Z/``exit``; ``do``; output filters ``| include|exclude|begin|section|count``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pkilab.catalog import Command, Match, NoMatch
from pkilab.device.modes import MODES, prompt

if TYPE_CHECKING:
    from pkilab.sim.router import Router


@dataclass(frozen=True)
class Ask:
    """A dialog question. ``echo=False`` for passwords."""

    prompt: str
    echo: bool = True


@dataclass(frozen=True)
class Await:
    """Work the adapter must await (a coroutine or future); the result goes back in."""

    awaitable: Awaitable[Any]


@dataclass(frozen=True)
class Step:
    """What the session has to say after a line or a resumed await."""

    output: str
    wait: Awaitable[Any] | None = None
    echo: bool = True
    closed: bool = False


class SessionClosed(Exception):
    """Raised inside a handler to end the session (``exit`` from exec, reload)."""


@dataclass
class Ctx:
    """What a handler sees: the router, the session, the current mode's object."""

    router: Router
    session: CliSession
    obj: Any = None
    interactive: bool = True
    command: Command | None = None  # the catalog command that matched

    def enter(self, mode: str, obj: Any = None) -> None:
        """Move the session into ``mode`` (a sub-mode of the current one) with its object."""
        self.session.push_mode(mode, obj)

    @property
    def mode(self) -> str:
        """The session's current mode."""
        return self.session.mode


_FILTER_RE = re.compile(r"^(?P<cmd>.*?)\s\|\s*(?P<kw>\S+)\s*(?P<arg>.*)$")
_FILTERS = ("append", "begin", "count", "exclude", "include", "redirect", "section", "tee")


@dataclass
class CliSession:
    """One CLI session on a simulated router."""

    router: Router
    privilege: int = 1
    interactive: bool = True
    user: str = ""
    mode_stack: list[tuple[str, Any]] = field(default_factory=list)
    term_length: int = 24
    term_width: int = 80
    monitor: bool = False
    prompting: bool = True  # False for an SSH exec request: output only, as IOS sends it
    _gen: Generator[Any, Any, Any] | None = None
    _out: list[str] = field(default_factory=list)
    _filter: tuple[str, str] | None = None
    _asked: bool = False

    def __post_init__(self) -> None:
        if not self.mode_stack:
            self.mode_stack = [("privileged" if self.privilege >= 15 else "user", None)]

    @property
    def pending(self) -> Generator[Any, Any, Any] | None:
        """The handler waiting for an answer or an awaited result, if any."""
        return self._gen

    # ---- modes -------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """The current mode name."""
        return self.mode_stack[-1][0]

    def push_mode(self, mode: str, obj: Any = None) -> None:
        """Enter a sub-mode (the parent stays below it on the stack)."""
        parent = MODES[mode].parent
        while self.mode_stack and self.mode != parent and len(self.mode_stack) > 1:
            self.mode_stack.pop()
        self.mode_stack.append((mode, obj))

    def to_mode(self, mode: str) -> None:
        """Pop modes until ``mode`` is current."""
        while len(self.mode_stack) > 1 and self.mode != mode:
            self.mode_stack.pop()

    def prompt(self) -> str:
        """The prompt for the current mode."""
        return prompt(self.router.hostname, self.mode)

    # ---- input -------------------------------------------------------------------------
    def banner(self) -> str:
        """What the session prints when it opens: the prompt."""
        return self.prompt()

    def feed(self, line: str) -> Step:
        """Process one line typed by the user."""
        if self._gen is not None:
            return self._run(line)
        self._out = []
        self._filter = None
        self._asked = False
        line = line.rstrip("\r\n")
        if "\x1a" in line:  # Ctrl-Z: end of configuration
            line = line.replace("\x1a", "")
            if line.strip():
                self._dispatch(line)
            if MODES[self.mode].config:
                self.to_mode("privileged")
            return self._finish()
        if not line.strip() or line.lstrip().startswith("!"):
            return self._finish()
        if line.rstrip().endswith("?"):
            self._help(line.rstrip()[:-1])
            return self._finish()
        result = self._dispatch(line)
        if isinstance(result, Step):
            return result
        return self._finish()

    def resume(self, value: Any) -> Step:
        """Continue a handler after an awaited result."""
        return self._run(value)

    def interrupt(self) -> Step:
        """Ctrl-C / Ctrl-^: abort a running dialog."""
        if self._gen is not None:
            self._gen.close()
            self._gen = None
            self._out.append("% Aborted\n")
        return self._finish()

    # ---- dispatch ----------------------------------------------------------------------
    def _dispatch(self, line: str) -> Step | None:
        m = _FILTER_RE.match(line)
        if m:
            kw = m.group("kw").lower()
            hits = [f for f in _FILTERS if f.startswith(kw)]
            if len(hits) != 1:
                col = line.index("|", len(m.group("cmd"))) + 2
                self._error(NoMatch("invalid", col))
                return None
            self._filter = (hits[0], m.group("arg"))
            line = m.group("cmd")
        if MODES[self.mode].config and re.match(r"^\s*do\s", line, re.IGNORECASE):
            sub = line.strip()[2:].strip()
            return self._dispatch_in(sub, "privileged", len(line) - len(sub), keep_mode=True)
        return self._dispatch_in(line, self.mode, 0)

    def _dispatch_in(self, line: str, mode: str, offset: int, keep_mode: bool = False) -> Step | None:
        grammars = self.router.grammars
        result = grammars.match(mode, line)
        if isinstance(result, NoMatch) and MODES[mode].config and not keep_mode:
            # IOS tries the parent modes and leaves the sub-mode when one accepts the line.
            parent = MODES[mode].parent
            while parent is not None and MODES[parent].config:
                alt = grammars.match(parent, line)
                if not isinstance(alt, NoMatch):
                    self.to_mode(parent)
                    result = alt
                    break
                parent = MODES[parent].parent
        if isinstance(result, NoMatch):
            self._error(result, offset)
            return None
        match, handler = result
        return self._call(match, handler, keep_mode)

    def _call(self, match: Match, handler: Callable[..., Any], keep_mode: bool) -> Step | None:
        obj = self.mode_stack[-1][1]
        ctx = Ctx(self.router, self, obj, self.interactive, match.command)
        saved = list(self.mode_stack) if keep_mode else None
        try:
            out = handler(ctx, match.args)
        except SessionClosed:
            return Step("".join(self._out), closed=True)
        except Exception as exc:  # a simulator bug: say so on the CLI and keep the session alive
            self._internal_error(exc)
            return None
        finally:
            if saved is not None:
                self.mode_stack = saved
        if isinstance(out, Generator):
            self._gen = out
            return self._run(None)
        if out:
            self._out.append(out if out.endswith("\n") else out + "\n")
        return None

    def _run(self, value: Any) -> Step:
        assert self._gen is not None
        try:
            item = self._gen.send(value)
            while True:
                if isinstance(item, str):
                    self._out.append(item)
                    item = self._gen.send(None)
                elif isinstance(item, Ask):
                    self._asked = True
                    text = "".join(self._out) + item.prompt
                    self._out = []
                    return Step(text, echo=item.echo)
                elif isinstance(item, Await):
                    # Output so far goes out now (ping marks appear as they happen); a filter
                    # only applies to commands that never wait.
                    text = "" if self._filter is not None else "".join(self._out)
                    if self._filter is None:
                        self._out = []
                    return Step(text, wait=item.awaitable)
                else:
                    raise TypeError(f"handler yielded {item!r}")
        except StopIteration as stop:
            self._gen = None
            if isinstance(stop.value, str) and stop.value:
                self._out.append(stop.value if stop.value.endswith("\n") else stop.value + "\n")
        except SessionClosed:
            self._gen = None
            return Step("".join(self._out), closed=True)
        except Exception as exc:  # a simulator bug: say so on the CLI and keep the session alive
            self._gen = None
            self._internal_error(exc)
        return self._finish()

    def _internal_error(self, exc: Exception) -> None:
        import traceback

        self.router.errors.append("".join(traceback.format_exception(exc)))
        self._out.append(f"% Internal simulator error: {type(exc).__name__}: {exc}\n")

    def _finish(self) -> Step:
        text = "".join(self._out)
        self._out = []
        if self._filter is not None and not self._asked:
            text = apply_filter(text, *self._filter)
        self._filter = None
        return Step(text + self.prompt() if self.prompting else text)

    def _error(self, nm: NoMatch, offset: int = 0) -> None:
        if nm.kind == "ambiguous":
            self._out.append(f'% Ambiguous command:  "{nm.text}"\n')
        elif nm.kind == "incomplete":
            self._out.append("% Incomplete command.\n\n")
        elif nm.column + offset == 0 and not MODES[self.mode].config:
            self._out.append("% Unknown command or computer name, or unable to find computer address\n")
        else:
            shown = len(self.prompt()) if self.prompting else 0  # no prompt shown: count from the command
            pad = " " * (shown + nm.column + offset)
            self._out.append(f"{pad}^\n% Invalid input detected at '^' marker.\n\n")

    def _help(self, line: str) -> None:
        entries = self.router.grammars.help_at(self.mode, line)
        if isinstance(entries, NoMatch):
            self._error(entries)
            return
        if not entries:
            self._out.append("% Unrecognized command\n")
            return
        width = max(len(k) for k, _ in entries) + 2
        self._out.append("".join(f"  {k.ljust(width)}{h}\n" for k, h in entries) + "\n")


def apply_filter(text: str, kind: str, arg: str) -> str:
    """Apply an IOS output filter (``| include`` …) to a command's output."""
    lines = text.splitlines()
    try:
        rx = re.compile(arg)
    except re.error:
        rx = re.compile(re.escape(arg))
    if kind == "include":
        kept = [ln for ln in lines if rx.search(ln)]
    elif kind == "exclude":
        kept = [ln for ln in lines if not rx.search(ln)]
    elif kind == "begin":
        kept = []
        for i, ln in enumerate(lines):
            if rx.search(ln):
                kept = lines[i:]
                break
    elif kind == "section":
        kept = []
        in_section = False
        for ln in lines:
            if ln and not ln[0].isspace():
                in_section = bool(rx.search(ln))
                if in_section:
                    kept.append(ln)
            elif in_section or (ln.strip() and rx.search(ln)):
                kept.append(ln)
    elif kind == "count":
        return f"Number of lines which match regexp = {sum(1 for ln in lines if rx.search(ln))}\n"
    else:
        kept = lines
    return "".join(ln + "\n" for ln in kept)
