"""The access testbeds driven by unicon through pyATS, as pyATS shops connect: a real third-party client.

unicon reaches a router through the simulated terminal server (``proxy: terminal_server``,
``command: open /<lab>/<node>/0``), through the jump host's shell (its CLI proxy types ``ssh`` there),
and on a telnet console. It spawns the system's ``ssh``/``telnet`` clients: a test skips, naming
what is missing, when one is not installed.
"""

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from accesskit import ROOT, load_access_testbed, running, shifted_yaml
from pkilab.fixtures import worker_offset

pytest.importorskip("unicon")
NO_HOST_KEYS = "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no"


@pytest.fixture
def lab_yaml(tmp_path: Path) -> Iterator[Callable[[str, int], Path]]:
    """Start the lab of an access testbed (ports moved); return the moved YAML for pyATS."""
    with contextlib.ExitStack() as labs:

        def start(name: str, offset: int) -> Path:
            path = shifted_yaml(ROOT / "testbeds" / name, offset + worker_offset(), tmp_path / name, NO_HOST_KEYS)
            labs.enter_context(running(load_access_testbed(path)))
            return path

        yield start


def connect(path: Path, device: str, via: str) -> Any:
    """The pyATS device ``device`` of the testbed at ``path``, connected ``via`` (pyATS is untyped: Any)."""
    from pyats.topology import loader

    dev = loader.load(str(path)).devices[device]
    dev.connect(via=via, log_stdout=False, learn_hostname=False, connection_timeout=30)
    return dev


def require(binary: str) -> None:
    if shutil.which(binary) is None:
        pytest.skip(f"unicon spawns `{binary}`, which is not installed (Debian package {binary})")


CASES = {
    "terminal-server": ("sim-termserver.yaml", "ese-branch", "a", "ssh"),
    "jump-host-shell": ("sim-jumphost.yaml", "ese-cryagg", "cli", "ssh"),
    "telnet-console": ("sim-console.yaml", "hq-host", "a", "telnet"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unicon_reaches_the_router(lab_yaml: Callable[[str, int], Path], case: str) -> None:
    testbed, name, via, client = CASES[case]
    require(client)
    dev = connect(lab_yaml(testbed, 1400), name, via)
    try:
        assert f"{name} uptime is" in dev.execute("show version")
        dev.configure("ip host unicon-was-here 10.9.9.9")
        assert "ip host unicon-was-here 10.9.9.9" in dev.execute("show running-config | include ip host")
        # unicon's connect sets `no logging console` and `line console 0` / `exec-timeout 0`: IOS accepts them
        assert "no logging console" in dev.execute("show running-config | include logging console")
    finally:
        dev.disconnect()
