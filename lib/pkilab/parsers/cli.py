"""``pkilab parse "COMMAND" [FILE|-]``: print the parsed facts of a saved output as JSON.

``pkilab parse --list`` prints the commands pkilab reads, one pattern a line with its parser
(from the registry's own table).

Exit codes: 0 parsed; 1 a line was not understood (one line on stderr, quoting it);
2 no parser for the command, an ambiguous abbreviation (``% Ambiguous command:  "sh cry i"``),
or the file cannot be read; 141 (128 + SIGPIPE, what a shell reports for a tool stopped by a
closed pipe) when the reader went away before the output was written, as ``| head`` does —
quietly, with no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from pkilab.errors import ParseError
from pkilab.parsers.registry import READERS, UnknownCommandError, parser_for

__all__ = ["register", "run"]

EXIT_PIPE_CLOSED = 141


def register(subparsers: Any) -> None:
    """Add the ``parse`` subcommand to the ``pkilab`` argument parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "parse",
        help="parse a saved IOS output and print its facts as JSON",
        description="Print the facts of a saved IOS output as JSON (exit 1: a line was not understood; "
        "exit 2: no parser for the command, or an ambiguous abbreviation). --list shows the commands read.",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("command", nargs="?", help='the command as typed, e.g. "sh cry isa sa det"')
    what.add_argument(
        "--list",
        action="store_true",
        help="list the commands pkilab reads (name:TYPE and UPPER-CASE words are arguments, [...] optional, "
        "{a | b} one of)",
    )
    p.add_argument("file", nargs="?", default="-", help="file holding the output ('-' or absent: stdin)")
    p.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2; 0 for one line)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``pkilab parse``; return the exit code."""
    if args.list:
        return _emit(_listing())
    try:
        parser = parser_for(args.command)
    except UnknownCommandError as exc:
        print(f"pkilab parse: {exc}", file=sys.stderr)
        return 2
    try:
        text = _read(args.file)
    except OSError as exc:
        print(f"pkilab parse: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        result = parser(text)
    except ParseError as exc:
        print(f"pkilab parse: {exc}", file=sys.stderr)
        return 1
    indent = args.indent or None
    return _emit(json.dumps(result.to_dict(), indent=indent, ensure_ascii=False) + "\n")


def _read(name: str) -> str:
    """Read the output from ``name`` or stdin; bytes that are not UTF-8 are replaced, not fatal."""
    if name != "-":
        with open(name, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    raw = getattr(sys.stdin, "buffer", None)
    return raw.read().decode("utf-8", errors="replace") if raw is not None else sys.stdin.read()


def _listing() -> str:
    """The registry's table: each form of each command read, and its reader."""
    rows = [
        (form, f"{reader.__module__}.{reader.__qualname__}".removeprefix("pkilab.parsers."))
        for command, reader in READERS.items()
        for form in command.forms
    ]
    width = max(len(pattern) for pattern, _ in rows)
    return "".join(f"{pattern:<{width}}  {target}\n" for pattern, target in rows)


def _emit(text: str) -> int:
    """Write ``text`` to stdout; return 0, or :data:`EXIT_PIPE_CLOSED` when the reader has gone."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # What is still buffered would fail again when the interpreter flushes stdout at exit
        # (an 'Exception ignored' message): point the descriptor at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_PIPE_CLOSED
    return 0
