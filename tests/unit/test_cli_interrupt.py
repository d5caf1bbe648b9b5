"""A signal that reaches ``pkilab`` outside a subcommand's own handlers: one line, 128 + its number.

Before pytest starts (imports, the testbed being read) or in a command that installs nothing, SIGTERM
and SIGHUP used to kill the process without a word (no line, no exit status of its own). The
command is caught here while it reads stdin, which it never gets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pkilab.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _waiting_on_stdin(pid: int) -> bool:
    try:
        return "pipe_read" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux /proc/PID/wchan")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_ends_the_command_with_one_line_and_its_exit_code(sig: signal.Signals) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pkilab.cli", "parse", "show clock", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        wait_until(lambda: _waiting_on_stdin(proc.pid), timeout=60, interval=0.05, message="pkilab reading stdin")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + sig, err
    assert err.splitlines() == [f"pkilab: interrupted ({sig.name})"] and out == ""
