"""What the engine tells its router: datagrams to send and things that happened.

Every event is a frozen dataclass. The router maps them to its data plane and log lines:
``AuthenticationFailed`` with ``kind == "certificate"`` is ``%CRYPTO-5-IKMP_INVAL_CERT``,
``MalformedMessage`` is ``%CRYPTO-4-IKMP_BAD_MESSAGE``, ``ModeFailure`` is
``%CRYPTO-6-IKMP_MODE_FAILURE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pkilab.protocols.ike.policy import Selector


@dataclass(frozen=True)
class Endpoint:
    """An IPv4 address and UDP port."""

    addr: str
    port: int

    def __str__(self) -> str:
        """``addr:port``."""
        return f"{self.addr}:{self.port}"


@dataclass(frozen=True)
class EspKeys:
    """Keys of one ESP SA (one direction), as the data plane needs them."""

    spi: int
    cipher: str  # "des", "3des", "aes"
    enc_key: bytes
    auth: str  # "md5", "sha1"
    auth_key: bytes


@dataclass(frozen=True)
class SendDatagram:
    """Send ``data`` as a UDP payload from ``local`` to ``remote`` (non-ESP marker included on 4500)."""

    local: Endpoint
    remote: Endpoint
    data: bytes


@dataclass(frozen=True)
class Phase1Up:
    """An ISAKMP SA reached QM_IDLE."""

    conn_id: int
    local: Endpoint
    remote: Endpoint
    auth: str  # "psk" | "rsig"
    peer_identity: str
    nat_t: bool
    dpd: bool


@dataclass(frozen=True)
class Phase2Up:
    """A pair of ESP SAs is ready: install ``inbound`` for decryption, ``outbound`` for encryption."""

    isakmp_conn_id: int
    local: Endpoint
    remote: Endpoint
    local_selector: Selector
    remote_selector: Selector
    inbound: EspKeys
    outbound: EspKeys
    transform: str
    pfs_group: int | None
    lifetime_seconds: int
    lifetime_kilobytes: int
    udp_encapsulation: bool
    crypto_map: str


AuthFailureKind = Literal["certificate", "signature", "preshared-key", "identity"]


@dataclass(frozen=True)
class AuthenticationFailed:
    """The peer could not be authenticated; ``reason`` is what IOS prints after ``is bad:``."""

    peer: str
    conn_id: int
    kind: AuthFailureKind
    reason: str


@dataclass(frozen=True)
class IdentityNotInCertificate:
    """The peer's address ID is not among its certificate's addresses (authentication still succeeds).

    IOS logs ``%CRYPTO-6-IKMP_NO_ID_CERT_ADDR_MATCH: (NOT ERROR BUT WARNING ONLY)ID of ADDR (type 1)
    and certificate addr with …`` — routers enrolled without ``ip-address`` trigger it.
    """

    peer: str
    conn_id: int
    identity: str
    id_type: int
    certificate_addresses: tuple[str, ...]


@dataclass(frozen=True)
class MalformedMessage:
    """A message failed its sanity check (undecodable, bad hash, unexpected in this state)."""

    peer: str
    detail: str


@dataclass(frozen=True)
class NoSa:
    """A well-formed message for an ISAKMP SA we do not have, and not a first main mode message.

    IOS logs ``%CRYPTO-4-IKMP_NO_SA: IKE message from PEER has no SA and is not an initialization
    offer`` (e.g. DPD from a peer whose SA was cleared here). Nothing is sent back.
    """

    peer: str
    exchange: int


@dataclass(frozen=True)
class ModeFailure:
    """An exchange of ``mode`` (``Informational``, ``Quick``, ``Main``) could not be processed."""

    peer: str
    mode: str


@dataclass(frozen=True)
class NotificationReceived:
    """The peer sent a notification; ``protected`` when it came inside an authenticated exchange."""

    peer: str
    notify_type: int
    protected: bool


@dataclass(frozen=True)
class NegotiationFailed:
    """A negotiation ended without an SA (no proposal chosen, retransmissions exhausted …)."""

    peer: str
    conn_id: int
    phase: int
    reason: str


@dataclass(frozen=True)
class CertificateCheckPending:
    """The validator deferred its verdict; call ``IkeEngine.certificate_verdict(conn_id, …)``."""

    peer: str
    conn_id: int


@dataclass(frozen=True)
class IsakmpSaDeleted:
    """An ISAKMP SA is gone (peer delete, clear, lifetime, DPD)."""

    conn_id: int
    peer: str
    reason: str


@dataclass(frozen=True)
class IpsecSaDeleted:
    """An ESP SA pair is gone; remove both SPIs from the data plane."""

    peer: str
    inbound_spi: int
    outbound_spi: int
    reason: str


@dataclass(frozen=True)
class PeerDead:
    """DPD got no answer from the peer; its SAs are being deleted."""

    peer: str


@dataclass(frozen=True)
class StateChanged:
    """An ISAKMP SA moved between main mode states (IOS debug names, e.g. ``IKE_I_MM1``)."""

    conn_id: int
    peer: str
    old: str
    new: str


@dataclass(frozen=True)
class QmStateChanged:
    """A quick mode exchange moved between states; ``step`` is IOS's ``Input =`` name for why.

    IOS debug: ``Node 1416806668, Input = IKE_MESG_FROM_PEER, IKE_QM_EXCH`` then
    ``Old State = IKE_QM_READY  New State = IKE_QM_SPI_STARVE``.
    """

    conn_id: int
    peer: str
    message_id: int
    step: str
    old: str
    new: str


@dataclass(frozen=True)
class QmNote:
    """One of the other lines IOS's ``debug crypto isakmp`` prints during quick mode, in its words.

    E.g. ``processing SA payload. message ID = 1416806668``, ``QM Responder gets spi``.
    """

    conn_id: int
    text: str


@dataclass(frozen=True)
class InternalError:
    """A bug in the engine while handling a message; the message was dropped, the engine lives on."""

    peer: str
    detail: str


Event = (
    SendDatagram
    | Phase1Up
    | Phase2Up
    | AuthenticationFailed
    | IdentityNotInCertificate
    | MalformedMessage
    | NoSa
    | ModeFailure
    | NotificationReceived
    | NegotiationFailed
    | CertificateCheckPending
    | IsakmpSaDeleted
    | IpsecSaDeleted
    | PeerDead
    | StateChanged
    | QmStateChanged
    | QmNote
    | InternalError
)
