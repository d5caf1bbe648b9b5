"""Interrupts win: a pytest plugin (registered by :mod:`pkilab.plugin`; PYTEST_DONT_REWRITE: no asserts).

A Ctrl-C that lands inside a test runs its ``finally:`` blocks and fixture finalizers, which
restore the routers. When one of those restores fails (on real routers: a half-configured
device; on any device: output it did not expect), its exception replaces the
``KeyboardInterrupt`` and pytest records an ordinary failure and goes on with the next test.
Here the interrupt is put back: the restore's error is kept as a note on it, and pytest stops
as it does for any Ctrl-C. The finalizers of wider fixtures run when the interrupted session
finishes; one that fails there is reported in one line, and the run still ends as interrupted
(pytest's exit code 2), not with a traceback and exit code 1.

SIGTERM is turned into the same interrupt (see :func:`terminate_as_interrupt`) by
``pkilab certify``'s pytest, so that a terminated run still unwinds its restores, stops the
simulated lab and writes its JUnit file.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Generator
from types import FrameType
from typing import Any

import pytest

# The signal that interrupted the run, when it was one pkilab turned into KeyboardInterrupt.
_received: list[int] = []
# Whether this process's pytest session was interrupted (pytest_keyboard_interrupt was called).
_interrupted: list[bool] = []


def interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """Return the ``KeyboardInterrupt`` that ``exc`` was raised while handling, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc.__context__
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__context__
    return None


def _reraise_interrupt() -> Generator[None, Any, Any]:
    try:
        return (yield)
    except Exception as exc:
        interrupt = interrupt_behind(exc)
        if interrupt is None:
            raise
        interrupt.add_note(f"while unwinding after it: {type(exc).__name__}: {exc}")
        raise interrupt from None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    """Setup: a fixture's restore that failed after an interrupt does not hide it."""
    return (yield from _reraise_interrupt())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Call: a ``finally:`` restore that failed after an interrupt does not hide it."""
    return (yield from _reraise_interrupt())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    """Teardown: a finalizer's restore that failed after an interrupt does not hide it."""
    return (yield from _reraise_interrupt())


def pytest_configure(config: pytest.Config) -> None:
    """A new session: not interrupted yet."""
    _interrupted.clear()


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Remember that the session was interrupted (pytest.exit() comes here too: it is not)."""
    if isinstance(excinfo.value, KeyboardInterrupt):
        _interrupted.append(True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None, Any, Any]:
    """An interrupted session's last finalizers: a failing restore is one line, the run stays interrupted."""
    try:
        return (yield)
    except Exception as exc:
        if not _interrupted:
            raise
        line = f"while unwinding after the interrupt: {type(exc).__name__}: {exc}"
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)
        else:
            print(line, file=sys.stderr)
        return None


def terminate_as_interrupt() -> None:
    """Make SIGTERM (and SIGHUP) interrupt this process as Ctrl-C does.

    Called from the main thread only (where Python runs signal handlers); elsewhere it does
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)


def received_signal() -> int | None:
    """Return the signal :func:`terminate_as_interrupt` turned into an interrupt, if one came."""
    return _received[0] if _received else None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    if _received:
        return  # one interrupt is enough: a second one would cut the unwinding short
    _received.append(signum)
    raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")
