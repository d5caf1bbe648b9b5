"""The lab plan: every value a suite needs about the lab, built once from the testbed.

Suites and procedures never name a router, an address, an interface, a domain or a key size:
they read them here. The plan is derived from the testbed's roles and topology, with an optional
``custom.pkilab`` block (or a ``--plan FILE`` YAML beside the testbed) for what the topology cannot
say. Rules, in the order they are applied:

* The CA is the device with role ``ca``; its address is the one on the link it shares with the
  headend (else its first address); enrolling routers reach it by ``ip host URL_HOST ADDRESS``,
  ``URL_HOST`` being the CA device's name unless ``ca.url_host`` says otherwise.
* The headend's outside interface faces the branches: the one on a link shared with a branch,
  unless ``outside_interface`` names it. Its other addressed interfaces are inside; their networks
  are what the branches protect (``protected`` overrides, e.g. the seed's 10.0.0.0/8).
* A branch's outside interface is on the headend's outside link (or ``branches.NAME.outside_interface``);
  its LAN is its other addressed interface (or ``branches.NAME.lan_interface``).
* The ping target behind the headend is the first ``host`` device's inside address, else the CA's.
* ``crypto: legacy`` is the seed's (1024-bit keys, 3DES, SHA-1, DH group 2); ``crypto: modern``
  is RSA-2048, AES-256, SHA-256, DH group 14 (what IOS-XE 17 accepts).

Every value is checked when the plan is built; a bad one raises :class:`TestbedError` naming the
file and the field, before any device is touched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pkilab.config import values as v
from pkilab.errors import ConfigValueError, TestbedError
from pkilab.testbed import DeviceSpec, InterfaceSpec, Testbed

_KEYS = {
    "crypto",
    "ca",
    "trustpoint",
    "outside_interface",
    "protected",
    "ping_target",
    "ntp_source",
    "timezone",
    "psk",
    "branches",
    "auto_enroll",
    "deadlines",
    "load",
}
_CA_KEYS = {"name", "issuer_name", "url_host", "database_level", "lifetime", "passphrase"}
_LIFETIME_KEYS = {"crl": (1, 336), "certificate": (1, 1825), "ca_certificate": (1, 1825)}
_BRANCH_KEYS = {"outside_interface", "lan_interface"}
_TZ_KEYS = {"name", "offset", "summer_time"}
_LOAD_KEYS = {"pool", "lan_pool", "gateway", "interface", "branches"}
# pkilab load on a simulated lab: virtual branches in RFC 2544's benchmarking range, their IKE
# addresses behind a gateway on the headend's outside link, their LAN addresses beside them.
SIM_LOAD_POOL = "198.18.0.0/16"
DEFAULT_LAN_POOL = "198.19.0.0/16"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class CryptoProfile:
    """Key sizes and algorithms the plan configures (``crypto: legacy|modern``)."""

    name: str
    modulus: int
    ike_encr: str
    ike_hash: str
    dh_group: int
    esp: str

    @property
    def shown_encr(self) -> str:
        """The encryption as ``show crypto isakmp sa detail`` names it (``3des``, ``aes:256``)."""
        words = self.ike_encr.split()
        return f"{words[0]}:{words[1]}" if len(words) == 2 else words[0]

    def isakmp_policy(self, priority: int, pre_share: bool = False) -> list[str]:
        """``crypto isakmp policy N`` and its lines (RSA signatures unless ``pre_share``)."""
        lines = [f"crypto isakmp policy {v.integer(priority, 'isakmp priority', 1, 10000)}", f"encr {self.ike_encr}"]
        if self.ike_hash != "sha":
            lines.append(f"hash {self.ike_hash}")
        if pre_share:
            lines.append("authentication pre-share")
        return [*lines, f"group {self.dh_group}"]


CRYPTO_PROFILES: Mapping[str, CryptoProfile] = {
    "legacy": CryptoProfile("legacy", 1024, "3des", "sha", 2, "esp-3des esp-sha-hmac"),
    "modern": CryptoProfile("modern", 2048, "aes 256", "sha256", 14, "esp-aes 256 esp-sha-hmac"),
}


@dataclass(frozen=True)
class TimeZone:
    """``clock timezone NAME OFFSET`` and optionally ``clock summer-time NAME recurring`` (US rules)."""

    name: str = "UTC"
    offset: int = 0
    summer_time: str | None = None

    def lines(self) -> list[str]:
        """The configuration lines that set this zone (none for plain UTC)."""
        if self.name == "UTC" and self.offset == 0 and not self.summer_time:
            return []
        lines = [f"clock timezone {v.word(self.name, 'timezone.name')} {self.offset}"]
        if self.summer_time:
            lines.append(f"clock summer-time {v.word(self.summer_time, 'timezone.summer_time')} recurring")
        return lines

    def undo(self) -> list[str]:
        """Lines that put the router back on UTC."""
        return ["no clock summer-time", "no clock timezone"] if self.lines() else []

    def local_text(self, moment: dt.datetime) -> str:
        """``moment`` (UTC, outside summer time) as IOS prints it: ``19:00:00 EST Dec 31 1969``."""
        local = moment.astimezone(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=self.offset)
        return f"{local:%H:%M:%S} {self.name} {_MONTHS[local.month - 1]} {local.day} {local.year}"


@dataclass(frozen=True)
class Deadlines:
    """How long suites wait for the lab, in device-meaningful seconds.

    The simulated lab runs its timers fast; a real router polls a pending enrollment after a
    minute, reloads in minutes, and NTP needs several 64-second polls: real labs, and simulated
    labs whose routers run IOS's own timers (``custom.sim.timing: ios``), get the long values.
    Each is a deadline, not a delay: waiting ends as soon as the lab gets there.

    Attributes:
        certificate: after a grant or a rejection, until the enrolling router has polled the CA
            again and installed the certificate or dropped the request (the ``enrollment retry
            period``).
        request: after ``crypto pki enroll``, until the request is on the CA (sent at once).
        tunnel: until traffic passes through a new tunnel, or until the refusal of one is logged
            (IKE's retransmissions included).
        clock_sync: until NTP has synchronized a clock (IOS's 64-second polls).
        reload: until a reloaded router answers again.
        keygen: the prompt back after a command that generates an RSA key pair (``crypto key
            generate rsa``, a certificate server's ``no shutdown``) at the largest modulus.
        transfer: the prompt back after a command that waits for another host with IOS's
            timeouts and retries (SCEP ``crypto pki authenticate``, ``crypto pki crl request``,
            ``copy`` to or from a TFTP/FTP server, key export or import to a URL), and a file the
            router writes on such a server.
    """

    certificate: float = 30
    request: float = 30
    tunnel: float = 60
    clock_sync: float = 90
    reload: float = 60
    keygen: float = 60
    transfer: float = 60

    @classmethod
    def real(cls) -> Deadlines:
        """Deadlines for real routers (IOS timers)."""
        return cls(certificate=300, request=60, tunnel=120, clock_sync=600, reload=900, keygen=300, transfer=180)


@dataclass(frozen=True)
class Router:
    """A router of the plan: its name, role, outside and inside (LAN) interfaces."""

    name: str
    role: str
    outside_if: str | None = None
    outside: ipaddress.IPv4Interface | None = None
    inside_if: str | None = None
    inside: ipaddress.IPv4Interface | None = None

    @property
    def address(self) -> str:
        """The outside address (the IKE peer address)."""
        if self.outside is None:
            raise LookupError(f"{self.name}: no outside address in the plan")
        return str(self.outside.ip)

    @property
    def lan(self) -> ipaddress.IPv4Network:
        """The inside network."""
        if self.inside is None:
            raise LookupError(f"{self.name}: no inside network in the plan")
        return self.inside.network

    def to_dict(self) -> dict[str, Any]:
        """JSON facts."""
        return {
            "name": self.name,
            "role": self.role,
            "outside": f"{self.outside_if} {self.outside}" if self.outside_if else None,
            "inside": f"{self.inside_if} {self.inside}" if self.inside_if else None,
        }


@dataclass(frozen=True)
class CaPlan:
    """The IOS certificate server: its device, address, names and settings."""

    device: str
    interface: str
    address: str
    server: str
    trustpoint: str
    url_host: str
    issuer_name: str
    database_level: str = "names"
    lifetime_crl: int = 24
    lifetime_certificate: int = 254
    lifetime_ca_certificate: int = 508
    passphrase: str = field(default="", repr=False)

    @property
    def enrollment_url(self) -> str:
        """``enrollment url`` of the enrolling routers' trustpoint."""
        return f"http://{self.url_host}:80"

    @property
    def host_line(self) -> str:
        """``ip host URL_HOST ADDRESS``: how enrolling routers find the CA."""
        return f"ip host {v.hostname(self.url_host, 'ca.url_host')} {v.ipv4(self.address, 'ca.address')}"

    def to_dict(self) -> dict[str, Any]:
        """JSON facts (no passphrase)."""
        return {
            "device": self.device,
            "address": f"{self.interface} {self.address}",
            "server": self.server,
            "trustpoint": self.trustpoint,
            "enrollment_url": self.enrollment_url,
            "issuer_name": self.issuer_name,
            "lifetimes": {
                "crl_hours": self.lifetime_crl,
                "certificate_days": self.lifetime_certificate,
                "ca_certificate_days": self.lifetime_ca_certificate,
            },
        }


@dataclass(frozen=True)
class AddressPool:
    """A range of IPv4 addresses, given as ``A.B.C.D/LEN`` (its host addresses) or ``FIRST-LAST``."""

    first: ipaddress.IPv4Address
    last: ipaddress.IPv4Address
    network: ipaddress.IPv4Network | None = None  # when given as a network

    @classmethod
    def parse(cls, text: str) -> AddressPool:
        """Read ``10.1.0.0/22`` or ``10.1.0.10-10.1.0.200``.

        Raises:
            ValueError: neither form, or an empty range.
        """
        if "-" in text:
            lo, hi = (ipaddress.IPv4Address(x.strip()) for x in text.split("-", 1))
            net = None
        else:
            net = ipaddress.IPv4Network(text.strip(), strict=True)
            lo, hi = (net[0], net[-1]) if net.prefixlen >= 31 else (net[1], net[-2])
        if hi < lo:
            raise ValueError(f"{text!r} is an empty range")
        return cls(lo, hi, net)

    def networks(self) -> list[ipaddress.IPv4Network]:
        """The networks a route to the pool covers (the network it was given as, or its range exactly)."""
        if self.network is not None:
            return [self.network]
        return list(ipaddress.summarize_address_range(self.first, self.last))

    @property
    def size(self) -> int:
        """Number of addresses."""
        return int(self.last) - int(self.first) + 1

    def address(self, index: int) -> str:
        """The ``index``-th address (0-based)."""
        if not 0 <= index < self.size:
            raise IndexError(f"{self} has {self.size} addresses, not {index + 1}")
        return str(self.first + index)

    def overlaps(self, network: ipaddress.IPv4Network) -> bool:
        """True when the pool shares an address with ``network``."""
        return int(self.first) <= int(network.broadcast_address) and int(network.network_address) <= int(self.last)

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass(frozen=True)
class LoadPlan:
    """Where ``pkilab load`` puts its virtual branches (``custom.pkilab.load``).

    Attributes:
        pool: the branches' IKE addresses (None on real routers when the testbed gives none).
        lan_pool: each branch's LAN address, the source of its traffic through the tunnel.
        gateway: an address on the headend's outside link through which the headend reaches the
            pool (a static route for the run), or None when the pool is on that link or already routed.
        interface: the host interface that carries the pool's addresses (real routers).
        branches: how many branches the scale suite starts.
    """

    pool: AddressPool | None
    lan_pool: AddressPool
    gateway: str | None
    interface: str | None
    branches: int

    def to_dict(self) -> dict[str, Any]:
        """JSON facts."""
        return {
            "pool": str(self.pool) if self.pool else None,
            "lan_pool": str(self.lan_pool),
            "gateway": self.gateway,
            "interface": self.interface,
            "branches": self.branches,
        }


@dataclass(frozen=True)
class LabPlan:
    """Everything a suite needs to know about the lab under test."""

    name: str
    path: Path
    simulated: bool
    domain: str
    timezone: TimeZone
    crypto: CryptoProfile
    psk: str = field(repr=False)
    ca_plan: CaPlan | None
    headend_plan: Router | None
    branches: tuple[Router, ...]
    hosts: tuple[Router, ...]
    protected: tuple[ipaddress.IPv4Network, ...]
    ping_target: str | None
    ntp_source: str | None
    auto_enroll: int
    deadlines: Deadlines
    load: LoadPlan | None = None

    @property
    def ca(self) -> CaPlan:
        """The certificate server (raises :class:`LookupError` when the testbed has no ``ca``)."""
        if self.ca_plan is None:
            raise LookupError(f"{self.path}: the lab plan has no CA (no device with role ca)")
        return self.ca_plan

    @property
    def headend(self) -> Router:
        """The VPN headend (raises :class:`LookupError` when the testbed has none)."""
        if self.headend_plan is None:
            raise LookupError(f"{self.path}: the lab plan has no headend (no device with role headend)")
        return self.headend_plan

    @property
    def branch(self) -> Router:
        """The first branch."""
        if not self.branches:
            raise LookupError(f"{self.path}: the lab plan has no branch (no device with role branch)")
        return self.branches[0]

    @property
    def target(self) -> str:
        """The address branches ping through the tunnel."""
        if self.ping_target is None:
            raise LookupError(f"{self.path}: the lab plan has no ping target (no host, no CA)")
        return self.ping_target

    def fqdn(self, device: str) -> str:
        """``NAME.DOMAIN``: the hostname IOS puts in a router's certificate."""
        return f"{device}.{self.domain}"

    def secrets(self) -> tuple[str, ...]:
        """Values to mask everywhere (the PSK and the CA's passphrase)."""
        return tuple(s for s in (self.psk, self.ca_plan.passphrase if self.ca_plan else "") if s)

    def to_dict(self) -> dict[str, Any]:
        """The plan's facts as JSON (no secrets), for results and reports."""
        return {
            "name": self.name,
            "testbed_file": str(self.path),
            "simulated": self.simulated,
            "domain": self.domain,
            "timezone": " ".join(self.timezone.lines()) or "UTC",
            "crypto": {
                "profile": self.crypto.name,
                "modulus": self.crypto.modulus,
                "ike": f"{self.crypto.ike_encr} {self.crypto.ike_hash} group {self.crypto.dh_group}",
                "esp": self.crypto.esp,
            },
            "ca": self.ca_plan.to_dict() if self.ca_plan else None,
            "headend": self.headend_plan.to_dict() if self.headend_plan else None,
            "branches": [b.to_dict() for b in self.branches],
            "hosts": [h.to_dict() for h in self.hosts],
            "protected": [str(n) for n in self.protected],
            "ping_target": self.ping_target,
            "ntp_source": self.ntp_source,
            "load": self.load.to_dict() if self.load else None,
        }

    @classmethod
    def from_testbed(cls, testbed: Testbed, overrides: Mapping[str, Any] | None = None) -> LabPlan:
        """Build the plan from a validated testbed and its ``custom.pkilab`` block.

        Args:
            testbed: the validated testbed.
            overrides: a ``--plan FILE``'s mapping; its keys replace those of ``custom.pkilab``.

        Raises:
            TestbedError: a value is missing, unknown or invalid (one line naming file and field).
        """
        return _Builder(testbed, overrides).build()


def load_plan_file(path: str | Path) -> dict[str, Any]:
    """Read a ``--plan FILE`` (YAML mapping with the keys of ``custom.pkilab``), safely and bounded."""
    from pkilab.yamlsafe import load_file

    data = load_file(path)
    if not isinstance(data, dict):
        raise TestbedError(str(path), "not a mapping of lab plan settings (crypto:, ca:, …)")
    return data


class _Builder:
    """Derives the plan from roles and topology, then applies the per-lab inputs."""

    def __init__(self, testbed: Testbed, overrides: Mapping[str, Any] | None) -> None:
        self.tb = testbed
        self.where = str(testbed.path)
        raw = testbed.extra.get("pkilab") or {}
        if not isinstance(raw, Mapping):
            raise self.error("must be a mapping", "custom.pkilab")
        self.raw: dict[str, Any] = {**raw, **(overrides or {})}
        self.check_keys(self.raw, _KEYS, "custom.pkilab")

    def error(self, message: str, where: str, device: str | None = None) -> TestbedError:
        return TestbedError(self.where, message, device=device, field=where)

    def check_keys(self, raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
        unknown = sorted(str(k) for k in raw if k not in allowed)
        if unknown:
            raise self.error(f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(allowed))})", where)

    def section(self, key: str, allowed: set[str]) -> dict[str, Any]:
        raw = self.raw.get(key) or {}
        if not isinstance(raw, Mapping):
            raise self.error("must be a mapping", f"custom.pkilab.{key}")
        self.check_keys(raw, allowed, f"custom.pkilab.{key}")
        return dict(raw)

    def checked(self, check: Any, value: Any, where: str, *args: Any) -> Any:
        try:
            return check(value, where, *args)
        except ConfigValueError as exc:
            raise self.error(str(exc).split(": ", 1)[-1], where) from None

    def build(self) -> LabPlan:
        headend = self.headend()
        branches = tuple(self.branch(d, headend) for d in self.tb.by_role("branch"))
        hosts = tuple(self.inside_router(d, headend) for d in self.tb.by_role("host"))
        ca = self.ca(headend)
        target = self.raw.get("ping_target") or (
            str(hosts[0].inside.ip) if hosts and hosts[0].inside else (ca.address if ca else None)
        )
        if target is not None:
            target = self.checked(v.ipv4, str(target), "custom.pkilab.ping_target")
        ntp = self.raw.get("ntp_source") or target
        return LabPlan(
            name=self.tb.name,
            path=self.tb.path,
            simulated=self.tb.simulated,
            domain=self.domain(),
            timezone=self.timezone(),
            crypto=self.crypto(),
            psk=self.secret("psk"),
            ca_plan=ca,
            headend_plan=headend,
            branches=branches,
            hosts=hosts,
            protected=self.protected(headend),
            ping_target=target,
            ntp_source=self.checked(v.ipv4, str(ntp), "custom.pkilab.ntp_source") if ntp else None,
            auto_enroll=self.checked(v.integer, self.raw.get("auto_enroll", 70), "custom.pkilab.auto_enroll", 1, 100),
            deadlines=self.deadlines(),
            load=self.load(headend),
        )

    def domain(self) -> str:
        if not self.tb.domain:
            # IOS will not generate general-purpose keys without one, and names certificates NAME.DOMAIN.
            raise self.error(
                "missing: the routers' ip domain name (IOS needs it for keys and certificate names)", "custom.domain"
            )
        return str(self.checked(v.hostname, self.tb.domain, "custom.domain"))

    def secret(self, key: str, section: Mapping[str, Any] | None = None, where: str = "") -> str:
        source = self.raw if section is None else section
        value = source.get(key)
        label = where or f"custom.pkilab.{key}"
        if value is None:
            # Nothing given: a fresh secret for this run (masked like any other).
            return f"pkilab-{secrets.token_hex(6)}"
        return str(self.checked(lambda x, f: v.word(x, f, secret=True), str(value), label))

    def crypto(self) -> CryptoProfile:
        name = self.raw.get("crypto", "legacy")
        if name not in CRYPTO_PROFILES:
            raise self.error(f"must be one of {', '.join(CRYPTO_PROFILES)} (got {name!r})", "custom.pkilab.crypto")
        return CRYPTO_PROFILES[name]

    def timezone(self) -> TimeZone:
        raw = self.raw.get("timezone")
        if raw is None:
            return TimeZone()
        if not isinstance(raw, Mapping):
            raise self.error("must map name, offset and optionally summer_time", "custom.pkilab.timezone")
        self.check_keys(raw, _TZ_KEYS, "custom.pkilab.timezone")
        name = self.checked(v.word, str(raw.get("name", "")), "custom.pkilab.timezone.name")
        offset = self.checked(v.integer, raw.get("offset", 0), "custom.pkilab.timezone.offset", -23, 23)
        summer = raw.get("summer_time")
        if summer is not None:
            summer = self.checked(v.word, str(summer), "custom.pkilab.timezone.summer_time")
        return TimeZone(name, offset, summer)

    def deadlines(self) -> Deadlines:
        raw = self.section("deadlines", {f.name for f in dataclasses.fields(Deadlines)})
        ios_timers = any(d.sim is None or d.sim.timing == "ios" for d in self.tb.devices)
        base = Deadlines.real() if ios_timers else Deadlines()
        values = {}
        for key, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86400:
                raise self.error(
                    f"must be a number of seconds 1-86400 (got {value!r})", f"custom.pkilab.deadlines.{key}"
                )
            values[key] = float(value)
        return dataclasses.replace(base, **values)

    def pool(self, value: Any, where: str) -> AddressPool:
        try:
            return AddressPool.parse(str(value))
        except ValueError as exc:
            raise self.error(f"{value!r} is not A.B.C.D/LEN or FIRST-LAST ({exc})", where) from None

    def load(self, headend: Router | None) -> LoadPlan:
        raw = self.section("load", _LOAD_KEYS)
        where = "custom.pkilab.load"
        given = raw.get("pool")
        pool = self.pool(given, f"{where}.pool") if given else None
        if pool is None and self.tb.simulated:
            pool = AddressPool.parse(SIM_LOAD_POOL)
        lan = self.pool(raw.get("lan_pool", DEFAULT_LAN_POOL), f"{where}.lan_pool")
        outside = headend.outside if headend else None
        used = {i.ipv4 for d in self.tb.devices for i in d.interfaces if i.ipv4 is not None}
        for intf in used:
            if pool is not None and pool.first <= intf.ip <= pool.last:
                raise self.error(f"{pool} holds {intf.ip}, a testbed device's address", f"{where}.pool")
            if lan.overlaps(intf.network):
                raise self.error(f"{lan} overlaps the testbed's network {intf.network}", f"{where}.lan_pool")
        gateway = raw.get("gateway")
        if gateway is not None:
            gateway = self.checked(v.ipv4, str(gateway), f"{where}.gateway")
            if outside is None or ipaddress.IPv4Address(gateway) not in outside.network:
                raise self.error(f"{gateway} is not on the headend's outside network {outside}", f"{where}.gateway")
        elif pool is not None and outside is not None and not pool.overlaps(outside.network) and self.tb.simulated:
            taken = {i.ip for i in used}
            candidate = outside.network.broadcast_address - 1  # the link's last free host address
            while candidate in taken:
                candidate -= 1
            gateway = str(candidate)
        interface = raw.get("interface")
        return LoadPlan(
            pool=pool,
            lan_pool=lan,
            gateway=gateway,
            interface=self.checked(v.word, str(interface), f"{where}.interface") if interface else None,
            branches=self.checked(v.integer, raw.get("branches", 20), f"{where}.branches", 1, 100000),
        )

    def only(self, role: str) -> DeviceSpec | None:
        devices = self.tb.by_role(role)
        return devices[0] if devices else None

    def headend(self) -> Router | None:
        spec = self.only("headend")
        if spec is None:
            return None
        outside = self.raw.get("outside_interface")
        if outside is not None:
            intf = self.interface(spec, str(outside), "custom.pkilab.outside_interface")
        else:
            intf = self.facing_branches(spec)
        inside = _inside(spec, intf)
        return Router(
            spec.name,
            "headend",
            intf.name,
            intf.ipv4,
            inside.name if inside else None,
            inside.ipv4 if inside else None,
        )

    def facing_branches(self, spec: DeviceSpec) -> InterfaceSpec:
        branch_links = {i.link for b in self.tb.by_role("branch") for i in b.interfaces if i.link}
        found = [i for i in spec.interfaces if i.link in branch_links and i.ipv4 is not None]
        if len(found) != 1:
            why = "no interface shares a link with a branch" if not found else "several interfaces face branches"
            raise self.error(f"{why}; name the one facing the branches", "custom.pkilab.outside_interface", spec.name)
        return found[0]

    def interface(self, spec: DeviceSpec, name: str, where: str) -> InterfaceSpec:
        for i in spec.interfaces:
            if i.name == name and i.ipv4 is not None:
                return i
        raise self.error(f"{spec.name} has no addressed interface {name!r} in the topology", where, spec.name)

    def branch(self, spec: DeviceSpec, headend: Router | None) -> Router:
        raw = self.raw.get("branches") or {}
        if not isinstance(raw, Mapping):
            raise self.error("must map BRANCH: {outside_interface, lan_interface}", "custom.pkilab.branches")
        mine = raw.get(spec.name) or {}
        where = f"custom.pkilab.branches.{spec.name}"
        if not isinstance(mine, Mapping):
            raise self.error("must be a mapping", where)
        self.check_keys(mine, _BRANCH_KEYS, where)
        if "outside_interface" in mine:
            outside = self.interface(spec, str(mine["outside_interface"]), f"{where}.outside_interface")
        else:
            outside = self.on_link_with(spec, headend.outside_if if headend else None, where)
        if "lan_interface" in mine:
            lan: InterfaceSpec | None = self.interface(spec, str(mine["lan_interface"]), f"{where}.lan_interface")
        else:
            lan = _inside(spec, outside)
        if lan is None:
            raise self.error("no LAN interface with an address besides the outside one", f"{where}.lan_interface")
        return Router(spec.name, "branch", outside.name, outside.ipv4, lan.name, lan.ipv4)

    def on_link_with(self, spec: DeviceSpec, headend_if: str | None, where: str) -> InterfaceSpec:
        headend = self.only("headend")
        link = next((i.link for i in headend.interfaces if i.name == headend_if), None) if headend else None
        for i in spec.interfaces:
            if link and i.link == link and i.ipv4 is not None:
                return i
        # Reached through a provider network: the one addressed interface on a link it shares.
        shared = {i.link for d in self.tb.devices if d.name != spec.name for i in d.interfaces if i.link}
        transit = [i for i in spec.interfaces if i.ipv4 is not None and i.link in shared]
        if len(transit) == 1:
            return transit[0]
        raise self.error(
            "no interface on the headend's outside link nor a single transit link; name it",
            f"{where}.outside_interface",
            spec.name,
        )

    def inside_router(self, spec: DeviceSpec, headend: Router | None) -> Router:
        intf = self.behind_headend(spec, headend)
        assert spec.role is not None  # Testbed.devices all have one (devices without are Testbed.others)
        return Router(spec.name, spec.role, inside_if=intf.name, inside=intf.ipv4)

    def behind_headend(self, spec: DeviceSpec, headend: Router | None) -> InterfaceSpec:
        headend_spec = self.only("headend")
        inside_links = {
            i.link
            for i in (headend_spec.interfaces if headend_spec else ())
            if headend and i.name != headend.outside_if
        }
        addressed = [i for i in spec.interfaces if i.ipv4 is not None]
        if not addressed:
            raise self.error("no interface with an address in the topology", "topology", spec.name)
        return next((i for i in addressed if i.link in inside_links), addressed[0])

    def ca(self, headend: Router | None) -> CaPlan | None:
        spec = self.only("ca")
        if spec is None:
            return None
        raw = self.section("ca", _CA_KEYS)
        intf = self.behind_headend(spec, headend)
        assert intf.ipv4 is not None
        name = self.checked(v.word, str(raw.get("name", spec.name)), "custom.pkilab.ca.name")
        lifetimes = raw.get("lifetime") or {}
        if not isinstance(lifetimes, Mapping):
            raise self.error("must map crl, certificate, ca_certificate", "custom.pkilab.ca.lifetime")
        self.check_keys(lifetimes, set(_LIFETIME_KEYS), "custom.pkilab.ca.lifetime")
        life = {
            key: self.checked(v.integer, lifetimes.get(key, default), f"custom.pkilab.ca.lifetime.{key}", lo, hi)
            for (key, (lo, hi)), default in zip(_LIFETIME_KEYS.items(), (24, 254, 508), strict=True)
        }
        level = self.checked(
            v.choice,
            raw.get("database_level", "names"),
            "custom.pkilab.ca.database_level",
            ("minimal", "names", "complete"),
        )
        trustpoint = self.checked(v.word, str(self.raw.get("trustpoint", name)), "custom.pkilab.trustpoint")
        return CaPlan(
            device=spec.name,
            interface=intf.name,
            address=str(intf.ipv4.ip),
            server=name,
            trustpoint=trustpoint,
            url_host=self.checked(v.hostname, str(raw.get("url_host", spec.name)), "custom.pkilab.ca.url_host"),
            issuer_name=self.checked(v.dn, str(raw.get("issuer_name", f"CN = {name}")), "custom.pkilab.ca.issuer_name"),
            database_level=level,
            lifetime_crl=life["crl"],
            lifetime_certificate=life["certificate"],
            lifetime_ca_certificate=life["ca_certificate"],
            passphrase=self.secret("passphrase", raw, "custom.pkilab.ca.passphrase"),
        )

    def protected(self, headend: Router | None) -> tuple[ipaddress.IPv4Network, ...]:
        raw = self.raw.get("protected")
        if raw is None:
            spec = self.only("headend")
            if spec is None or headend is None:
                return ()
            nets = {i.ipv4.network for i in spec.interfaces if i.ipv4 is not None and i.name != headend.outside_if}
            return tuple(sorted(nets))
        if not isinstance(raw, list) or not raw:
            raise self.error("must be a list of networks (10.0.0.0/8 …)", "custom.pkilab.protected")
        try:
            return tuple(ipaddress.IPv4Network(str(n)) for n in raw)
        except ValueError as exc:
            raise self.error(f"not an IPv4 network: {exc}", "custom.pkilab.protected") from None


def _inside(spec: DeviceSpec, outside: InterfaceSpec) -> InterfaceSpec | None:
    """The inside (LAN) interface: an addressed interface besides the outside one, a loopback last.

    Virtual labs often give a branch a loopback as its LAN; a tunnel interface never is one.
    """
    candidates = [i for i in spec.interfaces if i.ipv4 is not None and i is not outside]
    candidates = [i for i in candidates if not i.name.startswith("Tunnel")]
    candidates.sort(key=lambda i: i.name.startswith("Loopback"))
    return candidates[0] if candidates else None


def wildcard(network: ipaddress.IPv4Network) -> str:
    """``NETWORK WILDCARD`` as an IOS access list writes it: ``10.113.0.0 0.0.0.255``."""
    return f"{network.network_address} {network.hostmask}"
