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
from functools import lru_cache
from typing import ClassVar

from pkilab.parsers._base import ASYNC_LOG_RE, FactsMixin, Line, at, builder_twin, fail, gc_paused, strip_echo

__all__ = ["Certificate", "CertificateTable", "parse_certificates"]

_NAME = "show crypto pki certificates"


@dataclass(frozen=True, slots=True)
class Certificate(FactsMixin):
    """One section of ``show crypto pki certificates``.

    Dates are kept as printed (``start``, ``end``, ``renew``) and as datetimes
    (``start_at``…: timezone-aware when the zone is known, naive otherwise, ``None`` if absent;
    read on access from the printed text through a cache, and part of ``to_dict()``).
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
    # verbose-only facts, in printed order: ("Signature Algorithm", "SHA256 with RSA Encryption")…
    details: tuple[tuple[str, str], ...] = ()
    key_usage: tuple[str, ...] = ()
    subject_alt_names: tuple[str, ...] = ()

    _derived_facts: ClassVar[tuple[str, ...]] = ("start_at", "end_at", "renew_at")

    @property
    def start_at(self) -> datetime | None:
        """``start`` as a datetime (aware when the zone is known; computed on access, cached)."""
        return at(self.start)

    @property
    def end_at(self) -> datetime | None:
        """``end`` as a datetime."""
        return at(self.end)

    @property
    def renew_at(self) -> datetime | None:
        """``renew`` as a datetime (``19:00:00 EST Dec 31 1969`` is the epoch: renewal is due)."""
        return at(self.renew)

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
        hostname = _hostname(self.subject)
        tps = d.get("tp")
        start, end, renew = d.get("start"), d.get("end"), d.get("renew")
        return Certificate(
            self.section, d.get("status"), d.get("serial"), d.get("usage"),
            tuple(tps.split()) if tps else (), start, end, renew,
            tuple(self.issuer), tuple(self.subject), d.get("name"), hostname, d.get("ip"),
            d.get("subject_serial"), d.get("storage"), tuple(self.cdp), d.get("md5"), d.get("sha1"),
            tuple(self.details), tuple(self.ku), tuple(self.san),
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


_WS = r" *+"  # IOS indents with blanks only
_VAL = r"([^\n]*+)"  # possessive: no backtracking; trailing blanks are stripped in _fast_cert
_DNS = r"((?: *+[A-Za-z][A-Za-z0-9.]*+=[^\n]*+\n)*+)"
# One whole plain section in its usual order (12.x to 15.x, any indentation, trailing blanks).
_CERT_BLOCK = re.compile(
    rf"((?:[A-Z][A-Za-z -]* )?Certificate)\n{_WS}Status: (\w+){_WS}\n"
    rf"{_WS}Certificate Serial Number(?: \(hex\))?: (\S+){_WS}\n{_WS}Certificate Usage: {_VAL}\n"
    rf"{_WS}Issuer:{_WS}\n{_DNS}{_WS}Subject:{_WS}\n"
    rf"(?:{_WS}Name: {_VAL}\n)?(?:{_WS}IP Address: {_VAL}\n)?(?:{_WS}Serial Number: {_VAL}\n)?{_DNS}"
    rf"(?:{_WS}CRL Distribution Points:{_WS}\n((?:{_WS}[a-z]++://[^\n]*+\n)*+))?"
    rf"{_WS}Validity Date:{_WS}\n{_WS}start date: {_VAL}\n{_WS}end +date: {_VAL}\n"
    rf"(?:{_WS}renew date: {_VAL}\n)?{_WS}Associated Trustpoints?: {_VAL}"
    rf"(?:\n{_WS}Storage: {_VAL})?\n?"
)
_CertBuilder = builder_twin(Certificate)
_new = object.__new__


def parse_certificates(text: str) -> CertificateTable:
    """Parse ``show crypto pki certificates`` (plain or ``verbose``), any release.

    A section printed in the usual order is read by one expression (``_CERT_BLOCK``); any
    other block goes through the line reader, which knows every line IOS prints here.

    Raises:
        ParseError: On a line that is neither a section title, a known ``Key: value`` line,
            nor a name/URL/decoded line under the key that announces it.
    """
    text, offset = strip_echo(text)
    reader = _LineReader()
    certs = reader.certs
    match = _CERT_BLOCK.match
    with gc_paused():
        size = len(text)
        pos = 0
        no, no_pos = 1 + offset, 0  # line number of the character at no_pos (counted lazily)
        while pos < size:
            if text[pos] == "\n":  # blank lines between sections
                pos += 1
                continue
            m = match(text, pos)
            if m is not None:
                end = m.end()
                if end == size or text[end] == "\n":  # the section ends where the block does
                    if reader.cur is not None:
                        reader.flush()
                    certs.append(_fast_cert(m))
                    pos = end
                    continue
            block_end = text.find("\n\n", pos)
            if block_end < 0:
                block_end = size
            no += text.count("\n", no_pos, pos)
            no_pos = pos
            for i, raw in enumerate(text[pos:block_end].split("\n")):
                reader.feed(raw, no + i)
            pos = block_end
    reader.flush()
    return CertificateTable(tuple(certs), tuple(reader.interleaved))


@lru_cache(maxsize=2048)
def _dn_lines(group: str) -> tuple[str, ...]:
    """The stripped lines of a name block (issuer blocks repeat: one CA signs many certificates)."""
    return tuple(filter(None, map(str.strip, group.split("\n"))))


def _lines(group: str | None) -> tuple[str, ...]:
    return tuple(filter(None, map(str.strip, group.split("\n")))) if group else ()


def _fast_cert(m: re.Match[str]) -> Certificate:
    section, status, serial, usage, issuer, name, ip, sn, subject, cdp, start, end, renew, tps, storage = m.groups()
    usage = usage.rstrip()
    start = start.rstrip()
    end = end.rstrip()
    if name:
        name = name.rstrip()
    if ip:
        ip = ip.rstrip()
    if sn:
        sn = sn.rstrip()
    if renew:
        renew = renew.rstrip()
    if storage:
        storage = storage.rstrip()
    subj = tuple(filter(None, map(str.strip, subject.split("\n"))))
    hostname = None
    at_ = subject.find("hostname=")
    if at_ > 0 and subject[at_ - 1] in "+ \t" and subject.find("hostname=", at_ + 9) < 0:
        hostname = subject[at_ + 9 : subject.find("\n", at_)]  # name lines always end with a newline
        if "+" in hostname:
            hostname = hostname[: hostname.find("+")]
        hostname = hostname.rstrip()
    elif "ostname=" in subject or "OSTNAME=" in subject:
        hostname = _hostname(subj)
    c = _new(_CertBuilder)
    c.section = section
    c.status = status
    c.serial = serial
    c.usage = usage
    c.trustpoints = tuple(tps.split())
    c.start = start
    c.end = end
    c.renew = renew
    c.issuer = _dn_lines(issuer)
    c.subject = subj
    c.name = name
    c.hostname = hostname
    c.ip_address = ip
    c.subject_serial_number = sn
    c.storage = storage
    c.crl_distribution_points = _lines(cdp)
    c.fingerprint_md5 = None
    c.fingerprint_sha1 = None
    c.details = ()
    c.key_usage = ()
    c.subject_alt_names = ()
    c.__class__ = Certificate
    result: Certificate = c
    return result


def _hostname(subject: tuple[str, ...] | list[str]) -> str | None:
    hostname = None
    for rdn in subject:
        for part in rdn.split("+"):
            if part[:9].lower() == "hostname=":
                hostname = part[9:]
    return hostname


class _LineReader:
    """Reads sections line by line, keeping the section in progress across blank lines."""

    def __init__(self) -> None:
        self.certs: list[Certificate] = []
        self.interleaved: list[str] = []
        self.cur: _Builder | None = None
        self.ctx = _C_NONE

    def flush(self) -> None:
        """Close the section in progress."""
        if self.cur is not None:
            self.certs.append(self.cur.build())
            self.cur = None

    def feed(self, raw: str, no: int) -> None:
        """Read one line (``no`` is its number in the output)."""
        t = raw.strip()
        if not t:
            return
        key, sep, value = t.partition(":")
        if not sep and "=" not in t and t.endswith("Certificate"):
            self.flush()
            self.cur, self.ctx = _Builder(t), _C_NONE
            return
        cur = self.cur
        if cur is None:
            if ASYNC_LOG_RE.match(t):
                self.interleaved.append(t)
                return
            raise fail(_NAME, Line(no, raw.rstrip()), "expected a section title")
        k = key.strip().lower()
        if "  " in k:
            k = _SPACES.sub(" ", k)
        entry = _KEYS.get(k) if sep else None
        if entry is not None and not (self.ctx == _C_SAN and k in _SUBJECT_KEYS):
            name, self.ctx = entry
            if name is not None:
                cur.d[name] = value.strip()
            elif value.strip():  # a name printed on the key's own line
                ctx = self.ctx
                (cur.issuer if ctx == _C_ISSUER else cur.subject if ctx == _C_SUBJECT else cur.cdp).append(
                    value.strip()
                )
            return
        if self.ctx == _C_SUBJECT and sep and k in _SUBJECT_KEYS:
            cur.d[_SUBJECT_KEYS[k]] = value.strip()
            return
        if sep and k in _DETAIL_KEYS:
            self.ctx = _DETAIL_KEYS[k]
            cur.details.append((key.strip(), value.strip()))
            return
        if _continuation(cur, self.ctx, t) or _PAGER_RE.match(t):
            return
        if ASYNC_LOG_RE.match(t):
            self.interleaved.append(t)
            return
        raise fail(_NAME, Line(no, raw.rstrip()))


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
