"""The unicon backend: unicon's IOS plugin connects, logs in and sets the terminal up.

What pyATS users get from ``device.connect()`` — unicon's connection state machine, its
console dialogs (``Press RETURN``, the setup dialog, autoinstall), its login and enable
handling, and its init commands (``terminal length 0``, ``terminal width 0``, ``show version``,
then ``no logging console``, ``line console 0``/``exec-timeout 0`` in configuration mode, or
the connection's ``arguments``) — over pkilab's access paths, carried by
:mod:`~pkilab.device.backends.relay`. Commands then go through the session's own fast reads,
as with netmiko.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pkilab.device.backends import Link
from pkilab.device.backends.relay import dump
from pkilab.errors import DeviceAuthenticationError, DeviceConnectionError

if TYPE_CHECKING:
    from pkilab.testbed import DeviceSpec

#: unicon waits this long around disconnects by default (10 s and more); a test harness need not.
_SETTINGS = {"POST_DISCONNECT_WAIT_SEC": 0, "GRACEFUL_DISCONNECT_WAIT_SEC": 0}


class UniconStream:
    """The session's stream over unicon's spawn (the relay's terminal)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.spawn = conn.spawn

    def send(self, text: str) -> None:
        """Write ``text``; Return is CR, as from a terminal."""
        try:
            self.spawn.send(text.replace("\n", "\r"))
        except Exception as exc:  # unicon raises its own errors for a closed spawn
            raise EOFError(str(exc) or "spawn closed") from None

    def recv(self, timeout: float) -> str:
        """Read what the relay passes on within ``timeout``."""
        if self.spawn.is_closed():
            raise EOFError("spawn closed")
        try:
            if not self.spawn.is_readable(timeout=timeout):
                return ""
            data = self.spawn.read()
        except Exception as exc:  # unicon raises EOF errors of its own
            raise EOFError(str(exc) or "spawn closed") from None
        if not data:
            raise EOFError("spawn closed")
        return str(data)

    def alive(self) -> bool:
        """True while unicon's spawn is open."""
        return not self.spawn.is_closed()

    def close(self) -> None:
        """Disconnect unicon (which ends the relay and its jump hosts)."""
        with contextlib.suppress(Exception):
            self.conn.disconnect()


def open_link(spec: DeviceSpec, timeout: float) -> Link:
    """Connect with unicon through the relay; come back in privileged exec."""
    from unicon import Connection

    c = spec.connection
    fd, name = tempfile.mkstemp(prefix="pkilab-relay-", suffix=".json")  # mode 0600: it holds secrets
    with os.fdopen(fd, "w") as f:
        f.write(dump(spec.name, c, timeout))
    err = Path(f"{name}.err")
    creds = c.credentials
    password = creds.line_password if c.console and creds.line_password else creds.password
    kwargs: dict[str, Any] = {
        "hostname": spec.name,
        "start": [f"{sys.executable} -m pkilab.device.backends.relay {name}"],
        "os": spec.os,
        "credentials": {
            "default": {"username": creds.line_username or creds.username, "password": password},
            "enable": {"password": creds.enable},
        },
        "log_stdout": bool(os.environ.get("PKILAB_UNICON_LOG")),
        "logfile": os.devnull,
        "connection_timeout": timeout,
        "settings": dict(_SETTINGS),
    }
    kwargs["connect_reply"] = _console_dialog()
    if c.init_exec_commands is not None:
        kwargs["init_exec_commands"] = list(c.init_exec_commands)
    if c.init_config_commands is not None:
        kwargs["init_config_commands"] = list(c.init_config_commands)
    conn = Connection(**kwargs)
    try:
        conn.connect()
    except Exception as exc:  # unicon's connection, timeout and state errors
        with contextlib.suppress(Exception):
            conn.disconnect()
        raise _error(spec.name, exc, err, name) from None
    finally:
        Path(name).unlink(missing_ok=True)
    conn.spawn.buffer = ""  # the prompt unicon stopped at: the session reads from here on
    stream = UniconStream(conn)
    return Link(stream, prompt=_hostname(spec.name, stream, timeout))


def _hostname(device: str, stream: UniconStream, timeout: float) -> str:
    """The hostname in the router's prompt: RETURN, then the prompt it prints.

    Not always the device's name: unicon's IOS plugin also takes IOS's default prompts (``Router#``,
    a router booted without configuration) for the device's.
    """
    from pkilab.device.console import PROMPT_END

    stream.send("\n")
    seen = ""
    deadline = time.monotonic() + timeout
    while (m := PROMPT_END.search(seen)) is None:
        if time.monotonic() > deadline:
            raise DeviceConnectionError(device, f"no prompt after unicon's connect; last output: {seen[-80:]!r}")
        try:
            seen += stream.recv(0.5).replace("\r", "")
        except EOFError as exc:
            raise DeviceConnectionError(device, f"connection lost after unicon's connect ({exc})") from None
    return m.group("host")


def _console_dialog() -> Any:
    """The console questions of :data:`~pkilab.device.modes.CONSOLE_STEPS` as a unicon connect dialog.

    unicon's connect answers the setup dialog and ``Press RETURN`` itself but not autoinstall's
    question; one table drives both backends, so every question pkilab knows is answered here.
    """
    from unicon.eal.dialogs import Dialog, Statement

    from pkilab.device.modes import CONSOLE_STEPS, PASSWORD, USERNAME

    def answer(reply: str) -> Any:
        return lambda spawn: spawn.sendline(reply)

    return Dialog(
        [
            Statement(pattern=step.pattern + r"$", action=answer(step.reply), loop_continue=True, continue_timer=False)
            for step in CONSOLE_STEPS
            if step.reply not in (USERNAME, PASSWORD)  # unicon's own login handling has the credentials
        ]
    )


def _error(device: str, exc: Exception, err: Path, spec_file: str) -> Exception:
    """The relay's own one-line error when it wrote one, else unicon's first line."""
    deadline = time.monotonic() + 2.0
    while not err.exists() and time.monotonic() < deadline and "relay" in str(exc):
        time.sleep(0.05)  # the relay writes its error as it exits; unicon may notice the EOF first
    if err.exists():
        message = err.read_text().strip()
        err.unlink()
        prefix = f"{device}: "
        message = message[len(prefix) :] if message.startswith(prefix) else message
        kind = DeviceAuthenticationError if "refused the login" in message else DeviceConnectionError
        return kind(device, f"{message} (unicon backend)")
    causes: list[str] = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 4:  # unicon wraps the reason in a generic "failed to connect"
        lines = [ln.strip() for ln in str(cause).splitlines() if ln.strip()]
        causes.append(lines[0] if lines else type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    text = "; ".join(dict.fromkeys(causes))
    refused = any(w in text.lower() for w in ("authentication", "password"))
    return (DeviceAuthenticationError if refused else DeviceConnectionError)(
        device, f"unicon could not connect: {text}"
    )
