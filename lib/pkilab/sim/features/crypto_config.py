"""IKEv1/IPsec configuration of a simulated router: ISAKMP policies, keys, transform sets, crypto maps.

The seed's headend and branch configurations are accepted as typed and rendered back in
``show running-config`` in IOS order, so that ``write memory`` and a reload restore them. The
state here is only configuration; :mod:`.crypto_ike` turns it into engine inputs and
:mod:`.crypto_data` applies crypto maps to packets.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from pkilab import catalog
from pkilab.errors import PkilabError
from pkilab.protocols.ike import IsakmpPolicy, Phase2Policy, TransformSet
from pkilab.sim.features.system import System
from pkilab.sim.interp import Ctx
from pkilab.sim.router import Feature, handles

_ENCR = ("des", "3des", "aes")
_HASH = ("sha", "md5", "sha256")
_AUTH = ("rsa-sig", "pre-share")
_GROUPS = (1, 2, 5, 14)
_PFS = {"group1": 1, "group2": 2, "group5": 5, "group14": 14}
DEFAULT_SA_SECONDS = 3600
DEFAULT_SA_KILOBYTES = 4608000


@dataclass
class PolicyEntry:
    """``crypto isakmp policy N`` as typed (IOS defaults: des, sha, rsa-sig, group 1, 86400 s)."""

    priority: int
    encr: str = "des"
    hash: str = "sha"
    auth: str = "rsa-sig"
    group: int = 1
    lifetime: int = 86400

    def engine_policy(self) -> IsakmpPolicy:
        """The engine's form of this policy."""
        return IsakmpPolicy.from_ios(self.priority, self.encr, self.hash, self.auth, self.group, self.lifetime)

    def lines(self) -> list[str]:
        """Running-config lines (defaults are not printed, as IOS)."""
        out = [f"crypto isakmp policy {self.priority}"]
        if self.encr != "des":
            out.append(f" encr {self.encr}")
        if self.hash != "sha":
            out.append(f" hash {self.hash}")
        if self.auth != "rsa-sig":
            out.append(f" authentication {self.auth}")
        if self.group != 1:
            out.append(f" group {self.group}")
        if self.lifetime != 86400:
            out.append(f" lifetime {self.lifetime}")
        return out


@dataclass(frozen=True)
class PskEntry:
    """``crypto isakmp key KEY address ADDR [MASK]``."""

    key: str
    network: ipaddress.IPv4Network

    def render(self) -> str:
        """As IOS prints it (the mask only when it is not a host)."""
        if self.network.prefixlen == 32:
            return f"crypto isakmp key {self.key} address {self.network.network_address}"
        return f"crypto isakmp key {self.key} address {self.network.network_address} {self.network.netmask}"


@dataclass(frozen=True)
class Keepalive:
    """``crypto isakmp keepalive S [R] [periodic|on-demand]`` (DPD)."""

    interval: int
    retry: int = 2
    periodic: bool = False


@dataclass
class TransformEntry:
    """``crypto ipsec transform-set NAME WORDS…``."""

    name: str
    words: list[str]
    mode: str = "tunnel"

    def transform(self) -> TransformSet:
        """The engine's form."""
        return TransformSet.from_ios(self.name, self.words)


@dataclass
class MapEntry:
    """One entry of a crypto map or a dynamic map (``crypto map TAG SEQ …``)."""

    tag: str
    seq: int
    dynamic_template: str | None = None  # crypto map TAG SEQ ipsec-isakmp dynamic DMAP
    description: str = ""
    peers: list[str] = field(default_factory=list)
    transform_sets: list[str] = field(default_factory=list)
    acl: str | None = None
    reverse_route: bool = False
    qos_preclassify: bool = False
    pfs: int | None = None
    lifetime_seconds: int | None = None
    lifetime_kilobytes: int | None = None

    def body_lines(self) -> list[str]:
        """The sub-mode lines of this entry."""
        out = []
        if self.description:
            out.append(f" description {self.description}")
        out += [f" set peer {p}" for p in self.peers]
        if self.lifetime_seconds is not None:
            out.append(f" set security-association lifetime seconds {self.lifetime_seconds}")
        if self.lifetime_kilobytes is not None:
            out.append(f" set security-association lifetime kilobytes {self.lifetime_kilobytes}")
        if self.transform_sets:
            out.append(" set transform-set " + " ".join(self.transform_sets))
        if self.pfs is not None:
            out.append(f" set pfs group{self.pfs}")
        if self.acl:
            out.append(f" match address {self.acl}")
        if self.reverse_route:
            out.append(" reverse-route")
        if self.qos_preclassify:
            out.append(" qos pre-classify")
        return out


class CryptoConfigError(PkilabError, ValueError):
    """A crypto map refers to something that does not exist (the negotiation cannot use it)."""


class CryptoConfig(Feature):
    """``crypto isakmp …``, ``crypto ipsec …``, ``crypto dynamic-map``, ``crypto map`` and their sub-modes."""

    order = 520

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.policies: dict[int, PolicyEntry] = {}
        self.keys: list[PskEntry] = []
        self.removed_keys: list[PskEntry] = []  # only with the fault psk-survives-removal
        self.keepalive: Keepalive | None = None
        self.identity = "address"
        self.transform_sets: dict[str, TransformEntry] = {}
        self.nat_t = True
        self.sa_seconds = DEFAULT_SA_SECONDS
        self.sa_kilobytes = DEFAULT_SA_KILOBYTES
        self.dynamic_maps: dict[str, dict[int, MapEntry]] = {}
        self.maps: dict[str, dict[int, MapEntry]] = {}

    # ---- running configuration ---------------------------------------------------------------
    def config_lines(self) -> list[str]:
        """Crypto lines in IOS order: isakmp, ipsec, dynamic maps, crypto maps."""
        lines: list[str] = []
        for prio in sorted(self.policies):
            lines += self.policies[prio].lines()
        lines += [k.render() for k in self.keys]
        if self.identity != "address":
            lines.append(f"crypto isakmp identity {self.identity}")
        if self.keepalive is not None:
            ka = self.keepalive
            text = f"crypto isakmp keepalive {ka.interval}" + (f" {ka.retry}" if ka.retry != 2 else "")
            lines.append(text + (" periodic" if ka.periodic else ""))
        if lines:
            lines += ["!", "!"]
        for ts in self.transform_sets.values():
            lines += [f"crypto ipsec transform-set {ts.name} {' '.join(ts.words)}", f" mode {ts.mode}"]
        if self.sa_seconds != DEFAULT_SA_SECONDS:
            lines.append(f"crypto ipsec security-association lifetime seconds {self.sa_seconds}")
        if self.sa_kilobytes != DEFAULT_SA_KILOBYTES:
            lines.append(f"crypto ipsec security-association lifetime kilobytes {self.sa_kilobytes}")
        if not self.nat_t:
            lines.append("no crypto ipsec nat-transparency udp-encaps")
        if self.transform_sets or not self.nat_t:
            lines.append("!")
        for name, entries in self.dynamic_maps.items():
            for seq in sorted(entries):
                lines += [f"crypto dynamic-map {name} {seq}", *entries[seq].body_lines(), "!"]
        for tag, entries in self.maps.items():
            for seq in sorted(entries):
                e = entries[seq]
                if e.dynamic_template:
                    lines.append(f"crypto map {tag} {seq} ipsec-isakmp dynamic {e.dynamic_template}")
                else:
                    lines += [f"crypto map {tag} {seq} ipsec-isakmp", *e.body_lines()]
                lines.append("!")
        return lines

    def changed(self) -> None:
        """Note a configuration change (``Last configuration change``); the IKE glue reads the state at each use."""
        self.router.feature(System).touch()

    # ---- lookups for the IKE glue and the data plane ------------------------------------------
    def psk_for(self, peer: str) -> bytes | None:
        """The pre-shared key for ``peer`` (longest matching address/mask)."""
        addr = ipaddress.IPv4Address(peer)
        hits = [k for k in self.keys + self.removed_keys if addr in k.network]
        if not hits:
            return None
        return max(hits, key=lambda k: k.network.prefixlen).key.encode()

    def engine_policies(self) -> tuple[IsakmpPolicy, ...]:
        """The ISAKMP policies as engine inputs (a bad one is skipped, as IOS ignores it)."""
        out = []
        for p in self.policies.values():
            try:
                out.append(p.engine_policy())
            except PkilabError:
                continue
        return tuple(out)

    def phase2_policy(self, entry: MapEntry, tag: str) -> Phase2Policy:
        """The engine's quick mode policy for a crypto map entry.

        Raises:
            CryptoConfigError: no usable transform set is named.
        """
        sets = []
        for name in entry.transform_sets:
            ts = self.transform_sets.get(name)
            if ts is not None:
                try:
                    sets.append(ts.transform())
                except PkilabError:
                    continue
        if not sets:
            raise CryptoConfigError(f"crypto map {tag} {entry.seq}: no transform set")
        return Phase2Policy(
            tuple(sets),
            entry.pfs,
            entry.lifetime_seconds or self.sa_seconds,
            entry.lifetime_kilobytes or self.sa_kilobytes,
            tag,
        )

    def map_entries(self, tag: str) -> list[MapEntry]:
        """The entries of crypto map ``tag`` by sequence number."""
        entries = self.maps.get(tag, {})
        return [entries[s] for s in sorted(entries)]

    def dynamic_entries(self, name: str) -> list[MapEntry]:
        """The entries of dynamic map ``name`` by sequence number."""
        entries = self.dynamic_maps.get(name, {})
        return [entries[s] for s in sorted(entries)]

    # ---- crypto isakmp ---------------------------------------------------------------------------
    @handles(catalog.CRYPTO_ISAKMP_POLICY)
    def isakmp_policy(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``crypto isakmp policy N`` → ``(config-isakmp)#``."""
        prio = args["number"]
        ctx.enter("config-isakmp", self.policies.setdefault(prio, PolicyEntry(prio)))
        self.changed()

    @handles(catalog.NO_CRYPTO_ISAKMP_POLICY)
    def no_isakmp_policy(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no crypto isakmp policy N``."""
        self.policies.pop(args["number"], None)
        self.changed()

    @handles(catalog.ISAKMP_ENCRYPTION)
    def policy_encr(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``encr {des | 3des | aes [128|192|256]}``."""
        alg, bits = args["alg"].lower(), args.get("bits")
        if alg not in _ENCR or (bits is not None and (alg != "aes" or bits not in (128, 192, 256))):
            return "% Invalid input detected at '^' marker."
        ctx.obj.encr = f"aes {bits}" if bits and bits != 128 else alg
        self.changed()
        return None

    @handles(catalog.ISAKMP_HASH)
    def policy_hash(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``hash {sha | md5 | sha256}``."""
        if args["alg"].lower() not in _HASH:
            return "% Invalid input detected at '^' marker."
        ctx.obj.hash = args["alg"].lower()
        self.changed()
        return None

    @handles(catalog.ISAKMP_AUTHENTICATION)
    def policy_auth(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``authentication {rsa-sig | pre-share}``."""
        if args["method"].lower() not in _AUTH:
            return "% Invalid input detected at '^' marker."
        ctx.obj.auth = args["method"].lower()
        self.changed()
        return None

    @handles(catalog.ISAKMP_GROUP)
    def policy_group(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``group {1 | 2 | 5 | 14}``."""
        if args["number"] not in _GROUPS:
            return "% Invalid input detected at '^' marker."
        ctx.obj.group = args["number"]
        self.changed()
        return None

    @handles(catalog.ISAKMP_LIFETIME)
    def policy_lifetime(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``lifetime SECONDS``."""
        ctx.obj.lifetime = args["number"]
        self.changed()

    @handles(catalog.ISAKMP_NO)
    def policy_no(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """Back to the default value."""
        default = PolicyEntry(ctx.obj.priority)
        for attr, key in (
            ("encr", "encryption"),
            ("hash", "hash"),
            ("auth", "authentication"),
            ("group", "group"),
            ("lifetime", "lifetime"),
        ):
            if args.get(key):
                setattr(ctx.obj, attr, getattr(default, attr))
        self.changed()

    @handles(catalog.CRYPTO_ISAKMP_KEY)
    def isakmp_key(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``crypto isakmp key KEY address ADDR [MASK]``."""
        try:
            net = ipaddress.IPv4Network(f"{args['address']}/{args.get('mask', '255.255.255.255')}", strict=False)
        except ValueError:
            return "% Invalid mask"
        self.keys = [k for k in self.keys if k.network != net] + [PskEntry(args["key"], net)]
        self.changed()
        return None

    @handles(catalog.NO_CRYPTO_ISAKMP_KEY)
    def no_isakmp_key(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``no crypto isakmp key KEY address ADDR``."""
        net = ipaddress.IPv4Network(f"{args['address']}/{args.get('mask', '255.255.255.255')}", strict=False)
        kept = [k for k in self.keys if not (k.network == net and k.key == args["key"])]
        if len(kept) == len(self.keys):
            return f"% Pre-shared key for {args['address']} not found"
        if self.router.has_fault("psk-survives-removal"):
            # The fault: the key leaves the configuration but IKE keeps using it.
            self.removed_keys += [k for k in self.keys if k not in kept]
        self.keys = kept
        self.changed()
        return None

    @handles(catalog.CRYPTO_ISAKMP_KEEPALIVE)
    def keepalive_cmd(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``crypto isakmp keepalive S [R] [periodic|on-demand]``."""
        self.keepalive = Keepalive(args["number"], args.get("retry", 2), bool(args.get("periodic")))
        self.changed()

    @handles(catalog.NO_CRYPTO_ISAKMP_KEEPALIVE)
    def no_keepalive(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no crypto isakmp keepalive``."""
        self.keepalive = None
        self.changed()

    @handles(catalog.CRYPTO_ISAKMP_IDENTITY)
    def identity_cmd(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``crypto isakmp identity …``."""
        self.identity = next(k for k in ("address", "dn", "hostname") if args.get(k))
        self.changed()

    @handles(catalog.NO_CRYPTO_ISAKMP_IDENTITY)
    def no_identity(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no crypto isakmp identity``."""
        self.identity = "address"
        self.changed()

    # ---- crypto ipsec ------------------------------------------------------------------------------
    @handles(catalog.CRYPTO_IPSEC_TRANSFORM_SET)
    def transform_set(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``crypto ipsec transform-set NAME esp-… esp-…-hmac`` → ``(cfg-crypto-trans)#``."""
        words = args["line"].split()
        try:
            TransformSet.from_ios(args["name"], words)
        except PkilabError:
            return "% Invalid input detected at '^' marker."
        entry = self.transform_sets.get(args["name"])
        if entry is None:
            entry = self.transform_sets[args["name"]] = TransformEntry(args["name"], words)
        entry.words = words
        ctx.enter("cfg-crypto-trans", entry)
        self.changed()
        return None

    @handles(catalog.NO_CRYPTO_IPSEC_TRANSFORM_SET)
    def no_transform_set(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no crypto ipsec transform-set NAME``."""
        self.transform_sets.pop(args["name"], None)
        self.changed()

    @handles(catalog.TRANSFORM_MODE)
    def transform_mode(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``mode tunnel`` (transport mode is not simulated and refused)."""
        if args.get("transport"):
            return "% Transport mode is not supported by the simulated router"
        ctx.obj.mode = "tunnel"
        return None

    @handles(catalog.CRYPTO_IPSEC_NAT_TRANSPARENCY_UDP_ENCAPS)
    def natt_on(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``crypto ipsec nat-transparency udp-encaps`` (the default)."""
        self.nat_t = True
        self.changed()

    @handles(catalog.NO_CRYPTO_IPSEC_NAT_TRANSPARENCY_UDP_ENCAPS)
    def natt_off(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no crypto ipsec nat-transparency udp-encaps``."""
        self.nat_t = False
        self.changed()

    @handles(catalog.CRYPTO_IPSEC_SA_LIFETIME)
    def sa_lifetime(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``crypto ipsec security-association lifetime {seconds S | kilobytes K}``."""
        if args.get("seconds"):
            self.sa_seconds = args["secs"]
        else:
            self.sa_kilobytes = args["kb"]
        self.changed()

    @handles(catalog.NO_CRYPTO_IPSEC_SA_LIFETIME)
    def no_sa_lifetime(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """Back to 3600 s / 4608000 KB."""
        if args.get("seconds"):
            self.sa_seconds = DEFAULT_SA_SECONDS
        else:
            self.sa_kilobytes = DEFAULT_SA_KILOBYTES
        self.changed()

    # ---- crypto maps ---------------------------------------------------------------------------------
    @handles(catalog.CRYPTO_DYNAMIC_MAP)
    def dynamic_map(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``crypto dynamic-map NAME SEQ`` → ``(config-crypto-map)#``."""
        entries = self.dynamic_maps.setdefault(args["name"], {})
        entry = entries.setdefault(args["seq"], MapEntry(args["name"], args["seq"]))
        ctx.enter("config-crypto-map", entry)
        self.changed()

    @handles(catalog.NO_CRYPTO_DYNAMIC_MAP)
    def no_dynamic_map(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no crypto dynamic-map NAME [SEQ]``."""
        self._remove(self.dynamic_maps, args["name"], args.get("seq"))

    @handles(catalog.CRYPTO_MAP)
    def crypto_map(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``crypto map TAG SEQ ipsec-isakmp [dynamic DMAP]``; a static entry enters its sub-mode."""
        entries = self.maps.setdefault(args["tag"], {})
        entry = entries.get(args["seq"])
        note = None
        if entry is None:
            entry = entries[args["seq"]] = MapEntry(args["tag"], args["seq"])
            if not args.get("dmap") and ctx.interactive:
                note = (
                    "% NOTE: This new crypto map will remain disabled until a peer\n"
                    "        and a valid access list have been configured."
                )
        entry.dynamic_template = args.get("dmap")
        self.changed()
        if entry.dynamic_template is None:
            ctx.enter("config-crypto-map", entry)
        return note

    @handles(catalog.NO_CRYPTO_MAP)
    def no_crypto_map(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no crypto map TAG [SEQ]``."""
        self._remove(self.maps, args["tag"], args.get("seq"))

    def _remove(self, table: dict[str, dict[int, MapEntry]], name: str, seq: int | None) -> None:
        if seq is None:
            table.pop(name, None)
        else:
            table.get(name, {}).pop(seq, None)
            if name in table and not table[name]:
                del table[name]
        self.changed()

    @handles(catalog.MAP_SET_PEER)
    def set_peer(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``set peer ADDR``."""
        if args["address"] not in ctx.obj.peers:
            ctx.obj.peers.append(args["address"])
        self.changed()

    @handles(catalog.MAP_NO_SET_PEER)
    def no_set_peer(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no set peer ADDR``."""
        ctx.obj.peers = [p for p in ctx.obj.peers if p != args["address"]]
        self.changed()

    @handles(catalog.MAP_SET_TRANSFORM_SET)
    def set_transform(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``set transform-set NAME [NAME…]`` (up to six)."""
        names = args["line"].split()
        if len(names) > 6:
            return "% Invalid input detected at '^' marker."
        ctx.obj.transform_sets = names
        self.changed()
        return None

    @handles(catalog.MAP_MATCH_ADDRESS)
    def match_address(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``match address ACL``."""
        ctx.obj.acl = args["acl"]
        self.changed()

    @handles(catalog.MAP_REVERSE_ROUTE)
    def reverse_route(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``reverse-route``: install a route to the remote proxy while the SA is up."""
        ctx.obj.reverse_route = True
        self.changed()

    @handles(catalog.MAP_QOS_PRE_CLASSIFY)
    def qos(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``qos pre-classify`` (kept; classification is not simulated)."""
        ctx.obj.qos_preclassify = True
        self.changed()

    @handles(catalog.MAP_DESCRIPTION)
    def map_description(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``description TEXT``."""
        ctx.obj.description = args["line"]
        self.changed()

    @handles(catalog.MAP_SET_PFS)
    def set_pfs(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``set pfs [group1|group2|group5|group14]`` (group1 by default, as IOS)."""
        group = _PFS.get(args.get("group", "group1").lower())
        if group is None:
            return "% Invalid input detected at '^' marker."
        ctx.obj.pfs = group
        self.changed()
        return None

    @handles(catalog.MAP_SET_SA_LIFETIME)
    def map_lifetime(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``set security-association lifetime {seconds S | kilobytes K}``."""
        if args.get("seconds"):
            ctx.obj.lifetime_seconds = args["secs"]
        else:
            ctx.obj.lifetime_kilobytes = args["kb"]
        self.changed()

    @handles(catalog.MAP_NO)
    def map_no(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no description|qos pre-classify|reverse-route|match address|set transform-set|set pfs …``."""
        e: MapEntry = ctx.obj
        rest = args.get("line", "").split()
        if args.get("description"):
            e.description = ""
        elif args.get("qos"):
            e.qos_preclassify = False
        elif args.get("reverse-route"):
            e.reverse_route = False
        elif args.get("match"):
            e.acl = None
        elif rest[:1] == ["transform-set"]:
            e.transform_sets = []
        elif rest[:1] == ["pfs"]:
            e.pfs = None
        elif rest[:1] == ["security-association"]:
            e.lifetime_seconds = e.lifetime_kilobytes = None
        self.changed()

    # ---- interfaces -------------------------------------------------------------------------------------
    @handles(catalog.IF_CRYPTO_MAP)
    def interface_map(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``crypto map TAG`` on an interface: its outbound packets go through the map."""
        was = ctx.obj.crypto_map
        ctx.obj.crypto_map = args["tag"]
        self.changed()
        if ctx.interactive and was is None:
            self.router.feature(System).logmsg("%CRYPTO-6-ISAKMP_ON_OFF: ISAKMP is ON")

    @handles(catalog.IF_NO_CRYPTO_MAP)
    def no_interface_map(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no crypto map``."""
        ctx.obj.crypto_map = None
        self.changed()
