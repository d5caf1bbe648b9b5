"""Terminal lines: ``line con 0``, ``line aux 0``, ``line vty A B`` and their settings; ``logging console``.

These are what drivers send at connect (unicon: ``no logging console``, ``line console 0``,
``exec-timeout 0``; see docs/sim-ssh.md) and what lab configurations carry. The settings are kept
and rendered as IOS renders them; the simulator acts on none of them (its SSH logins are checked
against ``username`` entries, and no exec timer runs).

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

from pkilab.sim.features.system import System
from pkilab.sim.interp import Ctx
from pkilab.sim.router import Feature, command

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


def _words(*parts: object) -> str:
    """Join the present parts of a setting with single spaces."""
    return re.sub(r"\s+", " ", " ".join(str(p) for p in parts if p not in (None, ""))).strip()


#: Line settings: pattern → how IOS writes the setting (keywords in full, values as given).
_SETTINGS: dict[str, Callable[[dict[str, Any]], str]] = {
    "exec-timeout minutes:<0-35791> [seconds:<0-2147483>]": lambda a: _words(
        "exec-timeout", a["minutes"], a.get("seconds", 0)
    ),
    "logging synchronous [LINE]": lambda a: _words("logging synchronous", a.get("line")),
    "login [{local | authentication list:WORD}]": lambda a: _words(
        "login", "local" if a.get("local") else None, a.get("list") and f"authentication {a['list']}"
    ),
    "transport {input | output | preferred} LINE": lambda a: _words(
        "transport", next(k for k in ("input", "output", "preferred") if a.get(k)), a["line"]
    ),
    "privilege level level:<0-15>": lambda a: _words("privilege level", a["level"]),
    "{length | width} size:<0-512>": lambda a: _words("length" if a.get("length") else "width", a["size"]),
    "history size size:<0-256>": lambda a: _words("history size", a["size"]),
    "session-timeout minutes:<0-35791> [LINE]": lambda a: _words("session-timeout", a["minutes"], a.get("line")),
    "access-class acl:WORD {in | out} [LINE]": lambda a: _words(
        "access-class", a["acl"], "in" if a.get("in") else "out", a.get("line")
    ),
    "stopbits bits:WORD": lambda a: _words("stopbits", a["bits"]),
    "password [type:<0-7>] value:WORD": lambda a: _words("password", a.get("type"), a["value"]),
}
_LEVELS = ("emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational", "debugging")


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

    # ---- entering a line ---------------------------------------------------------------
    @command("config", "line {console | aux} first:<0-0>")
    @command("config", "line vty first:<0-1869> [last:<0-1869>]")
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

    for _i, (_pattern, _render) in enumerate(_SETTINGS.items()):
        locals()[f"_setting_{_i}"] = command("config-line", _pattern)(
            lambda self, ctx, args, _render=_render: self._set(ctx, _render(args))
        )
    del _i, _pattern, _render

    @command("config-line", "no {exec-timeout | logging | login | transport | privilege | length | width} [LINE]")
    @command("config-line", "no {history | session-timeout | access-class | stopbits | password} [LINE]")
    def no_setting(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no SETTING``: back to the default."""
        first = next(k for k in args if k != "no" and args[k] is True)
        rest = str(args.get("line", "")).split()
        two = [k for k in SETTING_ORDER if rest and k.startswith(first + " " + rest[0].lower())]
        block: LineBlock = ctx.obj
        block.settings.pop(two[0] if len(two) == 1 else first, None)
        self.router.feature(System).touch()

    # ---- console logging (a global command; the console is a line) ----------------------
    @command("config", "logging console [level:WORD]")
    def logging_console(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``logging console [LEVEL]``: log messages go to the console again."""
        level = _level(args.get("level", "debugging"))
        if level is None:
            return "% Invalid input detected at '^' marker."
        log = self.router.feature(System).log
        log.console, log.console_level = True, level
        self.router.feature(System).touch()
        return None

    @command("config", "no logging console [LINE]")
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
