import contextlib
from pathlib import Path

import pytest

from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.testbed import load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim_testbed():
    # Ports moved away from the suites' lab so both can run in one pytest session.
    return load(ROOT / "testbeds" / "sim.yaml").shifted(1000 + worker_offset())


@pytest.fixture(scope="module")
def running_lab(sim_testbed):
    runner = SimLabRunner(sim_testbed).start()
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture
def netmiko_factory(sim_testbed):
    from netmiko import ConnectHandler

    opened = []

    def connect(name):
        d = sim_testbed.device(name)
        conn = ConnectHandler(
            device_type="cisco_ios",
            host=d.host,
            port=d.port,
            username=d.username,
            password=d.password,
            secret=d.enable_password,
        )
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        with contextlib.suppress(Exception):
            conn.disconnect()
