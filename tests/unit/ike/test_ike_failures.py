"""Refusals: wrong key, certificates the validator rejects, proposal mismatch, deferred verdicts."""

from __future__ import annotations

import dataclasses

import pytest

from pkilab.protocols.ike import (
    AuthenticationFailed,
    CertificateCheckPending,
    CertVerdict,
    IdentityNotInCertificate,
    IkeConfig,
    InternalError,
    MalformedMessage,
    ModeFailure,
    NegotiationFailed,
    NotificationReceived,
    Phase1Up,
    Phase2Policy,
    Phase2Up,
    RsaCredentials,
    SendDatagram,
    TransformSet,
)
from pkilab.protocols.ike.config import Validator
from pkilab.protocols.ike.constants import AuthMethod, Notify, P1Encr
from unit.ike.ike_labkit import (
    BRANCH,
    BRANCH_LAN,
    HQ,
    HQ_LAN,
    P2,
    Lab,
    Pki,
    clock_validator,
    pki,
    policy,
    psk_config,
    rsa_key,
    rsig_config,
)


def states(lab: Lab, addr: str) -> list[str]:
    return [s.state for s in lab.engines[addr].isakmp_sas(lab.now)]


def test_wrong_psk_is_a_bad_message_and_never_qm_idle() -> None:
    hq = psk_config({BRANCH: b"right"}, HQ_LAN, BRANCH_LAN)
    br = psk_config({HQ: b"wrong"}, BRANCH_LAN, HQ_LAN)
    lab = Lab.of(hq, br)
    lab.initiate()
    bad = lab.of_type(HQ, MalformedMessage)
    assert bad and bad[0].peer == BRANCH
    assert not lab.of_type(HQ, Phase1Up) and not lab.of_type(BRANCH, Phase1Up)
    assert states(lab, HQ) == ["MM_KEY_EXCH"] and states(lab, BRANCH) == ["MM_KEY_EXCH"]
    lab.advance(70, step=5)  # five retransmissions 10 s apart, then the initiator gives up
    failed = lab.of_type(BRANCH, NegotiationFailed)
    assert failed and failed[0].reason == "retransmissions exhausted"
    assert len(lab.of_type(HQ, MalformedMessage)) == 6  # MM5 and its five copies
    assert states(lab, BRANCH) == [] and states(lab, HQ) == []


def _rsig_lab(
    branch_cert: bytes | None = None, hq_validator: Validator | None = None, branch_ca: Pki | None = None
) -> Lab:
    ca = pki()
    hq = rsig_config("hq", ca, HQ_LAN, BRANCH_LAN)
    if hq_validator is not None:
        hq = dataclasses.replace(hq, validator=hq_validator)
    br = rsig_config("branch", branch_ca or ca, BRANCH_LAN, HQ_LAN)
    if branch_cert is not None:
        assert br.rsa is not None
        br = dataclasses.replace(br, rsa=RsaCredentials(branch_cert, br.rsa.private_key, br.rsa.ca_names))
    return Lab.of(hq, br)


def assert_refused_like_ios(lab: Lab, reason: str = "certificate invalid") -> None:
    (fail,) = lab.of_type(HQ, AuthenticationFailed)
    assert (fail.peer, fail.kind, fail.reason) == (BRANCH, "certificate", reason)
    # The branch gets the informational, cannot process it before phase 1 completes (IOS logs
    # IKMP_BAD_MESSAGE then IKMP_MODE_FAILURE), and stays in MM_KEY_EXCH.
    notes = lab.of_type(BRANCH, NotificationReceived)
    assert [n.notify_type for n in notes] == [Notify.INVALID_CERTIFICATE]
    assert lab.of_type(BRANCH, MalformedMessage)
    assert [m.mode for m in lab.of_type(BRANCH, ModeFailure)] == ["Informational"]
    assert not lab.of_type(BRANCH, Phase1Up) and not lab.of_type(HQ, Phase2Up)
    assert states(lab, HQ) == ["MM_KEY_EXCH"] and states(lab, BRANCH) == ["MM_KEY_EXCH"]


def test_revoked_certificate_refused() -> None:
    ca = pki()
    key = rsa_key("branch")
    cert = ca.issue("branch.example", key, serial=4242)
    lab = _rsig_lab(cert, hq_validator=clock_validator(ca, revoked=frozenset({4242})))
    lab.initiate()
    assert_refused_like_ios(lab)


def test_expired_by_the_router_clock_refused() -> None:
    ca = pki()
    lab = _rsig_lab(hq_validator=clock_validator(ca, now_offset=400 * 86400))
    lab.initiate()
    assert_refused_like_ios(lab)


def test_not_yet_valid_refused() -> None:
    ca = pki()
    lab = _rsig_lab(hq_validator=clock_validator(ca, now_offset=-30 * 86400))
    lab.initiate()
    assert_refused_like_ios(lab)


def test_unknown_ca_refused() -> None:
    other = pki("rogue")
    key = rsa_key("branch")
    lab = _rsig_lab(other.issue("branch.example", key), branch_ca=other)
    lab.initiate()
    assert_refused_like_ios(lab)


def test_ca_unreachable_reason_is_passed_through() -> None:
    lab = _rsig_lab(hq_validator=lambda _req: CertVerdict.bad("CA request failed!"))
    lab.initiate()
    assert_refused_like_ios(lab, "CA request failed!")


def test_forged_signature_refused() -> None:
    ca = pki()
    # A valid certificate for someone else's key: the validator accepts it, the SIG does not verify.
    cert = ca.issue("branch.example", rsa_key("not-the-branch"))
    lab = _rsig_lab(cert)
    lab.initiate()
    (fail,) = lab.of_type(HQ, AuthenticationFailed)
    assert fail.kind == "signature"
    assert not lab.of_type(HQ, Phase1Up)


def test_deferred_verdict_resumes() -> None:
    lab = _rsig_lab(hq_validator=lambda _req: None)
    lab.initiate()
    (pending,) = lab.of_type(HQ, CertificateCheckPending)
    assert states(lab, HQ) == ["MM_KEY_EXCH"]
    lab.now += 1
    out = lab.engines[HQ].certificate_verdict(pending.conn_id, CertVerdict.good(), lab.now)
    lab.pump(lab.record(HQ, out))
    assert lab.of_type(HQ, Phase2Up) and lab.of_type(BRANCH, Phase2Up)
    assert states(lab, HQ) == ["QM_IDLE"]


def test_deferred_refusal() -> None:
    lab = _rsig_lab(hq_validator=lambda _req: None)
    lab.initiate()
    (pending,) = lab.of_type(HQ, CertificateCheckPending)
    out = lab.engines[HQ].certificate_verdict(pending.conn_id, CertVerdict.bad("CA request failed!"), lab.now)
    lab.pump(lab.record(HQ, out))
    assert_refused_like_ios(lab, "CA request failed!")


def test_phase1_proposal_mismatch() -> None:
    hq = psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN, policies=(policy(AuthMethod.PSK, P1Encr.AES, 14),))
    br = psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN, policies=(policy(AuthMethod.PSK, P1Encr.DES, 1),))
    lab = Lab.of(hq, br)
    lab.initiate()
    assert [f.reason for f in lab.of_type(HQ, NegotiationFailed)] == ["no proposal chosen"]
    assert [f.reason for f in lab.of_type(BRANCH, NegotiationFailed)] == ["no proposal chosen by peer"]
    assert states(lab, HQ) == [] and states(lab, BRANCH) == []


def test_psk_policy_skipped_without_key_then_rsig_used() -> None:
    ca = pki()
    both = (policy(AuthMethod.PSK, priority=5), policy(AuthMethod.RSA_SIG, priority=10))
    hq = rsig_config("hq", ca, HQ_LAN, BRANCH_LAN, policies=both, psk_lookup={}.get)
    br = rsig_config("branch", ca, BRANCH_LAN, HQ_LAN, policies=both, psk_lookup={HQ: b"k"}.get)
    lab = Lab.of(hq, br)
    lab.initiate()
    assert [u.auth for u in lab.of_type(HQ, Phase1Up)] == ["rsig"]


def test_psk_preferred_by_priority_when_both_have_keys() -> None:
    ca = pki()
    both = (policy(AuthMethod.RSA_SIG, priority=10), policy(AuthMethod.PSK, priority=5))
    hq = rsig_config("hq", ca, HQ_LAN, BRANCH_LAN, policies=both, psk_lookup={BRANCH: b"k"}.get)
    br = rsig_config("branch", ca, BRANCH_LAN, HQ_LAN, policies=both, psk_lookup={HQ: b"k"}.get)
    lab = Lab.of(hq, br)
    lab.initiate()
    assert [u.auth for u in lab.of_type(HQ, Phase1Up)] == ["psk"]


def test_transform_set_mismatch_fails_phase2_only() -> None:
    aes = Phase2Policy((TransformSet.from_ios("AES", ["esp-aes", "256", "esp-md5-hmac"]),), name="vpn")
    hq = psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN)
    br = psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN)
    lab = Lab.of(hq, br)
    lab.initiate(p2=aes)
    assert lab.of_type(HQ, Phase1Up)
    assert [f.reason for f in lab.of_type(HQ, NegotiationFailed)] == ["no IPsec proposal chosen"]
    assert [n.notify_type for n in lab.of_type(BRANCH, NotificationReceived)] == [Notify.NO_PROPOSAL_CHOSEN]
    assert not lab.of_type(BRANCH, Phase2Up)
    assert [f.reason for f in lab.of_type(BRANCH, NegotiationFailed)] == [
        "peer refused quick mode (NO_PROPOSAL_CHOSEN)"
    ]
    sent = len(lab.wire)
    lab.advance(60, step=5)
    assert len(lab.wire) == sent  # no QM1 retransmissions after the refusal


def test_proxy_identities_not_in_crypto_map() -> None:
    hq = psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN)
    br = psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN)
    lab = Lab.of(hq, br)
    from pkilab.protocols.ike import Selector

    lab.initiate(local=Selector.parse("192.168.9.0/24"))
    assert lab.of_type(HQ, NegotiationFailed)[0].reason.startswith("proxy identities not supported")
    notes = lab.of_type(BRANCH, NotificationReceived)
    assert [n.notify_type for n in notes] == [Notify.INVALID_ID_INFORMATION]


def test_no_credentials_means_no_attempt() -> None:
    lab = Lab.of(IkeConfig(), IkeConfig(policies=(policy(AuthMethod.RSA_SIG),)))
    lab.initiate()
    (fail,) = lab.of_type(BRANCH, NegotiationFailed)
    assert "no usable isakmp policy" in fail.reason
    assert not lab.wire


@pytest.mark.parametrize("pfs", [None, 2, 14])
def test_pfs_groups(pfs: int | None) -> None:
    p2 = dataclasses.replace(P2, pfs_group=pfs)
    hq = psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN)
    hq = dataclasses.replace(hq, phase2_lookup=lambda *_a: p2)
    br = psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN)
    lab = Lab.of(hq, br)
    lab.initiate(p2=p2)
    (b,) = lab.of_type(BRANCH, Phase2Up)
    (h,) = lab.of_type(HQ, Phase2Up)
    assert b.pfs_group == pfs and h.inbound == b.outbound


def test_validator_that_raises_is_a_refusal_not_a_crash() -> None:
    def broken(_req: object) -> CertVerdict:
        raise RuntimeError("CRL cache corrupt")

    lab = _rsig_lab(hq_validator=broken)
    lab.initiate()
    (fail,) = lab.of_type(HQ, AuthenticationFailed)
    assert fail.reason == "certificate invalid"
    (err,) = lab.of_type(HQ, InternalError)
    assert "CRL cache corrupt" in err.detail
    assert states(lab, HQ) == ["MM_KEY_EXCH"]


def test_forged_mm2_does_not_lock_out_the_real_one() -> None:
    hq = psk_config({BRANCH: b"k"}, HQ_LAN, BRANCH_LAN)
    br = psk_config({HQ: b"k"}, BRANCH_LAN, HQ_LAN)
    lab = Lab.of(hq, br)
    forged: list[bytes] = []

    def forge_first_mm2(dg: SendDatagram) -> bytes:
        if len(lab.wire) == 2 and not forged:
            data = bytearray(dg.data)
            data[8:16] = b"\x01" * 8  # another responder cookie
            data[40] ^= 0xFF  # and a broken SA payload
            forged.append(bytes(data))
            return bytes(data)
        return dg.data

    lab.tamper = forge_first_mm2
    lab.initiate()
    assert forged and lab.of_type(BRANCH, MalformedMessage)
    lab.tamper = None
    lab.advance(10)  # MM1 retransmitted; the responder answers with the genuine MM2 again
    assert lab.of_type(BRANCH, Phase2Up) and lab.of_type(HQ, Phase2Up)


def test_address_id_missing_from_the_certificate_is_only_a_warning() -> None:
    ca = pki()
    lab = _rsig_lab(ca.issue("branch.example", rsa_key("branch")))  # no subjectAltName, as a plain IOS enrollment
    lab.initiate()
    (warn,) = lab.of_type(HQ, IdentityNotInCertificate)
    assert (warn.peer, warn.identity, warn.id_type, warn.certificate_addresses) == (BRANCH, BRANCH, 1, ())
    assert lab.of_type(HQ, Phase2Up)  # authentication still succeeded

    lab = _rsig_lab(ca.issue("branch.example", rsa_key("branch"), ips=(BRANCH,)))
    lab.initiate()
    assert not lab.of_type(HQ, IdentityNotInCertificate) and lab.of_type(HQ, Phase2Up)
