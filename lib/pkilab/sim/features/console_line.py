"""The console line (``line console 0``), ``logging console`` and erasing NVRAM.

``line console 0`` enters ``(config-line)#``; its settings (``login``, ``login local``,
``password``, ``privilege level``, ``exec-timeout`` …) are typed with the same line commands as
``line vty`` and kept as typed. The console (:mod:`pkilab.sim.console`) reads them: no login
unless ``login`` (line password) or ``login local`` (usernames) is set, the exec privilege, the
idle timeout (IOS's default for the console: 10 minutes).

``logging console [LEVEL]`` / ``no logging console`` decide which log messages the console
shows (IOS's default: on, level debugging). ``write erase`` / ``erase startup-config|nvram:``
empty NVRAM, so that the next boot has no startup configuration and shows the initial
configuration dialog.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

from pkilab.sim.features.system import System
from pkilab.sim.interp import Ask, Ctx
from pkilab.sim.router import Feature, command

#: Syslog severities by keyword, as ``logging console`` takes them.
LEVELS = {
    "emergencies": 0,
    "alerts": 1,
    "critical": 2,
    "errors": 3,
    "warnings": 4,
    "notifications": 5,
    "informational": 6,
    "debugging": 7,
}
_SEVERITY_RE = re.compile(r"%[A-Z0-9_]+-(\d)-[A-Z0-9_]+:")
DEFAULT_EXEC_TIMEOUT = 600.0
_LINE_KEYS = ("login", "password", "exec-timeout", "privilege", "logging", "session-timeout")


class ConsoleLine(Feature):
    """``line console 0`` and what the console reads from it."""

    order = 801  # after the access lists and vty lines of the Acl feature

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.settings: list[str] = []

    def config_lines(self) -> list[str]:
        """``line con 0`` and its settings (always present in IOS's running configuration)."""
        return ["line con 0", *(f" {s}" for s in self.settings), "!"]

    @command("config", "line console <0-0>")
    def line_console(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``line console 0`` → ``(config-line)#`` (the line commands are those of ``line vty``)."""
        ctx.enter("config-line", self.settings)

    @command("config-line", "no {login | password | exec-timeout | privilege | logging | session-timeout} [LINE]")
    def no_line_setting(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no login`` … on a line (console or vty): the setting goes back to its default."""
        key = next(k for k in _LINE_KEYS if args.get(k))
        settings: list[str] = ctx.obj
        settings[:] = [s for s in settings if s != key and not s.startswith(key + " ")]

    def _setting(self, key: str) -> str | None:
        for s in self.settings:
            if s == key or s.startswith(key + " "):
                return s[len(key) :].strip()
        return None

    def login(self) -> str:
        """``none``, ``line`` (``login``: the line password) or ``local`` (``login local``)."""
        value = self._setting("login")
        if value is None:
            return "none"
        return "local" if value == "local" else "line"

    def password(self) -> str | None:
        """The line password (``password [0] TEXT``), or None."""
        value = self._setting("password")
        if not value:
            return None
        parts = value.split()
        return parts[-1]

    def privilege(self) -> int:
        """The exec privilege of the console (``privilege level N``, default 1)."""
        value = self._setting("privilege") or ""
        m = re.fullmatch(r"level (\d+)", value)
        return int(m.group(1)) if m else 1

    def exec_timeout(self) -> float | None:
        """Seconds of idle time before the console's exec session ends; None for never (``0 0``)."""
        value = self._setting("exec-timeout")
        if value is None:
            return DEFAULT_EXEC_TIMEOUT
        numbers = [int(n) for n in value.split() if n.isdigit()]
        seconds = numbers[0] * 60 + (numbers[1] if len(numbers) > 1 else 0) if numbers else 0
        return float(seconds) or None


class ConsoleLogging(Feature):
    """``logging console``: which log messages reach the console."""

    order = 11  # IOS prints it among the global logging lines, near the top

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.enabled = True
        self.level = 7

    def config_lines(self) -> list[str]:
        """``no logging console`` or a non-default level; nothing for the default."""
        if not self.enabled:
            return ["no logging console"]
        if self.level != 7:
            name = next(k for k, v in LEVELS.items() if v == self.level)
            return [f"logging console {name}"]
        return []

    @command("config", "logging console [level:WORD]")
    def logging_console(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``logging console [LEVEL]``."""
        word = args.get("level", "debugging")
        level = int(word) if word.isdigit() else LEVELS.get(word.lower())
        hits = [v for k, v in LEVELS.items() if k.startswith(word.lower())]
        if level is None and len(hits) == 1:
            level = hits[0]
        if level is None or not 0 <= level <= 7:
            return "% Invalid input detected at '^' marker."
        self.enabled, self.level = True, level
        self.router.feature(System).touch()
        return None

    @command("config", "no logging console [level:WORD]")
    def no_logging_console(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no logging console``."""
        self.enabled = False
        self.router.feature(System).touch()

    def shows(self, message: str) -> bool:
        """True when the console shows the rendered log ``message``."""
        if not self.enabled:
            return False
        m = _SEVERITY_RE.search(message)
        return m is None or int(m.group(1)) <= self.level


class Erase(Feature):
    """``write erase`` / ``erase startup-config`` / ``erase nvram:``."""

    @command("exec", "write erase")
    @command("exec", "erase {startup-config | nvram:}")
    def erase(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """Empty NVRAM after IOS's confirmation; the running configuration is untouched."""
        answer = (
            yield Ask("Erasing the nvram filesystem will remove all configuration files! Continue? [confirm]")
        ).strip()
        if answer and not "yes".startswith(answer.lower()):
            return None
        self.router.fs.by_name["nvram"].files.clear()
        yield "[OK]\nErase of nvram: complete\n"
        self.router.feature(System).logmsg("%SYS-7-NV_BLOCK_INIT: Initialized the geometry of nvram")
        return None
