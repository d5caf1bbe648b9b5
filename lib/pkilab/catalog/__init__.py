"""The IOS command catalog: every command pkilab types, reads or simulates, declared once.

Each command is a :class:`Command` constant of :mod:`~pkilab.catalog.exec_mode`,
:mod:`~pkilab.catalog.config_mode` or :mod:`~pkilab.catalog.sub_modes`: its syntax, the modes it
is valid in, its privilege level. Both sides use the same declaration:

* the simulator registers a handler per command (``@handles(catalog.SHOW_CLOCK)`` in
  :mod:`pkilab.sim.features`) and matches typed lines with :func:`tree`;
* the parsers register a reader per command whose output they read
  (:data:`pkilab.parsers.registry.READERS`) and match a command as typed with the same :func:`tree`,
  so ``pkilab parse`` accepts exactly the abbreviations a simulated router accepts.

Rules: a command is declared in the module of the first mode it is valid in; its constant's name
is its keywords (``NO_`` for a ``no`` form, a mode prefix in sub-modes: ``TP_`` trustpoint,
``CS_`` certificate server, ``IF_`` interface …); a command that reads differently with a keyword
(``detail``) is a command of its own when its output has another result type.
"""

from __future__ import annotations

from functools import cache

from pkilab.catalog import config_mode, exec_mode, sub_modes
from pkilab.catalog.command import CONFIG_MODES, EXEC, Command
from pkilab.catalog.config_mode import *  # noqa: F403
from pkilab.catalog.exec_mode import *  # noqa: F403  (the constants are the catalog's API)
from pkilab.catalog.grammar import Grammar, Match, NoMatch
from pkilab.catalog.sub_modes import *  # noqa: F403

__all__ = ["CATALOG", "CONFIG_MODES", "EXEC", "Command", "Grammar", "Match", "NoMatch", "match", "tree"]


def _assemble() -> tuple[Command, ...]:
    """Every command of the three modules, named after its constant (the one place names are set)."""
    out: list[Command] = []
    for module in (exec_mode, config_mode, sub_modes):
        for name, value in vars(module).items():
            if isinstance(value, Command):
                object.__setattr__(value, "name", name)  # frozen: named once, here
                out.append(value)
    return tuple(out)


#: Every command of the catalog, in declaration order.
CATALOG: tuple[Command, ...] = _assemble()


@cache
def tree(mode: str) -> Grammar:
    """The keyword tree of the CLI mode ``mode`` (``user``, ``privileged`` or a configuration mode)."""
    grammar = Grammar()
    for command in CATALOG:
        if mode in command.cli_modes():
            for form in command.forms:
                grammar.add(form, command)
    return grammar


def match(mode: str, line: str) -> Match | NoMatch:
    """Match a typed ``line`` in ``mode`` as IOS reads it (abbreviations, ambiguity, parameters)."""
    return tree(mode).match(line)
