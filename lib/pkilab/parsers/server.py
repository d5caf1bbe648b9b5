"""The IOS certificate server and CRL views.

``show crypto pki server [NAME]``, ``crypto pki server NAME info requests`` (=
``show crypto pki server NAME requests``), ``crypto pki server NAME info crl`` (=
``show crypto pki server NAME crl``), ``show crypto pki server NAME certificates``,
``show crypto pki crls`` and ``show crypto pki timers`` (also ``timer detail``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pkilab.parsers._base import DIGITS, FactsMixin, Line, at, clean_lines, fail, number, to_int

__all__ = [
    "Crl", "CrlList", "IssuedCertificate", "IssuedCertificates", "PkiServer", "PkiServers", "PkiTimer",
    "PkiTimers", "RevokedEntry", "ServerCrl", "ServerRequest", "ServerRequests", "parse_crls",
    "parse_pki_server", "parse_pki_timers", "parse_server_certificates", "parse_server_crl",
    "parse_server_requests",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class PkiServer(FactsMixin):
    """One certificate server of ``show crypto pki server``.

    ``name`` is ``None`` in the 12.3T layout (``Certificate Server status: enabled, configured``),
    which prints no name. ``status`` is as printed (``enabled``, ``disabled, HTTP Server is
    disabled``); ``enabled`` tells whether it starts with ``enabled``.
    """

    name: str | None
    status: str | None
    enabled: bool | None
    state: str | None
    granting_mode: str | None
    last_serial: str | None
    fingerprint: str | None
    storage: str | None
    database_level: str | None
    issuer: str | None
    ca_expiration: str | None
    crl_next_update: str | None
    crl_storage: str | None
    locked: bool | None
    ra_mode: bool
    ra_fingerprint: str | None
    rollover: str | None
    rollover_timer: str | None
    ca_expiration_at: datetime | None
    crl_next_update_at: datetime | None


@dataclass(frozen=True, slots=True)
class PkiServers(FactsMixin):
    """``show crypto pki server``: every server printed."""

    servers: tuple[PkiServer, ...]


# printed key (lower case) -> builder field
_SERVER_KEYS = {
    "status": "status", "state": "state", "issuer name": "issuer", "ca cert fingerprint": "fingerprint",
    "ra cert fingerprint": "ra_fingerprint", "granting mode is": "granting_mode",
    "last certificate issued serial number (hex)": "last_serial",
    "last certificate issued serial number": "last_serial",
    "ca certificate expiration timer": "ca_expiration", "crl nextupdate timer": "crl_next_update",
    "current primary storage dir": "storage", "current storage dir": "storage",
    "current storage dir for .crl files": "crl_storage", "database level": "database_level",
    "autorollover timer": "rollover_timer", "auto-rollover timer": "rollover_timer",
}  # fmt: skip
_SERVER_HEAD = re.compile(r"^Certificate Server (?:status:\s*(.*)|(\S+?):)$")
_SERVER_FLAGS = re.compile(
    r"^(?:Server's configuration is (locked|unlocked)\b.*|Server configured in (RA) mode|"
    r"(Auto-Rollover configured.*))$"
)


def parse_pki_server(text: str) -> PkiServers:
    """Parse ``show crypto pki server [NAME]`` (12.3T, 12.4, 15.x, IOS-XE, RA mode).

    Raises:
        ParseError: On a line that is not a known server fact.
    """
    name = "show crypto pki server"
    lines, _ = clean_lines(text)
    servers: list[PkiServer] = []
    cur: dict[str, str | bool | None] | None = None
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if m := _SERVER_HEAD.match(s):
            if cur is not None:
                servers.append(_server(cur))
            cur = {"name": m.group(2), "status": m.group(1)}
            continue
        if cur is None:
            raise fail(name, ln, "expected 'Certificate Server NAME:'")
        if m := _SERVER_FLAGS.match(s):
            if m.group(1):
                cur["locked"] = m.group(1) == "locked"
            elif m.group(2):
                cur["ra_mode"] = True
            else:
                cur["rollover"] = m.group(3)
            continue
        key, sep, value = s.partition(":")
        fld = _SERVER_KEYS.get(key.strip().lower())
        if not sep or fld is None:
            raise fail(name, ln)
        cur[fld] = value.strip()
    if cur is not None:
        servers.append(_server(cur))
    return PkiServers(tuple(servers))


def _server(d: dict[str, str | bool | None]) -> PkiServer:
    def s(key: str) -> str | None:
        v = d.get(key)
        return v if isinstance(v, str) else None

    status = s("status")
    locked = d.get("locked")
    return PkiServer(
        s("name"), status, status.startswith("enabled") if status else None, s("state"), s("granting_mode"),
        s("last_serial"), s("fingerprint"), s("storage"), s("database_level"), s("issuer"),
        s("ca_expiration"),
        s("crl_next_update"), s("crl_storage"), locked if isinstance(locked, bool) else None,
        bool(d.get("ra_mode")), s("ra_fingerprint"), s("rollover"), s("rollover_timer"),
        at(s("ca_expiration")), at(s("crl_next_update")),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ServerRequest(FactsMixin):
    """One row of the enrollment request database.

    Attributes:
        id: The ReqID.
        state: ``pending``, ``granted``, ``denied``…
        fingerprint: The request's MD5 fingerprint (32 hex digits), ``None`` when blank.
        subject: The SubjectName column as printed.
        section: ``router``, ``ra`` or ``subordinate_ca``; ``None`` in the 12.x layout.
    """

    id: int
    state: str
    fingerprint: str | None
    subject: str
    section: str | None


@dataclass(frozen=True, slots=True)
class ServerRequests(FactsMixin):
    """``crypto pki server NAME info requests``: the rows in printed order."""

    requests: tuple[ServerRequest, ...]

    def by_id(self, req_id: int) -> ServerRequest | None:
        """Return the router request with ``req_id`` (or any section's, if no router one)."""
        rows = [r for r in self.requests if r.id == req_id]
        return next((r for r in rows if r.section in ("router", None)), rows[0] if rows else None)


_REQ_SECTIONS = {
    "subordinate ca certificate requests:": "subordinate_ca",
    "ra certificate requests:": "ra",
    "router certificates requests:": "router",
    "router certificate requests:": "router",
}
_REQ_ROW = re.compile(r"^(\d+)\s+([a-zA-Z-]+)\s+(?:([0-9A-Fa-f]{32})\b\s*)?(.*)$")
_REQ_FILLER = re.compile(r"^(?:Enrollment Request Database:|ReqID\s+State\s+Fingerprint\s+SubjectName|-{10,})$")


def parse_server_requests(text: str) -> ServerRequests:
    """Parse ``crypto pki server NAME info requests`` / ``show crypto pki server NAME requests``.

    Raises:
        ParseError: On a line that is not a title, header, rule or request row.
    """
    lines, _ = clean_lines(text)
    rows: list[ServerRequest] = []
    section: str | None = None
    for ln in lines:
        s = ln.text.strip()
        if not s or _REQ_FILLER.match(s):
            continue
        if s.lower() in _REQ_SECTIONS:
            section = _REQ_SECTIONS[s.lower()]
            continue
        m = _REQ_ROW.match(s)
        if m is None:
            raise fail("crypto pki server info requests", ln)
        req_id = number("crypto pki server info requests", ln, m.group(1), "ReqID")
        rows.append(ServerRequest(req_id, m.group(2), m.group(3), m.group(4).strip(), section))
    return ServerRequests(tuple(rows))


# A certificate serial number as the CRL view prints it: at most 20 octets (RFC 5280, 4.1.2.2).
_HEX_SERIAL = re.compile(r"(?:0x)?[0-9A-Fa-f]{1,40}")


@dataclass(frozen=True, slots=True)
class RevokedEntry(FactsMixin):
    """A revoked certificate in the server's CRL: serial as printed (``0x03`` or ``02``)."""

    serial: str
    date: str | None
    date_at: datetime | None

    @property
    def serial_int(self) -> int:
        """The serial number as an integer (it is always hexadecimal)."""
        return int(self.serial, 16)


@dataclass(frozen=True, slots=True)
class ServerCrl(FactsMixin):
    """``crypto pki server NAME info crl``."""

    issuer: str | None
    this_update: str | None
    next_update: str | None
    entries: int | None
    size: int | None
    revoked: tuple[RevokedEntry, ...]
    this_update_at: datetime | None
    next_update_at: datetime | None


def parse_server_crl(text: str) -> ServerCrl:
    """Parse ``crypto pki server NAME info crl`` / ``show crypto pki server NAME crl``.

    Raises:
        ParseError: On a line that is not a CRL fact or a revoked entry.
    """
    name = "crypto pki server info crl"
    lines, _ = clean_lines(text)
    d: dict[str, str] = {}
    entries: int | None = None
    revoked: list[tuple[str, str | None]] = []
    for ln in lines:
        s = ln.text.strip()
        if not s or s in ("Certificate Revocation List:", "Revoked Certificates:"):
            continue
        key, sep, value = s.partition(":")
        k = key.strip().lower()
        value = value.strip()
        if not sep:
            raise fail(name, ln)
        if k in ("serial number", "serial number (hex)"):
            if not _HEX_SERIAL.fullmatch(value):
                raise fail(name, ln, "serial number is not hexadecimal")
            revoked.append((value, None))
        elif k == "revocation date":
            if not revoked or revoked[-1][1] is not None:
                raise fail(name, ln, "revocation date without a serial number")
            revoked[-1] = (revoked[-1][0], value)
        elif k == "number of crl entries":
            entries = number(name, ln, value, "number of CRL entries")
        elif k in ("issuer", "this update", "next update", "crl size"):
            d[k] = value
        else:
            raise fail(name, ln)
    size = d.get("crl size", "").split()
    return ServerCrl(
        d.get("issuer"), d.get("this update"), d.get("next update"), entries, to_int(size[0]) if size else None,
        tuple(RevokedEntry(serial, date, at(date)) for serial, date in revoked),
        at(d.get("this update")), at(d.get("next update")),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class IssuedCertificate(FactsMixin):
    """A row of ``show crypto pki server NAME certificates``."""

    serial: str
    issued: str
    expires: str
    subject: str
    issued_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedCertificates(FactsMixin):
    """``show crypto pki server NAME certificates``: certificates the server issued."""

    certificates: tuple[IssuedCertificate, ...]


_STAMP = r"\d{1,2}:\d\d:\d\d(?:\.\d+)? \S+ [A-Z][a-z]{2} +\d{1,2} \d{4}"
_ISSUED_ROW = re.compile(rf"^(\S+)\s+({_STAMP})\s+({_STAMP})\s*(.*)$")


def parse_server_certificates(text: str) -> IssuedCertificates:
    """Parse ``show crypto pki server NAME certificates``.

    Raises:
        ParseError: On a line that is not the header or a certificate row.
    """
    lines, _ = clean_lines(text)
    rows = []
    for ln in lines:
        s = ln.text.strip()
        if not s or re.match(r"^Serial\s+Issued date\s+Expire date\s+Subject Name$", s):
            continue
        m = _ISSUED_ROW.match(s)
        if m is None:
            raise fail("show crypto pki server certificates", ln)
        rows.append(IssuedCertificate(m.group(1), m.group(2), m.group(3), m.group(4), at(m.group(2)), at(m.group(3))))
    return IssuedCertificates(tuple(rows))


@dataclass(frozen=True, slots=True)
class Crl(FactsMixin):
    """One CRL of ``show crypto pki crls``.

    ``retrieved_from`` holds the lines under ``Retrieved from CRL Distribution Point:``
    (a URL, or ``** CDP Not Published - Retrieved via SCEP``).
    """

    issuer: str | None
    last_update: str | None
    next_update: str | None
    downloaded: str | None
    retrieved_from: tuple[str, ...]
    der_size: int | None
    cached: bool
    last_update_at: datetime | None
    next_update_at: datetime | None


@dataclass(frozen=True, slots=True)
class CrlList(FactsMixin):
    """``show crypto pki crls``: the CRLs and the parsed-CRL cache sizes."""

    crls: tuple[Crl, ...]
    cache_size: int | None
    cache_max_size: int | None


def parse_crls(text: str) -> CrlList:
    """Parse ``show crypto pki crls`` (= ``show crypto ca crls``).

    Raises:
        ParseError: On a line that is not a CRL fact.
    """
    name = "show crypto pki crls"
    lines, _ = clean_lines(text)
    crls: list[Crl] = []
    cur: dict[str, str | list[str] | bool] | None = None
    expect = ""  # what a bare line would be: "issuer" or "cdp"
    sizes: dict[str, int] = {}
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if s.startswith("CRL Issuer Name:"):
            if cur is not None:
                crls.append(_crl(cur))
            cur = {"cdp": []}
            rest = s.partition(":")[2].strip()
            if rest:
                cur["issuer"] = rest
            expect = "" if rest else "issuer"
            continue
        if m := re.match(r"^Parsed CRL cache (current|maximum) size is (\d+) bytes$", s):
            sizes[m.group(1)] = number(name, ln, m.group(2), "cache size")
            continue
        if cur is None:
            raise fail(name, ln, "expected 'CRL Issuer Name:'")
        expect = _crl_line(cur, s, expect, ln, name)
    if cur is not None:
        crls.append(_crl(cur))
    return CrlList(tuple(crls), sizes.get("current"), sizes.get("maximum"))


def _crl_line(cur: dict[str, str | list[str] | bool], s: str, expect: str, ln: Line, name: str) -> str:
    if m := re.match(r"^(LastUpdate|NextUpdate|CRL downloaded at):\s*(.*)$", s):
        cur[m.group(1)] = m.group(2)
        return ""
    if s == "Retrieved from CRL Distribution Point:":
        return "cdp"
    if m := re.match(rf"^CRL DER is ({DIGITS}) bytes$", s):
        cur["der"] = m.group(1)
        return ""
    if s == "CRL is stored in parsed CRL cache":
        cur["cached"] = True
        return ""
    if expect == "issuer" and "=" in s:
        cur["issuer"] = s
        return ""
    if expect == "cdp":
        cdp = cur["cdp"]
        assert isinstance(cdp, list)
        cdp.append(s)
        return "cdp"
    raise fail(name, ln)


def _crl(d: dict[str, str | list[str] | bool]) -> Crl:
    def s(key: str) -> str | None:
        v = d.get(key)
        return v if isinstance(v, str) else None

    cdp = d.get("cdp")
    der = s("der")
    return Crl(
        s("issuer"), s("LastUpdate"), s("NextUpdate"), s("CRL downloaded at"),
        tuple(cdp) if isinstance(cdp, list) else (), to_int(der), bool(d.get("cached")),
        at(s("LastUpdate")), at(s("NextUpdate")),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PkiTimer(FactsMixin):
    """One ``|`` line of ``show crypto pki timers``.

    Attributes:
        section: ``PKI Timers``, ``CS Timers``…
        nested: False for a section's summary line (the next timer to fire), True for the
            timers listed under it.
        remaining: Time left as printed (``175d14:11:34.104``).
        expires: The ISO 8601 stamp in parentheses (IOS-XE), or ``None``.
        label: What fires (``RENEW ese-ios-ca``, ``SESSION CLEANUP``), ``""`` on summary lines.
        seconds: ``remaining`` in seconds.
    """

    section: str
    nested: bool
    remaining: str
    expires: str | None
    label: str
    seconds: float
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class PkiTimers(FactsMixin):
    """``show crypto pki timers``: every timer line in printed order."""

    timers: tuple[PkiTimer, ...]


_DURATION = rf"(?:{DIGITS}d\s*)?(?:{DIGITS}:){{0,2}}{DIGITS}(?:\.[0-9]{{1,9}})?"
_TIMER = re.compile(rf"^(\s*)\|\s*({_DURATION})(?![0-9.])\s*(?:\((\S+)\))?\s*(.*)$")
_DURATION_PARTS = re.compile(rf"^(?:({DIGITS})d\s*)?(?:({DIGITS}):)?(?:({DIGITS}):)?({DIGITS}(?:\.[0-9]{{1,9}})?)$")


def _seconds(text: str) -> float:
    m = _DURATION_PARTS.match(text)
    if m is None:
        return 0.0
    days, a, b, secs = m.groups()
    hours, mins = (a, b) if b is not None else (None, a)
    return (to_int(days) or 0) * 86400 + (to_int(hours) or 0) * 3600 + (to_int(mins) or 0) * 60 + float(secs)


def parse_pki_timers(text: str) -> PkiTimers:
    """Parse ``show crypto pki timers`` (12.4/15.x) and ``show crypto pki timer detail`` (IOS-XE).

    Raises:
        ParseError: On a line that is not a section title or a ``|`` timer line.
    """
    lines, _ = clean_lines(text)
    timers: list[PkiTimer] = []
    section = "PKI Timers"
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if re.fullmatch(r"[A-Za-z][A-Za-z ]*Timers", s):
            section = s
            continue
        m = _TIMER.match(ln.text)
        if m is None:
            raise fail("show crypto pki timers", ln)
        indent, remaining, iso, label = m.groups()
        # a summary line has no label; some captures print labelled timers unindented
        nested = bool(indent) or bool(label.strip())
        timers.append(PkiTimer(section, nested, remaining, iso, label.strip(), _seconds(remaining), at(iso)))
    return PkiTimers(tuple(timers))
