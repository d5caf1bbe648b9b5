"""The pkilab command: certify IOS PKI on IPsec VPNs, on your routers or on the embedded simulated lab.

Each subcommand lives in the layer it belongs to; this module only wires them. A module
that provides a subcommand exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed arguments, returning the exit code).

Exit codes: 0 success, 1 a check failed, 2 usage or input errors (one line, no traceback),
128+N interrupted by signal N (130 Ctrl-C, 143 SIGTERM).
"""

from __future__ import annotations

import argparse
import importlib
import re
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from pkilab import __version__
from pkilab.errors import UserError

# Modules providing subcommands, in the order they appear in --help.
_SUBCOMMAND_MODULES = (
    "pkilab.report.certify",
    "pkilab.init",
    "pkilab.sim.cli",
    "pkilab.parsers.cli",
    "pkilab.report.cli",
    "pkilab.load.cli",
)
# reST inline markup in docstrings: ``literal``, :role:`target`, *emphasis*.
_REST = re.compile(r"``(.+?)``|:[\w:]+:`~?(.+?)`|(?<![\w*])\*(\S[^*]*?)\*(?![\w*])")


def describe(doc: str | None, starting: str = "") -> str:
    """Return a paragraph of a docstring as plain text, for ``--help`` (no reST markup).

    The first paragraph, or the first one that starts with ``starting``.
    """
    paragraphs = [p.strip() for p in (doc or "").strip().split("\n\n")]
    chosen = next((p for p in paragraphs if p.startswith(starting)), "")
    text = _REST.sub(lambda m: next(g for g in m.groups() if g is not None), chosen)
    return " ".join(text.split())


def require_action(parser: argparse.ArgumentParser, actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Make ``parser`` (a command with actions) say on stderr which actions it needs when given none."""

    def missing(args: argparse.Namespace) -> int:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: an action is required: {', '.join(actions.choices)}", file=sys.stderr)
        return 2

    parser.set_defaults(func=missing)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(prog="pkilab", description=describe(__doc__))
    parser.add_argument("--version", action="version", version=f"pkilab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that layer is not built yet
                continue
            raise
        module.register(sub)
    return parser


# The signal that interrupted the command outside the handlers a subcommand installs itself.
_received: list[int] = []


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM and SIGHUP interrupt as Ctrl-C does (the default would kill without a word)."""
    if not _received:
        _received.append(signum)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pkilab`` command line and return its exit code.

    From its first line, SIGINT, SIGTERM and SIGHUP end it with one line and 128 + the signal's
    number, wherever they land (importing, loading the testbed, before pytest starts);
    subcommands that must unwind more (``certify``'s pytest, ``sim up``'s lab) install their own.
    """
    _received.clear()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args))
    except UserError as exc:
        print(f"pkilab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        signum = _received[0] if _received else int(signal.SIGINT)
        print(f"pkilab: interrupted ({signal.Signals(signum).name})", file=sys.stderr)
        return 128 + signum
    finally:
        for sig, handler in previous.items():  # main() called in a longer-lived process (tests)
            signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
