"""Sans-IO SCEP (RFC 8894): pkiMessage codec, server core and client core.

* :mod:`.message`: build pkiMessages, envelopes, certs-only SignedData; the SCEP enums.
* :mod:`.reader`: parse and verify them (fast DER path, asn1crypto fallback for BER).
* :mod:`.memory`: a minimal in-memory backend for tests and benchmarks.
* :mod:`.server`: :class:`ScepServer` answers HTTP requests for a :class:`ScepBackend`.
* :mod:`.client`: :class:`ScepClient` builds requests and reads CertReps for a router.
"""

from pkilab.protocols.scep.client import (
    CertRepResult,
    ClientOptions,
    HttpRequest,
    ScepClient,
    get_ca_caps_request,
    get_ca_cert_request,
    get_crl_request,
    parse_ca_caps,
    parse_ca_cert,
    parse_crl,
)
from pkilab.protocols.scep.memory import MemoryCa
from pkilab.protocols.scep.message import FailInfo, MessageType, PkiMessage, PkiStatus
from pkilab.protocols.scep.reader import open_envelope, parse_certs_only, parse_message
from pkilab.protocols.scep.server import (
    CGI_PATH,
    IOS_CAPABILITIES,
    Decision,
    EnrollmentRequest,
    Granted,
    Pending,
    Rejected,
    Response,
    ScepBackend,
    ScepServer,
    ServerOptions,
)

__all__ = [
    "CGI_PATH",
    "IOS_CAPABILITIES",
    "CertRepResult",
    "ClientOptions",
    "Decision",
    "EnrollmentRequest",
    "FailInfo",
    "Granted",
    "HttpRequest",
    "MemoryCa",
    "MessageType",
    "Pending",
    "PkiMessage",
    "PkiStatus",
    "Rejected",
    "Response",
    "ScepBackend",
    "ScepClient",
    "ScepServer",
    "ServerOptions",
    "get_ca_caps_request",
    "get_ca_cert_request",
    "get_crl_request",
    "open_envelope",
    "parse_ca_caps",
    "parse_ca_cert",
    "parse_certs_only",
    "parse_crl",
    "parse_message",
]
