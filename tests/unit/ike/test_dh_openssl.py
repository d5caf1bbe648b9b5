"""Diffie-Hellman through OpenSSL (groups 5 and 14) agrees with the arithmetic it replaced."""

from __future__ import annotations

import os
import warnings

import pytest

from pkilab.protocols.ike.crypto import DhPrivate, dh_group


@pytest.mark.parametrize("number", [5, 14])
def test_openssl_groups_agree_with_python_pow(number: int) -> None:
    group = dh_group(number)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning escapes per exchange
        a, b = group.private_key(os.urandom), group.private_key(os.urandom)
        ka, kb = group.public_key(a), group.public_key(b)
        shared = group.shared_secret(a, kb)
    assert isinstance(a, DhPrivate) and group.openssl
    assert ka == pow(2, int(a), group.prime).to_bytes(group.size, "big")
    assert (
        shared
        == group.shared_secret(b, ka)
        == pow(int.from_bytes(kb, "big"), int(a), group.prime).to_bytes(group.size, "big")
    )
    assert shared is not None and len(shared) == group.size


@pytest.mark.parametrize("number", [5, 14])
def test_openssl_groups_refuse_peer_values_out_of_range(number: int) -> None:
    group = dh_group(number)
    mine = group.private_key(os.urandom)
    top = (group.prime - 1).to_bytes(group.size, "big")
    for bad in (b"\x00" * group.size, b"\x01".rjust(group.size, b"\x00"), top):
        assert group.shared_secret(mine, bad) is None
    assert group.shared_secret(mine, b"\x05" * (group.size - 1)) is None


@pytest.mark.parametrize("number", [1, 2])
def test_oakley_groups_stay_on_python_pow(number: int) -> None:
    group = dh_group(number)
    a, b = group.private_key(os.urandom), group.private_key(os.urandom)
    assert not isinstance(a, DhPrivate) and not group.openssl
    assert group.shared_secret(a, group.public_key(b)) == group.shared_secret(b, group.public_key(a))
