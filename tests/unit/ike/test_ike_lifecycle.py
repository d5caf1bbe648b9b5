"""Time driven by ``now``: retransmissions, lifetimes and rekeys, DPD, deletes, NAT-T; ESP with the keys."""

from __future__ import annotations

import dataclasses

from scapy.layers.inet import ICMP, IP

from pkilab.protocols.esp import decapsulate, encapsulate, sa_pair
from pkilab.protocols.ike import (
    DpdConfig,
    EngineOptions,
    IpsecSaDeleted,
    IsakmpSaDeleted,
    NegotiationFailed,
    NoSa,
    PeerDead,
    Phase1Up,
    Phase2Up,
    SendDatagram,
)
from pkilab.protocols.ike.constants import AuthMethod
from unit.ike.ike_labkit import BRANCH, BRANCH_LAN, HQ, HQ_LAN, P2, Lab, policy, psk_config


def psk_lab(**kw: object) -> Lab:
    hq_kw = {k[3:]: v for k, v in kw.items() if k.startswith("hq_")}
    br_kw = {k[3:]: v for k, v in kw.items() if k.startswith("br_")}
    return Lab.of(
        psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN, **hq_kw), psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN, **br_kw)
    )


def test_lost_mm3_is_retransmitted_and_the_tunnel_still_comes_up() -> None:
    lab = psk_lab()
    dropped: list[SendDatagram] = []

    def drop_first_mm3(dg: SendDatagram) -> bool:
        if len(lab.wire) == 3 and not dropped:
            dropped.append(dg)
            return True
        return False

    lab.drop = drop_first_mm3
    lab.initiate()
    assert dropped and not lab.of_type(BRANCH, Phase1Up)
    lab.advance(9)
    assert not lab.of_type(BRANCH, Phase1Up)  # IOS waits 10 s before retransmitting
    lab.advance(1)
    assert lab.of_type(BRANCH, Phase2Up) and lab.of_type(HQ, Phase2Up)
    assert lab.wire[3].data == dropped[0].data


def test_lost_mm6_is_recovered_by_the_responder_resending_it() -> None:
    lab = psk_lab()
    lab.drop = lambda dg: len(lab.wire) == 6 and dg.remote.addr == BRANCH
    lab.initiate()
    assert lab.of_type(HQ, Phase1Up) and not lab.of_type(BRANCH, Phase1Up)
    lab.drop = lambda _dg: False
    lab.advance(10)
    assert lab.of_type(BRANCH, Phase2Up)
    assert len(lab.of_type(HQ, Phase1Up)) == 1  # the duplicate MM5 did not start anything new


def test_unanswered_peer_gives_up_after_five_retransmissions() -> None:
    lab = psk_lab()
    lab.drop = lambda _dg: True
    lab.initiate()
    lab.advance(59, step=1)
    assert not lab.of_type(BRANCH, NegotiationFailed)
    lab.advance(2, step=1)
    (fail,) = lab.of_type(BRANCH, NegotiationFailed)
    assert fail.reason == "retransmissions exhausted"
    assert len([d for d in lab.wire if d.local.addr == BRANCH]) == 6
    assert lab.engines[BRANCH].isakmp_sas(lab.now) == []


def test_isakmp_lifetime_expires_and_deletes_on_both_sides() -> None:
    short = (policy(AuthMethod.PSK, lifetime=120),)
    lab = psk_lab(hq_policies=short, br_policies=short)
    lab.initiate()
    (sa,) = lab.engines[BRANCH].isakmp_sas(lab.now)
    assert sa.lifetime_remaining == 120
    lab.advance(60, step=10)
    assert lab.engines[BRANCH].isakmp_sas(lab.now)[0].lifetime_remaining == 60
    lab.advance(61, step=10)
    assert lab.of_type(BRANCH, IsakmpSaDeleted) and lab.of_type(HQ, IsakmpSaDeleted)
    assert lab.engines[HQ].isakmp_sas(lab.now) == []
    assert lab.engines[HQ].ipsec_sas(lab.now)  # IPsec SAs outlive phase 1, as in IOS


def test_ipsec_rekey_before_expiry_then_old_sa_deleted() -> None:
    p2 = dataclasses.replace(P2, lifetime_seconds=300)
    lab = psk_lab(hq_phase2_lookup=lambda *_a: p2)
    lab.initiate(p2=p2)
    assert len(lab.of_type(BRANCH, Phase2Up)) == 1
    lab.advance(275, step=5)
    ups = lab.of_type(BRANCH, Phase2Up)
    assert len(ups) == 2 and ups[0].inbound.spi != ups[1].inbound.spi
    lab.advance(30, step=5)
    deleted = lab.of_type(BRANCH, IpsecSaDeleted)
    assert [d.inbound_spi for d in deleted] == [ups[0].inbound.spi]
    assert [s.inbound_spi for s in lab.engines[BRANCH].ipsec_sas(lab.now)] == [ups[1].inbound.spi]
    assert [s.outbound_spi for s in lab.engines[HQ].ipsec_sas(lab.now)] == [ups[1].inbound.spi]


def test_clear_sends_deletes_and_the_peer_removes_its_sas() -> None:
    lab = psk_lab()
    lab.initiate()
    out = lab.engines[BRANCH].clear_ipsec(lab.now)
    lab.pump(lab.record(BRANCH, out))
    assert lab.engines[HQ].ipsec_sas(lab.now) == [] and lab.engines[BRANCH].ipsec_sas(lab.now) == []
    assert lab.of_type(HQ, IpsecSaDeleted)[0].reason == "deleted by peer"
    out = lab.engines[BRANCH].clear_isakmp(lab.now)
    lab.pump(lab.record(BRANCH, out))
    assert lab.engines[HQ].isakmp_sas(lab.now) == []
    assert lab.of_type(HQ, IsakmpSaDeleted)[0].reason == "deleted by peer"


def test_periodic_dpd_keeps_a_live_peer_and_declares_a_silent_one_dead() -> None:
    dpd = DpdConfig(interval=10, retry=2, retries=5, periodic=True)
    lab = psk_lab(hq_dpd=dpd, br_dpd=dpd)
    lab.initiate()
    assert [s.capabilities for s in lab.engines[HQ].isakmp_sas(lab.now)] == ["D"]
    lab.advance(60)
    assert not lab.of_type(HQ, PeerDead) and not lab.of_type(BRANCH, PeerDead)
    # The branch forgets its ISAKMP SA and its DELETE is lost: its events are not delivered.
    lost = lab.engines[BRANCH].clear_isakmp(lab.now)
    assert any(isinstance(e, SendDatagram) for e in lost)
    start = lab.now
    while not lab.of_type(HQ, PeerDead) and lab.now < start + 60:
        lab.advance(1)
    # idle interval (10 s), then the first probe and five retries 2 s apart
    assert start + 10 + 2 * 5 <= lab.now <= start + 10 + 2 * 6
    (dead,) = lab.of_type(HQ, PeerDead)
    assert dead.peer == BRANCH
    # the probes reached a branch with no SA: IOS's IKMP_NO_SA, and no answer
    assert {n.exchange for n in lab.of_type(BRANCH, NoSa)} == {5}
    assert lab.engines[HQ].isakmp_sas(lab.now) == [] and lab.engines[HQ].ipsec_sas(lab.now) == []
    deletions = lab.of_type(HQ, IpsecSaDeleted)
    assert deletions and deletions[0].reason == "peer dead (DPD)"


def test_dpd_not_used_without_keepalive_config() -> None:
    lab = psk_lab()
    lab.initiate()
    assert [s.capabilities for s in lab.engines[HQ].isakmp_sas(lab.now)] == [""]
    before = len(lab.wire)
    lab.advance(100, step=10)
    assert len(lab.wire) == before


def test_forced_nat_t_moves_to_4500_and_encapsulates_esp() -> None:
    lab = psk_lab(br_force_nat_t=True)
    lab.initiate()
    ports = [(d.local.port, d.remote.port) for d in lab.wire]
    assert ports[:4] == [(500, 500)] * 4 and set(ports[4:]) == {(4500, 4500)}
    assert all(d.data.startswith(bytes(4)) for d in lab.wire[4:])
    (b,) = lab.of_type(BRANCH, Phase2Up)
    (h,) = lab.of_type(HQ, Phase2Up)
    assert b.udp_encapsulation and h.udp_encapsulation and h.remote.port == 4500
    assert [s.capabilities for s in lab.engines[HQ].isakmp_sas(lab.now)] == ["N"]
    lab.advance(21)
    keepalives = [d for d in lab.wire if d.data == b"\xff"]
    assert keepalives and all(d.local.addr == BRANCH for d in keepalives)


def test_nat_t_off_keeps_port_500() -> None:
    lab = psk_lab(br_force_nat_t=True, hq_nat_t=False)
    lab.initiate()
    assert {(d.local.port, d.remote.port) for d in lab.wire} == {(500, 500)}
    assert not lab.of_type(BRANCH, Phase2Up)[0].udp_encapsulation


def test_esp_with_negotiated_keys_both_ways() -> None:
    for force in (False, True):
        lab = psk_lab(br_force_nat_t=force)
        lab.initiate()
        (b,) = lab.of_type(BRANCH, Phase2Up)
        (h,) = lab.of_type(HQ, Phase2Up)
        b_in, b_out = sa_pair(b)
        h_in, h_out = sa_pair(h)
        ping = bytes(IP(src="10.2.2.10", dst="10.1.1.10") / ICMP())
        wire = encapsulate(b_out, ping)
        assert IP(wire).src == BRANCH and IP(wire).proto == (17 if force else 50)
        assert decapsulate(h_in, wire) == ping
        reply = bytes(IP(src="10.1.1.10", dst="10.2.2.10") / ICMP(type=0))
        assert decapsulate(b_in, encapsulate(h_out, reply)) == reply
        assert h_in.counters.packets == 1 and b_out.counters.packets == 1


def test_next_deadline_drives_retransmission() -> None:
    lab = psk_lab()
    lab.drop = lambda _dg: True
    lab.initiate()
    eng = lab.engines[BRANCH]
    assert eng.next_deadline() == lab.now + 10
    assert not [e for e in eng.tick(lab.now + 9.9) if isinstance(e, SendDatagram)]
    assert [e for e in eng.tick(lab.now + 10) if isinstance(e, SendDatagram)]


def test_options_shorten_timers() -> None:
    opts = EngineOptions(retransmit_interval=1.0, retransmit_limit=2)
    lab = Lab.of(
        psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN), psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN), options=opts
    )
    lab.drop = lambda _dg: True
    lab.initiate()
    lab.advance(3.5, step=0.5)
    assert lab.of_type(BRANCH, NegotiationFailed)


def test_on_demand_dpd_probes_only_when_sending_into_silence() -> None:
    dpd = DpdConfig(interval=10, retry=2, retries=5)  # IOS default: on demand
    lab = psk_lab(hq_dpd=dpd, br_dpd=dpd)
    lab.initiate()
    hq = lab.engines[HQ]
    before = len(lab.wire)
    lab.advance(30)
    assert len(lab.wire) == before and hq.next_deadline() is not None  # lifetimes only, no probes
    lost = lab.engines[BRANCH].clear_isakmp(lab.now)  # the branch forgets; its DELETE is lost
    assert lost
    hq.traffic_sent(BRANCH, lab.now)
    deadline = hq.next_deadline()
    assert deadline is not None and deadline <= lab.now  # silent for 30 s already: a probe is due
    start = lab.now
    while not lab.of_type(HQ, PeerDead) and lab.now < start + 60:
        lab.advance(1)
    assert lab.of_type(HQ, PeerDead) and lab.now <= start + 2 * 6 + 1


def test_router_driven_rekey_and_kilobyte_expiry() -> None:
    lab = psk_lab()
    lab.initiate()
    (first,) = lab.of_type(BRANCH, Phase2Up)
    lab.pump(lab.record(BRANCH, lab.engines[BRANCH].rekey_ipsec(first.inbound.spi, lab.now)))
    assert len(lab.of_type(BRANCH, Phase2Up)) == 2 and len(lab.of_type(HQ, Phase2Up)) == 2
    lab.pump(lab.record(BRANCH, lab.engines[BRANCH].expire_ipsec(first.inbound.spi, lab.now)))
    assert [d.inbound_spi for d in lab.of_type(BRANCH, IpsecSaDeleted)] == [first.inbound.spi]
    assert [d.outbound_spi for d in lab.of_type(HQ, IpsecSaDeleted)] == [first.inbound.spi]
    assert len(lab.engines[HQ].ipsec_sas(lab.now)) == 1


def test_responder_lifetime_is_announced_and_adopted() -> None:
    short = dataclasses.replace(P2, lifetime_seconds=1800, lifetime_kilobytes=1000)
    lab = psk_lab(hq_phase2_lookup=lambda *_a: short)
    lab.initiate()  # the branch offers 3600 s / 4608000 KB
    (b,) = lab.of_type(BRANCH, Phase2Up)
    (h,) = lab.of_type(HQ, Phase2Up)
    assert (b.lifetime_seconds, b.lifetime_kilobytes) == (h.lifetime_seconds, h.lifetime_kilobytes) == (1800, 1000)
    assert lab.engines[BRANCH].ipsec_sas(lab.now)[0].lifetime_remaining == 1800


def test_lost_qm2_is_recovered_by_qm1_retransmission() -> None:
    lab = psk_lab()
    lost: list[SendDatagram] = []

    def drop_first_qm2(dg: SendDatagram) -> bool:
        if len(lab.wire) == 8 and not lost:  # MM1..MM6, QM1, then QM2
            lost.append(dg)
            return True
        return False

    lab.drop = drop_first_qm2
    lab.initiate()
    assert lost
    assert lab.of_type(BRANCH, Phase1Up) and not lab.of_type(BRANCH, Phase2Up)
    lab.advance(10)
    (b,) = lab.of_type(BRANCH, Phase2Up)
    (h,) = lab.of_type(HQ, Phase2Up)
    assert b.outbound == h.inbound
    assert lab.wire[8].data == lab.wire[6].data and lab.wire[9].data == lost[0].data  # QM1 again, same QM2


def test_finished_quick_modes_are_forgotten_after_the_retransmission_window() -> None:
    lab = psk_lab()
    lab.initiate()
    assert all(len(sa.quick) == 1 for addr in (HQ, BRANCH) for sa in lab.engines[addr].sas())
    lab.advance(61, step=10)
    assert all(not sa.quick for addr in (HQ, BRANCH) for sa in lab.engines[addr].sas())
    assert len(lab.engines[HQ].ipsec_sas(lab.now)) == 1  # the SAs themselves stay
