"""Distinguished names the way IOS reads and prints them.

IOS takes names as LDAP-style strings (``issuer-name CN = ese-ios-ca, OU = ESE, …``,
``subject-name …``) and prints them most-specific first (``cn=ese-ios-ca,ou=ESE,…``). A
certificate from a Microsoft CA whose DER subject is ``DC=com, DC=pki, CN=OCSP-CA`` shows on
IOS as ``cn=OCSP-CA,dc=pki,dc=com``: IOS prints RDNs in reverse DER order, as RFC 4514 does.
So parsing reverses the string into DER order and rendering reverses it back, and a name
typed in configuration prints in the order it was typed.

Routers enroll with ``hostname=<fqdn>`` (PKCS#9 unstructuredName), optionally joined in the
same RDN by ``serialNumber=`` and ``ipaddress=`` (PKCS#9 unstructuredAddress), as in
``serialNumber=98S8FAWRFAQ+hostname=CLIENT+ipaddress=200.1.1.1``.
"""

from __future__ import annotations

from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID, ObjectIdentifier

from pkilab.errors import PkiError

UNSTRUCTURED_NAME = ObjectIdentifier("1.2.840.113549.1.9.2")
UNSTRUCTURED_ADDRESS = ObjectIdentifier("1.2.840.113549.1.9.8")

# IOS keyword -> OID. Several spellings are accepted on input; the first keyword listed for
# an OID in _RENDER is the one IOS prints.
_KEYWORDS: dict[str, ObjectIdentifier] = {
    "cn": NameOID.COMMON_NAME,
    "ou": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "o": NameOID.ORGANIZATION_NAME,
    "l": NameOID.LOCALITY_NAME,
    "st": NameOID.STATE_OR_PROVINCE_NAME,
    "c": NameOID.COUNTRY_NAME,
    "ea": NameOID.EMAIL_ADDRESS,
    "e": NameOID.EMAIL_ADDRESS,
    "email": NameOID.EMAIL_ADDRESS,
    "emailaddress": NameOID.EMAIL_ADDRESS,
    "dc": NameOID.DOMAIN_COMPONENT,
    "t": NameOID.TITLE,
    "title": NameOID.TITLE,
    "serialnumber": NameOID.SERIAL_NUMBER,
    "sn": NameOID.SERIAL_NUMBER,
    "hostname": UNSTRUCTURED_NAME,
    "unstructuredname": UNSTRUCTURED_NAME,
    "ipaddress": UNSTRUCTURED_ADDRESS,
    "unstructuredaddress": UNSTRUCTURED_ADDRESS,
}

_RENDER: dict[ObjectIdentifier, str] = {
    NameOID.COMMON_NAME: "cn",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "ou",
    NameOID.ORGANIZATION_NAME: "o",
    NameOID.LOCALITY_NAME: "l",
    NameOID.STATE_OR_PROVINCE_NAME: "st",
    NameOID.COUNTRY_NAME: "c",
    NameOID.EMAIL_ADDRESS: "ea",
    NameOID.DOMAIN_COMPONENT: "dc",
    NameOID.TITLE: "t",
    NameOID.SERIAL_NUMBER: "serialNumber",
    UNSTRUCTURED_NAME: "hostname",
    UNSTRUCTURED_ADDRESS: "ipaddress",
}

# PKCS#9 asks for IA5String in unstructuredName and emailAddress; countries are PrintableString.
_TYPES: dict[ObjectIdentifier, _ASN1Type] = {
    UNSTRUCTURED_NAME: _ASN1Type.IA5String,
    UNSTRUCTURED_ADDRESS: _ASN1Type.PrintableString,
    NameOID.EMAIL_ADDRESS: _ASN1Type.IA5String,
    NameOID.DOMAIN_COMPONENT: _ASN1Type.IA5String,
    NameOID.COUNTRY_NAME: _ASN1Type.PrintableString,
    NameOID.SERIAL_NUMBER: _ASN1Type.PrintableString,
}


def name_attribute(oid: ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    """Build one name attribute with the string type IOS uses for it.

    Args:
        oid: the attribute type.
        value: the attribute value.

    Returns:
        The attribute.

    Raises:
        PkiError: the value is not valid for the attribute (e.g. a 3-letter country).
    """
    try:
        asn1_type = _TYPES.get(oid)
        if asn1_type is None:
            return x509.NameAttribute(oid, value)
        return x509.NameAttribute(oid, value, _type=asn1_type)
    except ValueError as exc:
        raise PkiError(f"bad value {value!r} for {_RENDER.get(oid, oid.dotted_string)}: {exc}") from exc


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _parse_ava(text: str, whole: str) -> x509.NameAttribute[str]:
    key, eq, value = text.partition("=")
    key = key.strip()
    value = value.strip()
    if not eq or not key or not value:
        raise PkiError(f"bad distinguished name {whole!r}: {text.strip()!r} is not KEY=VALUE")
    oid = _KEYWORDS.get(key.lower())
    if oid is None:
        try:
            oid = ObjectIdentifier(key)
        except ValueError as exc:
            raise PkiError(f"bad distinguished name {whole!r}: unknown attribute {key!r}") from exc
    return name_attribute(oid, value)


def parse_ios_dn(text: str) -> x509.Name:
    r"""Parse a DN as typed in IOS configuration (``issuer-name``, ``subject-name``).

    Components are separated by commas (``\,`` escapes one), multi-valued RDNs by ``+``;
    keywords are case-insensitive and spaces around ``=`` and ``,`` are ignored.

    Args:
        text: e.g. ``CN = ese-ios-ca, OU = ESE, O = Cisco Systems Inc, C = US, EA = team``.

    Returns:
        The name, in DER order (the reverse of the string, see the module docstring).

    Raises:
        PkiError: an empty name, a component without ``=``, an unknown keyword.
    """
    if not text.strip():
        raise PkiError("bad distinguished name: empty")
    rdns: list[x509.RelativeDistinguishedName] = []
    for component in _split_unescaped(text, ","):
        if not component.strip():
            raise PkiError(f"bad distinguished name {text!r}: empty component")
        avas = [_parse_ava(part, text) for part in _split_unescaped(component, "+")]
        rdns.append(x509.RelativeDistinguishedName(avas))
    return x509.Name(list(reversed(rdns)))


def _render_value(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.hex()


# DER sorts the attributes of a multi-valued RDN by their encoding; IOS prints a router's
# subject as serialNumber, hostname, ipaddress whatever their DER order.
_RDN_ORDER = {NameOID.SERIAL_NUMBER: 0, UNSTRUCTURED_NAME: 1, UNSTRUCTURED_ADDRESS: 2}


def render_rdn(rdn: x509.RelativeDistinguishedName) -> str:
    """Render one RDN as IOS prints it: ``serialNumber=FTX1+hostname=r1.example.com+ipaddress=10.0.0.1``."""
    parts = []
    for attr in sorted(rdn, key=lambda a: _RDN_ORDER.get(a.oid, 3)):
        keyword = _RENDER.get(attr.oid, attr.oid.dotted_string)
        parts.append(f"{keyword}={_render_value(attr.value)}")
    return "+".join(parts)


def render_dn_lines(name: x509.Name) -> list[str]:
    """Render a name one RDN per entry, most specific first (``show crypto pki certificates``)."""
    return [render_rdn(rdn) for rdn in reversed(name.rdns)]


def render_dn(name: x509.Name) -> str:
    """Render a name on one line as IOS does: ``cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,…``."""
    return ",".join(render_dn_lines(name))


def router_subject(fqdn: str, serial_number: str | None = None, ip_address: str | None = None) -> x509.Name:
    """The subject a router enrolls with: ``hostname=<fqdn>`` plus the optional extras.

    IOS asks "Include the router serial number in the subject name?" and "Include an IP
    address in the subject name?"; the answers join the hostname in one multi-valued RDN.

    Args:
        fqdn: the router's fully qualified domain name.
        serial_number: the router serial number, when the user answered yes.
        ip_address: the IP address, when the user gave one.

    Returns:
        A one-RDN name.
    """
    avas = []
    if serial_number:
        avas.append(name_attribute(NameOID.SERIAL_NUMBER, serial_number))
    avas.append(name_attribute(UNSTRUCTURED_NAME, fqdn))
    if ip_address:
        avas.append(name_attribute(UNSTRUCTURED_ADDRESS, ip_address))
    return x509.Name([x509.RelativeDistinguishedName(avas)])


def name_value(name: x509.Name, oid: ObjectIdentifier) -> str | None:
    """The first value of ``oid`` in ``name`` (e.g. the hostname IOS shows as ``Name:``), or None."""
    for attr in name.get_attributes_for_oid(oid):
        return _render_value(attr.value)
    return None


_STRING_CLASSES: dict[int, type[asn1_core.AbstractString]] = {
    0x0C: asn1_core.UTF8String,
    0x13: asn1_core.PrintableString,
    0x14: asn1_core.TeletexString,
    0x16: asn1_core.IA5String,
    0x1A: asn1_core.VisibleString,
    0x1C: asn1_core.UniversalString,
    0x1E: asn1_core.BMPString,
}


def name_from_der(der: bytes) -> x509.Name:
    """A cryptography Name from the DER of an X.501 Name (cryptography has no loader for one).

    String types are kept, so the result encodes back to the same bytes.

    Raises:
        PkiError: not a DER Name, or a value that is not a string.
    """
    try:
        parsed = asn1_x509.Name.load(der, strict=True)
        rdns = []
        for rdn in parsed.chosen:
            avas = []
            for ava in rdn:
                # The value may be a typed Choice or an opaque Any (OIDs asn1crypto does not
                # know, e.g. unstructuredName): read its universal tag from the encoding.
                raw = ava["value"].dump()
                string_class = _STRING_CLASSES.get(raw[0])
                if string_class is None:
                    raise ValueError(f"attribute {ava['type'].dotted} is not a string (tag {raw[0]:#x})")
                text = string_class.load(raw).native
                asn1_type = _ASN1Type(raw[0])
                avas.append(x509.NameAttribute(ObjectIdentifier(ava["type"].dotted), text, _type=asn1_type))
            rdns.append(x509.RelativeDistinguishedName(avas))
    except (ValueError, TypeError, KeyError) as exc:
        raise PkiError(f"not a distinguished name: {exc}") from exc
    return x509.Name(rdns)
