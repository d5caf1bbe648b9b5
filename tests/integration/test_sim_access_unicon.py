"""The access testbeds driven by unicon through pyATS, as pyATS shops connect: a real third-party client.

unicon reaches a router through the simulated terminal server (``proxy: terminal_server``,
``command: open /<lab>/<node>/0``), through the jump host's shell (its CLI proxy types ``ssh`` there),
and on a telnet console. It spawns the system's ``ssh``/``telnet`` clients: a test skips, naming
what is missing, when one is not installed.
"""

import shutil

import pytest

from accesskit import ROOT, load_access_testbed, shifted_yaml
from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner

pytest.importorskip("unicon")
NO_HOST_KEYS = "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no"


@pytest.fixture
def lab_yaml(tmp_path):
    """Start the lab of an access testbed (ports moved); return the moved YAML for pyATS."""
    runners = []

    def start(name, offset):
        path = shifted_yaml(ROOT / "testbeds" / name, offset + worker_offset(), tmp_path / name, NO_HOST_KEYS)
        runners.append(SimLabRunner(load_access_testbed(path)).start())
        return path

    yield start
    for runner in runners:
        runner.stop()


def connect(path, device, via):
    from pyats.topology import loader

    dev = loader.load(str(path)).devices[device]
    dev.connect(via=via, log_stdout=False, learn_hostname=False, connection_timeout=30)
    return dev


def require(binary):
    if shutil.which(binary) is None:
        pytest.skip(f"unicon spawns `{binary}`, which is not installed (Debian package {binary})")


def test_unicon_through_the_terminal_server(lab_yaml):
    require("ssh")
    dev = connect(lab_yaml("sim-termserver.yaml", 1400), "ese-branch", "a")
    try:
        assert "ese-branch uptime is" in dev.execute("show version")
        dev.configure("ip host unicon-was-here 10.9.9.9")
        assert "ip host unicon-was-here 10.9.9.9" in dev.execute("show running-config | include ip host")
    finally:
        dev.disconnect()


def test_unicon_through_the_jump_host_shell(lab_yaml):
    require("ssh")
    dev = connect(lab_yaml("sim-jumphost.yaml", 1400), "ese-cryagg", "cli")
    try:
        assert "Interface" in dev.execute("show ip interface brief")
    finally:
        dev.disconnect()


def test_unicon_on_a_telnet_console(lab_yaml):
    require("telnet")
    dev = connect(lab_yaml("sim-console.yaml", 1400), "hq-host", "a")
    try:
        assert "hq-host uptime is" in dev.execute("show version")
        # unicon's connect set `no logging console` on the console line, which IOS accepts
        assert "no logging console" in dev.execute("show running-config | include logging console")
    finally:
        dev.disconnect()
