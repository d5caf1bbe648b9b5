"""``pkilab certify``'s pytest: run in its own process group, output relayed, interrupts passed on.

pytest (and its xdist workers, and the simulated labs they run in-process) form one process
group of their own, so a signal reaches them once, from ``certify``, however it was sent: Ctrl-C
at the terminal, SIGINT or SIGTERM to ``certify`` alone or to its process group. The first
SIGINT, SIGTERM or SIGHUP is passed on to the group as SIGINT, the interrupt pytest unwinds
from: finalizers restore the routers, the labs stop, JUnit is written. If the group is still
there after the grace period (``PKILAB_INTERRUPT_GRACE`` seconds, default 60), or at a second
signal, it is killed (SIGKILL): its ports close with it. On Linux pytest also gets SIGTERM if
``certify`` dies without a word (SIGKILL), which the progress plugin turns into an interrupt.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import IO

from pkilab.secrets import Masker

GRACE_ENV = "PKILAB_INTERRUPT_GRACE"
DEFAULT_GRACE = 60.0
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# pytest's terminal reporter shows a pytest.exit() message as "!!! _pytest.outcomes.Exit: MSG !!!".
_EXIT_LINE = re.compile(r"^!+ _pytest\.outcomes\.Exit: (.*?) !+\s*$")
# pytest -q's closing count line ("4 deselected in 1.52s"): noise before a one-line exit message.
_COUNTS_LINE = re.compile(r"^(?:\d+ [a-z]+(?:, )?)+ in [0-9.]+s(?: \([0-9:]+\))?\s*$")
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class PytestRun:
    """How pytest ended.

    ``code`` is pytest's exit code (negative: killed by that signal); ``received`` the first
    signal ``certify`` received while pytest ran, if any.
    """

    code: int
    stderr: str
    received: signal.Signals | None


def grace_period() -> float:
    """Return the seconds an interrupted pytest gets to unwind (``PKILAB_INTERRUPT_GRACE``)."""
    try:
        return max(0.0, float(os.environ.get(GRACE_ENV, DEFAULT_GRACE)))
    except ValueError:
        return DEFAULT_GRACE


class _Interrupts:
    """The signal handlers of one run: pass the first signal on, kill at the second or after the grace."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.received: list[signal.Signals] = []
        self.proc: subprocess.Popen[str] | None = None
        self.timer: threading.Timer | None = None
        self.previous: dict[int, object] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers (certify called from elsewhere)
        for sig in _FORWARDED:
            self.previous[sig] = signal.signal(sig, self._on_signal)

    def restore(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]  # what signal.signal returned

    def started(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        if self.received:  # a signal came while pytest was being started
            self._pass_on()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum))
        if self.proc is not None:
            self._pass_on()

    def _pass_on(self) -> None:
        if len(self.received) == 1 or self.timer is None:
            kill_group(self.proc, signal.SIGINT)
            self.timer = threading.Timer(self.grace, kill_group, (self.proc, signal.SIGKILL))
            self.timer.daemon = True
            self.timer.start()
        else:
            kill_group(self.proc, signal.SIGKILL)


def kill_group(proc: subprocess.Popen[str] | None, sig: int) -> None:
    """Send ``sig`` to the process group of ``proc`` (pytest and its workers), if it is still there."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _die_with_parent() -> Callable[[], None] | None:
    """Return what the child runs before pytest so that it gets SIGTERM when certify dies (Linux).

    prctl is looked up here, in the parent: between fork and exec the child must not import.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def run_pytest(command: Sequence[str], masker: Masker, out: IO[str], env: dict[str, str]) -> PytestRun:
    """Run pytest, relaying its stdout live (masked); return how it ended.

    A ``pytest.exit`` message (how the plugin stops on a bad testbed) is printed by pytest's
    terminal reporter on stdout; it is held back and returned with stderr, to be reported as
    one line.
    """
    interrupts = _Interrupts(grace_period())
    interrupts.install()
    proc: subprocess.Popen[str] | None = None
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=env,
            process_group=0,
            preexec_fn=_die_with_parent(),
        )
        interrupts.started(proc)
        assert proc.stdout is not None and proc.stderr is not None
        stderr = proc.stderr
        chunks: list[str] = []
        reader = threading.Thread(target=lambda: chunks.extend(stderr), daemon=True)
        reader.start()
        held: list[str] = []
        quiet: list[str] = []  # blank and bare-count lines, shown only if the run did not stop on an exit
        for line in proc.stdout:
            match = _EXIT_LINE.match(line)
            if match:
                held.append(f"Exit: {match.group(1)}\n")
                continue
            if not line.strip() or _COUNTS_LINE.match(line):
                quiet.append(line)
                continue
            out.write(masker.mask("".join(quiet) + line))
            quiet.clear()
            out.flush()
        if not held:
            out.write(masker.mask("".join(quiet)))
            out.flush()
        code = proc.wait()
        reader.join(timeout=10)
    finally:
        interrupts.restore()
        if proc is not None and (interrupts.received or proc.poll() is None):
            # Whatever is left of the group (a worker that outlived its controller) goes now.
            kill_group(proc, signal.SIGKILL)
            proc.wait()
    received = interrupts.received[0] if interrupts.received else None
    return PytestRun(code, "".join(chunks + held), received)
