"""The raw ceiling: one handshake's branch-side public-key work, without the branch around it.

What one IKEv1 main mode handshake needs on the branch side, done in a tight loop with nothing
else (no engine, no packets, no event loop). For the run's crypto (the lab plan's RSA modulus,
Diffie-Hellman group and authentication):

* with RSA signatures: one RSA signature (the branch's SIG, raw PKCS#1 v1.5 over the HASH, as
  IKEv1 signs it), two RSA verifications (the headend's SIG with the key loaded from its
  certificate's SubjectPublicKeyInfo bytes, and that certificate's signature with the CA's key),
  all at the plan's modulus; with a pre-shared key: no RSA at all;
* one Diffie-Hellman key generation and one exchange with the peer's public value loaded from
  its bytes. Groups 5 and 14 run in OpenSSL, as the branches run them. Groups 1 and 2 run as the
  branches run them too: Python's ``pow`` with the branch's exponent size
  (:meth:`pkilab.protocols.ike.crypto.DhGroup.private_key`), because OpenSSL does not know RFC
  2409's Oakley primes by name and checks them on every exchange (about 130 ms, see
  ``docs/load.md``). For those groups this is the branches' own arithmetic, not OpenSSL's.

Two variants: :meth:`Ceiling.cpu` loads the headend's key and DH value from bytes on every
handshake, as a handshake must (the default); ``persistent=True`` keeps one key object and one
peer value throughout (nothing loaded per handshake), the stricter of the two.

:func:`time_ceiling` times a bounded amount of it in chunks; :func:`comparison` sets it against
the branches' own IKE CPU per handshake (``results.json``: ``branch_cpu_ms_per_handshake``,
``ceiling_ms_per_handshake``, ``ceiling_kept_ms_per_handshake``, ``ceiling_share_pct``).
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key

from pkilab.pki.keys import generate_rsa_key
from pkilab.protocols.ike.crypto import dh_group

with warnings.catch_warnings():
    # cryptography deprecates finite-field DH, which is what IKEv1 negotiates; the names are taken once.
    warnings.simplefilter("ignore")
    from cryptography.hazmat.primitives.asymmetric.dh import DHParameterNumbers, DHPublicNumbers

Clock = Callable[[], float]
BUDGET_S = 1.0  # CPU seconds the in-run ceiling may take (both variants together)
CHUNKS = 5  # chunks per variant; the figure is their median
COMPARISON_FIELDS = (
    "branch_cpu_ms_per_handshake",
    "ceiling_ms_per_handshake",
    "ceiling_kept_ms_per_handshake",
    "ceiling_share_pct",
)


@cache
def _rsa_keys(modulus: int) -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """The branch's, the headend's and the CA's key pairs (generated once per modulus and process)."""
    return generate_rsa_key(modulus), generate_rsa_key(modulus), generate_rsa_key(modulus)


class _RsaWork:
    """The RSA operations of one handshake: our SIG, the headend's SIG, its certificate's signature."""

    def __init__(self, modulus: int) -> None:
        self.own, peer, ca = _rsa_keys(modulus)
        self.digest = os.urandom(32)
        # PKCS#1 v1.5 without a DigestInfo (IKEv1 signs the bare HASH). cryptography's type hints name
        # NoDigestInfo for sign() only, but verify() takes it as well (protocols.ike.crypto does the same).
        self.raw: tuple[padding.PKCS1v15, Any] = padding.PKCS1v15(), asym_utils.NoDigestInfo()
        self.peer_sig = peer.sign(self.digest, *self.raw)
        self.tbs = os.urandom(600)  # about a branch certificate's TBSCertificate
        self.cert_sig = ca.sign(self.tbs, padding.PKCS1v15(), hashes.SHA256())
        self.peer_spki = peer.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        self.peer_pub, self.ca_pub = peer.public_key(), ca.public_key()


class _OpenSslDh:
    """Groups 5 and 14: key generation and exchange in OpenSSL, the peer's value loaded from its number."""

    def __init__(self, group: int) -> None:
        self.numbers = DHParameterNumbers(dh_group(group).prime, 2)
        self.params = self.numbers.parameters()
        self.peer = self.params.generate_private_key().public_key()
        self.peer_y = self.peer.public_numbers().y

    def run(self, persistent: bool) -> None:
        theirs = self.peer if persistent else DHPublicNumbers(self.peer_y, self.numbers).public_key()
        self.params.generate_private_key().exchange(theirs)


class _PowDh:
    """Groups 1 and 2: the branches' own ``pow`` arithmetic (:class:`~pkilab.protocols.ike.crypto.DhGroup`)."""

    def __init__(self, group: int) -> None:
        self.group = dh_group(group)
        self.peer_bytes = self.group.public_key(self.group.private_key(os.urandom))
        self.peer_y = int.from_bytes(self.peer_bytes, "big")

    def run(self, persistent: bool) -> None:
        g = self.group
        mine = g.private_key(os.urandom)
        g.public_key(mine)
        if persistent:
            pow(self.peer_y, mine, g.prime)
        else:
            g.shared_secret(mine, self.peer_bytes)


class Ceiling:
    """One handshake's branch-side public-key work for a crypto profile, timed on ``clock``.

    Args:
        group: the Diffie-Hellman group (1, 2, 5 or 14).
        modulus: the RSA modulus in bits; None for pre-shared keys (no RSA at all).
        clock: CPU clock to time with: this thread's by default (a simulated lab on another
            thread of the process does not enter it); the bench passes ``time.process_time``.
    """

    def __init__(self, group: int = 14, modulus: int | None = 2048, clock: Clock = time.thread_time) -> None:
        self.group = group
        self.modulus = modulus
        self.clock = clock
        self.rsa = _RsaWork(modulus) if modulus is not None else None
        self.dh: _OpenSslDh | _PowDh = _OpenSslDh(group) if dh_group(group).openssl else _PowDh(group)

    @classmethod
    def for_run(cls, modulus: int, group: int, psk: bool, clock: Clock = time.thread_time) -> Ceiling:
        """The ceiling of a run with this plan modulus and DH group (``psk``: no RSA)."""
        return cls(group, None if psk else modulus, clock)

    @property
    def work(self) -> str:
        """What one handshake's worth is, in words (for the report)."""
        engine = "OpenSSL" if isinstance(self.dh, _OpenSslDh) else "Python pow, as the branches"
        dh_part = f"DH group {self.group} key generation and exchange ({engine})"
        if self.modulus is None:
            return dh_part
        return f"RSA-{self.modulus} signature and 2 verifications, {dh_part}"

    # One method per operation, so that what a handshake's worth does can be counted.
    def sign(self) -> None:
        """Our SIG: a raw PKCS#1 v1.5 signature over the HASH."""
        assert self.rsa is not None
        self.rsa.own.sign(self.rsa.digest, *self.rsa.raw)

    def verify_peer(self, persistent: bool) -> None:
        """The headend's SIG, with its key loaded from its certificate's bytes (or kept)."""
        r = self.rsa
        assert r is not None
        key = r.peer_pub if persistent else cast(rsa.RSAPublicKey, load_der_public_key(r.peer_spki))
        key.verify(r.peer_sig, r.digest, *r.raw)

    def verify_certificate(self) -> None:
        """The headend's certificate's signature, with the CA's key."""
        r = self.rsa
        assert r is not None
        r.ca_pub.verify(r.cert_sig, r.tbs, padding.PKCS1v15(), hashes.SHA256())

    def exchange(self, persistent: bool) -> None:
        """Our DH key pair and the shared secret with the headend's value (loaded from bytes, or kept)."""
        self.dh.run(persistent)

    def cpu(self, reps: int, persistent: bool = False) -> float:
        """CPU seconds (on ``clock``) of ``reps`` handshakes' worth of the work."""
        with_rsa = self.rsa is not None
        start = self.clock()
        for _ in range(reps):
            if with_rsa:
                self.sign()
                self.verify_peer(persistent)
                self.verify_certificate()
            self.exchange(persistent)
        return self.clock() - start


@dataclass(frozen=True)
class CeilingTiming:
    """The ceiling timed in a run: milliseconds per handshake's worth, median of chunks.

    Attributes:
        ms: loading the headend's key and value from bytes each time (as a handshake must).
        kept_ms: with one key object and one peer value kept throughout.
        reps: handshakes' worth timed for each variant.
        work: what one handshake's worth is (:attr:`Ceiling.work`).
    """

    ms: float
    kept_ms: float
    reps: int
    work: str


def time_ceiling(ceiling: Ceiling, handshakes: int, budget: float = BUDGET_S, chunks: int = CHUNKS) -> CeilingTiming:
    """Time as many handshakes' worth as ``handshakes``, capped at about ``budget`` CPU seconds.

    One handshake's worth of each variant first (warming up, and the estimate the cap is taken
    from), then up to ``chunks`` chunks of each variant alternately; each variant's figure is the
    median of its chunks' milliseconds per handshake.
    """
    probe = ceiling.cpu(1) + ceiling.cpu(1, persistent=True)
    reps = max(1, min(handshakes, int(budget / max(probe, 1e-9))))
    count = min(chunks, reps)
    sizes = [reps // count + (1 if i < reps % count else 0) for i in range(count)]
    fresh: list[float] = []
    kept: list[float] = []
    for size in sizes:
        fresh.append(ceiling.cpu(size) / size)
        kept.append(ceiling.cpu(size, persistent=True) / size)
    return CeilingTiming(1000.0 * statistics.median(fresh), 1000.0 * statistics.median(kept), reps, ceiling.work)


def comparison(branch_cpu_s: float, handshakes: int, timing: CeilingTiming | None) -> dict[str, float | None]:
    """The ``results.json`` figures: the branches' IKE CPU per handshake against the ceiling's.

    ``ceiling_share_pct`` is 100 * ceiling ms / branch ms: the branch side's handshake rate per
    CPU-second as a share of the ceiling's. All None when no handshake completed (or no timing).
    """
    if handshakes <= 0 or timing is None or branch_cpu_s <= 0:
        return dict.fromkeys(COMPARISON_FIELDS)
    branch_ms = 1000.0 * branch_cpu_s / handshakes
    return {
        "branch_cpu_ms_per_handshake": round(branch_ms, 3),
        "ceiling_ms_per_handshake": round(timing.ms, 3),
        "ceiling_kept_ms_per_handshake": round(timing.kept_ms, 3),
        "ceiling_share_pct": round(100.0 * timing.ms / branch_ms, 1),
    }
