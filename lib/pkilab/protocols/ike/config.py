"""Inputs the router gives the engine: configuration, credentials, callbacks, tunnel requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab.protocols.ike.policy import IsakmpPolicy, Phase2Policy, Selector


@dataclass(frozen=True)
class CertificateCheck:
    """What the router's validator gets: the peer's certificate as received in the CERT payload.

    ``now`` is the engine's time (monotonic, like IOS uptime). Certificate validity must be judged by
    the router's calendar clock, which ``clock set`` can move; the validator reads that itself.
    """

    peer: str
    certificate: bytes  # DER
    chain: tuple[bytes, ...]  # further CERT payloads, DER
    now: float


@dataclass(frozen=True)
class CertVerdict:
    """The validator's answer; ``reason`` goes after ``is bad:`` in IKMP_INVAL_CERT."""

    ok: bool
    reason: str = ""

    @classmethod
    def good(cls) -> CertVerdict:
        """An accepted certificate."""
        return cls(True)

    @classmethod
    def bad(cls, reason: str = "certificate invalid") -> CertVerdict:
        """A refused certificate."""
        return cls(False, reason)


@dataclass(frozen=True)
class RsaCredentials:
    """The router's own certificate and key, and the CA names it asks peers for (CERT_REQ)."""

    certificate: bytes  # DER
    private_key: rsa.RSAPrivateKey
    ca_names: tuple[bytes, ...] = ()  # DER-encoded subject names of trusted CAs


@dataclass(frozen=True)
class DpdConfig:
    """``crypto isakmp keepalive S [R] [periodic|on-demand]``.

    On demand (the IOS default), a probe goes out when traffic was sent to the peer but nothing was
    heard from it for S seconds (the router reports traffic with ``traffic_sent``/``traffic_received``);
    periodic probes after S silent seconds regardless. Unanswered probes are retried every R seconds,
    ``retries`` times, then the peer is declared dead.
    """

    interval: float = 10.0
    retry: float = 2.0
    retries: int = 5
    periodic: bool = False


@dataclass(frozen=True)
class EngineOptions:
    """Timers; IOS retransmits every 10 s, five times, so an attempt ends after about a minute."""

    retransmit_interval: float = 10.0
    retransmit_limit: int = 5
    nonce_len: int = 20
    # An SA that failed authentication stays visible (MM_KEY_EXCH) this long before it is forgotten.
    failed_sa_linger: float = 60.0
    # Rekey an IPsec SA this many seconds before its hard lifetime (initiator side only).
    rekey_margin: float = 30.0
    # Emit the events only IOS's ``debug crypto isakmp`` lines need (StateChanged, QmStateChanged,
    # QmNote). A router that prints no debug output (a virtual branch) saves building about twenty
    # per handshake.
    debug_events: bool = True


PskLookup = Callable[[str], bytes | None]
Validator = Callable[[CertificateCheck], CertVerdict | None]
Phase2Lookup = Callable[[str, Selector, Selector], Phase2Policy | None]


def _no_psk(_peer: str) -> bytes | None:
    return None


def _refuse_certs(_check: CertificateCheck) -> CertVerdict:
    return CertVerdict.bad("no validator configured")


def _no_phase2(_peer: str, _local: Selector, _remote: Selector) -> Phase2Policy | None:
    return None


@dataclass(frozen=True)
class IkeConfig:
    """One router's IKE configuration.

    Attributes:
        policies: ``crypto isakmp policy`` entries (any order; priority decides).
        identity: ``address`` (ID_IPV4_ADDR), ``dn`` (certificate subject) or ``hostname`` (FQDN).
        hostname: FQDN sent with ``identity hostname``.
        psk_lookup: pre-shared key for a peer address (``crypto isakmp key``), or None.
        rsa: own certificate and key for rsa-sig, or None when not enrolled.
        validator: checks a peer certificate (chain, clock, CRL); None from it defers the verdict.
        phase2_lookup: crypto map policy for (peer, local proxy, remote proxy) as a responder.
        dpd: ``crypto isakmp keepalive``, or None.
        nat_t: ``crypto ipsec nat-transparency udp-encaps`` (on by default in IOS).
        force_nat_t: claim to be behind NAT so ESP is always UDP-encapsulated (strongSwan encap=yes).
    """

    policies: tuple[IsakmpPolicy, ...] = (IsakmpPolicy(65535),)
    identity: str = "address"
    hostname: str = ""
    psk_lookup: PskLookup = _no_psk
    rsa: RsaCredentials | None = None
    validator: Validator = _refuse_certs
    phase2_lookup: Phase2Lookup = _no_phase2
    dpd: DpdConfig | None = None
    nat_t: bool = True
    force_nat_t: bool = False


@dataclass(frozen=True)
class TunnelRequest:
    """Traffic matched a crypto map entry: bring up (or reuse) phase 1 to ``peer`` and run quick mode."""

    peer: str
    local_addr: str
    local_selector: Selector
    remote_selector: Selector
    policy: Phase2Policy = field(default_factory=lambda: Phase2Policy(()))
