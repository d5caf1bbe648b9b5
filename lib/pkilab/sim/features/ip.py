"""Interfaces, addresses, static routes, IPv4 forwarding, ICMP echo and ``ping``.

Packets are real IPv4 bytes on the virtual network. Other features hook into the data path:
``egress_hooks`` see every packet leaving an interface (crypto maps encrypt there) and may
consume it; ``udp_services`` receive datagrams addressed to this router (IKE, NTP).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from pkilab import catalog
from pkilab.sim import packets as pk
from pkilab.sim import vhttp
from pkilab.sim.features.system import System
from pkilab.sim.interp import Await, Ctx
from pkilab.sim.network import Attachment, Trace
from pkilab.sim.router import Feature, handles

UdpService = Callable[[pk.IPv4, pk.Udp, str], None]
EgressHook = Callable[["Interface", bytes, Trace | None], bool]


@dataclass
class Interface:
    """One interface's configuration and counters."""

    name: str
    physical: bool = True
    address: ipaddress.IPv4Interface | None = None
    shutdown: bool = True
    description: str = ""
    method: str = "unset"
    crypto_map: str | None = None
    link: str | None = None
    attachment: Attachment | None = None
    extra: list[str] = field(default_factory=list)

    @property
    def up(self) -> bool:
        """Line protocol up: not shut down and (for physical ports) cabled."""
        return not self.shutdown and (not self.physical or self.link is not None)


@dataclass(frozen=True)
class Route:
    """A routing table entry."""

    network: ipaddress.IPv4Network
    next_hop: str | None
    interface: str | None
    source: str  # C, S, L…
    distance: int = 1


def _if_sort_key(name: str) -> tuple[str, list[int]]:
    base = name.rstrip("0123456789/.")
    nums = [int(x) for x in name[len(base) :].replace(".", "/").split("/") if x.isdigit()]
    return base, nums


class Ip(Feature):
    """Interfaces, routing, forwarding, ICMP and UDP delivery."""

    order = 600  # IOS prints interfaces after the crypto configuration

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.interfaces: dict[str, Interface] = {}
        for spec in router.spec.interfaces:
            self.interfaces[spec.name] = Interface(spec.name, link=spec.link)
        self.static: list[Route] = []
        self.extra_routes: list[Route] = []  # added by features (reverse-route injection)
        self.udp_services: dict[int, UdpService] = {}
        # TCP: segments for client ports in use (vhttp requests); port 80 is served by vhttp.
        self.tcp_clients: dict[int, Callable[[pk.IPv4, Trace | None], None]] = {}
        self.egress_hooks: list[EgressHook] = []
        self.ingress_hooks: list[Callable[[Interface, pk.IPv4, bytes, Trace | None], bool]] = []
        self._echo_waiters: dict[tuple[int, int], asyncio.Future[str]] = {}
        self._ident = 0
        self._echo_id = int(time.monotonic() * 1000) & 0xFFFF

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Attach cabled interfaces to their virtual links."""
        net = self.router.lab.network
        for intf in self.interfaces.values():
            if intf.link is not None:
                intf.attachment = net.attach(
                    intf.link, self.router.name, intf.name, self._receive, self._addresses_of(intf), self._is_up(intf)
                )

    def stop(self) -> None:
        """Detach from the network (reload)."""
        self.router.lab.network.detach_router(self.router.name)
        for fut in self._echo_waiters.values():
            if not fut.done():
                fut.set_result(".")

    @staticmethod
    def _is_up(intf: Interface) -> Callable[[], bool]:
        return lambda: intf.up

    @staticmethod
    def _addresses_of(intf: Interface) -> Callable[[], list[str]]:
        return lambda: [str(intf.address.ip)] if intf.address is not None and intf.up else []

    # ---- configuration -----------------------------------------------------------------
    def config_lines(self) -> list[str]:
        """Interfaces and static routes."""
        lines: list[str] = []
        for name in sorted(self.interfaces, key=_if_sort_key):
            intf = self.interfaces[name]
            lines.append(f"interface {name}")
            if intf.description:
                lines.append(f" description {intf.description}")
            if intf.address is not None:
                lines.append(f" ip address {intf.address.ip} {intf.address.netmask}")
            else:
                lines.append(" no ip address")
            lines.extend(f" {x}" for x in intf.extra)
            if intf.shutdown:
                lines.append(" shutdown")
            if intf.crypto_map:
                lines.append(f" crypto map {intf.crypto_map}")
            lines.append("!")
        for r in self.static:
            target = r.next_hop or r.interface
            lines.append(f"ip route {r.network.network_address} {r.network.netmask} {target}")
        if self.static:
            lines.append("!")
        return lines

    @handles(catalog.INTERFACE)
    def interface(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``interface NAME`` → ``(config-if)#``; loopbacks and tunnels are created."""
        name = args["interface"]
        intf = self.interfaces.get(name)
        if intf is None:
            if not name.startswith(("Loopback", "Tunnel")):
                return "% Invalid input detected at '^' marker."
            intf = self.interfaces[name] = Interface(name, physical=False, shutdown=False)
        if not ctx.interactive:
            # A saved configuration lists "shutdown" for the interfaces that are down; the others
            # come up when it is loaded.
            intf.shutdown = False
        ctx.enter("config-if", intf)
        return None

    @handles(catalog.NO_INTERFACE)
    def no_interface(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``no interface NAME``: a loopback or tunnel goes, with the static routes out of it."""
        name = args["interface"]
        intf = self.interfaces.get(name)
        if intf is None:
            return None
        if intf.physical:
            # IOS's wording (docs/sim-fidelity.md cites it).
            return "% Removal of physical interfaces is not permitted"
        del self.interfaces[name]
        # Its address, crypto map binding and connected route go with the object; static routes
        # that name it as their exit would point nowhere, and IOS removes them too.
        self.static = [r for r in self.static if r.interface != name]
        self.extra_routes = [r for r in self.extra_routes if r.interface != name]
        self.router.feature(System).touch()
        return None

    @handles(catalog.IF_IP_ADDRESS)
    def ip_address(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``ip address A M``."""
        try:
            addr = ipaddress.IPv4Interface(f"{args['address']}/{args['mask']}")
        except ValueError:
            return f"Bad mask /0 for address {args['address']}"
        for other in self.interfaces.values():
            if (
                other is not ctx.obj
                and other.address is not None
                and other.address.network.overlaps(addr.network)
                and other.address.network.prefixlen < 32
            ):
                return f"% {addr.network.network_address} overlaps with {other.name}"
        ctx.obj.address = addr
        ctx.obj.method = "manual" if ctx.interactive else "NVRAM"
        self.router.feature(System).touch()
        return None

    @handles(catalog.IF_NO_IP_ADDRESS)
    def no_ip_address(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no ip address``."""
        ctx.obj.address = None
        ctx.obj.method = "unset"

    @handles(catalog.IF_SHUTDOWN)
    def shutdown(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``shutdown``."""
        if not ctx.obj.shutdown and ctx.interactive:
            self.router.feature(System).logmsg(
                f"%LINK-5-CHANGED: Interface {ctx.obj.name}, changed state to administratively down"
            )
        ctx.obj.shutdown = True

    @handles(catalog.IF_NO_SHUTDOWN)
    def no_shutdown(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no shutdown``."""
        was = ctx.obj.shutdown
        ctx.obj.shutdown = False
        if was and ctx.interactive:
            self.router.feature(System).logmsg(f"%LINK-3-UPDOWN: Interface {ctx.obj.name}, changed state to up")

    @handles(catalog.IF_DESCRIPTION)
    def description(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``description TEXT``."""
        ctx.obj.description = args["line"]

    @handles(catalog.IF_NO_DESCRIPTION)
    def no_description(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no description``."""
        ctx.obj.description = ""

    @handles(catalog.IF_DUPLEX_SPEED)
    def duplex_speed(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """Physical-layer knobs, kept as typed."""
        key = "duplex" if args.get("duplex") else "speed"
        ctx.obj.extra = [x for x in ctx.obj.extra if not x.startswith(key)] + [f"{key} {args['word']}"]

    @handles(catalog.IP_ROUTE)
    def ip_route(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``ip route PREFIX MASK NEXT-HOP|INTERFACE``."""
        try:
            net = ipaddress.IPv4Network(f"{args['address']}/{args['mask']}")
        except ValueError:
            return "%Inconsistent address and mask"
        route = Route(net, args.get("hop"), args.get("interface"), "S", args.get("number", 1))
        self.static = [
            r
            for r in self.static
            if (r.network, r.next_hop, r.interface) != (route.network, route.next_hop, route.interface)
        ] + [route]
        return None

    @handles(catalog.NO_IP_ROUTE)
    def no_ip_route(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no ip route``."""
        net = ipaddress.IPv4Network(f"{args['address']}/{args['mask']}", strict=False)
        self.static = [r for r in self.static if not (r.network == net and (args.get("hop") in (None, r.next_hop)))]

    # ---- show --------------------------------------------------------------------------
    @handles(catalog.SHOW_IP_INTERFACE_BRIEF)
    def show_ip_int_brief(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show ip interface brief``."""
        width = self.router.personality.layouts.if_brief_width  # XE's names are short: 23
        lines = [f"{'Interface':<{width}}IP-Address      OK? Method Status                Protocol"]
        for name in sorted(self.interfaces, key=_if_sort_key):
            i = self.interfaces[name]
            addr = str(i.address.ip) if i.address else "unassigned"
            status = "administratively down" if i.shutdown else ("up" if i.up else "down")
            proto = "up" if i.up else "down"
            lines.append(f"{name:<{width}}{addr:<16}YES {i.method:<7}{status:<22}{proto}")
        return "\n".join(lines)

    def routes(self) -> list[Route]:
        """The routing table: connected, static and injected routes."""
        table = [
            Route(i.address.network, None, i.name, "C", 0)
            for i in self.interfaces.values()
            if i.up and i.address is not None
        ]
        return table + self.static + self.extra_routes

    @handles(catalog.SHOW_IP_ROUTE)
    def show_ip_route(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show ip route`` (connected, static, injected)."""
        lines = [
            "Codes: L - local, C - connected, S - static, R - RIP, M - mobile, B - BGP",
            "",
            "Gateway of last resort is "
            + next(
                (f"{r.next_hop} to network 0.0.0.0" for r in self.routes() if r.network.prefixlen == 0 and r.next_hop),
                "not set",
            ),
            "",
        ]
        for r in sorted(self.routes(), key=lambda r: (int(r.network.network_address), r.network.prefixlen)):
            code = "S*" if r.source == "S" and r.network.prefixlen == 0 else r.source
            if r.source == "C":
                lines.append(f"{code:<8} {r.network} is directly connected, {r.interface}")
            else:
                via = f"via {r.next_hop}" if r.next_hop else f"is directly connected, {r.interface}"
                lines.append(f"{code:<8} {r.network} [{r.distance}/0] {via}")
        return "\n".join(lines)

    # ---- forwarding --------------------------------------------------------------------
    def lookup(self, dst: str) -> tuple[Interface, str] | None:
        """Longest-prefix match: (egress interface, next-hop address) for ``dst``.

        A route without an interface is resolved through the table again, as IOS resolves
        recursive static routes (RRI's route to a peer that is itself behind a static route).
        """
        routes = self.routes()
        hop = dst
        for _ in range(8):  # resolve recursive next hops
            addr = ipaddress.IPv4Address(hop)
            best: Route | None = None
            for r in routes:
                if addr in r.network and (best is None or r.network.prefixlen > best.network.prefixlen):
                    best = r
            if best is None:
                return None
            if best.interface is not None:
                intf = self.interfaces.get(best.interface)
                if intf is None or not intf.up:
                    return None
                return intf, best.next_hop or hop
            if best.next_hop is None or best.next_hop == hop:
                return None
            hop = best.next_hop
        return None

    def local_addresses(self) -> list[str]:
        """Addresses of this router's up interfaces."""
        return [str(i.address.ip) for i in self.interfaces.values() if i.address is not None and i.up]

    def source_for(self, dst: str) -> str | None:
        """The address IOS would source a packet to ``dst`` from (the egress interface's)."""
        hop = self.lookup(dst)
        if hop is None or hop[0].address is None:
            return None
        return str(hop[0].address.ip)

    def send(self, packet: bytes, trace: Trace | None = None) -> bool:
        """Route and transmit an IPv4 packet originated or forwarded by this router."""
        ip = pk.IPv4.parse(packet)
        if ip is None:
            return False
        if ip.dst in self.local_addresses():
            self.router.lab.network.loop_call(self._deliver_local, None, ip, packet, trace)
            return True
        hop = self.lookup(ip.dst)
        if hop is None:
            if trace:
                trace.dropped(f"{self.router.hostname}: no route to {ip.dst}")
            return False
        intf, next_hop = hop
        for hook in self.egress_hooks:
            if hook(intf, packet, trace):
                return True
        return self.transmit(intf, next_hop, packet, trace)

    def transmit(self, intf: Interface, next_hop: str, packet: bytes, trace: Trace | None) -> bool:
        """Put a packet on an interface's link towards ``next_hop``."""
        if intf.attachment is None:
            if trace:
                trace.dropped(f"{self.router.hostname}: {intf.name} has no link")
            return False
        self.router.lab.network.transmit(intf.link or "", intf.attachment, next_hop, packet, trace)
        return True

    def _receive(self, if_name: str, packet: bytes, trace: Trace | None) -> None:
        if not self.router.up:
            return
        ip = pk.IPv4.parse(packet)
        intf = self.interfaces.get(if_name)
        if ip is None or intf is None:
            return
        for hook in self.ingress_hooks:
            if hook(intf, ip, packet, trace):
                return
        if ip.dst in self.local_addresses():
            self._deliver_local(intf, ip, packet, trace)
            return
        if ip.ttl <= 1:
            if trace:
                trace.dropped(f"{self.router.hostname}: TTL expired")
            return
        self.send(pk.with_ttl(packet, ip.ttl - 1), trace)

    def deliver(self, intf: Interface | None, packet: bytes, trace: Trace | None) -> None:
        """Process a packet as if received (decapsulated ESP re-enters here)."""
        ip = pk.IPv4.parse(packet)
        if ip is None:
            return
        if ip.dst in self.local_addresses():
            self._deliver_local(intf, ip, packet, trace)
        elif ip.ttl > 1:
            self.send(pk.with_ttl(packet, ip.ttl - 1), trace)

    def _deliver_local(self, intf: Interface | None, ip: pk.IPv4, packet: bytes, trace: Trace | None) -> None:
        if ip.proto == pk.PROTO_ICMP:
            msg = pk.Icmp.parse(ip.payload)
            if msg is None:
                return
            if msg.type == 8:
                reply = pk.icmp(0, 0, msg.ident, msg.seq, msg.data)
                self.send(pk.ipv4(ip.dst, ip.src, pk.PROTO_ICMP, reply, ident=self.next_ident()), trace)
            elif msg.type == 0:
                fut = self._echo_waiters.pop((msg.ident, msg.seq), None)
                if fut is not None and not fut.done():
                    fut.set_result("!")
        elif ip.proto == pk.PROTO_TCP:
            seg = vhttp.parse_segment(ip.payload)
            if seg is None:
                return
            client = self.tcp_clients.get(seg[1])
            if client is not None:
                client(ip, trace)
            else:
                vhttp.serve(self, ip, trace)
        elif ip.proto == pk.PROTO_UDP:
            datagram = pk.Udp.parse(ip.payload)
            if datagram is None:
                return
            service = self.udp_services.get(datagram.dport)
            if service is not None:
                service(ip, datagram, intf.name if intf else "")
            elif trace:
                trace.dropped(f"{self.router.hostname}: port {datagram.dport} unreachable")

    def next_ident(self) -> int:
        """The next IP identification value."""
        self._ident = (self._ident + 1) & 0xFFFF
        return self._ident

    def send_udp(
        self, src: str | None, dst: str, sport: int, dport: int, data: bytes, trace: Trace | None = None
    ) -> bool:
        """Send a UDP datagram from this router (source chosen by routing when None)."""
        src = src or self.source_for(dst)
        if src is None:
            return False
        return self.send(
            pk.ipv4(src, dst, pk.PROTO_UDP, pk.udp(src, dst, sport, dport, data), ident=self.next_ident()), trace
        )

    # ---- ping --------------------------------------------------------------------------
    def echo(self, src: str, dst: str, seq: int, size: int, timeout: float) -> asyncio.Future[str]:
        """Send one ICMP echo; the future resolves to ``!`` (reply) or ``.`` (lost)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()
        key = (self._echo_id, seq)
        self._echo_waiters[key] = fut

        def lost(reason: str) -> None:
            waiter = self._echo_waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(".")

        payload = bytes(i & 0xFF for i in range(size - 28)) if size > 28 else b""
        packet = pk.ipv4(src, dst, pk.PROTO_ICMP, pk.icmp(8, 0, self._echo_id, seq, payload), ident=self.next_ident())
        handle = loop.call_later(timeout, lost, "timeout")
        fut.add_done_callback(lambda _: handle.cancel())
        self.send(packet, Trace(on_drop=lost))
        return fut

    @handles(catalog.PING)
    def ping(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, Any, str | None]:
        """``ping [ip] ADDR [source IF|ADDR] [repeat N]`` with IOS's output."""
        dst = self.router.feature(System).resolve(args["target"])
        if dst is None:
            return f'Translating "{args["target"]}"\n% Unrecognized host or address, or protocol not running.\n'
        src, err = self._ping_source(args.get("src"), dst)
        if err:
            return err
        count, size = args.get("count", 5), args.get("size", 100)
        timeout = args.get("secs", 2)
        yield "Type escape sequence to abort.\n"
        yield f"Sending {count}, {size}-byte ICMP Echos to {dst}, timeout is {timeout} seconds:\n"
        if args.get("src"):
            yield f"Packet sent with a source address of {src}\n"
        marks: list[str] = []
        rtts: list[float] = []
        for seq in range(count):
            started = time.monotonic()
            mark = "." if src is None else (yield Await(self.echo(src, dst, seq, size, float(timeout))))
            marks.append(mark)
            if mark == "!":
                rtts.append((time.monotonic() - started) * 1000)
            yield mark + ("\n" if (seq + 1) % 70 == 0 else "")
        ok = len(rtts)
        summary = f"\nSuccess rate is {ok * 100 // count} percent ({ok}/{count})"
        if rtts:
            lo, hi = max(1, round(min(rtts))), max(1, round(max(rtts)))
            avg = max(1, round(sum(rtts) / len(rtts)))
            summary += f", round-trip min/avg/max = {lo}/{avg}/{hi} ms"
        return summary

    def _ping_source(self, given: str | None, dst: str) -> tuple[str | None, str | None]:
        if given is None:
            return self.source_for(dst), None
        from pkilab.catalog.grammar import normalize_interface

        try:
            ipaddress.IPv4Address(given)
            if given not in self.local_addresses():
                return None, "% Invalid source address- IP address not on any of our up interfaces\n"
            return given, None
        except ValueError:
            name = normalize_interface(given)
            intf = self.interfaces.get(name or "")
            if intf is None:
                return None, f"% Invalid source interface - {given}\n"
            if intf.address is None or not intf.up:
                return None, "% Invalid source. Must use same-VRF IP address or full interface name without spaces\n"
            return str(intf.address.ip), None
