"""Lab baseline: devices identified, clocks authoritative and in step, neighbours reachable.

Every device answers and knows its name; clocks are authoritative and agree; directly connected
addresses are reachable by ping where the topology joins them.

This is the precondition of every other suite: the seed's procedures assume routers that
answer, know their names, agree on the time (certificates are checked against each router's
own clock) and reach their neighbours.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from pkilab.fixtures import DeviceGetter
from pkilab.parsers import parse
from pkilab.plan import LabPlan
from pkilab.plugin import collection_testbed
from pkilab.testbed import Testbed
from pkilab.wait import wait_until

CLOCK_TOLERANCE_SECONDS = 5.0


def _neighbour_pairs(testbed: Testbed) -> Iterator[tuple[str, str, str, str]]:
    """(source device, target device, target address, link) for every pair on every link."""
    members: dict[str, list[tuple[str, str]]] = {}
    for d in testbed.devices:
        for intf in d.interfaces:
            if intf.link and intf.ipv4 is not None:
                members.setdefault(intf.link, []).append((d.name, str(intf.ipv4.ip)))
    for link, devs in sorted(members.items()):
        for (src, _), (dst, addr) in itertools.permutations(devs, 2):
            yield src, dst, addr, link


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"device_name", "pair"} & set(metafunc.fixturenames):
        testbed = collection_testbed(metafunc.config)
        if testbed is None:
            return
        if "device_name" in metafunc.fixturenames:
            names = [d.name for d in testbed.devices]
            metafunc.parametrize("device_name", names, ids=names)
        if "pair" in metafunc.fixturenames:
            pairs = list(_neighbour_pairs(testbed))
            metafunc.parametrize("pair", pairs, ids=[f"{s}->{d}@{link}" for s, d, _, link in pairs])


@pytest.mark.seed("Enrolling a VPN Headend Router with the Cisco IOS CA Using SCEP, Step 2")
def test_device_identified(device: DeviceGetter, device_name: str) -> None:
    session = device(device_name)
    version = parse("show version", session.run("show version"))
    assert version.hostname == device_name, f"{device_name} calls itself {version.hostname!r}"
    assert version.version, "show version names no IOS version"


def _clock_offsets(device: DeviceGetter, names: list[str]) -> dict[str, tuple[float, str]]:
    """Each device's clock minus the host's, measured around each `show clock`."""
    offsets = {}
    for name in names:
        session = device(name)
        before = time.time()
        clock = parse("show clock", session.run("show clock"))
        after = time.time()
        assert clock.datetime is not None and clock.datetime.tzinfo is not None, (
            f"{name}: show clock gave no zoned time: {clock.text!r}"
        )
        offsets[name] = (clock.datetime.timestamp() - (before + after) / 2, clock.marker)
    return offsets


@pytest.mark.seed("Automatically Re-enrolling Expired Certificates Before Expiration (clock checks)")
def test_clocks_authoritative_and_in_step(device: DeviceGetter, testbed: Testbed, plan: LabPlan) -> None:
    names = [d.name for d in testbed.devices]

    def all_authoritative() -> dict[str, tuple[float, str]] | None:
        offsets = _clock_offsets(device, names)
        return offsets if all(marker != "*" for _, marker in offsets.values()) else None

    offsets = wait_until(
        all_authoritative,
        plan.deadlines.clock_sync,
        interval=1.0,
        message="every clock authoritative (no '*' in show clock)",
    )
    values = [off for off, _ in offsets.values()]
    spread = max(values) - min(values)
    assert spread <= CLOCK_TOLERANCE_SECONDS, f"clocks differ by {spread:.1f} s: {offsets}"


@pytest.mark.seed("Enrolling a VPN Headend Router with the Cisco IOS CA Using SCEP, Step 1")
def test_neighbour_reachable(device: DeviceGetter, pair: tuple[str, str, str, str]) -> None:
    src, dst, address, link = pair
    cmd = f"ping {address} repeat 5"
    result = parse(cmd, device(src).run(cmd, timeout=60))
    assert result.received >= 4, (
        f"{src} -> {dst} {address} on {link}: {result.success_rate}% ({result.received}/{result.sent}), "
        f"pattern {result.pattern!r}"
    )
