"""Fixtures for the SCEP core tests: cached keys, a CA, an in-memory backend and its server."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab.pki.ca import create_ca_certificate
from pkilab.pki.keys import generate_rsa_key
from pkilab.pki.names import parse_ios_dn
from pkilab.protocols.scep.memory import MemoryCa
from pkilab.protocols.scep.server import ScepServer

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


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
def ca_pair(rsa_key: Callable[..., rsa.RSAPrivateKey]) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa_key(1024)
    subject = parse_ios_dn("CN = ese-ios-ca, OU = ESE, O = Cisco Systems Inc, L = Raleigh, ST = NC, C = US")
    return key, create_ca_certificate(key, subject, NOW - dt.timedelta(days=1), 1095)


@pytest.fixture
def memory_ca(ca_pair: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> MemoryCa:
    return MemoryCa(ca_pair[0], ca_pair[1], lambda: NOW)


@pytest.fixture
def server(memory_ca: MemoryCa) -> ScepServer:
    return ScepServer(memory_ca)


@pytest.fixture(scope="session")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("openssl binary not installed")
    return path
