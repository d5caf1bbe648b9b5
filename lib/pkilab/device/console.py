"""Console logins and reloads: answering what a router's console asks, from the dialog table.

A console has no SSH login. The router shows whatever state its line is in: nothing until
RETURN is pressed, ``Press RETURN to get started!``, IOS's setup dialogs when it booted without
a startup configuration, a login when ``line con 0`` asks for one, or a prompt left in any
mode by the previous user. :func:`login` presses RETURN and answers each
:data:`~pkilab.device.modes.CONSOLE_STEPS` entry until the privileged exec prompt. A console
stays up while its router reboots, so :func:`reload` waits for the boot to end and logs in
again on the same session.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import TYPE_CHECKING

from pkilab.device.logs import LOG_TAIL
from pkilab.device.modes import CONSOLE_STEPS, LOGIN_FAILURES, PASSWORD, PROMPT_RE, USERNAME, ConsoleStep
from pkilab.errors import DeviceAuthenticationError, DeviceConnectionError, DeviceTimeoutError

if TYPE_CHECKING:
    from pkilab.device.session import Answer, Session

#: Seconds without output after which the console is given another RETURN.
QUIET = 1.5
#: Seconds a console may take to show what it has pending (a question, a banner) before the first
#: RETURN: a RETURN sent into a pending question answers it with an empty line, and the question
#: comes again after pkilab has already answered the first one.
FIRST_LOOK = 0.3
#: How often one question may be answered before the login counts as refused.
MAX_ANSWERS = 3
#: Any IOS prompt at the end of the output (a console prints log messages after it too).
PROMPT_END = re.compile(PROMPT_RE.pattern + LOG_TAIL + r"\Z")
# A console prints the router's log messages as they happen, after a question too.
_STEPS = [(step, re.compile(step.pattern + LOG_TAIL + r"\Z")) for step in CONSOLE_STEPS]


def login(session: Session, boot: bool = False) -> str:
    """Bring the console to privileged exec and return the router's hostname.

    With ``boot``, the router is rebooting: nothing is sent until it prints one of the
    boot steps (RETURN would be lost, or queue up as empty commands).
    """
    deadline = time.monotonic() + (session.boot_timeout if boot else session.timeout)
    patterns = [PROMPT_END] + [p for _, p in _STEPS]
    asked: Counter[str] = Counter()
    last = ""
    since = ""
    booted = not boot
    wait = FIRST_LOOK
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeviceTimeoutError(
                session.name,
                f"console gave no prompt after {session.boot_timeout if boot else session.timeout:.0f} s; "
                f"last output: {session.masker.mask(since[-120:])!r}",
            )
        text, idx = session._read_until(patterns, min(wait, remaining), quiet=True, prefix=since)
        wait = QUIET
        session.transcript.add(text)
        since += text
        if idx < 0:
            # A quiet console: press RETURN (again). The boot may have ended with a question or
            # Press RETURN that messages printed since hide from the end-anchored patterns (IOS's
            # restart message spans unindented lines).
            booted = booted or any(p.search(since) for p in _BOOT_STEPS)
            if booted:
                last, since = _send(session, "", "return"), ""
            continue
        if idx == 0:
            m = PROMPT_END.search(since)
            assert m is not None
            if not booted:  # an old prompt printed before the reboot began
                since = ""
                continue
            if m.group("term") == "#" and not m.group("mode"):
                return m.group("host")
            step = "end" if m.group("mode") else "enable"
            _count(session, asked, step, since)
            last, since = _send(session, step, step), ""
            continue
        found = _STEPS[idx - 1][0]
        booted = booted or found.boot
        if not booted:
            since = ""
            continue
        _count(session, asked, found.name, since)
        last, since = _send(session, _reply(session, found, last), found.name), ""


_PRESS_RETURN = re.compile(next(step.pattern for step in CONSOLE_STEPS if step.name == "press-return"))
_BOOT_STEPS = [re.compile(step.pattern) for step in CONSOLE_STEPS if step.boot]


def session_ended(text: str) -> bool:
    """True when ``text`` shows the console ending its exec session (``Press RETURN to get started``)."""
    return _PRESS_RETURN.search(text) is not None


def _reply(session: Session, step: ConsoleStep, last: str) -> str:
    creds = session.spec.connection.credentials
    if step.reply == USERNAME:
        user = creds.line_username or creds.username
        if not user:
            raise DeviceAuthenticationError(
                session.name, "the console asks for a username; set credentials.line.username or credentials.default"
            )
        return user
    if step.reply != PASSWORD:
        return step.reply
    if last == "enable":
        secret = creds.enable
    elif last == "username":
        secret = creds.line_password if creds.line_username else creds.password
    else:  # a line password: no username asked
        secret = creds.line_password or creds.password
    if not secret:
        field = "credentials.enable" if last == "enable" else "credentials.line.password"
        raise DeviceAuthenticationError(session.name, f"the console asks for a password; set {field}")
    return secret


def _count(session: Session, asked: Counter[str], name: str, since: str) -> None:
    asked[name] += 1
    if asked[name] > MAX_ANSWERS or (asked[name] > 1 and any(f in since for f in LOGIN_FAILURES)):
        what = "enable" if name == "enable" else "the console login"
        raise DeviceAuthenticationError(
            session.name, f"{what} refused after {asked[name] - 1} tries (check credentials.line / default / enable)"
        )


def _send(session: Session, line: str, what: str) -> str:
    session._write(line + "\n")
    return what


def terminal_setup(session: Session) -> None:
    """No paging, wide lines: what netmiko and unicon set on their logins."""
    session.run("terminal length 0", check=False)
    session.run("terminal width 511", check=False)


def reload(session: Session, answers: list[Answer]) -> str:
    """``reload`` on a console: answer, wait for the boot, log in again; return the reload output."""
    collected = ""
    since = ""
    patterns = [re.compile(a.prompt + r"\s*$") for a in answers]
    session._write("reload\n")
    try:
        while True:
            text, idx = session._read_until(patterns, session.timeout, prefix=since)
            session.transcript.add(text)
            collected += text
            since += text
            session._write(answers[idx].reply + "\n")
            since = ""
            if idx == len(answers) - 1:  # the confirmation: the router goes down now
                break
        session._set_prompt(login(session, boot=True))
        terminal_setup(session)
    except DeviceConnectionError:  # not a console after all (a VTY over telnet): it dropped us
        session.close()
    return collected
