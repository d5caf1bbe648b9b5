"""Sans-IO IKEv1 (RFC 2408/2409) with DPD (RFC 3706) and NAT-T (RFC 3947) for the simulated routers.

Use :class:`IkeEngine` with an :class:`IkeConfig`; feed it datagrams, tunnel requests and time; act
on the events it returns. See ``docs/ike.md``.
"""

from pkilab.protocols.ike.codec import IkeDecodeError
from pkilab.protocols.ike.config import (
    CertificateCheck,
    CertVerdict,
    DpdConfig,
    EngineOptions,
    IkeConfig,
    RsaCredentials,
    TunnelRequest,
)
from pkilab.protocols.ike.constants import AuthMethod, P1Encr, P1Hash
from pkilab.protocols.ike.engine import IkeEngine
from pkilab.protocols.ike.events import (
    AuthenticationFailed,
    CertificateCheckPending,
    Endpoint,
    EspKeys,
    Event,
    IdentityNotInCertificate,
    InternalError,
    IpsecSaDeleted,
    IsakmpSaDeleted,
    MalformedMessage,
    ModeFailure,
    NegotiationFailed,
    NoSa,
    NotificationReceived,
    PeerDead,
    Phase1Up,
    Phase2Up,
    QmNote,
    QmStateChanged,
    SendDatagram,
    StateChanged,
)
from pkilab.protocols.ike.natt import classify_4500
from pkilab.protocols.ike.policy import IsakmpPolicy, Phase2Policy, Selector, TransformSet
from pkilab.protocols.ike.sa import IpsecSaInfo, IsakmpSaInfo

__all__ = [
    "AuthMethod",
    "AuthenticationFailed",
    "CertVerdict",
    "CertificateCheck",
    "CertificateCheckPending",
    "DpdConfig",
    "Endpoint",
    "EngineOptions",
    "EspKeys",
    "Event",
    "IdentityNotInCertificate",
    "IkeConfig",
    "IkeDecodeError",
    "IkeEngine",
    "InternalError",
    "IpsecSaDeleted",
    "IpsecSaInfo",
    "IsakmpPolicy",
    "IsakmpSaDeleted",
    "IsakmpSaInfo",
    "MalformedMessage",
    "ModeFailure",
    "NegotiationFailed",
    "NoSa",
    "NotificationReceived",
    "P1Encr",
    "P1Hash",
    "PeerDead",
    "Phase1Up",
    "Phase2Policy",
    "Phase2Up",
    "QmNote",
    "QmStateChanged",
    "RsaCredentials",
    "Selector",
    "SendDatagram",
    "StateChanged",
    "TransformSet",
    "TunnelRequest",
    "classify_4500",
]
