"""Both sides in-process: main mode + quick mode up to QM_IDLE with matching ESP keys."""

from __future__ import annotations

import random

import pytest

from pkilab.protocols.ike import (
    EngineOptions,
    IkeEngine,
    InternalError,
    IpsecSaDeleted,
    IsakmpSaDeleted,
    Phase1Up,
    Phase2Policy,
    Phase2Up,
    QmNote,
    QmStateChanged,
    Selector,
    StateChanged,
    TunnelRequest,
)
from pkilab.protocols.ike.constants import AuthMethod, P1Encr, P1Hash
from unit.ike.ike_labkit import (
    BRANCH,
    BRANCH_LAN,
    HQ,
    HQ_LAN,
    P2,
    Lab,
    mirror_lookup,
    pki,
    policy,
    psk_config,
    rsig_config,
)


def assert_tunnel(lab: Lab, auth: str) -> tuple[Phase2Up, Phase2Up]:
    for addr in (HQ, BRANCH):
        ups = lab.of_type(addr, Phase1Up)
        assert len(ups) == 1, lab.events[addr]
        assert ups[0].auth == auth
    (b,) = lab.of_type(BRANCH, Phase2Up)
    (h,) = lab.of_type(HQ, Phase2Up)
    assert b.outbound == h.inbound and b.inbound == h.outbound
    assert b.inbound.spi != b.outbound.spi
    assert (b.local_selector, b.remote_selector) == (BRANCH_LAN, HQ_LAN)
    assert (h.local_selector, h.remote_selector) == (HQ_LAN, BRANCH_LAN)
    for addr in (HQ, BRANCH):
        (sa,) = lab.engines[addr].isakmp_sas(lab.now)
        assert sa.state == "QM_IDLE" and sa.auth == auth
        (ipsec,) = lab.engines[addr].ipsec_sas(lab.now)
        assert ipsec.transform == "esp-3des esp-sha-hmac"
    return b, h


def test_psk_tunnel_comes_up() -> None:
    hq = psk_config({BRANCH: b"cisco123"}, HQ_LAN, BRANCH_LAN)
    br = psk_config({HQ: b"cisco123"}, BRANCH_LAN, HQ_LAN)
    lab = Lab.of(hq, br)
    lab.initiate()
    b, _ = assert_tunnel(lab, "psk")
    assert len(b.outbound.enc_key) == 24 and len(b.outbound.auth_key) == 20


def test_an_engine_without_debug_events_negotiates_the_same_and_reports_no_debug_lines() -> None:
    ca = pki()
    lab = Lab.of(rsig_config("hq", ca, HQ_LAN, BRANCH_LAN), rsig_config("branch", ca, BRANCH_LAN, HQ_LAN))
    lab.engines[BRANCH].options = EngineOptions(debug_events=False)
    lab.initiate()
    assert_tunnel(lab, "rsig")
    debug = (StateChanged, QmStateChanged, QmNote)
    assert not [e for e in lab.events[BRANCH] if isinstance(e, debug)]
    assert all(lab.of_type(HQ, kind) for kind in debug)  # the headend, with the default, still reports them


def test_rsig_tunnel_comes_up() -> None:
    ca = pki()
    lab = Lab.of(rsig_config("hq", ca, HQ_LAN, BRANCH_LAN), rsig_config("branch", ca, BRANCH_LAN, HQ_LAN))
    lab.initiate()
    assert_tunnel(lab, "rsig")
    (up,) = lab.of_type(HQ, Phase1Up)
    assert up.peer_identity == BRANCH


@pytest.mark.parametrize(
    ("encr", "bits", "hash_alg", "group"),
    [
        (P1Encr.DES, None, P1Hash.MD5, 1),
        (P1Encr.TRIPLE_DES, None, P1Hash.SHA, 5),
        (P1Encr.AES, 128, P1Hash.SHA, 2),
        (P1Encr.AES, 192, P1Hash.MD5, 2),
        (P1Encr.AES, 256, P1Hash.SHA256, 14),
    ],
)
def test_phase1_algorithms(encr: P1Encr, bits: int | None, hash_alg: P1Hash, group: int) -> None:
    pol = (policy(AuthMethod.PSK, encr, group, hash_alg, bits),)
    hq = psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN, policies=pol)
    br = psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN, policies=pol)
    lab = Lab.of(hq, br)
    lab.initiate()
    assert_tunnel(lab, "psk")
    (sa,) = lab.engines[HQ].isakmp_sas(lab.now)
    names = {P1Hash.MD5: "md5", P1Hash.SHA: "sha", P1Hash.SHA256: "sha256"}
    assert sa.group == group and sa.hash == names[hash_alg]


def test_identity_dn_is_reported_from_the_certificate() -> None:
    ca = pki()
    br = rsig_config("branch", ca, BRANCH_LAN, HQ_LAN, identity="dn")
    lab = Lab.of(rsig_config("hq", ca, HQ_LAN, BRANCH_LAN), br)
    lab.initiate()
    (up,) = lab.of_type(HQ, Phase1Up)
    assert up.peer_identity == "CN=branch.example"


def test_initial_contact_from_a_rebooted_branch_clears_stale_sas() -> None:
    hq = psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN)
    br = psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN)
    lab = Lab.of(hq, br)
    lab.initiate()
    (old,) = lab.of_type(HQ, Phase2Up)
    lab.engines[BRANCH] = IkeEngine(br)  # reload: the branch forgets everything
    lab.now += 5
    lab.initiate()
    gone = lab.of_type(HQ, IpsecSaDeleted)
    assert [(g.inbound_spi, g.reason) for g in gone] == [(old.inbound.spi, "initial contact")]
    assert [d.reason for d in lab.of_type(HQ, IsakmpSaDeleted)] == ["initial contact"]
    assert len(lab.engines[HQ].isakmp_sas(lab.now)) == 1 and len(lab.engines[HQ].ipsec_sas(lab.now)) == 1


def test_hq_show_snapshots() -> None:
    hq = psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN)
    br = psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN)
    lab = Lab.of(hq, br)
    lab.initiate()
    (sa,) = lab.engines[HQ].isakmp_sas(lab.now)
    assert (sa.conn_id, sa.local.addr, sa.remote.addr, sa.role) == (1001, HQ, BRANCH, "responder")
    assert (sa.encr, sa.hash, sa.auth, sa.group, sa.status) == ("3des", "sha", "psk", 2, "ACTIVE")
    (ipsec,) = lab.engines[HQ].ipsec_sas(lab.now)
    assert ipsec.conn_ids == (2001, 2002) and ipsec.crypto_map == "vpn"
    assert str(ipsec.local_selector) == "10.1.1.0/255.255.255.0/0/0"
    assert ipsec.lifetime_remaining == 3600


def test_state_changes_are_reported_for_debug_output() -> None:
    lab = Lab.of(psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN), psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN))
    lab.initiate()
    steps = {addr: [(e.old, e.new) for e in lab.of_type(addr, StateChanged)] for addr in (HQ, BRANCH)}
    assert steps[BRANCH] == [
        ("IKE_READY", "IKE_I_MM1"),
        ("IKE_I_MM1", "IKE_I_MM3"),
        ("IKE_I_MM3", "IKE_I_MM5"),
        ("IKE_I_MM5", "IKE_P1_COMPLETE"),
    ]
    assert steps[HQ] == [("IKE_READY", "IKE_R_MM2"), ("IKE_R_MM2", "IKE_R_MM4"), ("IKE_R_MM4", "IKE_P1_COMPLETE")]


def test_one_headend_many_branches() -> None:
    rng = random.Random(7)
    branches = {f"66.67.0.{i}": Selector.parse(f"10.50.{i}.0/24") for i in range(1, 21)}

    def hq_lookup(peer: str, loc: Selector, rem: Selector) -> Phase2Policy | None:
        return P2 if loc == HQ_LAN and rem == branches.get(peer) else None

    hq_cfg = psk_config(
        {}, HQ_LAN, BRANCH_LAN, psk_lookup=lambda peer: b"k" if peer in branches else None, phase2_lookup=hq_lookup
    )
    lab = Lab({HQ: IkeEngine(hq_cfg, rng=rng.randbytes)})
    for addr, lan in branches.items():
        lab.engines[addr] = IkeEngine(
            psk_config({HQ: b"k"}, lan, HQ_LAN, phase2_lookup=mirror_lookup(lan, HQ_LAN)), rng=rng.randbytes
        )
    for addr, lan in branches.items():
        out = lab.engines[addr].initiate(TunnelRequest(HQ, addr, lan, HQ_LAN, P2), lab.now)
        lab.pump(lab.record(addr, out))
    hq = lab.engines[HQ]
    sas = hq.ipsec_sas(lab.now)
    assert len(sas) == 20 and len({s.inbound_spi for s in sas}) == 20
    assert sorted(s.remote.addr for s in sas) == sorted(branches)
    assert {s.conn_id for s in hq.isakmp_sas(lab.now)} == set(range(1001, 1021))
    for s in sas:
        assert s.remote_selector == branches[s.remote.addr]


def test_simultaneous_initiation_from_both_sides() -> None:
    lab = Lab.of(psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN), psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN))
    out_b = lab.engines[BRANCH].initiate(TunnelRequest(HQ, BRANCH, BRANCH_LAN, HQ_LAN, P2), lab.now)
    out_h = lab.engines[HQ].initiate(TunnelRequest(BRANCH, HQ, HQ_LAN, BRANCH_LAN, P2), lab.now)
    lab.pump(lab.record(BRANCH, out_b) + lab.record(HQ, out_h))
    for addr in (HQ, BRANCH):
        assert not lab.of_type(addr, InternalError)
        assert len(lab.of_type(addr, Phase2Up)) == 2  # one pair per direction, as IOS may end up with
        assert {s.state for s in lab.engines[addr].isakmp_sas(lab.now)} == {"QM_IDLE"}
