"""A virtual branch against a headend built from the project's IKE engine and ESP, in memory."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab.load.states import Phase
from pkilab.protocols.ike import AuthenticationFailed, CertificateCheck, Phase2Policy, Phase2Up
from pkilab.sim import packets as pk
from unit.load.loadkit import HEADEND, TS, Headend, ca, enrolled_branch, key


def _up(headend: Headend, psk: bool = False) -> None:
    branch = next(iter(headend.branches.values()))
    branch.initiate(headend.now)
    headend.pump()
    assert branch.phase is Phase.UP and branch.tunnel_up, (branch.refusals, branch.errors)
    assert branch.handshakes == 1 and branch.at.up is not None and branch.at.phase1 is not None
    auth = [e for e in headend.events if isinstance(e, Phase2Up)]
    assert len(auth) == 1 and auth[0].remote.addr == branch.address


def _ping(headend: Headend) -> bool:
    branch = next(iter(headend.branches.values()))

    async def go() -> bool:
        fut = branch.ping(headend.now)
        headend.pump()
        return await asyncio.wait_for(fut, 1)

    return asyncio.run(go())


@pytest.mark.parametrize("psk", [False, True], ids=["rsig", "psk"])
def test_branch_comes_up_and_passes_echoes_through_esp(psk: bool) -> None:
    headend = Headend(psk=psk)
    branch = enrolled_branch(headend)
    _up(headend, psk)
    assert _ping(headend) and _ping(headend)
    assert headend.echoes_answered == 2 and branch.echoes_answered == 2
    branch.event("traffic", 0.0)
    assert branch.phase is Phase.PASSING
    # the headend saw the branch's own address as its peer and its LAN address as the proxy
    up = next(e for e in headend.events if isinstance(e, Phase2Up))
    assert str(up.remote_selector.network) == f"{branch.lan}/32"


def test_revoked_branch_is_refused_on_its_next_attempt() -> None:
    headend = Headend()
    branch = enrolled_branch(headend, serial=77)
    _up(headend)
    assert _ping(headend)
    branch.event("traffic", 0.0)
    branch.event("revoked", 0.0)
    headend.revoked.add(77)
    headend.clear()
    headend.pump()
    assert branch.engine is not None and branch.engine.isakmp_sas(headend.now) == []  # the headend's delete
    branch.reset(headend.now)  # and the branch drops its ESP SAs, which the headend no longer has
    assert not branch.tunnel_up
    branch.initiate(headend.now)
    headend.pump()
    assert branch.phase is Phase.REFUSED and branch.refusals, branch.errors
    assert not branch.tunnel_up and branch.at.refused is not None
    assert [e.kind for e in headend.events if isinstance(e, AuthenticationFailed)] == ["certificate"]


def test_a_revoked_branch_let_in_again_is_admitted_not_refused() -> None:
    headend = Headend()  # a headend that ignores the CRL: nothing is on its revoked list
    branch = enrolled_branch(headend, serial=78)
    _up(headend)
    branch.event("traffic", 0.0)
    branch.event("revoked", 0.0)
    headend.clear()
    headend.pump()
    branch.reset(headend.now)
    branch.initiate(headend.now)
    headend.pump()
    assert branch.phase is Phase.ADMITTED


def test_branch_refuses_a_headend_certificate_from_another_ca() -> None:
    headend = Headend(authority=ca("rogue"))  # the branch trusts ca("ca") only
    branch = enrolled_branch(headend)
    assert branch.profile.ca_cert == ca().cert
    branch.initiate(headend.now)
    headend.pump()
    assert not branch.tunnel_up and branch.phase is Phase.NEGOTIATING
    assert "AuthenticationFailed" in branch.refusals


def test_branch_refuses_a_certificate_in_its_cas_name_signed_by_another_key() -> None:
    branch = enrolled_branch(Headend())
    assert branch.engine is not None
    validator = branch.engine.config.validator
    real = ca()
    impostor = dataclasses.replace(real, key=key("impostor"))  # same issuer name, another key

    def verdict(issuer: object) -> tuple[bool, str]:
        cert = issuer.issue("headend", key("headend"), 7)  # type: ignore[attr-defined]
        got = validator(CertificateCheck(HEADEND, cert.public_bytes(Encoding.DER), (), 0.0))
        assert got is not None
        return got.ok, got.reason

    assert verdict(real) == (True, "")
    assert verdict(impostor) == (False, "certificate chain validation failed")


def test_echo_without_tunnel_fails_at_once_and_unknown_esp_is_counted() -> None:
    headend = Headend()
    branch = enrolled_branch(headend)

    async def go() -> bool:
        return await branch.ping(0.0)

    assert asyncio.run(go()) is False and branch.echoes_sent == 0
    stray = pk.ipv4(HEADEND, branch.address, pk.PROTO_ESP, bytes.fromhex("0000beef00000001") + bytes(40))
    branch.receive(stray, 0.0)
    assert branch.errors == ["ESP with unknown SPI 0000beef"]


def test_a_rekeyed_tunnel_keeps_passing_traffic() -> None:
    headend = Headend()
    branch = enrolled_branch(headend)
    branch.profile = dataclasses.replace(branch.profile, phase2=Phase2Policy((TS,), lifetime_seconds=120))
    _up(headend)
    assert _ping(headend)
    first = set(branch.inbound)
    headend.now = 115.0  # past the rekey point (lifetime less the 30 s margin), before expiry
    branch.tick(headend.now)
    headend.pump()
    assert branch.handshakes == 2 and len(branch.inbound) == 2
    headend.now = 125.0  # the first pair expires on both sides
    headend.act(headend.engine.tick(headend.now))
    branch.tick(headend.now)
    headend.pump()
    assert set(branch.inbound).isdisjoint(first) and len(branch.inbound) == 1
    assert branch.tunnel_up and _ping(headend)
    assert branch.phase is Phase.UP  # a rekey is not a new tunnel for the phase table
