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

from pkilab.parsers._base import FactsMixin, clean_lines, fail

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
_COUNTER = re.compile(r"^#+(?:pkts\s+)?(.+?):?\s+(\d+)$")
_SPI = re.compile(r"^spi:\s*(?:(0x[0-9A-Fa-f]+)\((\d+)\)|\[Not Available\])$")
_IDENT = re.compile(r"^(local|remote)\s+ident \(addr/mask/prot/port\):\s*\((.*)\)$")
_PEER = re.compile(r"^current_peer\s+(\S+)(?:\s+port\s+(\d+))?$")
_ENDPT = re.compile(r"^(?:local crypto endpt\.:\s*([^,\s]+))?,?\s*(?:remote crypto endpt\.:\s*(\S+))?$")
_KL = re.compile(r"\((\d+)/(\d+)\)")


class _Flow:
    """Mutable collector for one flow."""

    def __init__(self, iface: dict[str, str | None]):
        self.iface = dict(iface)
        self.d: dict[str, str | None] = {}
        self.counters: dict[str, int] = {}
        self.sas: dict[str, list[dict[str, str | None]]] = {k: [] for k in _SA_LISTS}
        self.extra: list[tuple[str, str]] = []

    def build(self) -> IpsecFlow:
        d, c, i = self.d, self.counters, self.iface
        lists = {k: tuple(_sa(s) for s in v) for k, v in self.sas.items()}
        port = d.get("peer_port")
        return IpsecFlow(
            i.get("interface"), i.get("crypto_map"), i.get("local_addr"), i.get("policy"), d.get("vrf"),
            d.get("local_ident"), d.get("remote_ident"), d.get("peer"), int(port) if port else None,
            d.get("flags"), c.get("encaps"), c.get("encrypt"), c.get("digest"), c.get("decaps"),
            c.get("decrypt"), c.get("verify"), c.get("send errors"), c.get("recv errors"),
            d.get("local_endpoint"), d.get("remote_endpoint"), _int(d.get("plaintext mtu")),
            _int(d.get("path mtu")), _int(d.get("ip mtu") or d.get("ipv6 mtu")),
            d.get("ip mtu idb") or d.get("ipv6 mtu idb"), d.get("current_outbound_spi"), d.get("pfs"),
            d.get("dh_group"),
            tuple(s.spi for s in lists["inbound esp"] if s.spi),
            tuple(s.spi for s in lists["outbound esp"] if s.spi),
            lists["inbound esp"], lists["outbound esp"], lists["inbound ah"], lists["outbound ah"],
            lists["inbound pcp"], lists["outbound pcp"], dict(c), tuple(self.extra),
        )  # fmt: skip


def _int(v: str | None) -> int | None:
    return int(v) if v and v.isdigit() else None


def _sa(d: dict[str, str | None]) -> IpsecSa:
    timing = d.get("timing")
    kl = _KL.search(timing) if timing and "k/sec" in timing else None
    notes = d.get("notes")
    return IpsecSa(
        d.get("spi"), _int(d.get("spi_int")), d.get("transform"), d.get("settings"), _int(d.get("conn id")),
        d.get("flow_id"), d.get("sibling_flags"), d.get("crypto map"), timing,
        int(kl.group(1)) if kl else None, int(kl.group(2)) if kl else None, _int(d.get("iv")),
        d.get("replay"), _int(d.get("replay window")), d.get("status"),
        tuple(notes.split("\n")) if notes else (),
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
    sa_list: list[dict[str, str | None]] | None = None
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if s.startswith("interface:"):
            iface, cur, sa_list = {"interface": s.partition(":")[2].strip()}, None, None
            continue
        if m := re.match(r"^Crypto map tag:\s*([^,]+?)(?:,\s*local addr\s+(\S+))?$", s):
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
            sa_list.append({"spi": m.group(1), "spi_int": m.group(2)})
            continue
        if sa_list and _sa_line(sa_list[-1], s):
            continue
        if not _flow_line(cur, s):
            raise fail(_NAME, ln)
    return IpsecSaTable(tuple(f.build() for f in flows))


def _flow_line(cur: _Flow, s: str) -> bool:
    d = cur.d
    if s.startswith("#"):
        for clause in s.split(","):
            m = _COUNTER.match(clause.strip())
            if m is None:
                return False
            cur.counters[m.group(1).strip()] = int(m.group(2))
        return True
    if m := _PEER.match(s):
        d["peer"], d["peer_port"] = m.group(1), m.group(2)
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
            d[mm.group(1)] = mm.group(2)
    elif m := re.match(r"^current outbound spi:\s*(0x[0-9A-Fa-f]+)", s):
        d["current_outbound_spi"] = m.group(1)
    elif m := re.match(r"^PFS \(Y/N\):\s*(\S+),\s*DH group:\s*([^,]+)(?:,\s*(.*))?$", s):
        d["pfs"], d["dh_group"] = m.group(1), m.group(2).strip()
        if m.group(3):
            cur.extra.append(("PFS", m.group(3)))
    else:
        return False
    return True


def _sa_line(sa: dict[str, str | None], s: str) -> bool:
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
            elif _:
                sa["flow_id" if k == "flow_id" else k] = v.strip()
            else:
                return False
    elif s.startswith("sa timing:"):
        sa["timing"] = s.partition(":")[2].strip()
    elif m := re.match(r"^IV size:\s*(\d+) bytes$", s):
        sa["iv"] = m.group(1)
    elif m := re.match(r"^replay detection support:\s*(\S+)(?:\s+replay window size:\s*(\d+))?$", s):
        sa["replay"], sa["replay window"] = m.group(1), m.group(2)
    elif s.startswith("Status:"):
        sa["status"] = s.partition(":")[2].strip()
    # one capture has this note cut to 'ekey has been disabled'; it is still that note
    elif s.endswith("ekey has been disabled"):
        prev = sa.get("notes")
        sa["notes"] = f"{prev}\n{s}" if prev else s
    else:
        return False
    return True
