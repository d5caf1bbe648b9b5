"""pkilab's parsers from pyATS/Genie scripts: ``device.parse("show crypto isakmp sa")``.

:mod:`pkilab.genie.parsers` is a Genie external-parser package: one Genie parser class per
parser of pkilab's registry, for devices of ``os: ios`` and ``os: iosxe``, generated from the
registry (see ``docs/pyats-genie.md``). Genie loads it when its name is in the environment
variable ``PYATS_LIBS_EXTERNAL_PARSER`` (or the pyATS configuration key
``pyats.libs.external.parser``); :func:`register` sets the variable from inside a script.
``device.parse(command)`` then returns the parsed facts as a dict (``to_dict()`` of pkilab's
result); :func:`typed` returns the frozen dataclass itself.

Importing this module does not import Genie; :func:`register` and the package do.
"""

from __future__ import annotations

import os
from typing import Any, Protocol, TypeVar

from pkilab.parsers import parse, parse_as

__all__ = ["ENV_VAR", "PACKAGE", "register", "typed", "typed_as"]

PACKAGE = "pkilab.genie.parsers"
ENV_VAR = "PYATS_LIBS_EXTERNAL_PARSER"  # Genie's name for the key pyats.libs.external.parser

T = TypeVar("T")


class _Executes(Protocol):
    """A pyATS device: what :func:`typed` needs of it."""

    def execute(self, command: str) -> str: ...


def register() -> None:
    """Make Genie load pkilab's parsers: add the package to ``PYATS_LIBS_EXTERNAL_PARSER``.

    Other packages named in the variable stay. When Genie has already read its parser table in
    this process, the table is dropped so that the next ``device.parse`` reads it again, with
    pkilab's classes.

    Raises:
        ImportError: Genie is not installed.
    """
    try:
        from genie.libs.parser.utils import common
    except ImportError as exc:
        raise ImportError(f"pkilab.genie: genie is not installed (pip install 'pkilab[genie]'): {exc}") from exc
    packages = [p for p in os.environ.get(ENV_VAR, "").split(",") if p]
    if PACKAGE not in packages:
        os.environ[ENV_VAR] = ",".join([*packages, PACKAGE])

    common.parser_data = None


def typed(device: _Executes, command: str, *, output: str | None = None) -> Any:
    """Run ``command`` on a pyATS device and return pkilab's frozen dataclass for its output.

    The parser is chosen by pkilab's registry (IOS abbreviations work), the same function the
    Genie class of the command wraps; ``device.parse`` gives its ``to_dict()``.

    Args:
        device: A connected pyATS/Genie device (anything with ``execute(command) -> str``).
        command: The command as typed.
        output: Text the device printed already; when given, the device is not asked.

    Raises:
        UnknownCommandError: pkilab has no parser for the command.
        ParseError: A line of the output was not understood (the error quotes it).
    """
    return parse(command, _text(device, command, output))


def typed_as(result: type[T], device: _Executes, command: str, *, output: str | None = None) -> T:
    """:func:`typed`, checked to return a ``result`` (for typed code).

    Raises:
        UnknownCommandError: pkilab has no parser for the command.
        ParseError: A line was not understood, or the command's parser reads another type.
    """
    return parse_as(result, command, _text(device, command, output))


def _text(device: _Executes, command: str, output: str | None) -> str:
    return device.execute(command) if output is None else output
