"""Numbers from RFC 2407/2408/2409, RFC 3706 (DPD) and RFC 3947 (NAT-T)."""

from __future__ import annotations

import enum
import hashlib

ISAKMP_VERSION = 0x10  # major 1, minor 0
DOI_IPSEC = 1
SIT_IDENTITY_ONLY = 1
IKE_PORT = 500
NATT_PORT = 4500
NON_ESP_MARKER = b"\x00\x00\x00\x00"


class PayloadType(enum.IntEnum):
    """ISAKMP payload types (RFC 2408 3.1, RFC 3947 3.2)."""

    NONE = 0
    SA = 1
    PROPOSAL = 2
    TRANSFORM = 3
    KE = 4
    ID = 5
    CERT = 6
    CR = 7
    HASH = 8
    SIG = 9
    NONCE = 10
    NOTIFY = 11
    DELETE = 12
    VENDOR = 13
    NAT_D = 20
    NAT_OA = 21


class ExchangeType(enum.IntEnum):
    """ISAKMP exchange types (RFC 2408 4.1, RFC 2409 5.5)."""

    IDENTITY_PROTECTION = 2
    AGGRESSIVE = 4
    INFORMATIONAL = 5
    QUICK = 32


class Flag(enum.IntEnum):
    """ISAKMP header flag bits, combined as plain ints (IntFlag's operators build members on every message)."""

    NONE = 0
    ENCRYPTION = 1
    COMMIT = 2
    AUTH_ONLY = 4


class ProtocolId(enum.IntEnum):
    """Proposal protocol identifiers (RFC 2407 4.4.1)."""

    ISAKMP = 1
    AH = 2
    ESP = 3


class P1Attr(enum.IntEnum):
    """Phase 1 SA attribute classes (RFC 2409 appendix A)."""

    ENCRYPTION = 1
    HASH = 2
    AUTH_METHOD = 3
    GROUP = 4
    LIFE_TYPE = 11
    LIFE_DURATION = 12
    KEY_LENGTH = 14


class P1Encr(enum.IntEnum):
    """Phase 1 encryption algorithm values."""

    DES = 1
    TRIPLE_DES = 5
    AES = 7


class P1Hash(enum.IntEnum):
    """Phase 1 hash algorithm values."""

    MD5 = 1
    SHA = 2
    SHA256 = 4


class AuthMethod(enum.IntEnum):
    """Phase 1 authentication methods."""

    PSK = 1
    RSA_SIG = 3


class P2Attr(enum.IntEnum):
    """IPsec DOI SA attribute classes (RFC 2407 4.5)."""

    LIFE_TYPE = 1
    LIFE_DURATION = 2
    GROUP = 3
    ENCAPSULATION = 4
    AUTH_ALG = 5
    KEY_LENGTH = 6


class EspTransform(enum.IntEnum):
    """IPsec DOI ESP transform identifiers (RFC 2407 4.4.4)."""

    DES = 2
    TRIPLE_DES = 3
    AES = 12


class P2Auth(enum.IntEnum):
    """IPsec DOI authentication algorithms."""

    HMAC_MD5 = 1
    HMAC_SHA = 2


class Encapsulation(enum.IntEnum):
    """IPsec encapsulation modes (RFC 2407, RFC 3947 5.1)."""

    TUNNEL = 1
    TRANSPORT = 2
    UDP_TUNNEL = 3
    UDP_TUNNEL_DRAFT = 61443


class LifeType(enum.IntEnum):
    """SA life types (same values in phase 1 and 2)."""

    SECONDS = 1
    KILOBYTES = 2


class IdType(enum.IntEnum):
    """Identification types (RFC 2407 4.6.2.1)."""

    IPV4_ADDR = 1
    FQDN = 2
    USER_FQDN = 3
    IPV4_ADDR_SUBNET = 4
    DER_ASN1_DN = 9


class CertEncoding(enum.IntEnum):
    """Certificate encodings (RFC 2408 3.9)."""

    X509_SIG = 4


class Notify(enum.IntEnum):
    """Notify message types (RFC 2408 3.14.1, RFC 2407 4.6.3, RFC 3706)."""

    INVALID_PAYLOAD_TYPE = 1
    INVALID_COOKIE = 4
    INVALID_EXCHANGE_TYPE = 7
    INVALID_FLAGS = 8
    INVALID_MESSAGE_ID = 9
    INVALID_SPI = 11
    NO_PROPOSAL_CHOSEN = 14
    PAYLOAD_MALFORMED = 16
    INVALID_KEY_INFORMATION = 17
    INVALID_ID_INFORMATION = 18
    INVALID_CERT_ENCODING = 19
    INVALID_CERTIFICATE = 20
    INVALID_CERT_AUTHORITY = 22
    INVALID_HASH_INFORMATION = 23
    AUTHENTICATION_FAILED = 24
    INVALID_SIGNATURE = 25
    RESPONDER_LIFETIME = 24576
    REPLAY_STATUS = 24577
    INITIAL_CONTACT = 24578
    R_U_THERE = 36136
    R_U_THERE_ACK = 36137


# RFC 3706 section 5.3: the DPD vendor ID, version 1.0.
VID_DPD = bytes.fromhex("afcad71368a1f1c96b8696fc77570100")
# RFC 3947 section 3.1: MD5("RFC 3947").
VID_NATT_RFC3947 = hashlib.md5(b"RFC 3947").digest()
# Widely sent draft version, recognised so that older peers still negotiate NAT-T.
VID_NATT_DRAFT_02N = bytes.fromhex("90cb80913ebb696e086381b5ec427b1f")
