"""The interrupt wins: a restore that fails while a Ctrl-C unwinds a test does not turn it into a failure."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SUITE = """
import signal

def test_interrupted_then_restore_fails():
    try:
        signal.raise_signal(signal.SIGINT)  # Ctrl-C inside the test
    finally:
        raise ValueError("restore read the echo of the interrupted command")

def test_after():
    pass
"""


@pytest.mark.parametrize(("plugin", "code", "after_runs"), [("pkilab.interrupts", 2, False), (None, 1, True)])
def test_the_interrupt_wins_over_a_failing_restore(
    tmp_path: Path, plugin: str | None, code: int, after_runs: bool
) -> None:
    # Without the plugin (the control): the restore's error replaces the interrupt and the run goes on.
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(SUITE))
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"] + (["-p", plugin] if plugin else [])
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == code, done.stdout + done.stderr
    assert ("test_after PASSED" in done.stdout) is after_runs
    if plugin:
        assert "KeyboardInterrupt" in done.stdout
        assert "while unwinding after it: ValueError: restore read the echo" in done.stdout


SESSION = """
import signal
import pytest

@pytest.fixture(scope="module")
def router():
    yield
    raise ValueError("module restore failed")

def test_interrupted(router):
    signal.raise_signal(signal.SIGINT)

def test_after(router):
    pass
"""


@pytest.mark.parametrize(("plugin", "code"), [("pkilab.interrupts", 2), (None, 1)])
def test_a_wider_fixtures_failing_restore_leaves_the_run_interrupted(
    tmp_path: Path, plugin: str | None, code: int
) -> None:
    (tmp_path / "test_session.py").write_text(textwrap.dedent(SESSION))
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"] + (["-p", plugin] if plugin else [])
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == code, done.stdout + done.stderr
    if plugin:
        assert "while unwinding after the interrupt: ValueError: module restore failed" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr
