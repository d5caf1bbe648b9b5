"""``pkilab parse "COMMAND" [FILE|-]``: print the parsed facts of a saved output as JSON.

Exit codes: 0 parsed; 1 a line was not understood (one line on stderr, quoting it);
2 no parser for the command, or the file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pkilab.errors import ParseError
from pkilab.parsers.registry import UnknownCommandError, parser_for

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``parse`` subcommand to the ``pkilab`` argument parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "parse",
        help="parse a saved IOS output and print its facts as JSON",
        description="Print the facts of a saved IOS output as JSON (exit 1: a line was not understood; "
        "exit 2: no parser for the command).",
    )
    p.add_argument("command", help='the command as typed, e.g. "sh cry isa sa det"')
    p.add_argument("file", nargs="?", default="-", help="file holding the output ('-' or absent: stdin)")
    p.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2; 0 for one line)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``pkilab parse``; return the exit code."""
    try:
        parser = parser_for(args.command)
    except UnknownCommandError as exc:
        print(f"pkilab parse: {exc}", file=sys.stderr)
        return 2
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
    except OSError as exc:
        print(f"pkilab parse: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        result = parser(text)
    except ParseError as exc:
        print(f"pkilab parse: {exc}", file=sys.stderr)
        return 1
    indent = args.indent or None
    print(json.dumps(result.to_dict(), indent=indent, ensure_ascii=False))
    return 0
