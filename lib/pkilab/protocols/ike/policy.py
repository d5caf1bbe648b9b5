"""IOS-like negotiation policy: ISAKMP policies, transform sets, proxy identities, and matching.

The router turns its configuration (``crypto isakmp policy N``, ``crypto ipsec transform-set``,
crypto map ACLs) into these values; the engine turns them into SA payloads and back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pkilab.errors import ConfigValueError
from pkilab.protocols.ike.codec import Attribute, IdBody, Proposal, SaBody, Transform, encode_sa
from pkilab.protocols.ike.constants import (
    DOI_IPSEC,
    SIT_IDENTITY_ONLY,
    AuthMethod,
    Encapsulation,
    EspTransform,
    IdType,
    LifeType,
    P1Attr,
    P1Encr,
    P1Hash,
    P2Attr,
    P2Auth,
    ProtocolId,
)

KEY_IKE = 1
_ENCR_NAMES = {P1Encr.DES: "des", P1Encr.TRIPLE_DES: "3des", P1Encr.AES: "aes"}
_HASH_NAMES = {P1Hash.MD5: "md5", P1Hash.SHA: "sha", P1Hash.SHA256: "sha256"}
# Received attribute values to members by look-up: calling an enum class for it costs a dozen calls.
_ENCR_BY_VALUE = {int(m): m for m in P1Encr}
_HASH_BY_VALUE = {int(m): m for m in P1Hash}
_AUTH_BY_VALUE = {int(m): m for m in AuthMethod}
_LIFE_BY_VALUE = {int(m): m for m in LifeType}


@dataclass(frozen=True)
class IsakmpPolicy:
    """One ``crypto isakmp policy N``; IOS defaults (des, sha, rsa-sig, group 1, 86400 s)."""

    priority: int
    encr: P1Encr = P1Encr.DES
    key_bits: int | None = None
    hash: P1Hash = P1Hash.SHA
    auth: AuthMethod = AuthMethod.RSA_SIG
    group: int = 1
    lifetime: int = 86400

    def __post_init__(self) -> None:
        if self.group not in (1, 2, 5, 14):
            raise ConfigValueError(f"isakmp policy {self.priority}: unsupported DH group {self.group}")
        if self.encr == P1Encr.AES and self.key_bits not in (None, 128, 192, 256):
            raise ConfigValueError(f"isakmp policy {self.priority}: bad AES key size {self.key_bits}")
        if not 60 <= self.lifetime <= 86400:
            raise ConfigValueError(f"isakmp policy {self.priority}: lifetime {self.lifetime} out of 60-86400")

    @classmethod
    def from_ios(
        cls,
        priority: int,
        encr: str = "des",
        hash: str = "sha",
        authentication: str = "rsa-sig",
        group: int = 1,
        lifetime: int = 86400,
    ) -> IsakmpPolicy:
        """From the words of ``crypto isakmp policy N`` sub-commands (``encr aes 256`` -> ``"aes 256"``).

        Raises:
            ConfigValueError: a value IOS would reject.
        """
        words = encr.lower().split()
        names = {"des": P1Encr.DES, "3des": P1Encr.TRIPLE_DES, "aes": P1Encr.AES}
        hashes = {"md5": P1Hash.MD5, "sha": P1Hash.SHA, "sha256": P1Hash.SHA256}
        auths = {"pre-share": AuthMethod.PSK, "rsa-sig": AuthMethod.RSA_SIG}
        if not words or words[0] not in names or len(words) > 2 or (len(words) == 2 and words[0] != "aes"):
            raise ConfigValueError(f"isakmp policy {priority}: bad encryption {encr!r}")
        if hash.lower() not in hashes or authentication.lower() not in auths:
            raise ConfigValueError(f"isakmp policy {priority}: bad hash {hash!r} or authentication {authentication!r}")
        bits = int(words[1]) if len(words) == 2 and words[1].isdigit() else None
        if len(words) == 2 and bits is None:
            raise ConfigValueError(f"isakmp policy {priority}: bad AES key size {words[1]!r}")
        return cls(
            priority, names[words[0]], bits, hashes[hash.lower()], auths[authentication.lower()], group, lifetime
        )

    @property
    def encr_name(self) -> str:
        """Encryption as IOS shows it in ``show crypto isakmp sa detail`` (``aes:256`` for long keys)."""
        name = _ENCR_NAMES[self.encr]
        if self.encr == P1Encr.AES and self.key_bits and self.key_bits != 128:
            return f"{name}:{self.key_bits}"
        return name

    @property
    def hash_name(self) -> str:
        """``sha``, ``md5`` or ``sha256``."""
        return _HASH_NAMES[self.hash]

    @property
    def auth_name(self) -> str:
        """``psk`` or ``rsig``."""
        return "psk" if self.auth == AuthMethod.PSK else "rsig"

    def transform(self, number: int) -> Transform:
        """This policy as a phase 1 transform payload."""
        attrs = [Attribute(P1Attr.ENCRYPTION, self.encr)]
        if self.encr == P1Encr.AES:
            attrs.append(Attribute(P1Attr.KEY_LENGTH, self.key_bits or 128))
        attrs += [
            Attribute(P1Attr.HASH, self.hash),
            Attribute(P1Attr.AUTH_METHOD, self.auth),
            Attribute(P1Attr.GROUP, self.group),
            Attribute(P1Attr.LIFE_TYPE, LifeType.SECONDS),
            Attribute(P1Attr.LIFE_DURATION, self.lifetime),
        ]
        return Transform(number, KEY_IKE, tuple(attrs))


def phase1_sa(policies: Sequence[IsakmpPolicy]) -> SaBody:
    """The initiator's phase 1 SA: one ISAKMP proposal, one transform per policy, by priority."""
    ordered = sorted(policies, key=lambda p: p.priority)
    transforms = tuple(p.transform(i + 1) for i, p in enumerate(ordered))
    return SaBody(DOI_IPSEC, SIT_IDENTITY_ONLY, (Proposal(1, ProtocolId.ISAKMP, b"", transforms),))


@lru_cache(maxsize=64)
def phase1_offer(policies: tuple[IsakmpPolicy, ...]) -> bytes:
    """:func:`phase1_sa` encoded: every main mode a router starts with these policies sends these bytes."""
    return encode_sa(phase1_sa(policies))


def _policy_from_transform(tr: Transform) -> IsakmpPolicy | None:
    encr = _ENCR_BY_VALUE.get(tr.attr(P1Attr.ENCRYPTION) or 0)
    hash_alg = _HASH_BY_VALUE.get(tr.attr(P1Attr.HASH) or 0)
    auth = _AUTH_BY_VALUE.get(tr.attr(P1Attr.AUTH_METHOD) or 0)
    if encr is None or hash_alg is None or auth is None:
        return None
    life_type = tr.attr(P1Attr.LIFE_TYPE)
    lifetime = tr.attr(P1Attr.LIFE_DURATION) if life_type in (None, LifeType.SECONDS) else None
    group = tr.attr(P1Attr.GROUP) or 0
    key_bits = tr.attr(P1Attr.KEY_LENGTH) if encr == P1Encr.AES else None
    if group not in (1, 2, 5, 14) or key_bits not in (None, 128, 192, 256):
        return None
    return IsakmpPolicy(0, encr, key_bits, hash_alg, auth, group, min(max(lifetime or 86400, 60), 86400))


def choose_phase1(offer: SaBody, policies: Sequence[IsakmpPolicy]) -> tuple[IsakmpPolicy, Proposal, Transform] | None:
    """Pick a phase 1 transform the way IOS does: local policies by priority, then offered transforms.

    The offered lifetime must not exceed the local policy's; the offered lifetime is then used.

    Returns:
        The agreed policy (with the peer's lifetime), the proposal and transform to echo; or None.
    """
    if offer.doi != DOI_IPSEC:
        return None
    for local in sorted(policies, key=lambda p: p.priority):
        for prop in offer.proposals:
            if prop.protocol != ProtocolId.ISAKMP:
                continue
            for tr in prop.transforms:
                theirs = _policy_from_transform(tr) if tr.transform_id == KEY_IKE else None
                if theirs is None:
                    continue
                same = (theirs.encr, theirs.hash, theirs.auth, theirs.group) == (
                    local.encr,
                    local.hash,
                    local.auth,
                    local.group,
                )
                same_key = (theirs.key_bits or 128) == (local.key_bits or 128)
                if same and same_key and theirs.lifetime <= local.lifetime:
                    agreed = IsakmpPolicy(
                        local.priority, local.encr, local.key_bits, local.hash, local.auth, local.group, theirs.lifetime
                    )
                    return agreed, Proposal(prop.number, prop.protocol, prop.spi, (tr,)), tr
    return None


def policy_from_chosen(answer: SaBody, offered: Sequence[IsakmpPolicy]) -> IsakmpPolicy | None:
    """The initiator's view of the responder's choice: it must be one of the offered transforms."""
    if len(answer.proposals) != 1 or len(answer.proposals[0].transforms) != 1:
        return None
    theirs = _policy_from_transform(answer.proposals[0].transforms[0])
    if theirs is None:
        return None
    for mine in offered:
        if (mine.encr, mine.hash, mine.auth, mine.group, mine.key_bits or 128) == (
            theirs.encr,
            theirs.hash,
            theirs.auth,
            theirs.group,
            theirs.key_bits or 128,
        ) and theirs.lifetime <= mine.lifetime:
            return IsakmpPolicy(
                mine.priority, mine.encr, mine.key_bits, mine.hash, mine.auth, mine.group, theirs.lifetime
            )
    return None


# --- phase 2 -----------------------------------------------------------------------------------

_ESP_ENCR = {
    "esp-des": (EspTransform.DES, None),
    "esp-3des": (EspTransform.TRIPLE_DES, None),
    "esp-aes": (EspTransform.AES, 128),
}
_ESP_AUTH = {"esp-md5-hmac": P2Auth.HMAC_MD5, "esp-sha-hmac": P2Auth.HMAC_SHA}


@dataclass(frozen=True)
class TransformSet:
    """One ``crypto ipsec transform-set NAME …`` (ESP, tunnel mode)."""

    name: str
    encr: EspTransform
    key_bits: int | None
    auth: P2Auth

    @classmethod
    def from_ios(cls, name: str, words: Sequence[str]) -> TransformSet:
        """Build from IOS words, e.g. ``["esp-aes", "256", "esp-sha-hmac"]`` or ``["esp-aes-256", …]``.

        Raises:
            ConfigValueError: unknown or missing transform.
        """
        encr: tuple[EspTransform, int | None] | None = None
        auth: P2Auth | None = None
        items = list(words)
        for i, word in enumerate(items):
            w = word.lower()
            if w.startswith("esp-aes-") and w[8:] in ("128", "192", "256"):
                encr = (EspTransform.AES, int(w[8:]))
            elif w in _ESP_ENCR:
                encr = _ESP_ENCR[w]
                nxt = items[i + 1] if i + 1 < len(items) else ""
                if w == "esp-aes" and nxt in ("128", "192", "256"):
                    encr = (EspTransform.AES, int(nxt))
            elif w in _ESP_AUTH:
                auth = _ESP_AUTH[w]
            elif w not in ("128", "192", "256"):
                raise ConfigValueError(f"transform-set {name}: unsupported transform {word!r}")
        if encr is None or auth is None:
            raise ConfigValueError(f"transform-set {name}: needs one ESP cipher and one ESP HMAC")
        return cls(name, encr[0], encr[1], auth)

    @property
    def ios_words(self) -> str:
        """As IOS prints it in ``show crypto ipsec sa``: ``esp-3des esp-sha-hmac``."""
        enc = {EspTransform.DES: "esp-des", EspTransform.TRIPLE_DES: "esp-3des"}.get(self.encr)
        if enc is None:
            enc = "esp-aes" if (self.key_bits or 128) == 128 else f"esp-{self.key_bits}-aes"
        return f"{enc} {'esp-sha-hmac' if self.auth == P2Auth.HMAC_SHA else 'esp-md5-hmac'}"

    @property
    def enc_key_len(self) -> int:
        """Cipher key bytes."""
        if self.encr == EspTransform.DES:  # comparisons: hashing an enum member runs Python code
            return 8
        if self.encr == EspTransform.TRIPLE_DES:
            return 24
        return (self.key_bits or 128) // 8

    @property
    def auth_key_len(self) -> int:
        """HMAC key bytes."""
        return 20 if self.auth == P2Auth.HMAC_SHA else 16


@dataclass(frozen=True)
class Selector:
    """A proxy identity: an IPv4 network, optionally one IP protocol and port (0 = any)."""

    network: ipaddress.IPv4Network
    protocol: int = 0
    port: int = 0

    @classmethod
    def parse(cls, text: str, protocol: int = 0, port: int = 0) -> Selector:
        """From ``10.1.1.0/24`` or ``10.1.1.1``."""
        return cls(ipaddress.IPv4Network(text, strict=False), protocol, port)

    def id_body(self) -> IdBody:
        """As a quick mode ID payload: a host address for /32, a subnet otherwise."""
        net = self.network
        if net.prefixlen == 32:
            return IdBody(IdType.IPV4_ADDR, self.protocol, self.port, net.network_address.packed)
        data = net.network_address.packed + net.netmask.packed
        return IdBody(IdType.IPV4_ADDR_SUBNET, self.protocol, self.port, data)

    @classmethod
    def from_id(cls, body: IdBody) -> Selector | None:
        """Back from an ID payload; None for types a proxy identity cannot be."""
        try:
            if body.id_type == IdType.IPV4_ADDR and len(body.data) == 4:
                net = ipaddress.IPv4Network(ipaddress.IPv4Address(body.data))
            elif body.id_type == IdType.IPV4_ADDR_SUBNET and len(body.data) == 8:
                addr, mask = ipaddress.IPv4Address(body.data[:4]), ipaddress.IPv4Address(body.data[4:])
                net = ipaddress.IPv4Network(f"{addr}/{mask}", strict=False)
            else:
                return None
        except ValueError:
            return None
        return cls(net, body.protocol, body.port)

    def __str__(self) -> str:
        """IOS ident form: ``10.1.1.0/255.255.255.0/0/0``."""
        n = self.network
        return f"{n.network_address}/{n.netmask}/{self.protocol}/{self.port}"


@dataclass(frozen=True)
class Phase2Policy:
    """What a crypto map entry allows for one tunnel: transform sets, PFS group, lifetimes."""

    transform_sets: tuple[TransformSet, ...]
    pfs_group: int | None = None
    lifetime_seconds: int = 3600
    lifetime_kilobytes: int = 4608000
    name: str = ""


def phase2_sa(policy: Phase2Policy, spi: bytes, encap: Encapsulation) -> SaBody:
    """The initiator's quick mode SA: one ESP proposal per transform set, all with our SPI."""
    props = []
    for i, ts in enumerate(policy.transform_sets):
        attrs = [
            Attribute(P2Attr.LIFE_TYPE, LifeType.SECONDS),
            Attribute(P2Attr.LIFE_DURATION, policy.lifetime_seconds),
            Attribute(P2Attr.LIFE_TYPE, LifeType.KILOBYTES),
            Attribute(P2Attr.LIFE_DURATION, policy.lifetime_kilobytes),
            Attribute(P2Attr.ENCAPSULATION, encap),
            Attribute(P2Attr.AUTH_ALG, ts.auth),
        ]
        if ts.encr == EspTransform.AES:
            attrs.append(Attribute(P2Attr.KEY_LENGTH, ts.key_bits or 128))
        if policy.pfs_group:
            attrs.append(Attribute(P2Attr.GROUP, policy.pfs_group))
        props.append(Proposal(i + 1, ProtocolId.ESP, spi, (Transform(1, ts.encr, tuple(attrs)),)))
    return SaBody(DOI_IPSEC, SIT_IDENTITY_ONLY, tuple(props))


@dataclass(frozen=True)
class Phase2Choice:
    """A matched quick mode proposal."""

    transform_set: TransformSet
    proposal: Proposal
    pfs_group: int | None
    lifetime_seconds: int
    lifetime_kilobytes: int
    encapsulation: int


def lifetimes(attrs: Sequence[Attribute]) -> tuple[int | None, int | None]:
    """(seconds, kilobytes) from SA life type/duration attribute pairs; None where absent."""
    secs = kbytes = None
    kind = LifeType.SECONDS
    for a in attrs:
        if a.type == P2Attr.LIFE_TYPE:
            kind = _LIFE_BY_VALUE.get(a.value, kind)
        elif a.type == P2Attr.LIFE_DURATION:
            if kind == LifeType.SECONDS:
                secs = a.value
            else:
                kbytes = a.value
    return secs, kbytes


def match_phase2(offer: SaBody, local: Phase2Policy, encaps: Sequence[int]) -> Phase2Choice | None:
    """First offered ESP proposal that one of the local transform sets accepts (IOS order: offer first).

    Args:
        offer: the peer's SA payload (or the responder's single answer).
        local: our policy for this tunnel.
        encaps: acceptable encapsulation modes (tunnel, or UDP tunnel under NAT-T).
    """
    for prop in offer.proposals:
        if prop.protocol != ProtocolId.ESP or len(prop.spi) != 4 or len(prop.transforms) != 1:
            continue
        tr = prop.transforms[0]
        group = tr.attr(P2Attr.GROUP)
        if local.pfs_group and group != local.pfs_group:
            continue
        if group not in (None, 1, 2, 5, 14):
            continue
        encap = tr.attr(P2Attr.ENCAPSULATION) or Encapsulation.TUNNEL
        if encap not in encaps:
            continue
        for ts in local.transform_sets:
            key = tr.attr(P2Attr.KEY_LENGTH) if tr.transform_id == EspTransform.AES else None
            if (tr.transform_id, tr.attr(P2Attr.AUTH_ALG)) != (ts.encr, ts.auth):
                continue
            if ts.encr == EspTransform.AES and (key or 0) != (ts.key_bits or 128):
                continue
            secs, kbytes = lifetimes(tr.attributes)
            return Phase2Choice(
                ts,
                prop,
                group,
                min(secs or local.lifetime_seconds, local.lifetime_seconds),
                min(kbytes or local.lifetime_kilobytes, local.lifetime_kilobytes),
                encap,
            )
    return None
