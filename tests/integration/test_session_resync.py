"""A command cut short (timeout, Ctrl-C) does not leak its answer into the next one.

Against the simulated lab: a ping still printing, or a dialog still waiting for its answer, when
the command is cut short; then a restore, as a suite's ``finally:`` runs one.
"""

import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pkilab.device.session import Session
from pkilab.errors import DeviceTimeoutError
from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.testbed import Testbed, load

ROOT = Path(__file__).resolve().parents[2]
CLOCK = r"\d\d:\d\d:\d\d\.\d{3} UTC \w{3} \w{3} \d+ \d{4}"
LONG_PING = "ping 66.66.66.1 repeat {}"  # ~3,000 echoes a second on the simulated lab, each one a '!'
RESYNC_MARK = "! pkilab: resynchronising"


@pytest.fixture(scope="module")
def lab() -> Iterator[Testbed]:
    testbed = load(ROOT / "testbeds" / "sim.yaml").shifted(1700 + worker_offset())
    runner = SimLabRunner(testbed).start()
    try:
        yield testbed
    finally:
        runner.stop()


@pytest.fixture
def branch(lab: Testbed) -> Iterator[Session]:
    session = Session(lab.device("ese-branch")).connect()
    yield session
    session.close()


def _ctrl_c_in(seconds: float) -> threading.Timer:
    """A real SIGINT to the main thread, as Ctrl-C sends, after ``seconds`` (the command is running then)."""
    timer = threading.Timer(seconds, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    timer.start()
    return timer


def _after_resync(session: Session) -> str:
    transcript = session.transcript.since(0)
    assert RESYNC_MARK in transcript, "the command was not cut short: nothing was resynchronised"
    return transcript[transcript.index(RESYNC_MARK) :]


def test_a_timed_out_command_does_not_leak_into_the_next(branch: Session) -> None:
    line = branch.stream
    with pytest.raises(DeviceTimeoutError):
        branch.run(LONG_PING.format(5000), timeout=0.3)
    assert re.fullmatch(CLOCK, branch.run("show clock").strip())
    # The rest of the ping was read and discarded on the same line.
    assert branch.stream is line
    assert "Success rate is 100 percent (5000/5000)" in _after_resync(branch)


def test_a_command_cut_short_in_configuration_mode_returns_to_exec(branch: Session) -> None:
    branch.run("configure terminal")
    with pytest.raises(DeviceTimeoutError):
        branch.run("do " + LONG_PING.format(5000), timeout=0.3)
    # `show` is an exec command (configuration mode refuses it without `do`): `end` was sent.
    assert re.fullmatch(CLOCK, branch.run("show clock").strip())
    assert "(config)#end" in _after_resync(branch)


def test_a_device_that_stays_busy_is_left_to_it_and_the_session_reconnects(branch: Session) -> None:
    line = branch.stream
    branch.RESYNC_TIMEOUT = 0.2  # the ping outlasts it
    with pytest.raises(DeviceTimeoutError):
        branch.run(LONG_PING.format(5000), timeout=0.3)
    assert re.fullmatch(CLOCK, branch.run("show clock").strip())
    assert branch.stream is not line
    assert "! pkilab: no prompt, reconnecting" in _after_resync(branch)


def test_ctrl_c_inside_a_ping_then_a_restore_and_the_interrupt_wins(branch: Session) -> None:
    branch.config(["ip host pkilab-resync 10.9.9.9"])
    timer = _ctrl_c_in(0.3)
    with pytest.raises(KeyboardInterrupt):
        try:
            branch.run(LONG_PING.format(10000), timeout=600)
        finally:
            timer.cancel()
            branch.config(["no ip host pkilab-resync 10.9.9.9"])  # the restore
    assert branch.run("show running-config | include pkilab-resync") == ""
    assert "Success rate is 100 percent (10000/10000)" in _after_resync(branch)


def test_ctrl_c_while_a_dialog_waits_aborts_it_instead_of_answering(branch: Session) -> None:
    # `reload` asks to save; a bare newline there would go on to the reload. Cut short, the dialog
    # is aborted (Ctrl-C) before the newline that finds the prompt again.
    branch.config(["ip host pkilab-resync 10.9.9.9"])  # modified: reload asks "Save? [yes/no]"
    timer = _ctrl_c_in(0.3)
    with pytest.raises(KeyboardInterrupt):
        try:
            branch.run("reload", timeout=600)
        finally:
            timer.cancel()
            branch.config(["no ip host pkilab-resync 10.9.9.9"])
    assert branch.connected and branch.run("show running-config | include pkilab-resync") == ""
    assert "% Aborted" in _after_resync(branch)
