"""The bytes on the wire: scapy dissects every message; garbage never raises out of the engine."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.isakmp import (
    ISAKMP,
    ISAKMP_payload_Hash,
    ISAKMP_payload_ID,
    ISAKMP_payload_KE,
    ISAKMP_payload_Nonce,
    ISAKMP_payload_SA,
    ISAKMP_payload_Transform,
    ISAKMP_payload_VendorID,
)
from scapy.packet import Packet

from pkilab.protocols.ike import (
    Endpoint,
    Event,
    IkeEngine,
    InternalError,
    Phase1Up,
    Phase2Up,
    SendDatagram,
)
from pkilab.protocols.ike.constants import VID_DPD, VID_NATT_RFC3947
from unit.ike.ike_labkit import BRANCH, BRANCH_LAN, HQ, HQ_LAN, Lab, pki, psk_config, rsig_config


def rsig_lab() -> Lab:
    ca = pki()
    return Lab.of(rsig_config("hq", ca, HQ_LAN, BRANCH_LAN), rsig_config("branch", ca, BRANCH_LAN, HQ_LAN))


def test_scapy_dissects_every_message_of_an_rsig_exchange() -> None:
    lab = rsig_lab()
    lab.initiate()
    assert lab.of_type(HQ, Phase2Up)
    msgs = [ISAKMP(dg.data) for dg in lab.wire]
    assert [m.exch_type for m in msgs] == [2] * 6 + [32] * 3
    for dg, m in zip(lab.wire, msgs, strict=True):
        assert len(bytes(m)) == len(dg.data) == m.length
    mm1 = msgs[0]
    assert mm1.resp_cookie == bytes(8) and mm1.next_payload == 1
    tr = mm1[ISAKMP_payload_Transform]
    attrs = dict(tr.transforms)
    # scapy names the values: auth 3 is "RSA Sig", encryption 5 "3DES-CBC", group 2 "1024MODPgr"
    got = (attrs["Authentication"], attrs["Encryption"], attrs["GroupDesc"])
    assert got == ("RSA Sig", "3DES-CBC", "1024MODPgr")
    vids = {v.VendorID for v in _all(mm1, ISAKMP_payload_VendorID)}
    assert {VID_DPD, VID_NATT_RFC3947} <= vids
    chosen = dict(msgs[1][ISAKMP_payload_SA][ISAKMP_payload_Transform].transforms)
    assert chosen["Authentication"] == "RSA Sig"
    for m in msgs[2:4]:
        assert len(m[ISAKMP_payload_KE].ke) == 128 and m[ISAKMP_payload_Nonce].nonce
    # MM5 onwards are encrypted: the flag is set and the body is opaque to scapy.
    assert all(m.flags & 1 for m in msgs[4:])
    assert all(m.init_cookie == mm1.init_cookie and m.resp_cookie == msgs[1].resp_cookie for m in msgs[1:])
    assert len({m.id for m in msgs[6:]}) == 1 and msgs[6].id != 0


def _all(pkt: Packet, layer: type[Packet]) -> list[Packet]:  # every instance of a payload layer in a dissected message
    out: list[Packet] = []
    cur: Packet | None = pkt
    while cur is not None and cur.haslayer(layer):
        cur = cur[layer]
        out.append(cur)
        cur = cur.payload
    return out


def test_psk_exchange_dissects_with_auth_1_and_cleartext_ids_absent() -> None:
    lab = Lab.of(psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN), psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN))
    lab.initiate()
    mm1 = ISAKMP(lab.wire[0].data)
    assert dict(mm1[ISAKMP_payload_Transform].transforms)["Authentication"] == "PSK"  # value 1
    # identity protection: no ID, HASH or SIG payload travels in clear
    for dg in lab.wire[:4]:
        m = ISAKMP(dg.data)
        assert not m.haslayer(ISAKMP_payload_ID) and not m.haslayer(ISAKMP_payload_Hash)


def _exchange_messages() -> list[SendDatagram]:
    lab = rsig_lab()
    lab.initiate()
    return list(lab.wire)


WIRE = _exchange_messages()


def _fresh_responder() -> IkeEngine:
    ca = pki()
    return IkeEngine(rsig_config("hq", ca, HQ_LAN, BRANCH_LAN))


def _no_internal_errors(events: list[Event]) -> None:
    assert not [e for e in events if isinstance(e, InternalError)], events
    assert not [e for e in events if isinstance(e, (Phase1Up, Phase2Up))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_cleanly(data: bytes) -> None:
    eng = _fresh_responder()
    for port in (500, 4500):
        _no_internal_errors(eng.receive(data, Endpoint(HQ, port), Endpoint(BRANCH, port), 0.0))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(WIRE) - 1), st.integers(0, 2000), st.integers(0, 255), st.booleans())
def test_mutated_and_truncated_messages_are_refused_cleanly(index: int, pos: int, value: int, cut: bool) -> None:
    """Replay a real exchange into a fresh pair of engines, corrupting one message."""
    ca = pki()
    hq = IkeEngine(rsig_config("hq", ca, HQ_LAN, BRANCH_LAN))
    events: list[Event] = []
    for i, dg in enumerate(WIRE):
        if dg.remote.addr != HQ:
            continue
        data = bytearray(dg.data)
        if i == index:
            if cut:
                data = data[: pos % (len(data) + 1)]
            else:
                data[pos % len(data)] = value
        events += hq.receive(bytes(data), dg.remote, dg.local, 1.0)
    assert not [e for e in events if isinstance(e, InternalError)], events


def test_truncation_at_every_length_of_mm1() -> None:
    mm1 = WIRE[0].data
    for n in range(len(mm1)):
        eng = _fresh_responder()
        events = eng.receive(mm1[:n], Endpoint(HQ, 500), Endpoint(BRANCH, 500), 0.0)
        _no_internal_errors(events)
        assert not [e for e in events if isinstance(e, SendDatagram)]
        assert eng.isakmp_sas(0.0) == []


def test_replayed_exchange_from_a_stranger_gets_nowhere() -> None:
    """Someone replays the branch's recorded messages: MM1/MM3 are answered, MM5 cannot decrypt."""
    eng = _fresh_responder()
    events: list[Event] = []
    for dg in WIRE:
        if dg.remote.addr == HQ:
            events += eng.receive(dg.data, dg.remote, dg.local, 0.0)
    _no_internal_errors(events)


def test_config_dataclass_is_replaceable_at_runtime() -> None:
    lab = Lab.of(psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN), psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN))
    hq = lab.engines[HQ]
    no_keys: dict[str, bytes] = {}
    hq.config = dataclasses.replace(hq.config, psk_lookup=no_keys.get)  # "no crypto isakmp key …"
    lab.initiate()
    assert not lab.of_type(HQ, Phase1Up)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 8), st.integers(0, 2000), st.integers(0, 255), st.sampled_from(["flip", "cut", "append"]))
def test_live_exchange_with_one_corrupted_message(index: int, pos: int, value: int, how: str) -> None:
    """Corrupt one message in flight (either direction): both engines refuse cleanly, nothing is half-up."""
    lab = Lab.of(psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN), psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN))
    seen = {"n": 0}

    def tamper(dg: SendDatagram) -> bytes:
        n, seen["n"] = seen["n"], seen["n"] + 1
        if n != index:
            return dg.data
        data = bytearray(dg.data)
        if how == "flip":
            data[pos % len(data)] ^= value or 1
        elif how == "cut":
            data = data[: pos % len(data)]
        else:
            data += bytes([value]) * (pos % 40 + 1)
        return bytes(data)

    lab.tamper = tamper
    lab.initiate()
    lab.advance(70, step=5)  # let retransmissions repair what they can
    events = lab.events.get(HQ, []) + lab.events.get(BRANCH, [])
    assert not [e for e in events if isinstance(e, InternalError)], events
    b_up, h_up = lab.of_type(BRANCH, Phase2Up), lab.of_type(HQ, Phase2Up)
    for b, h in zip(b_up, h_up, strict=False):
        assert b.outbound == h.inbound and b.inbound == h.outbound  # whatever came up, keys agree
