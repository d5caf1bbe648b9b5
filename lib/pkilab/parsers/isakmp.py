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
from typing import Any

from pkilab.parsers._base import (
    FactsMixin,
    Line,
    builder_twin,
    clean_lines,
    fail,
    gc_paused,
    number,
    strip_echo,
    to_int,
)

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
    has_slot: bool | None = None  # None: no header seen (a '| include' output)
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
            slot = number(_NAME, ln, m.group(3), "slot") if m.group(3) else None
            conn = number(_NAME, ln, m.group(2), "conn-id")
            sas.append(_sa(block["dst"], block["src"], m.group(1), conn, slot, status, family))
            block = {}
        elif m := _ROW.match(s):
            sas.append(_row(ln, m, has_slot, has_status, family))
        else:
            raise fail(_NAME, ln)
    if block:
        raise fail(_NAME, lines[-1], "dst:/src: block without its state line")
    return IsakmpSaTable(tuple(sas))


def _row(ln: Line, m: re.Match[str], has_slot: bool | None, has_status: bool, family: str) -> IsakmpSa:
    rest = m.group(5).split()
    slot = None
    if has_slot is None:  # headerless (filtered) output: a number before the status is the slot
        has_slot = len(rest) > 1 and to_int(rest[0]) is not None
    if has_slot:
        if not rest:
            raise fail(_NAME, ln, "slot column missing")
        slot = number(_NAME, ln, rest.pop(0), "slot")
    status = " ".join(rest) or None
    if status is not None and not has_status and not status.isalpha():
        raise fail(_NAME, ln, "unexpected columns")
    conn = number(_NAME, ln, m.group(4), "conn-id")
    return _sa(m.group(1), m.group(2), m.group(3), conn, slot, status, family)


def _sa(dst: str, src: str, state: str, conn: int, slot: int | None, status: str | None, fam: str) -> IsakmpSa:
    deleted = bool(status and "(deleted)" in status)
    return IsakmpSa(dst, src, state, conn, status, slot, fam, deleted)


_DETAIL_ROW = re.compile(r"^ *(\d+) +(\S+) +(\S+)((?: +\S+)*?) +(\S+) +(\S+) +(\S+) +(\d+) +(\d+:\d\d:\d\d) *([A-Z]*)$")
_DETAIL_HEADER = re.compile(r"^ *C-id +Local +Remote +I-VRF( +Status)? +Encr +Hash +Auth +DH +Lifetime +Cap\.?$")
# Legend lines: 'X - meaning' items separated by commas. Each item runs to a comma, so the line
# splits into items one way only (a repeated item with an optional comma split it in
# exponentially many ways before failing).
_DETAIL_FILLER = re.compile(r"^\s*(?:Codes:.*|[A-Za-z]+ - [A-Za-z][^,]*(?:, *[A-Za-z]+ - [A-Za-z][^,]*)*,?)$")
_ENGINE_LINE = re.compile(r"^(Engine-id:Conn-id|Connection-id:Engine-id) *= *(\S+)$")
_ENGINE_12 = re.compile(r"^(\d+):(\S+?)(?:\((\w+)\))?$")
_new = object.__new__


_Builder = builder_twin(IsakmpSaDetail)


def parse_isakmp_sa_detail(text: str) -> IsakmpSaDetailTable:
    """Parse ``show crypto isakmp sa detail`` (12.x, 12.4T, 15.x and IOS-XE layouts).

    15.x/IOS-XE print each SA as a row and its engine line between blank lines; such blocks
    are read from ``str.split`` tokens (a 10,000-SA table parses in tens of milliseconds).
    Every other block is read line by line.

    Raises:
        ParseError: On any line that is not the legend, a title, the header, an SA row or
            its engine line.
    """
    text, offset = strip_echo(text)
    reader = _DetailReader()
    with gc_paused():
        _read_blocks(text, 1 + offset, reader)
    return IsakmpSaDetailTable(tuple(reader.sas))


def _read_blocks(text: str, no: int, reader: _DetailReader) -> None:
    """Read ``text`` block by block (blocks are separated by a blank line) from line ``no``."""
    append = reader.sas.append
    new, builder, cls = _new, _Builder, IsakmpSaDetail
    has_status, family = reader.has_status, reader.family
    for block in text.split("\n\n"):
        tk = block.split()
        n = len(tk)
        if n > 11 and tk[-3] == "Engine-id:Conn-id" and tk[-2] == "=" and block.count("\n") == 1:
            engine, _, conn = tk[-1].partition(":")
            if n == 13 and has_status and ":" in tk[8]:  # the usual 15.x row: no I-VRF, a Cap. value
                cid, dh, econn = to_int(tk[0]), to_int(tk[7]), to_int(conn)
                if cid is not None and dh is not None and econn is not None:  # else the line reader decides
                    sa = new(builder)
                    sa.conn_id = cid
                    sa.dh_group = dh
                    sa.engine_conn_id = econn
                    sa.local = tk[1]
                    sa.remote = tk[2]
                    sa.ivrf = None
                    sa.status = tk[3]
                    sa.encr = tk[4]
                    sa.hash = tk[5]
                    sa.auth = tk[6]
                    sa.lifetime = tk[8]
                    sa.capabilities = tk[9]
                    sa.engine_id = engine
                    sa.engine_kind = None
                    sa.family = family
                    sa.__class__ = cls
                    append(sa)
                    no += 3
                    continue
            sa = _other_row(tk, engine, conn, has_status)
            if sa is not None:
                sa.family = family
                sa.__class__ = cls
                append(sa)
                no += 3
                continue
        reader.last = None
        for line in block.split("\n"):
            reader.line(no, line)
            no += 1
        no += 1
        has_status, family = reader.has_status, reader.family
    reader.finish()


def _other_row(tk: list[str], engine: str, conn: str, has_status: bool) -> Any:
    """Build an SA from the tokens of a row with a blank I-VRF/Cap. column, or return None."""
    k = len(tk) - 4  # index of the row's last token (Cap., or the lifetime when Cap. is blank)
    cap = tk[k]
    if ":" in cap:
        life, cap = cap, ""
    else:
        life = tk[k - 1]
        k -= 1
    width = k - 4 - has_status  # C-id, Local, Remote, [I-VRF]
    if ":" not in life or width not in (3, 4):
        return None
    cid, dh, econn = to_int(tk[0]), to_int(tk[k - 1]), to_int(conn)
    if cid is None or dh is None or econn is None:
        return None  # not a plain row: the line reader decides
    sa = _new(_Builder)
    sa.conn_id = cid
    sa.dh_group = dh
    sa.engine_conn_id = econn
    sa.local = tk[1]
    sa.remote = tk[2]
    sa.ivrf = tk[3] if width == 4 else None
    sa.status = tk[width] if has_status else None
    sa.encr = tk[k - 4]
    sa.hash = tk[k - 3]
    sa.auth = tk[k - 2]
    sa.lifetime = life
    sa.capabilities = cap
    sa.engine_id = engine
    sa.engine_kind = None
    return sa


class _DetailReader:
    """Line-by-line reader of the detail table (layouts the block fast path does not take)."""

    def __init__(self) -> None:
        self.sas: list[IsakmpSaDetail] = []
        self.building: list[Any] = []
        self.has_status = True
        self.family = "IPv4"
        self.last: Any = None

    def line(self, no: int, line: str) -> None:
        s = line.strip()
        if not s:
            return
        ln = Line(no, line.rstrip())
        if "0" <= s[0] <= "9":
            sa = _detail_row_slow(ln, self.has_status)
            sa.family = self.family
            self.sas.append(sa)
            self.building.append(sa)
            self.last = sa
            return
        if m := _ENGINE_LINE.match(s):
            if self.last is None:
                raise fail(_NAME_DETAIL, ln, "engine line without its SA row")
            self.last.engine_id, self.last.engine_conn_id, self.last.engine_kind = _engine(ln, m.group(1), m.group(2))
            self.last = None  # one engine line per SA
            return
        self.last = None
        if s.startswith("IPv") and s.endswith("Crypto ISAKMP SA"):
            self.family = s[:4]
        elif m := _DETAIL_HEADER.match(s):
            self.has_status = m.group(1) is not None
        elif not _DETAIL_FILLER.match(s):
            raise fail(_NAME_DETAIL, ln)

    def finish(self) -> None:
        """Turn the rows read line by line into frozen results (engine lines are in)."""
        for sa in self.building:
            sa.__class__ = IsakmpSaDetail
        self.building.clear()


def _detail_row_slow(ln: Line, has_status: bool) -> Any:
    m = _DETAIL_ROW.match(ln.text)
    if m is None:
        raise fail(_NAME_DETAIL, ln)
    cid, local, remote, middle, encr, hsh, auth, dh, life, cap = m.groups()
    mid = middle.split()
    status = None
    if has_status:
        if not mid:
            raise fail(_NAME_DETAIL, ln, "status column missing")
        status = mid.pop()
        if status.startswith("(") and mid:
            status = mid.pop() + " " + status
    if len(mid) > 1:
        raise fail(_NAME_DETAIL, ln, "unexpected columns")
    sa = _new(_Builder)
    sa.conn_id = number(_NAME_DETAIL, ln, cid, "C-id")
    sa.local, sa.remote, sa.ivrf, sa.status = local, remote, mid[0] if mid else None, status
    sa.encr, sa.hash, sa.auth, sa.lifetime, sa.capabilities = encr, hsh, auth, life, cap
    sa.dh_group = number(_NAME_DETAIL, ln, dh, "DH group")
    sa.engine_id = sa.engine_conn_id = sa.engine_kind = None
    sa.family = "IPv4"
    return sa


def _engine(ln: Line, kind: str, value: str) -> tuple[str | None, int | None, str | None]:
    if "?" in value:
        return None, None, None  # printed as '????' (unknown to IOS)
    if kind.startswith("Connection"):  # 12.x: conn:engine(kind)
        m = _ENGINE_12.match(value)
        if m:
            return m.group(2), number(_NAME_DETAIL, ln, m.group(1), "connection id"), m.group(3)
        return value, None, None
    engine, _, conn = value.partition(":")
    return engine, to_int(conn), None
