"""Extended IP access lists (``ip access-list extended``) with match counters.

Crypto maps use these lists to pick the traffic they protect; ``show access-lists`` shows the
per-entry match counters the seed refers to.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from pkilab import catalog
from pkilab.sim import packets as pk
from pkilab.sim.features.system import System
from pkilab.sim.interp import Ctx
from pkilab.sim.router import Feature, handles

_PROTOCOLS = {"ip": None, "icmp": pk.PROTO_ICMP, "tcp": pk.PROTO_TCP, "udp": pk.PROTO_UDP, "esp": pk.PROTO_ESP}
_ADDR = "{any | host h:A.B.C.D | net:A.B.C.D wild:A.B.C.D}"


@dataclass(frozen=True)
class AddressSpec:
    """``any``, ``host A`` or ``A WILDCARD``."""

    address: str | None = None
    wildcard: str = "255.255.255.255"

    def matches(self, ip: str) -> bool:
        """Return True when ``ip`` falls in this spec."""
        if self.address is None:
            return True
        wild = int(ipaddress.IPv4Address(self.wildcard))
        return int(ipaddress.IPv4Address(ip)) & ~wild == int(ipaddress.IPv4Address(self.address)) & ~wild

    def network(self) -> ipaddress.IPv4Network:
        """The spec as a network (a contiguous wildcard is assumed, as crypto ACLs use)."""
        if self.address is None:
            return ipaddress.IPv4Network("0.0.0.0/0")
        return (
            ipaddress.IPv4Network(f"{self.address}/{self.wildcard}", strict=False)
            if self.wildcard != "0.0.0.0"
            else ipaddress.IPv4Network(f"{self.address}/32")
        )

    def render(self) -> str:
        """As IOS prints it."""
        if self.address is None:
            return "any"
        if self.wildcard == "0.0.0.0":
            return f"host {self.address}"
        return f"{self.address} {self.wildcard}"


@dataclass
class AclEntry:
    """One numbered entry: permit/deny PROTO SRC DST, or a remark."""

    seq: int
    action: str
    protocol: str = "ip"
    src: AddressSpec = field(default_factory=AddressSpec)
    dst: AddressSpec = field(default_factory=AddressSpec)
    remark: str = ""
    matches: int = 0

    def render(self) -> str:
        """As the running configuration shows it."""
        if self.action == "remark":
            return f"remark {self.remark}"
        return f"{self.action} {self.protocol} {self.src.render()} {self.dst.render()}"

    def hit(self, ip: pk.IPv4) -> bool:
        """Return True when the packet matches this entry."""
        if self.action == "remark":
            return False
        proto = _PROTOCOLS.get(self.protocol)
        return (proto is None or proto == ip.proto) and self.src.matches(ip.src) and self.dst.matches(ip.dst)


@dataclass
class AccessList:
    """A named extended access list."""

    name: str
    entries: list[AclEntry] = field(default_factory=list)

    def evaluate(self, ip: pk.IPv4, count: bool = True) -> AclEntry | None:
        """The first entry matching the packet (implicit deny → None)."""
        for e in self.entries:
            if e.hit(ip):
                if count:
                    e.matches += 1
                return e
        return None


def _spec(args: dict[str, Any], host: str, net: str, wild: str) -> AddressSpec:
    if args.get(host):
        return AddressSpec(args[host], "0.0.0.0")
    if args.get(net):
        return AddressSpec(args[net], args[wild])
    return AddressSpec()


class Acl(Feature):
    """Access lists."""

    order = 800

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.lists: dict[str, AccessList] = {}

    def config_lines(self) -> list[str]:
        """The access lists (terminal lines are in :mod:`pkilab.sim.features.lines`)."""
        lines: list[str] = []
        for acl in self.lists.values():
            lines.append(f"ip access-list extended {acl.name}")
            lines.extend(f" {e.render()}" for e in acl.entries)
            lines.append("!")
        return lines

    @handles(catalog.IP_ACCESS_LIST_EXTENDED)
    def acl(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``ip access-list extended NAME`` → ``(config-ext-nacl)#``."""
        acl = self.lists.setdefault(args["name"], AccessList(args["name"]))
        ctx.enter("config-ext-nacl", acl)
        self.router.feature(System).touch()

    @handles(catalog.NO_IP_ACCESS_LIST_EXTENDED)
    def no_acl(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no ip access-list extended NAME``."""
        self.lists.pop(args["name"], None)

    @handles(catalog.ACL_ENTRY)
    def entry(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``permit|deny PROTO SRC DST``."""
        if args["proto"] not in _PROTOCOLS:
            return "% Invalid input detected at '^' marker."
        acl: AccessList = ctx.obj
        seq = args.get("seq") or (max((e.seq for e in acl.entries), default=0) + 10)
        e = AclEntry(
            seq,
            "permit" if args.get("permit") else "deny",
            args["proto"],
            _spec(args, "sh", "snet", "swild"),
            _spec(args, "dh", "dnet", "dwild"),
        )
        acl.entries = sorted([x for x in acl.entries if x.seq != seq] + [e], key=lambda x: x.seq)
        return None

    @handles(catalog.ACL_REMARK)
    def remark(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``remark TEXT``."""
        acl: AccessList = ctx.obj
        seq = max((e.seq for e in acl.entries), default=0) + 10
        acl.entries.append(AclEntry(seq, "remark", remark=args["line"]))

    @handles(catalog.ACL_NO)
    def no_entry(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no SEQ``."""
        ctx.obj.entries = [e for e in ctx.obj.entries if e.seq != args["seq"]]

    @handles(catalog.SHOW_ACCESS_LISTS)
    def show_acls(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show access-lists`` with match counters."""
        lines = []
        for acl in self.lists.values():
            if args.get("name") and args["name"] != acl.name:
                continue
            lines.append(f"Extended IP access list {acl.name}")
            for e in acl.entries:
                if e.action == "remark":
                    continue
                hits = f" ({e.matches} match{'es' if e.matches != 1 else ''})" if e.matches else ""
                lines.append(f"    {e.seq} {e.render()}{hits}")
        return "\n".join(lines)
