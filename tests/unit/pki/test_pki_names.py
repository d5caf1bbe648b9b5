from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from pkilab.errors import PkiError
from pkilab.pki.names import (
    UNSTRUCTURED_ADDRESS,
    UNSTRUCTURED_NAME,
    name_from_der,
    name_value,
    parse_ios_dn,
    render_dn,
    render_dn_lines,
    router_subject,
)

SEED_ISSUER = "CN = ese-ios-ca, OU = ESE, O = Cisco Systems Inc, L = Raleigh, ST = NC, C = US, EA = ese-vpn-team"


def test_seed_issuer_name_renders_like_ios() -> None:
    name = parse_ios_dn(SEED_ISSUER)
    assert render_dn(name) == "cn=ese-ios-ca,ou=ESE,o=Cisco Systems Inc,l=Raleigh,st=NC,c=US,ea=ese-vpn-team"
    assert render_dn_lines(name) == [
        "cn=ese-ios-ca",
        "ou=ESE",
        "o=Cisco Systems Inc",
        "l=Raleigh",
        "st=NC",
        "c=US",
        "ea=ese-vpn-team",
    ]


def test_parse_puts_rdns_in_der_order_like_ldap_strings() -> None:
    # IOS shows a Microsoft CA's DC=com,DC=pki,CN=OCSP-CA (DER order) as cn=OCSP-CA,dc=pki,dc=com.
    name = parse_ios_dn("cn=OCSP-CA,dc=pki,dc=pki-dt,dc=com")
    assert name.rdns[0].get_attributes_for_oid(NameOID.DOMAIN_COMPONENT)[0].value == "com"
    assert name.rdns[-1].get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "OCSP-CA"
    assert name.rfc4514_string() == "CN=OCSP-CA,DC=pki,DC=pki-dt,DC=com"


def test_email_and_country_types() -> None:
    name = parse_ios_dn(SEED_ISSUER)
    assert name.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value == "ese-vpn-team"
    assert name.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "US"
    for keyword in ("e", "ea", "email", "EmailAddress"):
        assert parse_ios_dn(f"{keyword}=x@y").get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value == "x@y"


def test_router_subject_uses_pkcs9_attributes() -> None:
    name = router_subject("ese-cryagg.ese.cisco.com")
    assert render_dn(name) == "hostname=ese-cryagg.ese.cisco.com"
    (attr,) = name.get_attributes_for_oid(UNSTRUCTURED_NAME)
    assert attr.oid.dotted_string == "1.2.840.113549.1.9.2"
    full = router_subject("r1.example.com", serial_number="FTX1234", ip_address="10.1.1.1")
    assert len(full.rdns) == 1
    assert render_dn(full) == "serialNumber=FTX1234+hostname=r1.example.com+ipaddress=10.1.1.1"
    assert name_value(full, UNSTRUCTURED_ADDRESS) == "10.1.1.1"
    assert UNSTRUCTURED_ADDRESS.dotted_string == "1.2.840.113549.1.9.8"


def test_parse_accepts_ios_keywords_and_multivalued_rdn() -> None:
    name = parse_ios_dn("hostname=r1.example.com+ipaddress=10.0.0.1, serialNumber=ABC, cn=a\\,b")
    assert render_dn(name) == "hostname=r1.example.com+ipaddress=10.0.0.1,serialNumber=ABC,cn=a,b"


@pytest.mark.parametrize("bad", ["", "  ", "cn", "cn=a,,ou=b", "zz=1", "cn=", "c=USA"])
def test_parse_rejects_bad_names(bad: str) -> None:
    with pytest.raises(PkiError):
        parse_ios_dn(bad)


def test_name_from_der_round_trips_types() -> None:
    name = parse_ios_dn(SEED_ISSUER + ", hostname=r1")
    again = name_from_der(name.public_bytes())
    assert again == name
    assert again.public_bytes() == name.public_bytes()
    with pytest.raises(PkiError):
        name_from_der(b"\x30\x03garbage")


def test_unknown_oid_renders_dotted() -> None:
    name = x509.Name([x509.NameAttribute(x509.ObjectIdentifier("1.2.3.4"), "v")])
    assert render_dn(name) == "1.2.3.4=v"
    assert parse_ios_dn("1.2.3.4=v") == name
