"""Fixtures for the X.509 helper tests: RSA keys are cached per modulus (key generation is slow)."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab.pki.keys import generate_rsa_key


@pytest.fixture(scope="session")
def rsa_key() -> Callable[..., rsa.RSAPrivateKey]:
    """``rsa_key(bits, slot=0)``: a cached key; different slots give different keys of one size."""
    cache: dict[tuple[int, int], rsa.RSAPrivateKey] = {}

    def get(bits: int = 1024, slot: int = 0) -> rsa.RSAPrivateKey:
        if (bits, slot) not in cache:
            cache[bits, slot] = generate_rsa_key(bits)
        return cache[bits, slot]

    return get


@pytest.fixture(scope="session")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("openssl binary not installed")
    return path
