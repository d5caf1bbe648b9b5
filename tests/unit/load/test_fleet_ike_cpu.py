"""The fleet counts the loop thread's CPU inside the branches' IKE work, and nothing of ESP or the echoes."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from pkilab.load.fleet import Fleet, IkeCpu, Pacing
from pkilab.protocols.ike import EngineOptions
from pkilab.protocols.ike.constants import NON_ESP_MARKER
from pkilab.protocols.ike.natt import NATT_KEEPALIVE
from pkilab.sim import packets as pk
from unit.load.loadkit import HEADEND, Headend, HeadendPort, credentials, profile

BRANCH = "198.18.0.1"
IKE_HEAD = bytes(28)  # an ISAKMP header's worth


def _udp(dport: int, data: bytes) -> bytes:
    return pk.ipv4(HEADEND, BRANCH, pk.PROTO_UDP, pk.udp(HEADEND, BRANCH, dport, dport, data))


@pytest.mark.parametrize(
    ("packet", "ike"),
    [
        (_udp(500, IKE_HEAD), True),
        (_udp(4500, NON_ESP_MARKER + IKE_HEAD), True),  # IKE behind NAT-T
        (_udp(4500, NATT_KEEPALIVE), True),  # handed to the engine as IKE is
        (_udp(4500, bytes.fromhex("0000beef00000001") + bytes(40)), False),  # ESP in UDP (RFC 3948)
        (pk.ipv4(HEADEND, BRANCH, pk.PROTO_ESP, bytes.fromhex("0000beef00000001") + bytes(40)), False),
        (pk.ipv4(HEADEND, BRANCH, pk.PROTO_ICMP, pk.icmp(0, 0, 1, 1, bytes(8))), False),
        (_udp(53, IKE_HEAD), False),
    ],
    ids=["udp500", "natt-ike", "natt-keepalive", "esp-in-udp", "esp", "icmp", "udp53"],
)
def test_packets_are_told_apart_by_protocol_and_port(packet: bytes, ike: bool) -> None:
    """The branch says which packets went to its IKE engine: those the fleet counts as IKE work."""
    branch = _fleet(Headend(psk=True), 1).branches[0]
    assert branch.receive(packet, 0.0) is ike


def _fleet(headend: Headend, count: int, options: EngineOptions | None = None, drop: bool = False) -> Fleet:
    prof = profile(headend.psk)
    if options is not None:
        prof = dataclasses.replace(prof, options=options)
    pairs = [(f"198.18.0.{i + 1}", f"198.19.0.{i + 1}") for i in range(count)]
    fleet = Fleet.build(pairs, prof, HeadendPort(headend, drop), Pacing(tunnel=10.0, echo=2.0))
    for i, branch in enumerate(fleet.branches):
        credentials(headend, branch, 100 + i)
    return fleet


@pytest.mark.parametrize("psk", [False, True], ids=["rsig", "psk"])
def test_ike_cpu_grows_with_handshakes_and_not_with_echoes(psk: bool) -> None:
    headend = Headend(psk=psk)

    async def scenario() -> tuple[IkeCpu, IkeCpu, IkeCpu]:
        fleet = _fleet(headend, 2)
        await fleet.open([f"{BRANCH}-198.18.0.2"])
        try:
            assert fleet.ike == IkeCpu()
            first, second = fleet.branches
            assert await fleet.tunnel(first)
            one = dataclasses.replace(fleet.ike)
            for _ in range(5):
                assert await fleet.traffic(first)
            pinged = dataclasses.replace(fleet.ike)
            assert await fleet.tunnel(second)
            return one, pinged, dataclasses.replace(fleet.ike)
        finally:
            fleet.close()

    one, pinged, two = asyncio.run(scenario())
    # main mode started, and the headend's main mode and quick mode answers received, each counted
    assert one.calls >= 4 and one.seconds > 0
    assert headend.echoes_answered == 5
    assert pinged == one  # five echoes out and back through ESP: not a call, not a nanosecond counted
    assert two.calls == 2 * one.calls and two.seconds > one.seconds


def test_ike_timers_and_retransmissions_are_counted() -> None:
    headend = Headend()

    async def scenario() -> IkeCpu:
        # A headend that never answers: main mode started, then retransmitted on the branch's timer.
        fleet = _fleet(headend, 1, EngineOptions(retransmit_interval=0.02, retransmit_limit=3), drop=True)
        await fleet.open([BRANCH])
        task = asyncio.ensure_future(fleet.tunnel(fleet.branches[0]))
        try:
            while fleet.ike.calls < 3:  # the start and two timer runs (the deadline is wait_for's below)
                await asyncio.sleep(0.01)
            return dataclasses.replace(fleet.ike)
        finally:
            task.cancel()
            fleet.close()

    got = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert got.calls >= 3 and got.seconds > 0 and not headend.queue and not headend.events
