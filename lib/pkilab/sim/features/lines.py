"""Terminal lines: ``line con 0``, ``line aux 0``, ``line vty A B`` and their settings; ``logging console``.

These are what drivers send at connect (unicon: ``no logging console``, ``line console 0``,
``exec-timeout 0``; see docs/sim-ssh.md) and what lab configurations carry. The settings are kept
and rendered as IOS renders them. The console line (:mod:`pkilab.sim.console`) acts on those of
``line con 0`` through :meth:`Lines.console` (login, password, privilege, exec-timeout) and shows
log messages as :meth:`Lines.console_shows` decides; the vty and aux settings are not acted on
(SSH logins are checked against ``username`` entries, and no vty exec timer runs).

Rendering follows IOS 15 running configurations (captures listed in docs/sim-ssh.md): ``console``
is written ``con``; ``line con 0``, ``line aux 0`` and ``line vty 0 4`` are always present; settings
come in :data:`SETTING_ORDER`; ``exec-timeout M`` is written ``exec-timeout M 0`` and the default
``exec-timeout 10 0`` is not written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pkilab import catalog
from pkilab.catalog import Command
from pkilab.sim.features.system import System
from pkilab.sim.interp import Ctx
from pkilab.sim.router import Feature, handles

#: How IOS writes each line type in the running configuration, in its order.
LINE_TYPES = {"console": "con", "aux": "aux", "vty": "vty"}
#: Lines every router has (and shows even when unconfigured).
DEFAULT_LINES = (("con", 0, None), ("aux", 0, None), ("vty", 0, 4))
#: The order of settings under a line (the first word or two of each setting).
SETTING_ORDER = (
    "session-timeout",
    "access-class",
    "exec-timeout",
    "privilege level",
    "password",
    "logging synchronous",
    "login",
    "length",
    "width",
    "history size",
    "transport input",
    "transport output",
    "stopbits",
)
_DEFAULT_EXEC_TIMEOUT = "exec-timeout 10 0"
#: IOS's idle timeout of an exec session when ``exec-timeout`` is not set: 10 minutes.
DEFAULT_EXEC_SECONDS = 600.0
_SEVERITY_RE = re.compile(r"%[A-Z0-9_]+-(\d)-[A-Z0-9_]+:")


def _words(*parts: object) -> str:
    """Join the present parts of a setting with single spaces."""
    return re.sub(r"\s+", " ", " ".join(str(p) for p in parts if p not in (None, ""))).strip()


#: Line settings: command → how IOS writes the setting (keywords in full, values as given).
_SETTINGS: dict[Command, Callable[[dict[str, Any]], str]] = {
    catalog.LINE_EXEC_TIMEOUT: lambda a: _words("exec-timeout", a["minutes"], a.get("seconds", 0)),
    catalog.LINE_LOGGING_SYNCHRONOUS: lambda a: _words("logging synchronous", a.get("line")),
    catalog.LINE_LOGIN: lambda a: _words(
        "login", "local" if a.get("local") else None, a.get("list") and f"authentication {a['list']}"
    ),
    catalog.LINE_TRANSPORT: lambda a: _words(
        "transport", next(k for k in ("input", "output", "preferred") if a.get(k)), a["line"]
    ),
    catalog.LINE_PRIVILEGE_LEVEL: lambda a: _words("privilege level", a["level"]),
    catalog.LINE_LENGTH_WIDTH: lambda a: _words("length" if a.get("length") else "width", a["size"]),
    catalog.LINE_HISTORY_SIZE: lambda a: _words("history size", a["size"]),
    catalog.LINE_SESSION_TIMEOUT: lambda a: _words("session-timeout", a["minutes"], a.get("line")),
    catalog.LINE_ACCESS_CLASS: lambda a: _words(
        "access-class", a["acl"], "in" if a.get("in") else "out", a.get("line")
    ),
    catalog.LINE_STOPBITS: lambda a: _words("stopbits", a["bits"]),
    catalog.LINE_PASSWORD: lambda a: _words("password", a.get("type"), a["value"]),
}
_LEVELS = ("emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational", "debugging")


@dataclass(frozen=True)
class LinePolicy:
    """What a line's settings ask of a session on it.

    ``login``: ``none`` (no ``login``), ``line`` (``login``: the line password; also ``login
    authentication LIST``, as the simulator has no AAA) or ``local`` (``login local``: the
    ``username`` entries). ``exec_timeout``: idle seconds before the exec session ends, None for
    never (``exec-timeout 0 0``).
    """

    login: str
    password: str | None
    privilege: int
    exec_timeout: float | None


@dataclass
class LineBlock:
    """One ``line TYPE FIRST [LAST]`` block and its settings by key."""

    kind: str
    first: int
    last: int | None
    settings: dict[str, str] = field(default_factory=dict)

    def header(self) -> str:
        """``line vty 0 4``."""
        return f"line {self.kind} {self.first}" + (f" {self.last}" if self.last is not None else "")

    def policy(self) -> LinePolicy:
        """The block's settings as a session on the line reads them."""
        login = self.settings.get("login")
        password = self.settings.get("password")
        level = self.settings.get("privilege level")
        timeout = self.settings.get("exec-timeout")
        seconds = DEFAULT_EXEC_SECONDS
        if timeout is not None:
            minutes, secs = (int(n) for n in timeout.split()[1:3])
            seconds = float(minutes * 60 + secs)
        return LinePolicy(
            login="none" if login is None else "local" if login == "login local" else "line",
            password=password.split()[-1] if password else None,
            privilege=int(level.split()[-1]) if level else 1,
            exec_timeout=seconds or None,
        )

    def render(self) -> list[str]:
        """The block as the running configuration shows it."""
        rank = {key: i for i, key in enumerate(SETTING_ORDER)}
        keys = sorted(self.settings, key=lambda k: rank.get(k, len(rank)))
        return [self.header(), *(f" {self.settings[k]}" for k in keys)]


def _key(setting: str) -> str:
    """The key a setting replaces by: two words for the two-word settings, else one."""
    two = " ".join(setting.split()[:2])
    return two if two in SETTING_ORDER else setting.split()[0]


class Lines(Feature):
    """Console, auxiliary and virtual terminal lines; console logging."""

    order = 900  # after access lists, before ``end``

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.blocks: dict[tuple[str, int, int | None], LineBlock] = {key: LineBlock(*key) for key in DEFAULT_LINES}

    def config_lines(self) -> list[str]:
        """The line blocks: con, aux, then vty, each by first line number."""
        kinds = list(LINE_TYPES.values())
        lines: list[str] = []
        for key in sorted(self.blocks, key=lambda k: (kinds.index(k[0]), k[1], k[2] or k[1])):
            lines.extend(self.blocks[key].render())
        return [*lines, "!"]

    def console(self) -> LinePolicy:
        """The settings of ``line con 0``, as the console line acts on them."""
        return self.blocks[("con", 0, None)].policy()

    def console_shows(self, message: str) -> bool:
        """True when the console shows the rendered log ``message`` (``logging console [LEVEL]``)."""
        log = self.router.feature(System).log
        if not log.console:
            return False
        m = _SEVERITY_RE.search(message)
        return m is None or int(m.group(1)) <= _LEVELS.index(log.console_level)

    # ---- entering a line ---------------------------------------------------------------
    @handles(catalog.LINE)
    def line(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``line con 0`` / ``line aux 0`` / ``line vty A [B]`` → ``(config-line)#``."""
        kind = next(LINE_TYPES[k] for k in LINE_TYPES if args.get(k))
        first, last = sorted((args["first"], args.get("last", args["first"])))
        key = (kind, first, None if last == first else last)
        ctx.enter("config-line", self.blocks.setdefault(key, LineBlock(*key)))

    # ---- settings ----------------------------------------------------------------------
    def _set(self, ctx: Ctx, setting: str) -> None:
        block: LineBlock = ctx.obj
        key = _key(setting)
        if setting == _DEFAULT_EXEC_TIMEOUT:
            block.settings.pop(key, None)
        else:
            block.settings[key] = setting
        self.router.feature(System).touch()

    @handles(*_SETTINGS)
    def setting(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """A line setting (``exec-timeout 0 0``, ``login local`` …), written as IOS writes it."""
        assert ctx.command is not None
        self._set(ctx, _SETTINGS[ctx.command](args))

    @handles(catalog.LINE_NO_SETTING)
    def no_setting(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no SETTING``: back to the default."""
        first = next(k for k in args if k != "no" and args[k] is True)
        rest = str(args.get("line", "")).split()
        # ``no privilege`` and ``no privilege level`` both remove ``privilege level N``; ``no
        # transport`` removes every transport setting, ``no transport input`` only that one.
        keys = [k for k in SETTING_ORDER if k.split()[0] == first]
        if rest:
            keys = [k for k in keys if " " not in k or k.split()[1].startswith(rest[0].lower())]
        block: LineBlock = ctx.obj
        for key in [*keys, first]:  # a setting outside SETTING_ORDER is kept under its first word
            block.settings.pop(key, None)
        self.router.feature(System).touch()

    # ---- console logging (a global command; the console is a line) ----------------------
    @handles(catalog.LOGGING_CONSOLE)
    def logging_console(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``logging console [LEVEL]``: log messages go to the console again."""
        level = _level(args.get("level", "debugging"))
        if level is None:
            return "% Invalid input detected at '^' marker."
        log = self.router.feature(System).log
        log.console, log.console_level = True, level
        self.router.feature(System).touch()
        return None

    @handles(catalog.NO_LOGGING_CONSOLE)
    def no_logging_console(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no logging console``."""
        self.router.feature(System).log.console = False
        self.router.feature(System).touch()


def _level(word: str) -> str | None:
    """A logging level by name (any unique prefix) or number 0-7."""
    if word.isdigit():
        return _LEVELS[int(word)] if int(word) < len(_LEVELS) else None
    hits = [name for name in _LEVELS if name.startswith(word.lower())]
    return hits[0] if len(hits) == 1 else None
