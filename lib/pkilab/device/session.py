"""Sessions to IOS routers: a backend to connect, our own reads for speed, dialogs by prompt.

A backend (:mod:`pkilab.device.backends`: netmiko or unicon) opens the device's connection —
directly, through SSH jump hosts, or on a console — and logs in where it can. On a console the
session answers what the router asks itself (:func:`pkilab.device.console.login`, driven by the
dialogs declared in :mod:`pkilab.device.modes`). After that, a command is written to the stream
and the answer is read up to the next prompt without fixed delays (netmiko's ``send_command``
spends ~80 ms in its read loop; this takes a few milliseconds on the simulated lab).

Every exchange is appended to the session's :class:`Transcript`, masked.

An exchange cut short (a Ctrl-C, a timeout) leaves the rest of its answer on the wire; the next
command would read it as its own. The session remembers that and resynchronises first (see
:meth:`Session.resync`), so that a restore in a ``finally:`` after an interrupt reads its own output.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pkilab.device.backends import Stream, open_link
from pkilab.device.logs import LOG_TAIL, drop_log_messages, log_prefix_length, shows_log
from pkilab.device.modes import is_failure
from pkilab.errors import (
    CommandError,
    DeviceConnectionError,
    DeviceTimeoutError,
    UnexpectedPromptError,
)
from pkilab.secrets import Masker
from pkilab.testbed import DeviceSpec


@dataclass
class Transcript:
    """What was sent to and received from a device, masked; cut per test by the plugin."""

    device: str
    masker: Masker
    parts: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        """Append raw device text (masked on the way in)."""
        self.parts.append(self.masker.mask(text))

    def mark(self) -> int:
        """Return a position to cut from later."""
        return len(self.parts)

    def since(self, mark: int) -> str:
        """Return everything recorded after ``mark``."""
        return "".join(self.parts[mark:])


@dataclass(frozen=True)
class Answer:
    """A dialog step: when the device output matches ``prompt``, send ``reply`` (a line)."""

    prompt: str
    reply: str
    secret: bool = False


class Session:
    """A CLI session to one device, in privileged exec after :meth:`connect`.

    Args:
        spec: the device.
        masker: masks secrets in the transcript (shared by a pool's sessions).
        timeout: seconds a command may take to give the prompt back.
        backend: ``netmiko`` or ``unicon``; default the testbed's choice for the device.
        boot_timeout: seconds a router on a console may take to boot after ``reload``.
    """

    RESYNC_TIMEOUT = 10.0  # seconds :meth:`resync` waits for a prompt before reconnecting

    def __init__(
        self,
        spec: DeviceSpec,
        masker: Masker | None = None,
        timeout: float = 30.0,
        backend: str | None = None,
        boot_timeout: float = 600.0,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.masker = masker or Masker(spec.secrets())
        for s in spec.secrets():
            self.masker.add(s)
        self.timeout = timeout
        self.boot_timeout = boot_timeout
        self.backend = backend or spec.backend
        self.transcript = Transcript(spec.name, self.masker)
        self.stream: Stream | None = None
        self.base_prompt = ""
        self._prompt_re: re.Pattern[str] | None = None
        # True from a command's first byte sent until its prompt is read: still True at the next
        # command means the previous exchange was cut short (interrupt, timeout) mid-answer.
        self._unsettled = False

    # ---- connection --------------------------------------------------------------------
    def connect(self) -> Session:
        """Connect, log in and enter privileged exec; raise a :class:`DeviceError` subclass."""
        from pkilab.device import console

        link = open_link(self.spec, self.timeout, self.backend)
        self.stream = link.stream
        try:
            if link.prompt:
                self._set_prompt(link.prompt)
            else:
                self._set_prompt(console.login(self))
                console.terminal_setup(self)
            if self.backend != "unicon":  # unicon runs a connection's init commands itself
                self._init_commands()
        except BaseException:
            self.close()
            raise
        self.transcript.add(f"{self.base_prompt}# ! connected ({self.backend}, {self.spec.connection.describe()})\n")
        self._unsettled = False
        return self

    def _set_prompt(self, hostname: str) -> None:
        self.base_prompt = hostname
        self._prompt_re = re.compile(
            r"(?:^|[\r\n])(" + re.escape(hostname) + r"[\w.\-]*(?:\([\w.\-]+\))?[#>])\s?" + LOG_TAIL + "$"
        )

    def _init_commands(self) -> None:
        c = self.spec.connection
        for command in c.init_exec_commands or ():
            self.run(command)
        if c.init_config_commands:
            self.config(c.init_config_commands)

    @property
    def connected(self) -> bool:
        """True while the connection is alive."""
        return self.stream is not None and self.stream.alive()

    def close(self) -> None:
        """Disconnect (quietly: the device may already have dropped us).

        On a console the exec session is ended first (``exit``), as one logs out of a console
        server's line: the console would otherwise stay logged in, at this privilege, for whoever
        comes next.
        """
        if self.stream is not None:
            try:
                if self.spec.connection.console and self._prompt_re is not None and not self._unsettled:
                    self.stream.send("exit\n")
                self.stream.close()
            except Exception:  # the connection is gone either way
                pass
            self.stream = None

    # ---- raw I/O -----------------------------------------------------------------------
    def _write(self, text: str) -> None:
        if self.stream is None:
            raise DeviceConnectionError(self.name, "not connected")
        try:
            self.stream.send(text)
        except (OSError, EOFError) as exc:
            self.stream = None
            raise DeviceConnectionError(self.name, f"connection lost: {_first_line(exc)}") from None

    def _read_until(
        self,
        patterns: Sequence[re.Pattern[str]],
        timeout: float,
        quiet: bool = False,
        prefix: str = "",
        drain: bool = False,
        command: str = "",
    ) -> tuple[str, int]:
        """Read until one of ``patterns`` matches the end of the output; return (text, index).

        ``prefix`` is output already read that the patterns must see in front of the new text
        (a chunk that starts with the hostname is not a prompt when a line came before it).
        The returned text does not include ``prefix``. On timeout raise
        :class:`DeviceTimeoutError`, or with ``quiet`` return (text, -1). With ``drain``, read
        what is already there (until a read finds nothing) before giving up. ``command`` names
        what was waited for in the timeout's message.
        """
        deadline = time.monotonic() + timeout
        buf = prefix
        while True:
            for i, pat in enumerate(patterns):
                if pat.search(buf):
                    return buf[len(prefix) :], i
            remaining = deadline - time.monotonic()
            if drain and remaining <= 0:
                chunk = self._recv(0.0)
                if chunk:
                    buf += chunk
                    continue
            if remaining <= 0:
                if quiet:
                    return buf[len(prefix) :], -1
                self.transcript.add(buf)
                after = f"{self.masker.mask(command)!r}: " if command else ""
                raise DeviceTimeoutError(
                    self.name, f"{after}no prompt after {timeout:.0f} s; last output: {self.masker.mask(buf[-120:])!r}"
                )
            try:
                buf += self._recv(min(remaining, 0.5))
            except DeviceConnectionError:
                self.transcript.add(buf)
                raise

    def _recv(self, timeout: float) -> str:
        """What the device sent within ``timeout`` (newlines as LF); the connection lost is an error."""
        if self.stream is None:
            raise DeviceConnectionError(self.name, "not connected")
        try:
            chunk = self.stream.recv(timeout)
        except (OSError, EOFError) as exc:
            self.stream = None
            raise DeviceConnectionError(self.name, f"connection lost: {_first_line(exc)}") from None
        return chunk.replace("\r\n", "\n").replace("\r", "")

    def _prompt(self) -> re.Pattern[str]:
        if self._prompt_re is None:
            raise DeviceConnectionError(self.name, "not connected")
        return self._prompt_re

    # ---- resynchronisation -------------------------------------------------------------
    def _settle(self) -> None:
        if self.stream is None:
            return
        if self._unsettled:
            self.resync()
        elif self.spec.connection.console:
            self._catch_up()

    def _catch_up(self) -> None:
        """Read what a console printed since the last prompt; log in again if its session ended.

        A console ends an idle exec session by itself (``exec-timeout``, 10 minutes by default on
        ``line con 0``: ``con0 is now available``, ``Press RETURN to get started``); a command typed
        then would only start a new session, in user exec. Log messages printed meanwhile are read
        here too, so they are not taken for the next command's output.
        """
        from pkilab.device import console

        pending, _ = self._read_until([], 0.0, quiet=True, drain=True)
        self.transcript.add(pending)
        if console.session_ended(pending):
            self.transcript.add("\n! pkilab: the console ended the exec session; logging in again\n")
            self._set_prompt(console.login(self))
            console.terminal_setup(self)

    def resync(self) -> None:
        """Bring the session back to a privileged-exec prompt after an exchange was cut short.

        Sends IOS's abort keys (Ctrl-^ stops a ping or traceroute, Ctrl-C a dialog) and a
        newline, then reads and discards everything up to a prompt followed by silence (the
        rest of the cut-short answer, and one prompt per key). Configuration mode is left with
        ``end``. A device still talking after :attr:`RESYNC_TIMEOUT` seconds is left to it: the
        session reconnects (a new line starts at a prompt; the old one is closed).
        """
        self.transcript.add("\n! pkilab: resynchronising after a command that was cut short\n")
        try:
            self._write(_ABORT_KEYS + "\n")
            prompt = self._drain()
            if prompt is not None and ")#" in prompt:
                self._write("end\n")
                prompt = self._drain()
        except DeviceConnectionError:
            prompt = None
        if prompt is None:
            self.transcript.add("! pkilab: no prompt, reconnecting\n")
            self.close()  # the stream closes at once, whatever the line is doing
            self.connect()
        self._unsettled = False

    def _drain(self) -> str | None:
        """Read until a prompt followed by :data:`_QUIET` seconds of silence; return that prompt.

        Returns None when no quiet prompt comes within :attr:`RESYNC_TIMEOUT` seconds.
        """
        deadline = time.monotonic() + self.RESYNC_TIMEOUT
        seen = ""
        while True:
            text, idx = self._read_until([self._prompt()], deadline - time.monotonic(), quiet=True, prefix=seen[-512:])
            seen += text
            self.transcript.add(text)
            if idx < 0:
                return None
            more, _ = self._read_until([_ANY], min(_QUIET, max(0.0, deadline - time.monotonic())), quiet=True)
            if not more:
                match = self._prompt().search(seen)
                return match.group(1) if match else None
            seen += more
            self.transcript.add(more)

    # ---- commands ----------------------------------------------------------------------
    def run(self, command: str, timeout: float | None = None, check: bool = True) -> str:
        """Run an exec command and return its output (echo and prompt removed)."""
        _check_line(command)
        self._settle()
        self._unsettled = True
        self._write(command + "\n")
        text, _ = self._read_until([self._prompt()], timeout or self.timeout, command=command)
        self._unsettled = False
        self.transcript.add(text)
        output = self._output(text, command)
        if check and is_failure(output):
            raise CommandError(self.name, command, output)
        return output

    def config(self, lines: Iterable[str], check: bool = True, timeout: float | None = None) -> str:
        """Apply configuration lines from privileged exec and return to it."""
        out = [self.run("configure terminal", check=check)]
        try:
            for line in lines:
                out.append(self.run(line, timeout=timeout, check=check))
        finally:
            out.append(self.run("end", check=False))
        return "\n".join(o for o in out if o)

    def dialog(self, command: str, answers: Sequence[Answer], timeout: float | None = None, check: bool = True) -> str:
        """Run a command that asks questions; answer each by the first matching prompt.

        The dialog ends at the device prompt. A question no answer matches raises
        :class:`UnexpectedPromptError` naming it.
        """
        self._settle()
        return self._converse(command, answers, timeout, check)

    def _converse(self, command: str, answers: Sequence[Answer], timeout: float | None, check: bool) -> str:
        _check_line(command)
        for a in answers:
            _check_line(a.reply)
            if a.secret:
                self.masker.add(a.reply)
        patterns = [self._prompt()] + [re.compile(a.prompt + r"\s*" + LOG_TAIL + "$") for a in answers]
        question = re.compile(r"(\[yes/no\]|\[confirm\]|\?|:)\s*$")
        self._unsettled = True
        self._write(command + "\n")
        collected = ""
        since_answer = ""  # what the device said since our last line: patterns match its end
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            text, idx = self._read_until(
                patterns + [question], max(0.1, deadline - time.monotonic()), prefix=since_answer, command=command
            )
            collected += text
            since_answer += text
            self.transcript.add(text)
            if idx == len(patterns):
                # Looks like a question none of the answers expects: unless more output follows
                # shortly (a line cut mid-read), the dialog is stuck on it.
                more, idx = self._read_until(patterns, 0.5, quiet=True, prefix=since_answer)
                collected += more
                since_answer += more
                self.transcript.add(more)
                if idx < 0:
                    last = (collected.strip().splitlines() or [""])[-1]
                    raise UnexpectedPromptError(
                        self.name, f"{command!r}: unexpected question {self.masker.mask(last)!r}"
                    )
            if idx == 0:
                self._unsettled = False
                break
            self._write(answers[idx - 1].reply + "\n")
            since_answer = ""
        output = self._output(collected, command)
        if check and is_failure(output):
            raise CommandError(self.name, command, output)
        return output

    def _output(self, text: str, command: str) -> str:
        """What ``command`` printed: no echo, prompt or log messages (see :mod:`pkilab.device.logs`)."""
        output = _strip(text, command, self._prompt())
        if self.spec.connection.console and not shows_log(command):
            output = drop_log_messages(output)
        return output

    def reload(self, save: bool = False, boot_timeout: float | None = None) -> str:
        """``reload``: answer the save question, confirm.

        Over SSH the device drops the session: reconnect with :meth:`connect` (poll: the router
        is down while it boots). On a console the session stays: this waits for the router to
        boot (up to ``boot_timeout``: the lab plan's ``Deadlines.reload`` when given, else the
        session's), answers the console and returns in privileged exec. Returns what the
        device printed.
        """
        if boot_timeout is not None:
            self.boot_timeout = boot_timeout
        answers = [Answer(r"Save\? \[yes/no\]:", "yes" if save else "no"), Answer(r"\[confirm\]", "")]
        if not self.spec.connection.console:
            try:
                # Saving builds the configuration before the confirmation; then the router drops us.
                return self.dialog("reload", answers, check=False, timeout=_RELOAD_DIALOG)
            except DeviceConnectionError:
                return ""
            finally:
                self.close()
        from pkilab.device import console

        return console.reload(self, answers)

    def paste(
        self,
        command: str,
        lines: Iterable[str],
        end: str = "quit",
        timeout: float | None = None,
        answers: Sequence[Answer] = (),
    ) -> str:
        """Run a command that reads pasted text (certificates, requests), then ``end``."""
        _check_line(command)
        lines = list(lines)
        for line in lines:
            _check_line(line)
        self._settle()
        self._unsettled = True
        self._write(command + "\n")
        for line in lines:
            self._write(line + "\n")
        return self._converse(end, answers, timeout, check=False)


# Ctrl-^ (IOS's escape sequence: stops ping and traceroute), then Ctrl-C (aborts a dialog).
_ABORT_KEYS = "\x1e\x03"
_ANY = re.compile(r"[\s\S]")
_QUIET = 0.3  # seconds of silence after a prompt that mean the device has nothing more to say
_RELOAD_DIALOG = 60.0  # seconds from ``reload`` until an SSH session is dropped (saving included)


def _check_line(text: str) -> None:
    if "\n" in text or "\r" in text:
        raise ValueError(f"a command line must be one line: {text!r}")


def _strip(text: str, command: str, prompt: re.Pattern[str]) -> str:
    """The output of ``command``: no echo, no prompt, no log messages printed around them.

    A console prints log messages after the prompt (:data:`~pkilab.device.modes.LOG_TAIL`); those
    the previous read did not take come before this command's echo and are dropped with it.
    """
    start = log_prefix_length(text)
    lines = text[start:].split("\n")
    if lines and lines[0].strip() == command.strip():
        lines = lines[1:]
    elif start:  # no echo after them: they were output, not noise
        lines = text.split("\n")
    out = "\n".join(lines)
    m = prompt.search(out)
    if m:
        out = out[: m.start(1)]
    return out.rstrip("\n").rstrip() if out.strip() else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
