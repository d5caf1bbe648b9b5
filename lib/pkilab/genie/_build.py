"""Genie parser classes generated from pkilab's parser registry and the command catalog.

One class per catalog command pkilab reads (:data:`pkilab.parsers.registry.READERS`): its
``cli_command`` lists every spelling the command's syntax expands to, each parameter a Genie
placeholder named after it (``{name}``), and its ``schema`` is derived from the return type of
the reader, so Genie's schema check verifies that ``to_dict()`` carries exactly the dataclass's
facts. Nothing here is a second list of commands: give a catalog command a reader and the Genie
package gains it.

This module imports Genie; it is loaded by the per-OS modules of :mod:`pkilab.genie.parsers`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import re
import types
import typing
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from genie.metaparser import MetaParser
from genie.metaparser.util.schemaengine import Any as AnyKey
from genie.metaparser.util.schemaengine import ListOf, Or

from pkilab.catalog import Command
from pkilab.catalog.grammar import expand, param_of
from pkilab.parsers import registry

__all__ = ["PkilabParser", "classes_for", "genie_commands", "schema_of"]


class PkilabParser(MetaParser):  # type: ignore[misc]  # Genie's MetaParser is untyped
    """Base of every generated class: runs the device command, parses it with pkilab.

    A subclass names only ``pkilab_target`` (the catalog command's name, ``SHOW_CRYPTO_ISAKMP_SA``);
    the rest is derived from it when the class is created: ``cli_command`` (every spelling of the
    command), ``pkilab_result`` (the frozen dataclass its reader returns) and ``schema``.
    """

    cli_command: typing.ClassVar[list[str]] = []
    schema: typing.ClassVar[dict[Any, Any]] = {}
    pkilab_target: typing.ClassVar[str] = ""
    pkilab_result: typing.ClassVar[type] = object

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.pkilab_target:
            return
        cls.pkilab_result, schema = _result_schema(cls.pkilab_target)
        cls.schema = schema
        cls.cli_command = list(genie_commands()[cls.pkilab_target])
        cls.__doc__ = f"pkilab's ``{cls.pkilab_target}`` ({cls.pkilab_result.__name__}), for:\n\n" + "\n".join(
            f"* {c}" for c in cls.cli_command
        )

    def typed(self, command: str | None = None, output: str | None = None, **kwargs: str) -> Any:
        """Return pkilab's frozen dataclass for ``command`` (run on the device unless ``output``).

        Args:
            command: The command with its arguments filled in (Genie passes it); ``None`` takes
                the first spelling whose placeholders ``kwargs`` fill.
            output: Text the device printed; when given, the device is not asked.
            **kwargs: Placeholder values (``arg1``…), used when ``command`` is ``None``.
        """
        if output is None:
            if command is None:
                command = _default_command(type(self), kwargs)
            output = self.device.execute(command)
        return _function(self.pkilab_target)(output)

    def cli(self, command: str | None = None, output: str | None = None, **kwargs: str) -> dict[str, Any]:
        """Genie's entry point: the facts of :meth:`typed` as a plain dict."""
        result: dict[str, Any] = self.typed(command, output, **kwargs).to_dict()
        return result


def _default_command(cls: type[PkilabParser], kwargs: dict[str, str]) -> str:
    for spelling in cls.cli_command:
        try:
            return spelling.format(**kwargs)
        except KeyError:
            continue
    raise registry.UnknownCommandError(f"{cls.__name__}: give the command or its arguments ({cls.cli_command[0]})")


@cache
def _result_schema(target: str) -> tuple[type, dict[Any, Any]]:
    """The result type of ``target``'s parser and its Genie schema (shared by its classes of every OS)."""
    result: type = typing.get_type_hints(_function(target))["return"]
    return result, schema_of(result)


@cache
def _commands() -> dict[str, Command]:
    """The commands pkilab reads, by catalog name."""
    return {command.name: command for command in registry.READERS}


def _function(target: str) -> Callable[[str], Any]:
    return registry.READERS[_commands()[target]]


def _genie_spelling(tokens: list[str]) -> str:
    """``["show", "crypto", "pki", "server", "name:WORD"]`` -> ``show crypto pki server {name}``."""
    out: list[str] = []
    seen: set[str] = set()
    for token in tokens:
        param = param_of(token)
        if param is None:
            out.append(token)
            continue
        name = param.name if param.name not in seen else f"{param.name}{len(seen) + 1}"
        seen.add(name)
        out.append(f"{{{name}}}")
    return " ".join(out)


def _shape(spelling: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", spelling)


@lru_cache(maxsize=1)
def _genie_spellings() -> dict[str, tuple[str, ...]]:
    """Genie's own commands with placeholders, by shape (``dir {}`` -> ``("dir {directory}",)``).

    Read from the table Genie is building when it imports this package (``parser_data`` is set
    before external packages are walked), else from its ``parsers.json``, the same key set.
    """
    from genie.libs.parser.utils import common

    commands: Any = common.parser_data
    if commands is None:
        import genie.libs.parser

        with open(pathlib.Path(genie.libs.parser.__path__[0]) / "parsers.json", encoding="utf-8") as fh:
            commands = json.load(fh)
    out: dict[str, list[str]] = {}
    for command in commands:
        if isinstance(command, str) and "{" in command:
            out.setdefault(_shape(command), []).append(command)
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def genie_commands() -> dict[str, tuple[str, ...]]:
    """Every registry target and the Genie spellings of its commands, in grammar order.

    Where Genie has a command of the same shape (``dir {directory}`` for ``dir ARG``), its
    spelling is used: Genie then files pkilab's class under the same key and picks it, where
    differently named placeholders would tie with Genie's own parser and lose.
    """
    known = _genie_spellings()
    by_target: dict[str, list[str]] = {}
    for command in registry.READERS:
        spellings = by_target.setdefault(command.name, [])
        for form in command.forms:
            for tokens in expand(form):
                ours = _genie_spelling(tokens)
                for spelling in known.get(_shape(ours), (ours,)):
                    if spelling not in spellings:
                        spellings.append(spelling)
    return {target: tuple(spellings) for target, spellings in by_target.items()}


def class_name(target: str) -> str:
    """``SHOW_CRYPTO_PKI_SERVER_REQUESTS`` (a catalog name) -> ``ShowCryptoPkiServerRequests``."""
    return "".join(word.capitalize() for word in target.split("_"))


def schema_of(hint: Any) -> Any:
    """Genie schema of the facts ``to_dict()`` gives for a value of type ``hint``."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        out: dict[Any, Any] = {}
        for f in dataclasses.fields(hint):
            if f.metadata.get("facts") is not False:
                out[f.name] = schema_of(hints[f.name])
        for name in getattr(hint, "_derived_facts", ()):
            out[name] = schema_of(typing.get_type_hints(getattr(hint, name).fget)["return"])
        return out
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return Or(*(None if a is type(None) else schema_of(a) for a in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return ListOf(schema_of(args[0]))
        return list  # a fixed-length tuple becomes a short list of mixed items
    if origin is dict:
        return {AnyKey(): schema_of(args[1])}
    if hint is datetime.datetime:
        return str  # ISO 8601
    if isinstance(hint, type):
        return hint
    raise TypeError(f"no Genie schema for {hint!r}")


def _source_anchor(target: str) -> Callable[[str], Any]:
    """A two-line function that calls the parser of ``target``: the ``__wrapped__`` of its classes.

    Genie reads the source lines of every class it registers, once per spelling (``inspect``
    follows ``__wrapped__``); pointing it at the parser itself would tokenize the whole parser
    function each time (seconds over the package), this block is read in microseconds.
    """
    fn = _function(target)

    def parse_output(text: str) -> Any:
        return fn(text)

    parse_output.__doc__ = f"{fn.__module__}.{fn.__qualname__}(text)"
    return parse_output


def classes_for(module: str) -> dict[str, type[PkilabParser]]:
    """Build one class per registry target, as classes of ``module`` (where Genie looks for them).

    Raises:
        ValueError: Two targets would get the same class name.
    """
    out: dict[str, type[PkilabParser]] = {}
    for target in genie_commands():
        name = class_name(target)
        if name in out:
            raise ValueError(f"pkilab.genie: {target} and {out[name].pkilab_target} are both named {name}")
        attrs = {
            "__module__": module,
            "__qualname__": name,
            "pkilab_target": target,
            "__wrapped__": _source_anchor(target),
        }
        out[name] = types.new_class(name, (PkilabParser,), exec_body=lambda ns, a=attrs: ns.update(a))  # type: ignore[misc]
    return out
