"""One simulated router abused over SSH while another keeps answering.

The lab is one event loop: a session that holds it stalls every router. While ese-branch gets a
1 MB line and then 2,500 pasted configuration lines, a poller sends ``show clock`` to ese-cryagg
in a loop; every poll must be answered (within a generous liveness deadline: latency figures are
bench/sim_abuse.py's job, see docs/sim-ssh.md) and the abused router must still work afterwards.
"""

import re
import threading
from collections.abc import Iterator

import pytest

from pkilab.parsers import parse
from pkilab.sim.lineedit import MAX_LINE
from pkilab.testbed import DeviceSpec, Testbed
from shellkit import RawShell

pytestmark = pytest.mark.usefixtures("running_lab")

LIVENESS = 60.0  # seconds one poll may take before the other router counts as stalled
PASTED = 2500


class Poller(threading.Thread):
    """``show clock`` round trips on one router until stopped; keeps the first failure."""

    def __init__(self, spec: DeviceSpec) -> None:
        super().__init__(daemon=True)
        self.shell = RawShell(spec)
        self.answered = 0
        self.error: Exception | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                out = self.shell.command("show clock", timeout=LIVENESS)
                parse("show clock", out.split("\n", 1)[1].rsplit("\n", 1)[0].replace("\r", ""))
                self.answered += 1
        except Exception as exc:  # reported by the test thread
            self.error = exc


@pytest.fixture
def poller(sim_testbed: Testbed) -> Iterator[Poller]:
    p = Poller(sim_testbed.device("ese-cryagg"))
    p.start()
    yield p
    p.halt.set()
    p.join(LIVENESS)
    p.shell.close()


def longest_run(text: str, ch: str) -> int:
    return max((len(m) for m in re.findall(re.escape(ch) + "+", text)), default=0)


def test_the_other_router_answers_every_poll_while_one_is_abused(sim_testbed: Testbed, poller: Poller) -> None:
    spec = sim_testbed.device("ese-branch")
    abuser = RawShell(spec)
    try:
        abuser.command("enable", expect="Password: ")
        abuser.command(spec.enable_password)
        before = poller.answered
        out = abuser.command("x" * 1_000_000, timeout=LIVENESS)
        assert "% Unknown command or computer name" in out
        assert longest_run(out, "x") == MAX_LINE, "the line is bounded: what overflows is not echoed"
        exec_prompt = re.compile(re.escape(spec.name) + "#$")
        block = "".join(f"ip host pasted{i} 10.9.{i // 250}.{i % 250 + 1}\n" for i in range(PASTED))
        abuser.command("configure terminal\n" + block + "end", exec_prompt, LIVENESS)
        count = abuser.command("show running-config | count ip host pasted")
        assert f"Number of lines which match regexp = {PASTED}" in count
        undo = "".join(f"no ip host pasted{i}\n" for i in range(PASTED))
        abuser.command("configure terminal\n" + undo + "end", exec_prompt, LIVENESS)
        assert poller.error is None, f"ese-cryagg stopped answering: {poller.error}"
        assert poller.answered > before, "ese-cryagg was polled during the abuse"
        assert "Number of lines which match regexp = 0" in abuser.command("show running-config | count ip host pasted")
    finally:
        abuser.close()
