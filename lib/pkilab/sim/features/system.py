"""System commands: modes, hostname, users, version, configuration files, reload, logging."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from pkilab import catalog
from pkilab.device.modes import MODES
from pkilab.sim.clock import lab_now
from pkilab.sim.interp import Ask, Ctx, SessionClosed
from pkilab.sim.router import Feature, handles

#: A receiver of log lines as they are logged (an SSH session's ``terminal monitor``, a console line).
LogMonitor = Callable[[str], None]

_HOSTNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")


def hash_secret(plain: str, salt: str | None = None) -> str:
    """Hash a secret as a type-9-style scrypt string (``$9$salt$hash``); plaintext is never kept."""
    salt = salt or os.urandom(7).hex()[:14]
    digest = hashlib.scrypt(plain.encode(), salt=salt.encode(), n=16384, r=1, p=1, dklen=24).hex()
    return f"$9${salt}${digest}"


def check_secret(plain: str, hashed: str) -> bool:
    """Return True when ``plain`` matches a hash made by :func:`hash_secret`."""
    parts = hashed.split("$")
    return len(parts) == 4 and parts[1] == "9" and hash_secret(plain, parts[2]) == hashed


def configured_by(ctx: Ctx) -> str:
    """Who made a change, as ``%SYS-5-CONFIG_I`` and ``%SYS-6-CLOCKUPDATE`` name them.

    ``admin on vty0 (10.0.0.5)`` for a logged-in vty user, ``console`` on the console line
    (real messages: ``Configured from console by admin on vty0 (10.1.1.100)``, ``configured from
    console by console.``).
    """
    user = ctx.session.user
    return f"{user} on vty0 (127.0.0.1)" if user else "console"


@dataclass(frozen=True)
class LogMessage:
    """One entry of the logging buffer, stamped when it was logged.

    IOS writes the timestamp, with the clock's ``*``/``.`` mark, into the message as it logs it:
    setting the clock or changing the time zone later does not change what the buffer shows.
    """

    utc: dt.datetime
    text: str
    stamp: str  # ``*Feb  5 07:50:31.071`` as rendered at logging time

    @property
    def line(self) -> str:
        """The message as the log buffer and monitors show it."""
        return f"{self.stamp}: {self.text}"


@dataclass
class Logging:
    """The logging buffer and its counters."""

    buffer_size: int = 4096
    messages: list[LogMessage] = field(default_factory=list)
    logged: int = 0
    monitor_logged: int = 0
    console: bool = True  # ``logging console`` (see features/lines.py)
    console_level: str = "debugging"


class System(Feature):
    """Hostname, users, exec/config navigation, version, config files, reload, logging."""

    order = 10

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.domain = ""
        self.hosts: dict[str, str] = {}
        self.users: dict[str, tuple[int, str]] = {}
        self.enable_secret: str | None = None
        self.misc: list[str] = []
        self.http_server = False
        self.domain_lookup = True
        self.log = Logging()
        self.last_change = lab_now()
        #: Where each log message is copied as it is logged (``terminal monitor`` sessions, the console).
        self.monitors: list[LogMonitor] = []

    # ---- configuration lines -----------------------------------------------------------
    def config_lines(self) -> list[str]:
        """Render this feature's part of the running configuration."""
        r = self.router
        lines = [
            "!",
            f"! Last configuration change at {r.clock.format(self.last_change)}",
            "!",
            f"version {r.personality.config_version}",
            "service timestamps debug datetime msec",
            "service timestamps log datetime msec",
            "no service password-encryption",
            "!",
            f"hostname {r.hostname}",
            "!",
            "boot-start-marker",
            "boot-end-marker",
            "!",
        ]
        lines.append(f"logging buffered {self.log.buffer_size}")
        if not self.log.console:
            lines.append("no logging console")
        elif self.log.console_level != "debugging":
            lines.append(f"logging console {self.log.console_level}")
        if self.enable_secret:
            lines.append(f"enable secret 9 {self.enable_secret}")
        lines.append("!")
        if not self.domain_lookup:
            lines.append("no ip domain lookup")
        if self.domain:
            lines.append(f"ip domain name {self.domain}")
        for name, addr in self.hosts.items():
            lines.append(f"ip host {name} {addr}")
        if self.http_server:
            lines.append("ip http server")
        lines.extend(self.misc)
        for user, (priv, hashed) in self.users.items():
            p = f" privilege {priv}" if priv != 1 else ""
            lines.append(f"username {user}{p} secret 9 {hashed}")
        lines.append("!")
        return lines

    def touch(self) -> None:
        """Record a configuration change (for ``Last configuration change``)."""
        self.last_change = lab_now()

    # ---- log buffer --------------------------------------------------------------------
    def logmsg(self, text: str, marker: str | None = None) -> None:
        """Log ``%FAC-SEV-MNEMONIC: text`` with this router's timestamp; copy to monitors.

        ``marker`` overrides the clock's ``*``/``.`` mark, for a message IOS composed before the
        clock changed (``%SYS-6-CLOCKUPDATE``).
        """
        clock = self.router.clock
        now = clock.now()
        mark = clock.marker if marker is None else marker
        message = LogMessage(now, text, mark + clock.format_log(now))
        self.log.messages.append(message)
        self.log.logged += 1
        while sum(len(m.line) + 1 for m in self.log.messages) > self.log.buffer_size:
            self.log.messages.pop(0)
        for monitor in list(self.monitors):
            self.log.monitor_logged += 1
            monitor(message.line)

    def _render_msg(self, m: LogMessage) -> str:
        return m.line

    # ---- exec navigation ---------------------------------------------------------------
    @handles(catalog.ENABLE)
    def enable(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``enable``: ask for the enable secret (three tries)."""
        if ctx.session.privilege >= 15:
            return None
        for _ in range(3):
            answer = yield Ask("Password: ", echo=False)
            if self.enable_secret and check_secret(answer, self.enable_secret):
                ctx.session.privilege = 15
                ctx.session.mode_stack = [("privileged", None)]
                return None
            if not self.enable_secret:
                return "% No password set"
        return "% Bad secrets\n"

    @handles(catalog.DISABLE)
    def disable(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``disable``: back to user exec."""
        ctx.session.privilege = 1
        ctx.session.mode_stack = [("user", None)]

    @handles(catalog.EXIT_EXEC)
    def exit_exec(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """Leave the session."""
        raise SessionClosed()

    @handles(catalog.CONFIGURE)
    def configure(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``configure terminal`` (plain ``configure`` asks where from, as IOS does)."""
        if not args.get("terminal"):
            answer = yield Ask("Configuring from terminal, memory, or network [terminal]? ")
            if answer.strip() and not "terminal".startswith(answer.strip().lower()):
                return '?Must be "terminal", "memory" or "network"'
        ctx.session.push_mode("config")
        return "Enter configuration commands, one per line.  End with CNTL/Z."

    @handles(catalog.TERMINAL_LENGTH)
    def terminal_length(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``terminal length``."""
        ctx.session.term_length = args["number"]

    @handles(catalog.TERMINAL_WIDTH)
    def terminal_width(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``terminal width``."""
        ctx.session.term_width = args["number"]

    @handles(catalog.TERMINAL_MONITOR)
    def terminal_monitor(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``terminal monitor``: copy log messages to this session."""
        ctx.session.monitor = True

    @handles(catalog.TERMINAL_NO_MONITOR)
    def terminal_no_monitor(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``terminal no monitor``."""
        ctx.session.monitor = False

    # ---- config navigation (every config mode) ------------------------------------------
    @handles(catalog.CONFIG_END)
    def end(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``end`` (and Ctrl-Z): back to privileged exec."""
        self._end(ctx)

    @handles(catalog.CONFIG_EXIT)
    def exit_config(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``exit``: to the parent mode."""
        self._exit(ctx)

    def _end(self, ctx: Ctx) -> None:
        ctx.session.to_mode("privileged")
        if ctx.interactive:
            self.logmsg(f"%SYS-5-CONFIG_I: Configured from console by {configured_by(ctx)}")

    def _exit(self, ctx: Ctx) -> None:
        parent = MODES[ctx.mode].parent or "privileged"
        ctx.session.to_mode(parent)
        if parent == "privileged" and ctx.interactive:
            self._end(ctx)

    # ---- identity ----------------------------------------------------------------------
    @handles(catalog.HOSTNAME)
    def hostname(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``hostname``."""
        name = args["name"]
        if not _HOSTNAME_RE.match(name):
            return "% Hostname contains one or more illegal characters."
        self.router.hostname = name
        self.touch()
        return None

    @handles(catalog.IP_DOMAIN_NAME)
    def domain_name(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``ip domain name``."""
        self.domain = args["name"]
        self.touch()

    @handles(catalog.NO_IP_DOMAIN_NAME)
    def no_domain_name(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no ip domain name``."""
        self.domain = ""
        self.touch()

    @handles(catalog.IP_DOMAIN_LOOKUP)
    def domain_lookup_on(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``ip domain lookup``."""
        self.domain_lookup = True

    @handles(catalog.NO_IP_DOMAIN_LOOKUP)
    def domain_lookup_off(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no ip domain lookup``."""
        self.domain_lookup = False

    @handles(catalog.IP_HOST)
    def ip_host(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``ip host NAME ADDRESS``."""
        self.hosts[args["name"]] = args["address"]
        self.touch()

    @handles(catalog.NO_IP_HOST)
    def no_ip_host(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no ip host NAME``."""
        self.hosts.pop(args["name"], None)
        self.touch()

    def resolve(self, name: str) -> str | None:
        """Resolve a host name through ``ip host`` entries (or return an address as is)."""
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
            return name
        for host, addr in self.hosts.items():
            if host.lower() == name.lower():
                return addr
        return None

    @handles(catalog.USERNAME)
    def username(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``username U [privilege N] secret S``; kept hashed."""
        kind = args.get("type", 0)
        value = args["value"]
        hashed = value if kind in (5, 8, 9) else hash_secret(value)
        self.users[args["user"]] = (args.get("number", 1), hashed)
        self.touch()

    @handles(catalog.NO_USERNAME)
    def no_username(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no username``."""
        self.users.pop(args["user"], None)
        self.touch()

    @handles(catalog.ENABLE_SECRET)
    def enable_secret_cmd(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``enable secret S``; kept hashed."""
        kind = args.get("type", 0)
        self.enable_secret = args["value"] if kind in (5, 8, 9) else hash_secret(args["value"])
        self.touch()

    def check_login(self, user: str, password: str) -> int | None:
        """Return the user's privilege when the password is right, else None."""
        entry = self.users.get(user)
        if entry and check_secret(password, entry[1]):
            return entry[0]
        return None

    @handles(catalog.LOGGING_BUFFERED)
    def logging_buffered(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``logging buffered [SIZE]``."""
        self.log.buffer_size = args.get("size", self.log.buffer_size)

    @handles(catalog.BOOT_MARKERS)
    def boot_markers(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """The markers IOS writes around ``boot`` commands; always rendered, nothing to keep."""

    @handles(catalog.IP_HTTP_SERVER)
    def http_on(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``ip http server``: the lab starts this router's HTTP server."""
        self.http_server = True
        self.touch()
        self.router.lab.http_changed(self.router)

    @handles(catalog.NO_IP_HTTP_SERVER)
    def http_off(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no ip http server``."""
        self.http_server = False
        self.touch()
        self.router.lab.http_changed(self.router)

    # Accepted and kept verbatim: knobs with no behaviour in the simulator.
    @handles(catalog.VERBATIM)
    def verbatim(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """Keep a configuration knob the simulator does not act on."""
        line = (
            " ".join(k for k in ("no",) if args.get("no"))
            + " ".join(k for k in ("service", "ip", "ssh") if args.get(k))
            + " "
            + args["line"]
        )
        line = re.sub(r"\s+", " ", line).strip()
        if line.startswith(("service timestamps", "no service password-encryption")):
            return
        if line not in self.misc:
            self.misc.append(line)
