"""One IOS command as the catalog declares it.

A :class:`Command` is an IOS command in the modes it is valid in: its syntax (one or more forms
in the notation of :mod:`pkilab.catalog.grammar`), the lowest privilege level that may run it,
and the ``?`` help of its keywords where the simulator gives one. Commands compare by identity:
the catalog's constant *is* the command, and the simulator's handlers and the parsers' readers
are registered against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pkilab.device.modes import MODES

#: The two exec modes: ``user`` (commands of ``level`` 1 only) and ``privileged``.
EXEC = "exec"

#: Every configuration mode (the mode graph is :mod:`pkilab.device.modes`'s).
CONFIG_MODES = tuple(m.name for m in MODES.values() if m.config)


@dataclass(frozen=True, eq=False, init=False)
class Command:
    """An IOS command: its syntax forms, where it is valid, who may run it.

    Attributes:
        forms: The syntax, one pattern per form (:mod:`pkilab.catalog.grammar`); several forms
            where IOS takes the same command in more than one word order.
        modes: The modes it is valid in: :data:`EXEC` for the exec modes, or configuration mode
            names (:mod:`pkilab.device.modes`).
        level: The lowest privilege level that runs it (1: user exec too; 15: privileged only).
        help: ``?`` help text of keywords, where the simulator shows one.
        name: The catalog's name for it (``SHOW_CRYPTO_ISAKMP_SA``), set when the catalog is assembled.
    """

    forms: tuple[str, ...]
    modes: tuple[str, ...]
    level: int
    help: Mapping[str, str]
    name: str

    def __init__(
        self, *forms: str, modes: tuple[str, ...], level: int = 15, help: Mapping[str, str] | None = None
    ) -> None:
        object.__setattr__(self, "forms", forms)
        object.__setattr__(self, "modes", modes)
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "help", MappingProxyType(dict(help or {})))
        object.__setattr__(self, "name", "")

    def __repr__(self) -> str:
        return f"<Command {self.name or self.forms[0]}>"

    @property
    def syntax(self) -> str:
        """The first form, as documentation and messages show the command."""
        return self.forms[0]

    def cli_modes(self) -> tuple[str, ...]:
        """The concrete CLI modes: :data:`EXEC` becomes ``privileged`` (and ``user`` at level 1)."""
        out: list[str] = []
        for mode in self.modes:
            if mode == EXEC:
                out += ["privileged", "user"] if self.level <= 1 else ["privileged"]
            else:
                out.append(mode)
        return tuple(out)
