"""The ``pkilab`` command: ``certify``, ``sim up|faults``, ``parse``, ``report merge``.

Each subcommand lives in the layer it belongs to; this module only wires them. A module
that provides a subcommand exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed arguments, returning the exit code).

Exit codes: 0 success, 1 a check failed, 2 usage or input errors (one line, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pkilab.errors import UserError

# Modules providing subcommands, in the order they appear in --help.
_SUBCOMMAND_MODULES = (
    "pkilab.report.certify",
    "pkilab.sim.cli",
    "pkilab.parsers.cli",
    "pkilab.report.cli",
    "pkilab.load.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(prog="pkilab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that layer is not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pkilab`` command line and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args))
    except UserError as exc:
        print(f"pkilab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
