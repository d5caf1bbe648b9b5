"""X.509 helpers for pkilab: IOS names, keys, fingerprints, requests and the certificate server's signing.

The submodules are the API; the most used names are re-exported here.
"""

from pkilab.pki.ca import (
    RevokedEntry,
    build_crl,
    create_ca_certificate,
    issue_certificate,
    issue_from_csr,
)
from pkilab.pki.csr import CsrInfo, build_csr, load_csr
from pkilab.pki.fingerprints import md5_hex, md5_words, request_fingerprint, sha1_hex, sha1_words
from pkilab.pki.keys import (
    DEFAULT_MODULUS,
    MAX_MODULUS,
    MIN_MODULUS,
    export_key_pem,
    generate_rsa_key,
    import_key_pem,
    key_data_lines,
)
from pkilab.pki.names import parse_ios_dn, render_dn, render_dn_lines, router_subject

__all__ = [
    "DEFAULT_MODULUS",
    "MAX_MODULUS",
    "MIN_MODULUS",
    "CsrInfo",
    "RevokedEntry",
    "build_crl",
    "build_csr",
    "create_ca_certificate",
    "export_key_pem",
    "generate_rsa_key",
    "import_key_pem",
    "issue_certificate",
    "issue_from_csr",
    "key_data_lines",
    "load_csr",
    "md5_hex",
    "md5_words",
    "parse_ios_dn",
    "render_dn",
    "render_dn_lines",
    "request_fingerprint",
    "router_subject",
    "sha1_hex",
    "sha1_words",
]
