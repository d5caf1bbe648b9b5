"""``show crypto ipsec sa [detail] [peer A | interface I | ipv6 detailed]``.

The output is a tree: ``interface:`` → flows (``local ident``/``remote ident`` pairs) →
counters, endpoints, and the inbound/outbound ESP, AH and PCP SAs. Lines are recognised by
content, not indentation (one genieparser capture has it flattened). Layouts: 12.4 (no
``plaintext mtu``, no ``PFS``, ``conn id: 1, flow_id: SW:1, crypto map: X``), 15.x
(``sibling_flags``, ``Status: ACTIVE(ACTIVE)``), IOS-XE (``initiator : False``, extra
``#pkts`` counters in ``detail``, IPv6 flows whose endpoint line wraps after the comma).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pkilab.parsers._base import FactsMixin, Line, clean_lines, fail, number

__all__ = ["IpsecFlow", "IpsecSa", "IpsecSaTable", "parse_ipsec_sa"]

_NAME = "show crypto ipsec sa"


@dataclass(frozen=True, slots=True)
class IpsecSa(FactsMixin):
    """One ESP/AH/PCP SA of a flow.

    Attributes:
        spi: ``0x18906F9D`` as printed (``None`` for ``spi: [Not Available]``).
        spi_int: The SPI as an integer.
        transform: ``esp-aes esp-sha-hmac`` (the trailing comma removed).
        settings: Inside ``in use settings ={…}``: ``Tunnel``, ``Transport UDP-Encaps``…
        status: ``ACTIVE``, ``ACTIVE(ACTIVE)``…
        lifetime_kb / lifetime_sec: From ``remaining key lifetime (k/sec): (KB/SEC)`` when printed.
    """

    spi: str | None
    spi_int: int | None
    transform: str | None
    settings: str | None
    conn_id: int | None
    flow_id: str | None
    sibling_flags: str | None
    crypto_map: str | None
    timing: str | None
    lifetime_kb: int | None
    lifetime_sec: int | None
    iv_size: int | None
    replay_detection: str | None
    replay_window: int | None
    status: str | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IpsecFlow(FactsMixin):
    """One protected flow (a ``local ident``/``remote ident`` pair) and its SAs.

    ``local_ident``/``remote_ident`` are ``addr/mask/prot/port`` without the parentheses.
    ``counters`` has every ``#pkts``/``#send``/``#recv`` counter under its printed name
    (``encaps``, ``decaps``, ``no sa (send)``…). SPI lists hold the ``0x…`` SPIs.
    """

    interface: str | None
    crypto_map: str | None
    local_addr: str | None
    policy: str | None
    vrf: str | None
    local_ident: str | None
    remote_ident: str | None
    peer: str | None
    peer_port: int | None
    flags: str | None
    pkts_encaps: int | None
    pkts_encrypt: int | None
    pkts_digest: int | None
    pkts_decaps: int | None
    pkts_decrypt: int | None
    pkts_verify: int | None
    send_errors: int | None
    recv_errors: int | None
    local_endpoint: str | None
    remote_endpoint: str | None
    plaintext_mtu: int | None
    path_mtu: int | None
    ip_mtu: int | None
    mtu_idb: str | None
    current_outbound_spi: str | None
    pfs: str | None
    dh_group: str | None
    inbound_esp_spis: tuple[str, ...]
    outbound_esp_spis: tuple[str, ...]
    inbound_esp: tuple[IpsecSa, ...]
    outbound_esp: tuple[IpsecSa, ...]
    inbound_ah: tuple[IpsecSa, ...]
    outbound_ah: tuple[IpsecSa, ...]
    inbound_pcp: tuple[IpsecSa, ...]
    outbound_pcp: tuple[IpsecSa, ...]
    counters: dict[str, int] = field(default_factory=dict)
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class IpsecSaTable(FactsMixin):
    """``show crypto ipsec sa``: every flow in printed order."""

    flows: tuple[IpsecFlow, ...]

    def by_peer(self, peer: str) -> tuple[IpsecFlow, ...]:
        """Return the flows whose current peer is ``peer``."""
        return tuple(f for f in self.flows if f.peer == peer)


_SA_LISTS = ("inbound esp", "outbound esp", "inbound ah", "outbound ah", "inbound pcp", "outbound pcp")
# '#' or '##' (IOS-XE: '##pkts replay failed (rcv): 0'), then the name, which starts and ends on
# a character that is neither blank nor ':'. Nothing may share a run with its neighbour: with '#+'
# before '.*', a lazy '.+?' before '\s+', or '.*' after 'pkts\s+', a long run of '#' or of blanks
# took quadratic time.
_COUNTER = re.compile(r"^#{1,2}(?:pkts\s+)?([^\s:](?:.*[^\s:])?):?\s+(\d+)$")
_SPI = re.compile(r"^spi:\s*(?:(0x[0-9A-Fa-f]+)\((\d+)\)|\[Not Available\])$")
_IDENT = re.compile(r"^(local|remote)\s+ident \(addr/mask/prot/port\):\s*\((.*)\)$")
_PEER = re.compile(r"^current_peer\s+(\S+)(?:\s+port\s+(\d+))?$")
_ENDPT = re.compile(r"^(?:local crypto endpt\.:\s*([^,\s]+))?,?\s*(?:remote crypto endpt\.:\s*(\S+))?$")
_KL = re.compile(r"\((\d+)/(\d+)\)")
# The tag starts on a non-blank so that '\s*' alone takes the blanks before it (with '[^,]+?' a
# long blank run followed by a stray comma was rescanned once per blank).
_MAP_TAG = re.compile(r"^Crypto map tag:\s*([^,\s][^,]*?)(?:,\s*local addr\s+(\S+))?$")


class _Sa:
    """Mutable collector for one SA: printed values in ``d``, numbers (read checked) in ``n``."""

    def __init__(self, spi: str | None, spi_int: int | None):
        self.d: dict[str, str | None] = {"spi": spi}
        self.n: dict[str, int | None] = {"spi_int": spi_int}

    def build(self) -> IpsecSa:
        d, n = self.d, self.n
        notes = d.get("notes")
        return IpsecSa(
            d.get("spi"), n.get("spi_int"), d.get("transform"), d.get("settings"), n.get("conn id"),
            d.get("flow_id"), d.get("sibling_flags"), d.get("crypto map"), d.get("timing"),
            n.get("lifetime_kb"), n.get("lifetime_sec"), n.get("iv"),
            d.get("replay"), n.get("replay window"), d.get("status"),
            tuple(notes.split("\n")) if notes else (),
        )  # fmt: skip


class _Flow:
    """Mutable collector for one flow: printed values in ``d``, numbers (read checked) in ``n``."""

    def __init__(self, iface: dict[str, str | None]):
        self.iface = dict(iface)
        self.d: dict[str, str | None] = {}
        self.n: dict[str, int] = {}
        self.counters: dict[str, int] = {}
        self.sas: dict[str, list[_Sa]] = {k: [] for k in _SA_LISTS}
        self.extra: list[tuple[str, str]] = []

    def build(self) -> IpsecFlow:
        d, n, c, i = self.d, self.n, self.counters, self.iface
        lists = {k: tuple(sa.build() for sa in v) for k, v in self.sas.items()}
        ip_mtu = n.get("ip mtu", n.get("ipv6 mtu"))
        return IpsecFlow(
            i.get("interface"), i.get("crypto_map"), i.get("local_addr"), i.get("policy"), d.get("vrf"),
            d.get("local_ident"), d.get("remote_ident"), d.get("peer"), n.get("peer_port"),
            d.get("flags"), c.get("encaps"), c.get("encrypt"), c.get("digest"), c.get("decaps"),
            c.get("decrypt"), c.get("verify"), c.get("send errors"), c.get("recv errors"),
            d.get("local_endpoint"), d.get("remote_endpoint"), n.get("plaintext mtu"),
            n.get("path mtu"), ip_mtu, d.get("ip mtu idb") or d.get("ipv6 mtu idb"),
            d.get("current_outbound_spi"), d.get("pfs"), d.get("dh_group"),
            tuple(s.spi for s in lists["inbound esp"] if s.spi),
            tuple(s.spi for s in lists["outbound esp"] if s.spi),
            lists["inbound esp"], lists["outbound esp"], lists["inbound ah"], lists["outbound ah"],
            lists["inbound pcp"], lists["outbound pcp"], dict(c), tuple(self.extra),
        )  # fmt: skip


def parse_ipsec_sa(text: str) -> IpsecSaTable:
    """Parse ``show crypto ipsec sa`` and its ``detail``/``peer``/``interface``/``ipv6`` forms.

    Raises:
        ParseError: On a line that is not part of the interface/flow/SA structure.
    """
    lines, _ = clean_lines(text)
    flows: list[_Flow] = []
    iface: dict[str, str | None] = {}
    cur: _Flow | None = None
    sa_list: list[_Sa] | None = None
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if s.startswith("interface:"):
            iface, cur, sa_list = {"interface": s.partition(":")[2].strip()}, None, None
            continue
        if m := _MAP_TAG.match(s):
            iface["crypto_map"], iface["local_addr"] = m.group(1), m.group(2)
            continue
        if s.startswith("IPsecv6 policy name:"):
            iface["policy"] = s.partition(":")[2].strip()
            continue
        if s.startswith("protected vrf:"):
            cur = _Flow(iface)
            flows.append(cur)
            sa_list = None
            cur.d["vrf"] = s.partition(":")[2].strip()
            continue
        if m := _IDENT.match(s):
            if cur is None or (m.group(1) == "local" and "local_ident" in cur.d):
                cur = _Flow(iface)
                flows.append(cur)
                sa_list = None
            cur.d[m.group(1) + "_ident"] = m.group(2)
            continue
        if cur is None:
            raise fail(_NAME, ln, "line outside a flow")
        if m := re.match(r"^(inbound|outbound) (esp|ah|pcp) sas:$", s):
            sa_list = cur.sas[f"{m.group(1)} {m.group(2)}"]
            continue
        if m := _SPI.match(s):
            if sa_list is None:
                raise fail(_NAME, ln, "spi outside an SA list")
            spi_int = None if m.group(2) is None else number(_NAME, ln, m.group(2), "SPI")
            sa_list.append(_Sa(m.group(1), spi_int))
            continue
        if sa_list and _sa_line(sa_list[-1], s, ln):
            continue
        if not _flow_line(cur, s, ln):
            raise fail(_NAME, ln)
    return IpsecSaTable(tuple(f.build() for f in flows))


def _flow_line(cur: _Flow, s: str, ln: Line) -> bool:
    d = cur.d
    if s.startswith("#"):
        for clause in s.split(","):
            m = _COUNTER.match(clause.strip())
            if m is None:
                return False
            cur.counters[m.group(1).strip()] = number(_NAME, ln, m.group(2), "counter")
        return True
    if m := _PEER.match(s):
        d["peer"] = m.group(1)
        if m.group(2) is not None:
            cur.n["peer_port"] = number(_NAME, ln, m.group(2), "port")
    elif s.startswith(("PERMIT", "DENY")):
        d["flags"] = s
    elif "crypto endpt.:" in s:
        m = _ENDPT.match(s)
        if m is None:
            return False
        if m.group(1):
            d["local_endpoint"] = m.group(1)
        if m.group(2):
            d["remote_endpoint"] = m.group(2)
    elif "mtu" in s and re.match(r"^(?:plaintext mtu|path mtu)", s):
        for clause in s.split(","):
            mm = re.match(r"^((?:plaintext|path|ipv?6?) mtu(?: idb)?)\s+(\S+)$", clause.strip())
            if mm is None:
                return False
            if mm.group(1).endswith("idb"):
                d[mm.group(1)] = mm.group(2)
            else:
                cur.n[mm.group(1)] = number(_NAME, ln, mm.group(2), mm.group(1))
    elif m := re.match(r"^current outbound spi:\s*(0x[0-9A-Fa-f]+)", s):
        d["current_outbound_spi"] = m.group(1)
    elif m := re.match(r"^PFS \(Y/N\):\s*(\S+),\s*DH group:\s*([^,]+)(?:,\s*(.*))?$", s):
        d["pfs"], d["dh_group"] = m.group(1), m.group(2).strip()
        if m.group(3):
            cur.extra.append(("PFS", m.group(3)))
    else:
        return False
    return True


def _sa_line(sa_: _Sa, s: str, ln: Line) -> bool:
    sa, n = sa_.d, sa_.n
    if s.startswith("transform:"):
        sa["transform"] = s.partition(":")[2].strip().rstrip(",").strip()
    elif m := re.match(r"^in use settings\s*=\s*\{(.*)\}$", s):
        sa["settings"] = m.group(1).strip().rstrip(",").strip()
    elif s.startswith("conn id:"):
        for clause in s.split(","):
            k, _, v = clause.partition(":")
            k = k.strip()
            if not _ and k.startswith("sibling_flags"):
                sa["sibling_flags"] = k.split()[1] if len(k.split()) > 1 else None
            elif _ and k == "conn id":
                n[k] = number(_NAME, ln, v.strip(), k)
            elif _:
                sa["flow_id" if k == "flow_id" else k] = v.strip()
            else:
                return False
    elif s.startswith("sa timing:"):
        timing = sa["timing"] = s.partition(":")[2].strip()
        kl = _KL.search(timing) if "k/sec" in timing else None
        if kl:
            n["lifetime_kb"] = number(_NAME, ln, kl.group(1), "lifetime (KB)")
            n["lifetime_sec"] = number(_NAME, ln, kl.group(2), "lifetime (sec)")
    elif m := re.match(r"^IV size:\s*(\d+) bytes$", s):
        n["iv"] = number(_NAME, ln, m.group(1), "IV size")
    elif m := re.match(r"^replay detection support:\s*(\S+)(?:\s+replay window size:\s*(\d+))?$", s):
        sa["replay"] = m.group(1)
        if m.group(2) is not None:
            n["replay window"] = number(_NAME, ln, m.group(2), "replay window size")
    elif s.startswith("Status:"):
        sa["status"] = s.partition(":")[2].strip()
    # one capture has this note cut to 'ekey has been disabled'; it is still that note
    elif s.endswith("ekey has been disabled"):
        prev = sa.get("notes")
        sa["notes"] = f"{prev}\n{s}" if prev else s
    else:
        return False
    return True
