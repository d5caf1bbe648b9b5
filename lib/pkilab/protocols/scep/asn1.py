"""ASN.1 pieces SCEP adds to CMS (RFC 8894 section 3.2.1), registered with asn1crypto.

The six SCEP authenticated attributes live under the VeriSign arc 2.16.840.1.113733.1.9.
asn1crypto does not know them; registering them lets it parse and build them as typed
values instead of opaque blobs. Registration is idempotent and happens on import.
"""

from __future__ import annotations

from asn1crypto import cms, core, x509

MESSAGE_TYPE = "2.16.840.1.113733.1.9.2"
PKI_STATUS = "2.16.840.1.113733.1.9.3"
FAIL_INFO = "2.16.840.1.113733.1.9.4"
SENDER_NONCE = "2.16.840.1.113733.1.9.5"
RECIPIENT_NONCE = "2.16.840.1.113733.1.9.6"
TRANSACTION_ID = "2.16.840.1.113733.1.9.7"


class SetOfPrintableString(core.SetOf):  # type: ignore[misc]
    """SET OF PrintableString (messageType, pkiStatus, failInfo, transactionID)."""

    _child_spec = core.PrintableString


class SetOfOctetString(core.SetOf):  # type: ignore[misc]
    """SET OF OCTET STRING (the nonces)."""

    _child_spec = core.OctetString


class IssuerAndSubject(core.Sequence):  # type: ignore[misc]
    """The content of a CertPoll (GetCertInitial) request."""

    _fields = [("issuer", x509.Name), ("subject", x509.Name)]


_NAMES = {
    MESSAGE_TYPE: ("scep_message_type", SetOfPrintableString),
    PKI_STATUS: ("scep_pki_status", SetOfPrintableString),
    FAIL_INFO: ("scep_fail_info", SetOfPrintableString),
    SENDER_NONCE: ("scep_sender_nonce", SetOfOctetString),
    RECIPIENT_NONCE: ("scep_recipient_nonce", SetOfOctetString),
    TRANSACTION_ID: ("scep_transaction_id", SetOfPrintableString),
}


def register() -> None:
    """Teach asn1crypto the SCEP attribute types (safe to call more than once)."""
    for oid, (name, spec) in _NAMES.items():
        cms.CMSAttributeType._map[oid] = name
        cms.CMSAttribute._oid_specs[name] = spec
    # asn1crypto caches the name -> OID map on first use; rebuild it with ours included.
    cms.CMSAttributeType._reverse_map = None


register()
