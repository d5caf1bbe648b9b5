"""``show crypto pki certificates [verbose] [TP]`` (= ``show crypto ca certificates``).

The layout is a list of sections (``Certificate``, ``CA Certificate``, ``Router Self-Signed
Certificate``…) of ``Key: value`` lines, distinguished-name lines (``cn=…``) under
``Issuer:``/``Subject:``, and URL lines under ``CRL Distribution Points:``. Indentation is
not trusted (several captures have it flattened), so lines are recognised by content. A
``Status: Pending`` section (an enrollment request) carries ``Key Usage`` and the request
fingerprints instead of a serial number and dates. 12.x prints ``Certificate Serial Number:``
without ``(hex)`` and a ``renew date:`` under ``Validity Date:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pkilab.errors import ParseError
from pkilab.parsers._base import ASYNC_LOG_RE, FactsMixin, at, lineno_at, strip_echo

__all__ = ["Certificate", "CertificateTable", "parse_certificates"]

_NAME = "show crypto pki certificates"


@dataclass(frozen=True, slots=True)
class Certificate(FactsMixin):
    """One section of ``show crypto pki certificates``.

    Dates are kept as printed (``start``, ``end``, ``renew``) and as datetimes
    (``start_at``…: timezone-aware when the zone is known, naive otherwise, ``None`` if absent).
    Distinguished names are tuples of ``attr=value`` lines in printed order.
    """

    section: str
    status: str | None
    serial: str | None
    usage: str | None
    trustpoints: tuple[str, ...]
    start: str | None
    end: str | None
    renew: str | None
    issuer: tuple[str, ...]
    subject: tuple[str, ...]
    name: str | None
    hostname: str | None
    ip_address: str | None
    subject_serial_number: str | None
    storage: str | None
    crl_distribution_points: tuple[str, ...]
    fingerprint_md5: str | None
    fingerprint_sha1: str | None
    start_at: datetime | None
    end_at: datetime | None
    renew_at: datetime | None
    # verbose-only facts, in printed order: ("Signature Algorithm", "SHA256 with RSA Encryption")…
    details: tuple[tuple[str, str], ...] = ()
    key_usage: tuple[str, ...] = ()
    subject_alt_names: tuple[str, ...] = ()

    @property
    def issuer_dn(self) -> str:
        """The issuer as one comma-separated string (``cn=ca,ou=ESE``)."""
        return ",".join(self.issuer)

    @property
    def subject_dn(self) -> str:
        """The subject distinguished name as one comma-separated string."""
        return ",".join(self.subject)

    def detail(self, key: str) -> str | None:
        """Return the value of a verbose line such as ``Signature Algorithm``, or ``None``."""
        return next((v for k, v in self.details if k == key), None)


@dataclass(frozen=True, slots=True)
class CertificateTable(FactsMixin):
    """Every section, in printed order, and console lines interleaved with the output."""

    certificates: tuple[Certificate, ...]
    interleaved_log: tuple[str, ...] = ()

    def by_trustpoint(self, trustpoint: str) -> tuple[Certificate, ...]:
        """Return the sections associated with ``trustpoint``."""
        return tuple(c for c in self.certificates if trustpoint in c.trustpoints)


_DN_RE = re.compile(r"^[A-Za-z][A-Za-z0-9.]*=")
_PAGER_RE = re.compile(r"^-+\s*More\s*-+$")

# context a continuation line belongs to
_C_NONE, _C_ISSUER, _C_SUBJECT, _C_CDP, _C_KU, _C_SAN, _C_BC, _C_VALIDITY, _C_AIA = range(9)


class _Builder:
    """Collects one section; plain attributes keep the hot loop cheap."""

    __slots__ = ("cdp", "d", "details", "issuer", "ku", "san", "section", "subject")

    def __init__(self, section: str):
        self.section = section
        self.d: dict[str, str] = {}
        self.issuer: list[str] = []
        self.subject: list[str] = []
        self.cdp: list[str] = []
        self.ku: list[str] = []
        self.san: list[str] = []
        self.details: list[tuple[str, str]] = []

    def build(self) -> Certificate:
        d = self.d
        hostname = None
        for rdn in self.subject:
            for part in rdn.split("+"):
                if part[:9].lower() == "hostname=":
                    hostname = part[9:]
        tps = d.get("tp")
        start, end, renew = d.get("start"), d.get("end"), d.get("renew")
        return Certificate(
            self.section, d.get("status"), d.get("serial"), d.get("usage"),
            tuple(tps.split()) if tps else (), start, end, renew,
            tuple(self.issuer), tuple(self.subject), d.get("name"), hostname, d.get("ip"),
            d.get("subject_serial"), d.get("storage"), tuple(self.cdp), d.get("md5"), d.get("sha1"),
            at(start), at(end), at(renew), tuple(self.details), tuple(self.ku), tuple(self.san),
        )  # fmt: skip


# key (lower case, spaces collapsed) -> (field in the builder dict or None, context it opens)
_KEYS: dict[str, tuple[str | None, int]] = {
    "status": ("status", _C_NONE),
    "certificate serial number (hex)": ("serial", _C_NONE),
    "certificate serial number": ("serial", _C_NONE),
    "certificate usage": ("usage", _C_NONE),
    "key usage": ("usage", _C_NONE),
    "issuer": (None, _C_ISSUER),
    "subject": (None, _C_SUBJECT),
    "validity date": (None, _C_VALIDITY),
    "start date": ("start", _C_VALIDITY),
    "end date": ("end", _C_VALIDITY),
    "renew date": ("renew", _C_VALIDITY),
    "associated trustpoints": ("tp", _C_NONE),
    "associated trustpoint": ("tp", _C_NONE),
    "storage": ("storage", _C_NONE),
    "crl distribution points": (None, _C_CDP),
    "certificate request fingerprint md5": ("md5", _C_NONE),
    "certificate request fingerprint sha1": ("sha1", _C_NONE),
    "fingerprint md5": ("md5", _C_NONE),
    "fingerprint sha1": ("sha1", _C_NONE),
}
# subject-context keys
_SUBJECT_KEYS = {"name": "name", "ip address": "ip", "serial number": "subject_serial"}
# verbose lines kept in ``details`` (value may be empty); the int is the context opened
_DETAIL_KEYS: dict[str, int] = {
    "version": _C_NONE, "subject key info": _C_NONE, "public key algorithm": _C_NONE,
    "rsa public key": _C_NONE, "ec public key": _C_NONE, "signature algorithm": _C_NONE,
    "x509v3 extensions": _C_NONE, "x509v3 key usage": _C_KU, "x509v3 subject key id": _C_NONE,
    "x509v3 authority key id": _C_NONE, "x509v3 basic constraints": _C_BC,
    "x509v3 subject alternative name": _C_SAN, "authority info access": _C_AIA,
    "cert install time": _C_NONE, "cert install time in nsec": _C_NONE, "key label": _C_NONE,
    "key storage device": _C_NONE, "x509v3 extended key usage": _C_KU,
    "x509v3 crl distribution points": _C_CDP,
    "x509v3 certificate policies": _C_NONE, "key type": _C_NONE, "key size": _C_NONE,
}  # fmt: skip
_SPACES = re.compile(r"\s+")


def parse_certificates(text: str) -> CertificateTable:
    """Parse ``show crypto pki certificates`` (plain or ``verbose``), any release.

    Raises:
        ParseError: On a line that is neither a section title, a known ``Key: value`` line,
            nor a name/URL/decoded line under the key that announces it.
    """
    text, offset = strip_echo(text)
    certs: list[Certificate] = []
    interleaved: list[str] = []
    cur: _Builder | None = None
    ctx = _C_NONE
    pos = 0
    for raw in text.split("\n"):
        line_pos = pos
        pos += len(raw) + 1
        t = raw.strip()
        if not t:
            continue
        key, sep, value = t.partition(":")
        if not sep and "=" not in t and t.endswith("Certificate"):
            if cur is not None:
                certs.append(cur.build())
            cur, ctx = _Builder(t), _C_NONE
            continue
        if cur is None:
            if ASYNC_LOG_RE.match(t):
                interleaved.append(t)
                continue
            raise ParseError(_NAME, raw.rstrip(), lineno_at(text, line_pos, offset), "expected a section title")
        k = key.strip().lower()
        if "  " in k:
            k = _SPACES.sub(" ", k)
        entry = _KEYS.get(k) if sep else None
        if entry is not None and not (ctx == _C_SAN and k in _SUBJECT_KEYS):
            name, ctx = entry
            if name is not None:
                cur.d[name] = value.strip()
            elif value.strip():  # a name printed on the key's own line
                (cur.issuer if ctx == _C_ISSUER else cur.subject if ctx == _C_SUBJECT else cur.cdp).append(
                    value.strip()
                )
            continue
        if ctx == _C_SUBJECT and sep and k in _SUBJECT_KEYS:
            cur.d[_SUBJECT_KEYS[k]] = value.strip()
            continue
        if sep and k in _DETAIL_KEYS:
            ctx = _DETAIL_KEYS[k]
            cur.details.append((key.strip(), value.strip()))
            continue
        if _continuation(cur, ctx, t):
            continue
        if _PAGER_RE.match(t):
            continue
        if ASYNC_LOG_RE.match(t):
            interleaved.append(t)
            continue
        raise ParseError(_NAME, raw.rstrip(), lineno_at(text, line_pos, offset))
    if cur is not None:
        certs.append(cur.build())
    return CertificateTable(tuple(certs), tuple(interleaved))


def _continuation(cur: _Builder, ctx: int, t: str) -> bool:
    """Store a line that belongs to the key above it; False when it does not."""
    if ctx in (_C_ISSUER, _C_SUBJECT) and _DN_RE.match(t):
        (cur.issuer if ctx == _C_ISSUER else cur.subject).append(t)
        return True
    if ctx == _C_CDP and ("://" in t or t.startswith(("ldap:", "URI:", "DirName:"))):
        cur.cdp.append(t)
        return True
    if ctx == _C_KU and re.fullmatch(r"[A-Za-z][A-Za-z ]*", t):
        cur.ku.append(t)
        return True
    if ctx == _C_SAN and ":" in t:
        cur.san.append(_SPACES.sub(" ", t))
        return True
    if ctx == _C_BC and re.fullmatch(r"(?:CA|Path Length|pathlen)\s*:\s*\S+", t):
        k, _, v = t.partition(":")
        cur.details.append((k.strip(), v.strip()))
        return True
    if ctx == _C_AIA and ("://" in t or t.startswith(("OCSP", "CA Issuers"))):
        cur.details.append(("Authority Info Access", t))
        return True
    return False
