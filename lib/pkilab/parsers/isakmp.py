"""``show crypto isakmp sa [active|standby]`` and ``show crypto isakmp sa detail``.

Layouts handled (see ``docs/parsers.md``): 12.2/12.3 ``dst src state conn-id slot`` with no
status column; 12.4 mainline (no ``IPv4 Crypto ISAKMP SA`` title, slot column); 12.4T
(title, slot); 15.x / IOS-XE (no slot, an ``IPv6 Crypto ISAKMP SA`` section whose entries are
printed as ``dst:``/``src:``/``state:`` blocks). The detail table exists with and without the
``Status`` column (12.x has none), with a blank ``I-VRF`` or ``Cap.`` column, and with the
``Connection-id:Engine-id = 1:1(software)`` (12.x) or ``Engine-id:Conn-id = SW:1`` line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pkilab.parsers._base import FactsMixin, Line, check_gap, clean_lines, fail, strip_echo

__all__ = [
    "IsakmpSa",
    "IsakmpSaDetail",
    "IsakmpSaDetailTable",
    "IsakmpSaTable",
    "parse_isakmp_sa",
    "parse_isakmp_sa_detail",
]

_NAME = "show crypto isakmp sa"
_NAME_DETAIL = "show crypto isakmp sa detail"


@dataclass(frozen=True, slots=True)
class IsakmpSa(FactsMixin):
    """One row of ``show crypto isakmp sa``.

    Attributes:
        dst: Destination address as printed.
        src: Source address as printed.
        state: IKE state (``QM_IDLE``, ``MM_NO_STATE``…).
        conn_id: Connection id.
        status: ``ACTIVE``, ``STDBY``, ``ACTIVE (deleted)``…; ``None`` on 12.x, which has no column.
        slot: The slot column where the release prints one.
        family: ``IPv4`` or ``IPv6`` (the section the row is in).
        deleted: Whether the status carries ``(deleted)``.
    """

    dst: str
    src: str
    state: str
    conn_id: int
    status: str | None
    slot: int | None
    family: str
    deleted: bool


@dataclass(frozen=True, slots=True)
class IsakmpSaTable(FactsMixin):
    """``show crypto isakmp sa``: every SA in printed order (IPv4 section, then IPv6)."""

    sas: tuple[IsakmpSa, ...]


@dataclass(frozen=True, slots=True)
class IsakmpSaDetail(FactsMixin):
    """One SA of ``show crypto isakmp sa detail``.

    Attributes:
        conn_id: The ``C-id`` column (the conn-id of ``show crypto isakmp sa``).
        local: Local address.
        remote: Remote address.
        ivrf: The ``I-VRF`` column, ``None`` when blank.
        status: ``ACTIVE``…, ``None`` when the release has no Status column (12.x).
        encr: Encryption (``3des``, ``aes``…).
        hash: Hash (``sha``, ``sha384``…).
        auth: ``psk``, ``rsig``, ``renc``…
        dh_group: Diffie-Hellman group.
        lifetime: Remaining lifetime as printed (``23:47:17``).
        capabilities: ``Cap.`` letters (``D``, ``N``…), ``""`` when blank.
        engine_id: Crypto engine (``SW``, or ``1`` on 12.x), ``None`` when printed as ``????``.
        engine_conn_id: Connection id inside the engine.
        engine_kind: ``software``/``hardware`` on 12.x, else ``None``.
        family: ``IPv4`` or ``IPv6``.
    """

    conn_id: int
    local: str
    remote: str
    ivrf: str | None
    status: str | None
    encr: str
    hash: str
    auth: str
    dh_group: int
    lifetime: str
    capabilities: str
    engine_id: str | None
    engine_conn_id: int | None
    engine_kind: str | None
    family: str


@dataclass(frozen=True, slots=True)
class IsakmpSaDetailTable(FactsMixin):
    """``show crypto isakmp sa detail``: every SA in printed order."""

    sas: tuple[IsakmpSaDetail, ...]


_ROW = re.compile(r"^(\S+)\s+(\S+)\s+([A-Z][A-Z_]*)\s+(\d+)(.*)$")
_BLOCK_ADDR = re.compile(r"^(dst|src):\s*(\S+)$")
_BLOCK_STATE = re.compile(r"^state:\s*(\S+)\s+conn-id:\s*(\d+)(?:\s+slot:\s*(\d+))?(?:\s+status:\s*(.*))?$")
_HEADER = re.compile(r"^dst\s+src\s+state\s+conn-id(\s+slot)?(\s+status)?$")
_TITLE = re.compile(r"^IPv([46]) Crypto ISAKMP SA$")


def parse_isakmp_sa(text: str) -> IsakmpSaTable:
    """Parse ``show crypto isakmp sa`` (also ``active``/``standby``).

    Raises:
        ParseError: On any line that is not a title, a header, a row or an IPv6 block line.
    """
    lines, _ = clean_lines(text)
    sas: list[IsakmpSa] = []
    family = "IPv4"
    has_slot = False
    has_status = True
    block: dict[str, str] = {}
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if m := _TITLE.match(s):
            family = "IPv" + m.group(1)
        elif m := _HEADER.match(s):
            has_slot, has_status = m.group(1) is not None, m.group(2) is not None
        elif m := _BLOCK_ADDR.match(s):
            block[m.group(1)] = m.group(2)
        elif m := _BLOCK_STATE.match(s):
            if set(block) != {"dst", "src"}:
                raise fail(_NAME, ln, "state line without dst:/src: lines")
            status = (m.group(4) or "").strip() or None
            slot = int(m.group(3)) if m.group(3) else None
            sas.append(_sa(block["dst"], block["src"], m.group(1), m.group(2), slot, status, family))
            block = {}
        elif m := _ROW.match(s):
            sas.append(_row(ln, m, has_slot, has_status, family))
        else:
            raise fail(_NAME, ln)
    if block:
        raise fail(_NAME, lines[-1], "dst:/src: block without its state line")
    return IsakmpSaTable(tuple(sas))


def _row(ln: Line, m: re.Match[str], has_slot: bool, has_status: bool, family: str) -> IsakmpSa:
    rest = m.group(5).split()
    slot = None
    if has_slot:
        if not rest or not rest[0].isdigit():
            raise fail(_NAME, ln, "slot column missing")
        slot = int(rest.pop(0))
    status = " ".join(rest) or None
    if status is not None and not has_status and not status.isalpha():
        raise fail(_NAME, ln, "unexpected columns")
    return _sa(m.group(1), m.group(2), m.group(3), m.group(4), slot, status, family)


def _sa(
    dst: str, src: str, state: str, conn: str, slot: int | None, status: str | None, fam: str
) -> IsakmpSa:
    deleted = bool(status and "(deleted)" in status)
    return IsakmpSa(dst, src, state, int(conn), status, slot, fam, deleted)


# One SA of the detail table: the row and (optionally) its engine line.
_DETAIL = re.compile(
    r"^ *(\d+) +(\S+) +(\S+)((?: +\S+)*?) +(\S+) +(\S+) +(\S+) +(\d+) +(\d+:\d\d:\d\d) *([A-Z]*) *"
    r"(?:\n+ +(Engine-id:Conn-id|Connection-id:Engine-id) *= *(\S+) *)?$",
    re.M,
)
_DETAIL_HEADER = re.compile(
    r"^ *C-id +Local +Remote +I-VRF( +Status)? +Encr +Hash +Auth +DH +Lifetime +Cap\.? *$", re.M
)
_DETAIL_FILLER = re.compile(
    r"^\s*(?:Codes:.*|(?:[A-Za-z]+ - [A-Za-z][^,]*,? *)+|IPv[46] Crypto ISAKMP SA|"
    r"C-id +Local +Remote +I-VRF.*)$"
)
_TITLE_ANY = re.compile(r"^IPv([46]) Crypto ISAKMP SA *$", re.M)
_ENGINE_12 = re.compile(r"^(\d+):(\S+?)(?:\((\w+)\))?$")


def parse_isakmp_sa_detail(text: str) -> IsakmpSaDetailTable:
    """Parse ``show crypto isakmp sa detail`` (12.x, 12.4T, 15.x and IOS-XE layouts).

    Raises:
        ParseError: On any line that is not the legend, a title, the header, an SA row or
            its engine line.
    """
    text, offset = strip_echo(text)
    headers = [(m.start(), m.group(1) is not None) for m in _DETAIL_HEADER.finditer(text)]
    titles = [(m.start(), "IPv" + m.group(1)) for m in _TITLE_ANY.finditer(text)]
    sas: list[IsakmpSaDetail] = []
    append = sas.append
    last = 0
    hi = ti = 0
    has_status = True
    family = "IPv4"
    for m in _DETAIL.finditer(text):
        start = m.start()
        check_gap(_NAME_DETAIL, text, last, start, _DETAIL_FILLER, offset)
        last = m.end()
        while hi < len(headers) and headers[hi][0] < start:
            has_status = headers[hi][1]
            hi += 1
        while ti < len(titles) and titles[ti][0] < start:
            family = titles[ti][1]
            ti += 1
        cid, local, remote, middle, encr, hsh, auth, dh, life, cap, kind, engine = m.groups()
        mid = middle.split()
        status = None
        if has_status:
            if not mid:
                raise fail(_NAME_DETAIL, Line(start, m.group(0).split("\n")[0]), "status column missing")
            status = mid.pop()
            if status.startswith("(") and mid:
                status = mid.pop() + " " + status
        if len(mid) > 1:
            raise fail(_NAME_DETAIL, Line(start, m.group(0).split("\n")[0]), "unexpected columns")
        engine_id, engine_conn, engine_kind = _engine(kind, engine)
        append(
            IsakmpSaDetail(
                int(cid),
                local,
                remote,
                mid[0] if mid else None,
                status,
                encr,
                hsh,
                auth,
                int(dh),
                life,
                cap,
                engine_id,
                engine_conn,
                engine_kind,
                family,
            )
        )
    check_gap(_NAME_DETAIL, text, last, len(text), _DETAIL_FILLER, offset)
    return IsakmpSaDetailTable(tuple(sas))


def _engine(kind: str | None, value: str | None) -> tuple[str | None, int | None, str | None]:
    if value is None or kind is None or "?" in value:
        return None, None, None  # no engine line, or printed as '????' (unknown to IOS)
    if kind.startswith("Connection"):  # 12.x: conn:engine(kind)
        m = _ENGINE_12.match(value)
        if m:
            return m.group(2), int(m.group(1)), m.group(3)
        return value, None, None
    engine, _, conn = value.partition(":")
    return engine, int(conn) if conn.isdigit() else None, None
