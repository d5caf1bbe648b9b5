from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.testbed import Testbed, load

if TYPE_CHECKING:
    from netmiko import BaseConnection

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim_testbed() -> Testbed:
    # Ports moved away from the suites' lab so both can run in one pytest session.
    return load(ROOT / "testbeds" / "sim.yaml").shifted(1000 + worker_offset())


@pytest.fixture(scope="module")
def running_lab(sim_testbed: Testbed) -> Iterator[SimLabRunner]:
    runner = SimLabRunner(sim_testbed).start()
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture
def netmiko_factory(sim_testbed: Testbed) -> Iterator[Callable[[str], BaseConnection]]:
    from netmiko import ConnectHandler

    opened: list[BaseConnection] = []

    def connect(name: str) -> BaseConnection:
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
