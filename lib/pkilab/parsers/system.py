"""Router housekeeping outputs.

``show clock``, ``show ntp status|associations [detail]``, ``dir FS:``, ``more nvram:N.cnm``,
``show version`` and ``show ip interface brief``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pkilab.parsers._base import DIGITS, FactsMixin, Line, at, clean_lines, fail, number, quoted, to_int

__all__ = [
    "Clock",
    "CnmFile",
    "DirEntry",
    "DirListing",
    "Directory",
    "IpInterface",
    "IpInterfaceBrief",
    "NtpAssociation",
    "NtpAssociations",
    "NtpStatus",
    "Version",
    "parse_clock",
    "parse_dir",
    "parse_ip_interface_brief",
    "parse_more_cnm",
    "parse_ntp_associations",
    "parse_ntp_status",
    "parse_version",
]  # fmt: skip

# Header lines of ``exec prompt timestamp`` that some captures carry before the output.
_LOAD_RE = re.compile(r"^Load for five secs: .*$")
_TIME_SOURCE_RE = re.compile(r"^Time source is (.*?)(?:, (\d.*))?$")


@dataclass(frozen=True, slots=True)
class Clock(FactsMixin):
    """``show clock [detail]``.

    Attributes:
        time: ``02:49:05.799``.
        timezone: ``EST``, ``UTC``, ``utc``… as printed.
        date: ``Mon Feb 5 2035`` (weekday, month, day, year as printed).
        marker: ``*`` (time not authoritative), ``.`` (authoritative, not synchronised) or ``""``.
        text: The whole stamp without the marker.
        source: From ``Time source is …`` (``NTP``, ``user configuration``, ``hardware calendar``).
        datetime: Timezone-aware when the zone is known, naive otherwise.
    """

    time: str
    timezone: str
    date: str
    marker: str
    text: str
    source: str | None
    datetime: datetime | None

    @property
    def authoritative(self) -> bool:
        """True when IOS trusts its clock (no ``*``)."""
        return self.marker != "*"

    @property
    def synchronized(self) -> bool:
        """True when the clock is neither unauthoritative (``*``) nor unsynchronised (``.``)."""
        return self.marker == ""


_CLOCK = re.compile(
    r"^([*.]?)(\d{1,2}:\d\d:\d\d(?:\.\d+)?)\s+(\S+)\s+((?:[A-Z][a-z]{2}\s+)?[A-Z][a-z]{2}\s+\d{1,2}\s+\d{4})$"
)


def parse_clock(text: str) -> Clock:
    """Parse ``show clock`` (``*``, ``.`` or no marker; ``detail`` adds the time source).

    Raises:
        ParseError: On an unknown line, or when no time stamp is printed.
    """
    name = "show clock"
    lines, _ = clean_lines(text)
    found: re.Match[str] | None = None
    source = None
    for ln in lines:
        s = ln.text.strip()
        if not s or _LOAD_RE.match(s) or s.startswith(("Summer time", "Standard time")):
            continue
        if m := _TIME_SOURCE_RE.match(s):
            source = m.group(1)
            continue
        if s == "No time source":
            source = "none"
            continue
        m = _CLOCK.match(s)
        if m is None or found is not None:
            raise fail(name, ln)
        found = m
    if found is None:
        raise fail(name, Line(0, text.strip()[:80]), "no time stamp")
    marker, time, zone, date = found.groups()
    date = " ".join(date.split())
    stamp = f"{time} {zone} {date}"
    return Clock(time, zone, date, marker, stamp, source, at(stamp))


@dataclass(frozen=True, slots=True)
class NtpStatus(FactsMixin):
    """``show ntp status``. Numbers as printed where units vary; ``None`` when not printed."""

    synchronized: bool
    stratum: int | None
    reference: str | None
    nominal_freq: str | None
    actual_freq: str | None
    precision: str | None
    uptime: str | None
    resolution: str | None
    reference_time: str | None
    offset: str | None
    root_delay: str | None
    root_dispersion: str | None
    peer_dispersion: str | None
    loopfilter_state: str | None
    drift: str | None
    poll_interval: int | None
    last_update: int | None


# one comma-separated clause of a status line -> (field, group index)
_NTP_CLAUSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), f)
    for p, f in (
        (r"^Clock is (synchronized|unsynchronized)$", "sync"),
        (rf"^stratum ({DIGITS})$", "stratum"),
        (r"^reference is (\S+)$", "reference"),
        (r"^no reference clock$", "noref"),
        (r"^nominal freq is (.+)$", "nominal_freq"),
        (r"^actual freq is (.+)$", "actual_freq"),
        (r"^precision is (.+)$", "precision"),
        (r"^ntp uptime is (.+)$", "uptime"),
        (r"^resolution is (.+)$", "resolution"),
        (r"^reference time is (.+)$", "reference_time"),
        (r"^clock offset is (.+)$", "offset"),
        (r"^root delay is (.+)$", "root_delay"),
        (r"^root dispersion is (.+)$", "root_dispersion"),
        (r"^peer dispersion is (.+)$", "peer_dispersion"),
        (r"^loopfilter state is (.+)$", "loopfilter_state"),
        (r"^drift is (.+)$", "drift"),
        (rf"^system poll interval is ({DIGITS})$", "poll_interval"),
        (rf"^last update was ({DIGITS}) sec ago\.?$", "last_update"),
        (r"^never updated\.?$", "never"),
    )
)


# A clause separator, or a parenthesis (which decides whether the separators before it are
# inside a group): for ``show ntp status`` a comma needs a blank after it.
_STATUS_COMMA = re.compile(r"[()]|,\s+")
_DETAIL_COMMA = re.compile(r"[()]|,\s*")


def _clauses(text: str, separators: re.Pattern[str]) -> list[str]:
    """Split ``text`` at the commas that are not inside parentheses.

    A comma is inside when the next parenthesis after it is a ``)``
    (``reference time is E0B9C7B5.9F3E4A12 (10:22:13.622 UTC Thu May 23 2024)``). One forward
    pass settles every comma; a lookahead per comma rescanned the rest of the line each time.
    """
    cuts: list[tuple[int, int]] = []
    pending: list[tuple[int, int]] = []  # commas seen since the last parenthesis
    for m in separators.finditer(text):
        if m.group() == "(":
            cuts += pending
            pending = []
        elif m.group() == ")":
            pending = []
        else:
            pending.append(m.span())
    cuts += pending
    out, start = [], 0
    for begin, end in cuts:
        out.append(text[start:begin])
        start = end
    out.append(text[start:])
    return out


def parse_ntp_status(text: str) -> NtpStatus:
    """Parse ``show ntp status`` (12.x to IOS-XE).

    Raises:
        ParseError: On a clause that is not a known NTP status fact.
    """
    lines, _ = clean_lines(text)
    d: dict[str, str] = {}
    for i, ln in enumerate(lines):
        s = ln.text.strip()
        if not s or _LOAD_RE.match(s) or _TIME_SOURCE_RE.match(s):
            continue
        if i == len(lines) - 1 and re.fullmatch(r"[\w.-]+", s):
            continue  # a bare prompt left at the end of the capture
        for clause in _clauses(s, _STATUS_COMMA):
            for rx, fld in _NTP_CLAUSES:
                m = rx.match(clause.strip())
                if m:
                    d[fld] = m.group(1) if m.groups() else ""
                    break
            else:
                raise fail("show ntp status", ln, f"unknown clause {quoted(clause.strip())!r}")
    if "sync" not in d:
        raise fail("show ntp status", lines[0] if lines else Line(0, ""), "no 'Clock is …' line")

    def num(k: str) -> int | None:
        return to_int(d.get(k))  # the clause patterns only take DIGITS

    return NtpStatus(
        d["sync"] == "synchronized", num("stratum"), d.get("reference"), d.get("nominal_freq"),
        d.get("actual_freq"),
        d.get("precision"), d.get("uptime"), d.get("resolution"), d.get("reference_time"), d.get("offset"),
        d.get("root_delay"), d.get("root_dispersion"), d.get("peer_dispersion"), d.get("loopfilter_state"),
        d.get("drift"), num("poll_interval"), num("last_update"),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class NtpAssociation(FactsMixin):
    """One peer of ``show ntp associations [detail]``.

    ``flags`` are the leading characters of the table (``*`` sys.peer, ``+`` candidate, ``~``
    configured…). Detail-only facts are in ``details`` (``("our mode", "client")``…).
    """

    address: str
    ref_clock: str | None
    stratum: int | None
    when: str | None
    poll: int | None
    reach: str | None
    delay: str | None
    offset: str | None
    disp: str | None
    flags: str
    status: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()

    @property
    def sys_peer(self) -> bool:
        """True for the peer the clock is synchronised to."""
        return "*" in self.flags or "our_master" in self.status or "sys.peer" in self.status


@dataclass(frozen=True, slots=True)
class NtpAssociations(FactsMixin):
    """``show ntp associations [detail]``."""

    associations: tuple[NtpAssociation, ...]


# At most four flag characters: an unbounded flag run could share a long run of flag-like
# characters with the address after it in quadratically many ways.
_ASSOC_ROW = re.compile(
    r"^([*#+x~o-]{0,4})\s*(\S+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)$"
)
_ASSOC_HEADER = re.compile(r"^address\s+ref clock\s+st\s+when\s+poll\s+reach\s+delay\s+offset\s+disp$")
_ASSOC_LEGEND = re.compile(r"^[*#+~-] .*(configured|master|sys\.peer).*$")
_DETAIL_HEAD = re.compile(r"^(\S+) ((?:configured|dynamic|preempt|ephemeral)\b.*), stratum (\d+)$")
_DETAIL_KEYS = (
    "ref ID",
    "our mode",
    "root delay",
    "delay",
    "precision",
    "assoc ID",
    "assoc id",
    "assoc name",
    "assoc in packets",
    "org time",
    "rcv time",
    "rec time",
    "xmt time",
    "filtdelay",
    "filtoffset",
    "filterror",
    "minpoll",
)


def parse_ntp_associations(text: str) -> NtpAssociations:
    """Parse ``show ntp associations`` (12.2SX and later) and ``… detail``.

    Raises:
        ParseError: On a line that is not a header, legend, peer row or known detail line.
    """
    name = "show ntp associations"
    lines, _ = clean_lines(text)
    out: list[NtpAssociation] = []
    detail: dict[str, object] | None = None
    for ln in lines:
        s = ln.text.strip()
        if not s or _ASSOC_HEADER.match(s) or _ASSOC_LEGEND.match(s) or _LOAD_RE.match(s) or _TIME_SOURCE_RE.match(s):
            continue
        if m := _ASSOC_ROW.match(s):
            flags, addr, ref, st, when, poll, reach, delay, off, disp = m.groups()
            stratum, poll_s = number(name, ln, st, "stratum"), number(name, ln, poll, "poll")
            out.append(NtpAssociation(addr, ref, stratum, when, poll_s, reach, delay, off, disp, flags.strip()))
        elif m := _DETAIL_HEAD.match(s):
            if detail is not None:
                out.append(_assoc_detail(detail))
            stratum = number(name, ln, m.group(3), "stratum")
            detail = {"address": m.group(1), "status": m.group(2), "stratum": stratum, "details": []}
        elif detail is not None and s.startswith(_DETAIL_KEYS):
            lst = detail["details"]
            assert isinstance(lst, list)
            lst.append(s)
        else:
            raise fail(name, ln)
    if detail is not None:
        out.append(_assoc_detail(detail))
    return NtpAssociations(tuple(out))


_DETAIL_CLAUSE_KEYS = (
    "ref ID", "time", "our mode", "peer mode", "our poll intvl", "peer poll intvl", "root delay", "root disp",
    "reach", "sync dist", "delay", "offset", "dispersion", "jitter", "precision", "version", "assoc ID",
    "assoc id", "assoc name", "assoc in packets", "assoc out packets", "assoc error packets", "org time",
    "rcv time", "rec time", "xmt time",
)  # fmt: skip


def _assoc_detail(d: dict[str, object]) -> NtpAssociation:
    pairs: list[tuple[str, str]] = []
    lines = d["details"]
    assert isinstance(lines, list)
    for line in lines:
        if line.startswith(("filt", "minpoll")):
            for clause in line.split(","):
                k, _, v = clause.partition("=")
                pairs.append((k.strip(), " ".join(v.split())))
            continue
        for clause in _clauses(line, _DETAIL_COMMA):
            clause = clause.strip()
            key = next((k for k in _DETAIL_CLAUSE_KEYS if clause.startswith(k + " ")), None)
            if key is not None:
                pairs.append((key, clause[len(key) :].strip()))
            elif clause:
                pairs.append(("", clause))  # e.g. the empty name after 'assoc name 192.168.1.55,'
    get = dict(pairs).get
    stratum = d["stratum"]
    assert isinstance(stratum, int)  # read checked from the head line
    return NtpAssociation(
        str(d["address"]), get("ref ID"), stratum, None, to_int(get("our poll intvl")),
        get("reach"), get("delay"), get("offset"), get("dispersion"), "",
        tuple(x.strip() for x in str(d["status"]).split(",")), tuple(pairs),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class DirEntry(FactsMixin):
    """A file of ``dir``: ``date`` is ``None`` for ``<no date>`` or a blank column."""

    index: int | None
    permissions: str
    size: int
    date: str | None
    name: str
    filesystem: str | None


@dataclass(frozen=True, slots=True)
class Directory(FactsMixin):
    """One ``Directory of FS:/`` block."""

    path: str
    files: tuple[DirEntry, ...]
    total_bytes: int | None
    free_bytes: int | None


@dataclass(frozen=True, slots=True)
class DirListing(FactsMixin):
    """``dir FS:`` (or ``dir all-filesystems``).

    ``files``/``total_bytes``/``free_bytes`` are the first directory's (the only one unless
    ``all-filesystems``); every block is in ``directories``.
    """

    files: tuple[DirEntry, ...]
    total_bytes: int | None
    free_bytes: int | None
    directories: tuple[Directory, ...]

    def get(self, name: str) -> DirEntry | None:
        """Return the file called ``name`` in any listed directory, or ``None``."""
        return next((f for d in self.directories for f in d.files if f.name == name), None)


_DIR_ROW = re.compile(
    r"^(\d+)\s+([-dlrwxs]{3,10}(?:\s+-)?)\s+(\d+)\s+"
    r"(<no date>|[A-Z][a-z]{2}\s+\d{1,2}\s+\d{4}\s+\d\d:\d\d:\d\d(?:\s+[+-]\d\d:?\d\d)?)?\s*(\S.*)$"
)
_DIR_ROW_XE = re.compile(r"^([-dlrwx]{10})\s+(\d+)\s+(\S.*)$")
_DIR_TOTAL = re.compile(r"^(\d+) bytes total \((\d+) bytes free\)$")
_DIR_FILLER = re.compile(r"^(?:No files in directory|Attributes\s+Size\s+Name|(?:- ){5,}-?)$")


def parse_dir(text: str) -> DirListing:
    """Parse ``dir FS:`` (``nvram:`` with ``<no date>`` or a blank date column, flash listings).

    Raises:
        ParseError: On a line that is not a title, a file row or the totals.
    """
    lines, _ = clean_lines(text)
    dirs: list[Directory] = []
    path: str | None = None
    files: list[DirEntry] = []
    total = free = None
    for ln in lines:
        s = ln.text.strip()
        if not s or _DIR_FILLER.match(s):
            continue
        if s.startswith("Directory of "):
            if path is not None:
                dirs.append(Directory(path, tuple(files), total, free))
            path, files, total, free = s[len("Directory of ") :], [], None, None
        elif m := _DIR_ROW.match(s):
            idx, perm, size, date, fname = m.groups()
            files.append(
                DirEntry(
                    number("dir", ln, idx, "index"),
                    perm,
                    number("dir", ln, size, "size"),
                    None if date in (None, "<no date>") else date,
                    fname.strip(),
                    _fs(path),
                )
            )
        elif m := _DIR_ROW_XE.match(s):
            files.append(DirEntry(None, m.group(1), number("dir", ln, m.group(2), "size"), None, m.group(3), _fs(path)))
        elif m := _DIR_TOTAL.match(s):
            total, free = number("dir", ln, m.group(1), "bytes total"), number("dir", ln, m.group(2), "bytes free")
        else:
            raise fail("dir", ln)
    if path is not None or files or total is not None:
        dirs.append(Directory(path or "", tuple(files), total, free))
    first = dirs[0] if dirs else Directory("", (), None, None)
    return DirListing(first.files, first.total_bytes, first.free_bytes, tuple(dirs))


def _fs(path: str | None) -> str | None:
    return path.split(":", 1)[0] + ":" if path and ":" in path else None


@dataclass(frozen=True, slots=True)
class CnmFile(FactsMixin):
    """``more nvram:N.cnm``: what a CA at ``database level names`` keeps per certificate."""

    subjectname: str | None
    expiration: str | None
    fields: tuple[tuple[str, str], ...]
    expiration_at: datetime | None


def parse_more_cnm(text: str) -> CnmFile:
    """Parse ``more nvram:N.cnm`` (``subjectname_str = …`` / ``expiration = …``).

    Raises:
        ParseError: On a line that is not ``key = value``.
    """
    lines, _ = clean_lines(text)
    pairs: list[tuple[str, str]] = []
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        m = re.match(r"^([A-Za-z_][\w-]*)\s*=\s*(.*)$", s)
        if m is None:
            raise fail("more nvram:N.cnm", ln)
        pairs.append((m.group(1), m.group(2).strip()))
    get = dict(pairs).get
    exp = get("expiration")
    return CnmFile(get("subjectname_str"), exp, tuple(pairs), at(exp))


@dataclass(frozen=True, slots=True)
class Version(FactsMixin):
    """``show version``: the facts pkilab uses; every other line is kept in ``other``.

    The output is free text that changes with every platform, so this parser reads what it
    knows and keeps the rest rather than failing on it.
    """

    version: str | None
    image: str | None
    hostname: str | None
    uptime: str | None
    system_image: str | None
    platform: str | None
    config_register: str | None
    other: tuple[str, ...]


_VERSION_RX: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("software", re.compile(r"^(?:Cisco )?IOS(?: XE)? Software.*?(?:\(([^()\s]+)\))?, Version ([^,\s]+)")),
    ("uptime", re.compile(r"^(\S+) uptime is (.+)$")),
    ("system_image", re.compile(r'^System image file is "([^"]+)"')),
    ("platform", re.compile(r"^[Cc]isco (\S+) .*processor")),
    ("config_register", re.compile(r"^Configuration register is (\S+)")),
)


def parse_version(text: str) -> Version:
    """Parse ``show version`` into its main facts (never raises on unknown lines)."""
    lines, _ = clean_lines(text)
    d: dict[str, str] = {}
    other: list[str] = []
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        for key, rx in _VERSION_RX:
            m = rx.match(s)
            if m and key not in d:
                if key == "software":
                    d["software"], d["image"], d["version"] = s, m.group(1) or "", m.group(2)
                elif key == "uptime":
                    d["hostname"], d["uptime"] = m.group(1), m.group(2)
                else:
                    d[key] = m.group(1)
                break
        else:
            other.append(s)
    return Version(
        d.get("version"),
        d.get("image") or None,
        d.get("hostname"),
        d.get("uptime"),
        d.get("system_image"),
        d.get("platform"),
        d.get("config_register"),
        tuple(other),
    )


@dataclass(frozen=True, slots=True)
class IpInterface(FactsMixin):
    """A row of ``show ip interface brief``."""

    interface: str
    ip_address: str
    ok: str
    method: str
    status: str
    protocol: str


@dataclass(frozen=True, slots=True)
class IpInterfaceBrief(FactsMixin):
    """``show ip interface brief``."""

    interfaces: tuple[IpInterface, ...]

    def get(self, name: str) -> IpInterface | None:
        """Return the row of interface ``name``, or ``None``."""
        return next((i for i in self.interfaces if i.interface == name), None)


_IPB_ROW = re.compile(r"^(\S+)\s+(\S+)\s+(YES|NO)\s+(\S+)\s+(up|down|administratively down|deleted)\s+(up|down)$")


def parse_ip_interface_brief(text: str) -> IpInterfaceBrief:
    """Parse ``show ip interface brief``.

    Raises:
        ParseError: On a line that is not the header or an interface row.
    """
    lines, _ = clean_lines(text)
    rows = []
    for ln in lines:
        s = ln.text.strip()
        if not s or re.match(r"^Interface\s+IP-Address\s+OK\?\s+Method\s+Status\s+Protocol$", s):
            continue
        m = _IPB_ROW.match(s)
        if m is None:
            raise fail("show ip interface brief", ln)
        rows.append(IpInterface(*m.groups()))
    return IpInterfaceBrief(tuple(rows))
