"""The pieces: IOS policy words, selectors, SA codec, MODP groups, raw RSA signatures, NAT-D."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import padding
from scapy.layers.tls.crypto.groups import modp768, modp1024, modp1536, modp2048

from pkilab.errors import ConfigValueError
from pkilab.protocols.ike import IsakmpPolicy, Selector, TransformSet
from pkilab.protocols.ike.codec import IkeDecodeError, encode_sa, parse_id, parse_sa
from pkilab.protocols.ike.constants import AuthMethod, EspTransform, P1Encr, P1Hash, P2Auth
from pkilab.protocols.ike.crypto import (
    _rsa_sign_python,
    _rsa_verify_python,
    dh_group,
    rsa_sign_raw,
    rsa_verify_raw,
)
from pkilab.protocols.ike.policy import choose_phase1, phase1_sa
from unit.ike.ike_labkit import rsa_key


def test_isakmp_policy_from_ios_words() -> None:
    pol = IsakmpPolicy.from_ios(10, "aes 256", "sha", "pre-share", 14, 3600)
    assert (pol.encr, pol.key_bits, pol.hash, pol.auth, pol.group, pol.lifetime) == (
        P1Encr.AES,
        256,
        P1Hash.SHA,
        AuthMethod.PSK,
        14,
        3600,
    )
    assert (pol.encr_name, pol.hash_name, pol.auth_name) == ("aes:256", "sha", "psk")
    default = IsakmpPolicy.from_ios(20)
    assert (default.encr_name, default.hash_name, default.auth_name, default.group) == ("des", "sha", "rsig", 1)
    for bad in (
        {"encr": "3des 128"},
        {"encr": "blowfish"},
        {"hash": "sha512"},
        {"group": 3},
        {"lifetime": 10},
        {"authentication": "rsa-encr"},
    ):
        with pytest.raises(ConfigValueError):
            IsakmpPolicy.from_ios(30, **bad)


def test_transform_set_words() -> None:
    ts = TransformSet.from_ios("ESE", ["esp-aes", "256", "esp-sha-hmac"])
    assert (ts.encr, ts.key_bits, ts.auth) == (EspTransform.AES, 256, P2Auth.HMAC_SHA)
    assert ts.ios_words == "esp-256-aes esp-sha-hmac" and ts.enc_key_len == 32
    assert TransformSet.from_ios("X", ["esp-aes-192", "esp-md5-hmac"]).key_bits == 192
    assert TransformSet.from_ios("X", ["esp-des", "esp-md5-hmac"]).ios_words == "esp-des esp-md5-hmac"
    assert TransformSet.from_ios("X", ["esp-aes", "esp-sha-hmac"]).ios_words == "esp-aes esp-sha-hmac"
    for bad in (["esp-3des"], ["esp-sha-hmac"], ["esp-3des", "ah-sha-hmac"]):
        with pytest.raises(ConfigValueError):
            TransformSet.from_ios("X", bad)


def test_selectors_round_trip_through_id_payloads() -> None:
    for text, ident in (("10.1.1.0/24", "10.1.1.0/255.255.255.0/0/0"), ("10.9.9.9", "10.9.9.9/255.255.255.255/0/0")):
        sel = Selector.parse(text)
        assert str(sel) == ident
        assert Selector.from_id(parse_id(sel.id_body().encode())) == sel
    assert Selector.from_id(parse_id(b"\x02\x00\x00\x00host")) is None


def test_phase1_choice_follows_ios_rules() -> None:
    mine = [
        IsakmpPolicy(20, P1Encr.TRIPLE_DES, group=2, lifetime=86400),
        IsakmpPolicy(10, P1Encr.AES, 256, group=14, lifetime=3600),
    ]
    offer = parse_sa(
        encode_sa(
            phase1_sa(
                [
                    IsakmpPolicy(1, P1Encr.TRIPLE_DES, group=2, lifetime=28800),
                    IsakmpPolicy(2, P1Encr.AES, 256, group=14, lifetime=7200),
                ]
            )
        )
    )
    chosen = choose_phase1(offer, mine)
    assert chosen is not None
    # priority 10 (aes) is checked first but the offer's 7200 s exceeds its 3600 s: 3des wins.
    assert chosen[0].encr == P1Encr.TRIPLE_DES and chosen[0].lifetime == 28800


def test_sa_codec_rejects_inconsistent_counts() -> None:
    body = bytearray(encode_sa(phase1_sa([IsakmpPolicy(1)])))
    body[8 + 7] = 2  # the proposal now claims two transforms
    with pytest.raises(IkeDecodeError):
        parse_sa(bytes(body))


def test_modp_groups_match_an_independent_copy() -> None:
    for number, params in ((1, modp768), (2, modp1024), (5, modp1536), (14, modp2048)):
        assert dh_group(number).prime == params.m and params.g == 2


def test_raw_rsa_signature_has_no_digest_info() -> None:
    key = rsa_key("sig-test")
    data = bytes(range(20))
    sig = rsa_sign_raw(key, data)
    # cryptography recovers the signed bytes independently: exactly the hash, no ASN.1 wrapper.
    assert key.public_key().recover_data_from_signature(sig, padding.PKCS1v15(), None) == data
    assert rsa_verify_raw(key.public_key(), data, sig)
    assert not rsa_verify_raw(key.public_key(), data[::-1], sig)
    assert not rsa_verify_raw(rsa_key("other").public_key(), data, sig)
    assert not rsa_verify_raw(key.public_key(), data, sig[:-1])


def test_pure_python_rsa_path_agrees_with_openssl() -> None:
    """The fallback for cryptography releases without NoDigestInfo gives identical signatures."""
    key = rsa_key("sig-test")
    data = bytes(range(32))
    sig = _rsa_sign_python(key, data)
    assert sig == rsa_sign_raw(key, data)  # PKCS#1 v1.5 is deterministic
    assert _rsa_verify_python(key.public_key(), data, sig)
    assert not _rsa_verify_python(key.public_key(), data[1:], sig)
