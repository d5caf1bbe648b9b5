"""A simulated router's console line (con0) and its telnet server (``custom.sim.console``).

The line outlives reloads, as a console does: while the router reboots it prints the boot
messages, then IOS's initial configuration dialog (no startup configuration) or ``Press RETURN
to get started!``; RETURN starts an exec session (after ``User Access Verification`` when
``line con 0`` says ``login`` or ``login local``); ``exit`` or the idle timeout ends it with ``con0
is now available``. Log messages reach the line as ``logging console`` decides, whatever state
it is in (held back during the configuration dialog, as IOS does).

One CLI: the exec session is a :class:`~pkilab.sim.interp.CliSession` fed through the same line
editor and input loop as SSH sessions (:class:`pkilab.sim.terminal.TerminalDriver`: bounded lines,
a yield to the lab's loop after every command), so every command, prompt, dialog and error is the
SSH one. The line's own states are a table (:data:`STATES`); what ``line con 0`` and ``logging
console`` say is read from :class:`pkilab.sim.features.lines.Lines`.

Clients attach to the line: telnet connections to the console port (:class:`TelnetConsole`,
dynamips' negotiation and greeting, the last 4 KiB of output replayed as dynamips does) and
the terminal server's SSH channels (:mod:`pkilab.sim.termserver`). Every attached client sees
all output and may type; nobody attached, the line keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pkilab.protocols.telnet import CONSOLE_SERVER, TelnetCodec
from pkilab.sim import boot
from pkilab.sim.features.lines import Lines
from pkilab.sim.features.system import System
from pkilab.sim.grammar import Match
from pkilab.sim.interp import CliSession, Step
from pkilab.sim.terminal import TerminalDriver, crlf

if TYPE_CHECKING:
    from pkilab.sim.router import Router

REPLAY_BYTES = 4096  # dynamips' VTTY_BUFFER_SIZE: what a newly connected client is shown again


@dataclass(frozen=True)
class State:
    """A state of the console line: whether typed characters echo, and whether log messages wait."""

    echo: bool
    hold_logs: bool = False


#: The console line's states. ``down``: reloading (input is dropped); ``setup``/``setup-basic``/
#: ``autoinstall``: the questions IOS asks when it boots without a startup configuration;
#: ``idle``: ``Press RETURN``; ``username``/``password``: ``User Access Verification``; ``exec``:
#: a CLI session.
STATES = {
    "down": State(echo=False),
    "setup": State(echo=True, hold_logs=True),
    "setup-basic": State(echo=True, hold_logs=True),
    "autoinstall": State(echo=True, hold_logs=True),
    "idle": State(echo=False),
    "username": State(echo=True),
    "password": State(echo=False),
    "exec": State(echo=True),
}
LOGIN_TRIES = 3


class Attachment(Protocol):
    """A client attached to a console line."""

    def send(self, text: str) -> None:
        """Write console output (CR LF newlines) to the client."""

    def close(self) -> None:
        """Disconnect the client."""

    def hold(self, paused: bool) -> None:
        """Stop (True) or resume (False) reading the client's input: the line has too much queued."""


@dataclass
class ConsoleSession(CliSession):
    """The console's CLI: the line's own states around a :class:`CliSession` exec session."""

    line: Any = None
    state: str = "down"
    tries: int = 0
    username: str = ""
    generation: int = 0
    held: list[str] = field(default_factory=list)

    def set_state(self, state: str) -> Step:
        """Move to ``state``; return an empty step carrying its echo setting."""
        self.state = state
        return Step("", echo=STATES[state].echo)

    def feed(self, line: str) -> Step:
        """A line typed on the console."""
        handler = getattr(self, "_on_" + self.state.replace("-", "_"))
        step: Step = handler(line)
        return step

    def resume(self, value: Any) -> Step:
        """An awaited result for the exec session (dropped when that session is gone)."""
        if self.state != "exec" or self.pending is None:
            return Step("", echo=STATES[self.state].echo)
        return self._exec_step(super().resume(value))

    def interrupt(self) -> Step:
        """Ctrl-C: aborts an exec dialog, or the configuration dialog (to ``Press RETURN``)."""
        if self.state == "exec":
            return self._exec_step(super().interrupt())
        if self.state in ("setup", "setup-basic", "autoinstall"):
            return self._to_idle(boot.PRESS_RETURN_BOOT)
        return Step("", echo=STATES[self.state].echo)

    # ---- states ------------------------------------------------------------------------
    def _on_down(self, line: str) -> Step:
        return Step("", echo=False)

    def _on_setup(self, line: str) -> Step:
        answer = line.strip().lower()
        if answer in ("y", "ye", "yes"):
            return self._ask("setup-basic", boot.SETUP_INTRO)
        if answer in ("n", "no"):
            return self._ask("autoinstall", "\n\n" + boot.AUTOINSTALL_QUESTION)
        return self._ask("setup", boot.PLEASE_ANSWER + boot.SETUP_QUESTION)

    def _on_setup_basic(self, line: str) -> Step:
        return self._to_idle(boot.SETUP_ABORTED + boot.PRESS_RETURN_BOOT)

    def _on_autoinstall(self, line: str) -> Step:
        return self._to_idle(boot.PRESS_RETURN_BOOT)

    def _on_idle(self, line: str) -> Step:
        config = self.router.feature(Lines).console()
        login = config.login
        self.tries = 0
        if login == "none":
            return self.start_exec(config.privilege, "")
        if login == "line" and config.password is None:
            return self._to_idle(boot.NO_PASSWORD_SET + boot.available(self.router.hostname))
        first = "username" if login == "local" else "password"
        return self._ask(first, boot.USER_ACCESS + ("Username: " if first == "username" else "Password: "))

    def _on_username(self, line: str) -> Step:
        self.username = line.strip()
        return self._ask("password", "Password: ")

    def _on_password(self, line: str) -> Step:
        config = self.router.feature(Lines).console()
        if config.login == "local":
            privilege = self.router.feature(System).check_login(self.username, line)
            if privilege is not None:
                return self.start_exec(privilege, self.username)
            failure, again = boot.LOGIN_INVALID, ("username", "Username: ")
        else:
            if line == config.password:
                return self.start_exec(config.privilege, "")
            failure, again = "", ("password", "Password: ")
        self.tries += 1
        if self.tries >= LOGIN_TRIES:
            bad = boot.LOGIN_INVALID if config.login == "local" else boot.BAD_PASSWORDS
            return self._to_idle(bad + boot.available(self.router.hostname))
        return self._ask(again[0], failure + again[1])

    def _on_exec(self, line: str) -> Step:
        if self.pending is None and self._free_enable(line):
            # IOS asks the console for no enable password when none is set (a vty gets "% No password set").
            self.privilege = 15
            self.mode_stack = [("privileged", None)]
            return Step(self.prompt())
        return self._exec_step(super().feed(line))

    def _free_enable(self, line: str) -> bool:
        if self.privilege >= 15 or self.router.feature(System).enable_secret:
            return False
        found = self.router.grammars.match(self.mode, line, self.privilege)
        return isinstance(found, Match) and found.handler == self.router.feature(System).enable

    # ---- helpers -----------------------------------------------------------------------
    def _ask(self, state: str, text: str) -> Step:
        self.state = state
        return Step(text, echo=STATES[state].echo)

    def _to_idle(self, text: str) -> Step:
        self.state = "idle"
        self.line.release_logs()
        return Step(text, echo=False)

    def start_exec(self, privilege: int, user: str) -> Step:
        """Open an exec session at ``privilege`` (the previous one, if any, is forgotten)."""
        self.generation += 1
        self.privilege = privilege
        self.user = user
        self.mode_stack = [("privileged" if privilege >= 15 else "user", None)]
        self._gen = None
        self.monitor = False
        self.term_length, self.term_width = 24, 80
        self.state = "exec"
        return Step("\n" + self.prompt())

    def end_exec(self) -> None:
        """Forget the exec session and any dialog it was in."""
        if self._gen is not None:
            with contextlib.suppress(Exception):
                self._gen.close()
            self._gen = None

    def _exec_step(self, step: Step) -> Step:
        if not step.closed:
            return step
        self.end_exec()
        if not self.router.up:  # reload: the line prints the boot while the router restarts
            self.state = "down"
            return Step(step.output, echo=False)
        return self._to_idle(step.output + boot.available(self.router.hostname))


class ConsoleTerminal(TerminalDriver):
    """The console line's input loop: the SSH sessions' line editor and loop, output to the line.

    A console session never hangs up: :class:`ConsoleSession` turns an ended exec session into
    ``con0 is now available`` and ``Press RETURN``, and the clients stay connected.
    """

    def __init__(self, line: ConsoleLine) -> None:
        super().__init__(line.session)
        self.line = line
        self.editor.echo = False

    def _send(self, text: str) -> None:
        self.line.write(text)

    def _pause_input(self) -> None:
        for client in list(self.line.attached):
            client.hold(True)

    def _resume_input(self) -> None:
        for client in list(self.line.attached):
            client.hold(False)

    async def _hang_up(self, exit_status: int | None) -> None:
        # Not reached: ConsoleSession never returns a closed step (see the class docstring).
        return None

    def _help_allowed(self) -> bool:
        return self.line.session.state == "exec" and self.session.pending is None


class ConsoleLine:
    """Con0 of one simulated router: states, output to attached clients, timers."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.attached: list[Attachment] = []
        self.replay = ""
        self.session = ConsoleSession(router, line=self)
        self.terminal = ConsoleTerminal(self)
        self.last_input = time.monotonic()

    # ---- output --------------------------------------------------------------------------
    def write(self, text: str) -> None:
        """Output (already CR LF) for every attached client, kept for replay."""
        self.replay = (self.replay + text)[-REPLAY_BYTES:]
        for client in list(self.attached):
            client.send(text)

    def close(self) -> None:
        """Disconnect every client (the lab stops)."""
        for client in list(self.attached):
            client.close()
        self.attached.clear()

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start reading typed characters (call from the lab's event loop)."""
        self.terminal.start()

    def stop(self) -> None:
        """End the line's reader and disconnect its clients."""
        self.terminal.stop()
        self.close()

    def say(self, text: str) -> None:
        """Print ``text`` on the console (LF newlines; the console sends CR LF)."""
        self.write(crlf(text))

    def set_state(self, state: str) -> None:
        """Change state from outside a typed line (boot, reload, timeout)."""
        self.session.set_state(state)
        self.terminal.editor.echo = STATES[state].echo

    # ---- clients -----------------------------------------------------------------------
    def attach(self, client: Attachment) -> None:
        """A client connected: it receives every output from now on."""
        self.attached.append(client)

    def detach(self, client: Attachment) -> None:
        """A client went away; the line and its session stay as they are."""
        with contextlib.suppress(ValueError):
            self.attached.remove(client)

    def type(self, text: str) -> None:
        """Characters typed by a client."""
        self.last_input = time.monotonic()
        self.terminal.feed_input(text)

    # ---- router events -------------------------------------------------------------------
    def going_down(self, requester: str) -> None:
        """The router reloads: the exec session ends; IOS logs the reload, ROMMON takes over."""
        self.session.end_exec()
        self.set_state("down")
        # After the reload dialog's own output, which the exec session writes when its step returns.
        asyncio.get_running_loop().call_soon(self._announce_reload, requester)

    def _announce_reload(self, requester: str) -> None:
        self.router.feature(System).logmsg(
            f"%SYS-5-RELOAD: Reload requested by {requester}. Reload Reason: Reload Command."
        )
        asyncio.get_running_loop().call_soon(self.say, boot.ROM_RELOAD)  # after the message, which waits a turn too

    def booted(self) -> None:
        """The router is up again: boot messages, then the configuration dialog or Press RETURN."""
        system = self.router.feature(System)
        system.monitors.append(self.log)
        configured = bool((self.router.fs.read_text("nvram:startup-config") or "").strip())
        text = boot.boot_text(self.router)
        if configured:
            self.say(text + boot.PRESS_RETURN_BOOT)
            self.set_state("idle")
        else:
            self.say(text + boot.SETUP_BANNER + boot.SETUP_QUESTION)
            self.set_state("setup")
        for message in boot.restart_messages(self.router, configured):
            system.logmsg(message)

    def log(self, message: str) -> None:
        """A log message of the router (a System monitor): shown as ``logging console`` says.

        IOS's logger prints after the command that caused the message has printed its output and
        the next prompt (``R1#`` then ``*Aug 25 …: %SYS-5-CONFIG_I …``), so the message waits for the
        current step of the line to finish.
        """
        if not self.router.feature(Lines).console_shows(message):
            return
        if STATES[self.session.state].hold_logs:
            self.session.held.append(message)
            return
        asyncio.get_running_loop().call_soon(self.say, "\n" + message + "\n")

    def release_logs(self) -> None:
        """Print the messages held back during the configuration dialog, after what the dialog prints."""
        asyncio.get_running_loop().call_soon(self._print_held)

    def _print_held(self) -> None:
        held, self.session.held = self.session.held, []
        for message in held:
            self.say("\n" + message + "\n")

    def tick(self, now: float) -> None:
        """End an idle exec session after ``exec-timeout``."""
        if self.session.state != "exec" or self.session.pending is not None or not self.router.up:
            return
        timeout = self.router.feature(Lines).console().exec_timeout
        if timeout is not None and now - self.last_input >= timeout:
            self.session.end_exec()
            self.set_state("idle")
            self.say("\n" + boot.available(self.router.hostname))

    def requester(self) -> str | None:
        """``console`` when the console's exec session is running a command (it asked for a reload)."""
        return "console" if self.session.state == "exec" and self.session.pending is not None else None


class TelnetConsole(asyncio.Protocol):
    """One telnet client of a console port: dynamips' negotiation, greeting and replay."""

    def __init__(self, line: ConsoleLine, instance: int) -> None:
        self.line = line
        self.instance = instance
        self.codec = TelnetCodec(CONSOLE_SERVER, title=line.router.name)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Negotiate, greet, replay recent output, attach."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.codec.opening())
        self.send(crlf(boot.dynamips_greeting(self.line.router, self.instance)) + self.line.replay)
        self.line.attach(self)

    def data_received(self, data: bytes) -> None:
        """Telnet commands are answered; the data is typed on the line."""
        out = self.codec.feed(data)
        if out.reply and self.transport is not None:
            self.transport.write(bytes(out.reply))
        if out.data:
            self.line.type(out.data.decode("utf-8", "replace"))

    def connection_lost(self, exc: Exception | None) -> None:
        """The client went away; the line carries on."""
        self.line.detach(self)
        self.transport = None

    def send(self, text: str) -> None:
        """Write console output, 0xFF bytes escaped."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.codec.encode(text.encode("utf-8", "replace")))

    def close(self) -> None:
        """Disconnect."""
        if self.transport is not None:
            self.transport.close()

    def hold(self, paused: bool) -> None:
        """Flow control: stop or resume reading this client."""
        if self.transport is not None and not self.transport.is_closing():
            if paused:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()


async def start_console_server(line: ConsoleLine, host: str, port: int, instance: int) -> asyncio.Server:
    """Listen for telnet clients of ``line`` on ``host:port``."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: TelnetConsole(line, instance), host, port, reuse_address=True)
