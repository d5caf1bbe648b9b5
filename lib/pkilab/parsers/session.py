"""``show crypto session [detail]`` (also the ``interface|local|remote … [detail]`` forms).

Each ``Interface:`` block is one session: its profile/user/status lines, the peer, the IKE
SAs (``IKE SA:`` on 12.4, ``IKEv1 SA:``/``IKEv2 SA:`` later; an IPv6 SA wraps before
``remote``) with their ``Capabilities:`` line in ``detail``, and the IPsec flows with their
``Active SAs``/``Inbound``/``Outbound`` lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pkilab.parsers._base import FactsMixin, Line, clean_lines, fail, number

__all__ = ["CryptoSession", "CryptoSessions", "IkeSessionSa", "IpsecSessionFlow", "parse_crypto_session"]

_NAME = "show crypto session"


@dataclass(frozen=True, slots=True)
class IkeSessionSa(FactsMixin):
    """An ``IKE SA``/``IKEv1 SA``/``IKEv2 SA`` line (and its ``Capabilities:`` line)."""

    version: str
    local: str
    remote: str
    state: str
    session_id: int | None
    capabilities: str | None
    conn_id: int | None
    lifetime: str | None


@dataclass(frozen=True, slots=True)
class IpsecSessionFlow(FactsMixin):
    """An ``IPSEC FLOW:`` and its counters (``detail`` only for in/out packets)."""

    flow: str
    active_sas: int | None
    origin: str | None
    pkts_decrypted: int | None
    pkts_encrypted: int | None
    drop_in: int | None
    drop_out: int | None
    life_in: str | None
    life_out: str | None


@dataclass(frozen=True, slots=True)
class CryptoSession(FactsMixin):
    """One ``Interface:`` block."""

    interface: str
    status: str | None
    peer: str | None
    peer_port: int | None
    fvrf: str | None
    ivrf: str | None
    profile: str | None
    uptime: str | None
    username: str | None
    group: str | None
    assigned_address: str | None
    desc: str | None
    phase1_id: str | None
    session_ids: tuple[int, ...]
    ike_sas: tuple[IkeSessionSa, ...]
    flows: tuple[IpsecSessionFlow, ...]
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CryptoSessions(FactsMixin):
    """``show crypto session``: every session in printed order."""

    sessions: tuple[CryptoSession, ...]


_SIMPLE = {
    "session status": "status",
    "profile": "profile",
    "uptime": "uptime",
    "username": "username",
    "group": "group",
    "assigned address": "assigned_address",
    "desc": "desc",
    "phase1_id": "phase1_id",
}
_PEER = re.compile(r"^Peer:\s*(\S+)\s+port\s+(\d+)(?:\s+fvrf:\s*(\S+)\s+ivrf:\s*(\S+))?$")
_IKE = re.compile(r"^(IKE|IKEv1|IKEv2) SA:\s*local\s+(\S+)(?:\s+remote\s+(\S+)\s+(\S+))?$")
_IKE_TAIL = re.compile(r"^remote\s+(\S+)\s+(\S+)$")
_CAPS = re.compile(r"^Capabilities:\s*(\S+)\s+connid:\s*(\d+)\s+lifetime:\s*(\S+)$")
_ACTIVE = re.compile(r"^Active SAs:\s*(\d+),\s*origin:\s*(.+)$")
_INOUT = re.compile(r"^(Inbound|Outbound):\s*#pkts (?:dec|enc)'ed\s+(\d+)\s+drop\s+(\d+)\s+life \(KB/Sec\)\s+(.+)$")
# 'X - meaning' items separated by commas, each running to a comma: one way to split a line.
_LEGEND = re.compile(r"^(?:Code:\s*)?[A-Z] - [A-Za-z][^,]*(?:,\s*[A-Z] - [A-Za-z][^,]*)*,?$")


# A collector's values: printed text, or a number read checked from its line.
_Values = dict[str, str | int | None]


def _s(d: _Values, key: str) -> str | None:
    v = d.get(key)
    return v if isinstance(v, str) else None


def _n(d: _Values, key: str) -> int | None:
    v = d.get(key)
    return v if isinstance(v, int) else None


class _Sess:
    def __init__(self, interface: str):
        self.interface = interface
        self.d: _Values = {}
        self.ids: list[int] = []
        self.ike: list[_Values] = []
        self.flows: list[_Values] = []
        self.extra: list[tuple[str, str]] = []

    def build(self) -> CryptoSession:
        d = self.d
        ike = tuple(
            IkeSessionSa(
                _s(x, "version") or "",
                _s(x, "local") or "",
                _s(x, "remote") or "",
                _s(x, "state") or "",
                _n(x, "sid"),
                _s(x, "caps"),
                _n(x, "connid"),
                _s(x, "lifetime"),
            )
            for x in self.ike
        )
        flows = tuple(
            IpsecSessionFlow(
                _s(f, "flow") or "",
                _n(f, "active"),
                _s(f, "origin"),
                _n(f, "Inbound"),
                _n(f, "Outbound"),
                _n(f, "Inbound_drop"),
                _n(f, "Outbound_drop"),
                _s(f, "Inbound_life"),
                _s(f, "Outbound_life"),
            )
            for f in self.flows
        )
        return CryptoSession(
            self.interface, _s(d, "status"), _s(d, "peer"), _n(d, "port"), _s(d, "fvrf"), _s(d, "ivrf"),
            _s(d, "profile"), _s(d, "uptime"), _s(d, "username"), _s(d, "group"), _s(d, "assigned_address"),
            _s(d, "desc"), _s(d, "phase1_id"), tuple(self.ids), ike, flows, tuple(self.extra),
        )  # fmt: skip


def parse_crypto_session(text: str) -> CryptoSessions:
    """Parse ``show crypto session [detail]`` (12.4, 15.x, IOS-XE).

    Raises:
        ParseError: On a line that is not part of a session block or the legend.
    """
    lines, _ = clean_lines(text)
    sessions: list[_Sess] = []
    cur: _Sess | None = None
    for ln in lines:
        s = ln.text.strip()
        if not s or s == "Crypto session current status" or _LEGEND.match(s):
            continue
        if s.startswith("Interface:"):
            cur = _Sess(s.partition(":")[2].strip())
            sessions.append(cur)
            continue
        if cur is None:
            raise fail(_NAME, ln, "line before 'Interface:'")
        _line(cur, s, ln)
    return CryptoSessions(tuple(c.build() for c in sessions))


def _line(cur: _Sess, s: str, ln: Line) -> None:
    if m := _PEER.match(s):
        port = number(_NAME, ln, m.group(2), "port")
        cur.d.update(peer=m.group(1), port=port, fvrf=m.group(3), ivrf=m.group(4))
    elif m := _IKE.match(s):
        cur.ike.append(
            {
                "version": m.group(1),
                "local": m.group(2),
                "remote": m.group(3),
                "state": m.group(4),
                "sid": cur.ids[-1] if cur.ids else None,
            }
        )
    elif (m := _IKE_TAIL.match(s)) and cur.ike and not cur.ike[-1].get("remote"):
        cur.ike[-1].update(remote=m.group(1), state=m.group(2))
    elif (m := _CAPS.match(s)) and cur.ike:
        cur.ike[-1].update(caps=m.group(1), connid=number(_NAME, ln, m.group(2), "connid"), lifetime=m.group(3))
    elif s.startswith("IPSEC FLOW:"):
        cur.flows.append({"flow": s.partition(":")[2].strip()})
    elif (m := _ACTIVE.match(s)) and cur.flows:
        cur.flows[-1].update(active=number(_NAME, ln, m.group(1), "Active SAs"), origin=m.group(2).strip())
    elif (m := _INOUT.match(s)) and cur.flows:
        k = m.group(1)
        pkts, drop = number(_NAME, ln, m.group(2), "#pkts"), number(_NAME, ln, m.group(3), "drop")
        cur.flows[-1].update({k: pkts, f"{k}_drop": drop, f"{k}_life": m.group(4).strip()})
    elif m := re.match(r"^Session ID:\s*(\d+)$", s):
        cur.ids.append(number(_NAME, ln, m.group(1), "Session ID"))
    elif m := re.match(r"^System IP:\s*(\S+)\s+Interface:\s*(\S+)$", s):
        cur.extra += [("System IP", m.group(1)), ("Interface", m.group(2))]
    else:
        key, sep, value = s.partition(":")
        fld = _SIMPLE.get(key.strip().lower())
        if not sep or fld is None:
            raise fail(_NAME, ln)
        cur.d[fld] = value.strip()
