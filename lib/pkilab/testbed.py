"""Load pyATS testbed files and validate them before any device is touched.

The file is read by pyATS's own loader (so ``%ENV{VAR}`` markup and every pyATS construct
work), then checked here: roles, connections, credentials, ports, addresses, links and the
simulator's settings (``custom.sim``: :mod:`pkilab.simspec`). Any problem raises
:class:`~pkilab.errors.TestbedError` with one line naming the file, the device and the field.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pkilab import connections as conn
from pkilab.connections import ConnectionSpec, Credentials, Hop, SshOptions
from pkilab.errors import TestbedError, UserError
from pkilab.simspec import SIM_KINDS, SIM_TIMINGS, SimSpec, image_version, sim_spec
from pkilab.yamlsafe import load_file

__all__ = [
    "SIM_KINDS",
    "SIM_TIMINGS",
    "ConnectionSpec",
    "Credentials",
    "DeviceSpec",
    "Hop",
    "InterfaceSpec",
    "SimSpec",
    "SshOptions",
    "Testbed",
    "image_version",
]

ROLES = ("ca", "headend", "branch", "host")
#: Session backends: netmiko (the default) and unicon (``class: unicon.Unicon`` or ``--backend unicon``).
BACKENDS = ("netmiko", "unicon")
UNICON_EXTRA = "pip install 'pkilab[unicon]'"
_IF_NAME_RE = re.compile(r"^(Ethernet|FastEthernet|GigabitEthernet|Loopback|Serial|Tunnel|Vlan)\d+(/\d+)*$")
_HOSTNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")


@dataclass(frozen=True)
class InterfaceSpec:
    """One interface of a device from the testbed topology."""

    name: str
    ipv4: ipaddress.IPv4Interface | None
    link: str | None


@dataclass(frozen=True)
class DeviceSpec:
    """A validated testbed device.

    ``role`` is None for devices pkilab never certifies (jump hosts, terminal servers, Linux
    hosts); they serve as proxies. ``connection`` is the one connection pkilab reaches the
    device by (``defaults.via``, ``--via`` or the usual names); ``backend`` the session library.
    """

    name: str
    role: str | None
    os: str
    platform: str
    connection: ConnectionSpec
    backend: str = "netmiko"
    type: str = ""
    interfaces: tuple[InterfaceSpec, ...] = ()
    sim: SimSpec | None = None

    @property
    def protocol(self) -> str:
        """The selected connection's protocol (ssh or telnet)."""
        return self.connection.protocol

    @property
    def host(self) -> str:
        """The selected connection's address (empty when reached through a terminal server)."""
        return self.connection.host

    @property
    def port(self) -> int:
        """The selected connection's port (0 when reached through a terminal server)."""
        return self.connection.port or 0

    @property
    def username(self) -> str:
        """Login user name of the selected connection."""
        return self.connection.credentials.username

    @property
    def password(self) -> str:
        """Login password of the selected connection."""
        return self.connection.credentials.password

    @property
    def enable_password(self) -> str:
        """Enable secret of the selected connection."""
        return self.connection.credentials.enable

    @property
    def faults(self) -> tuple[str, ...]:
        """The simulator fault switches set for this device (empty for real routers)."""
        return self.sim.faults if self.sim else ()

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in transcripts or reports (proxies' included)."""
        return self.connection.secrets()


def ssh_connection(host: str, port: int, credentials: Credentials, name: str = "cli") -> ConnectionSpec:
    """A direct SSH connection (what most simulated and many real devices use)."""
    return ConnectionSpec(name=name, protocol="ssh", host=host, port=port, credentials=credentials)


@dataclass(frozen=True)
class Testbed:
    """A validated testbed."""

    __test__ = False

    name: str
    path: Path
    devices: tuple[DeviceSpec, ...]
    links: tuple[str, ...] = ()
    #: Devices without a role (jump hosts, terminal servers, Linux hosts): never certified.
    others: tuple[DeviceSpec, ...] = ()
    domain: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def all_devices(self) -> tuple[DeviceSpec, ...]:
        """Every device: those with a role (certified), then the others (proxies, hosts)."""
        return self.devices + self.others

    @property
    def simulated(self) -> bool:
        """True when every device is simulated (the plugin then starts the lab itself)."""
        return all(d.sim is not None for d in self.all_devices)

    def device(self, name: str) -> DeviceSpec:
        """Return the device called ``name`` (with or without a role)."""
        for d in self.all_devices:
            if d.name == name:
                return d
        raise KeyError(name)

    def by_role(self, role: str) -> list[DeviceSpec]:
        """Return the devices with ``role``, in file order."""
        return [d for d in self.devices if d.role == role]

    def secrets(self) -> set[str]:
        """Every secret of the testbed (passwords, enable secrets, line passwords, proxies')."""
        return {s for d in self.all_devices for s in d.secrets()}

    def shifted(self, offset: int) -> Testbed:
        """Return a copy whose simulated ports are moved by ``offset`` (one lab per xdist worker)."""
        if not offset:
            return self

        def shift(d: DeviceSpec) -> DeviceSpec:
            return dataclasses.replace(
                d,
                connection=d.connection.shifted(offset),
                sim=d.sim.moved(offset) if d.sim else None,
            )

        devices = tuple(shift(d) for d in self.devices)
        others = tuple(shift(d) for d in self.others)
        extra = dict(self.extra)
        hostsrv = extra.get("hostsrv")
        if isinstance(hostsrv, dict):
            extra["hostsrv"] = {
                k: (
                    v + offset
                    if k in ("tftp_port", "http_port", "ftp_port") and isinstance(v, int) and not isinstance(v, bool)
                    else v
                )
                for k, v in hostsrv.items()
            }
        return dataclasses.replace(self, devices=devices, others=others, extra=extra)


def load(
    path: str | Path,
    known_faults: Iterable[str] | None = None,
    via: str | None = None,
    backend: str | None = None,
) -> Testbed:
    """Load and validate a testbed file; raise :class:`TestbedError` on any problem.

    Args:
        path: the pyATS testbed file.
        known_faults: the simulator's fault names (``custom.sim.faults`` is checked against them).
        via: the connection name every device with a role is reached by (``--via``), overriding
            ``connections.defaults.via``.
        backend: ``netmiko`` or ``unicon`` for every device (``--backend``), overriding the
            connections' ``class``.
    """
    p = Path(path)
    where = str(path)
    if backend is not None and backend not in BACKENDS:
        raise TestbedError(where, f"--backend must be one of {', '.join(BACKENDS)} (got {backend!r})")
    if not p.is_file():
        raise TestbedError(where, "no such file")
    # Read once, bounded (no YAML bomb, binary or endless nesting reaches pyATS or a walk of the data).
    _check_classes(where, _check_yaml(where, load_file(p)), backend)
    raw = _pyats_load(where, p)
    return _validate(where, p, raw, set(known_faults) if known_faults is not None else None, via, backend)


def _check_yaml(where: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TestbedError(where, "not a mapping at top level (expected 'testbed:', 'devices:' …)")
    if not isinstance(data.get("devices"), dict) or not data["devices"]:
        raise TestbedError(where, "no devices", field="devices")
    return data


def unicon_available() -> bool:
    """True when the unicon backend can run (unicon and the genie it imports are installed)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("unicon", "genie"))


def _check_classes(where: str, data: dict[str, Any], backend: str | None) -> None:
    """Refuse connection classes before pyATS imports them (its error would be a traceback's worth)."""
    if backend == "unicon" and not unicon_available():
        raise TestbedError(where, f"--backend unicon needs pkilab's unicon extra: {UNICON_EXTRA}")
    for name, dev in data["devices"].items():
        conns = dev.get("connections") if isinstance(dev, dict) else None
        for cname, raw in (conns or {}).items() if isinstance(conns, dict) else ():
            cls = raw.get("class") if isinstance(raw, dict) else None
            if cls is None:
                continue
            label = f"connections.{cname}.class"
            if cls != conn.UNICON_CLASS:
                raise TestbedError(where, f"only {conn.UNICON_CLASS} is supported (got {cls!r})", name, label)
            if not unicon_available():
                raise TestbedError(
                    where, f"{conn.UNICON_CLASS} needs pkilab's unicon extra: {UNICON_EXTRA}", name, label
                )


def _pyats_load(where: str, path: Path) -> Any:
    try:
        from pyats.topology import loader
    except ImportError as exc:  # pragma: no cover - pyats is a dependency
        raise TestbedError(where, f"the pyATS loader is not installed ({exc})") from None
    try:
        return loader.load(str(path))
    except Exception as exc:  # pyATS raises many kinds; all are the file's fault here
        lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
        detail = " ".join(lines[:4]) if lines else type(exc).__name__
        raise TestbedError(where, f"rejected by the pyATS loader: {detail}") from None


_get = conn.get


def _validate(
    where: str, path: Path, tb: Any, known_faults: set[str] | None, via: str | None, backend: str | None
) -> Testbed:
    resolver = conn.Resolver(tb)
    proxies = _proxies(where, tb)
    devices: list[DeviceSpec] = []
    others: list[DeviceSpec] = []
    for name, dev in tb.devices.items():
        role = _get(_get(dev, "custom", {}) or {}, "role")
        if role is None:
            spec = _other(where, resolver, name, dev, name in proxies, known_faults)
            if spec is not None:
                others.append(spec)
            continue
        if not _HOSTNAME_RE.fullmatch(str(name)):
            # A router to certify: IOS takes ASCII letters, digits and hyphens, a letter first, 63 at most;
            # any other name would never be the router's own (a simulated one would boot as "Router").
            raise TestbedError(
                where, "not an IOS hostname (ASCII letters, digits, '-'; a letter first; 63 at most)", str(name)
            )
        devices.append(_device(where, resolver, name, dev, known_faults, via, backend))
    if not devices:
        raise TestbedError(where, f"no device has a custom.role (one of {', '.join(ROLES)})", field="devices")
    everything = devices + others
    _check_unique_ports(where, everything)
    links = _check_topology(where, devices)
    sims = [d.sim is not None for d in everything]
    if any(sims) and not all(sims):
        odd = next(d.name for d in everything if d.sim is None)
        raise TestbedError(
            where,
            "mixes simulated and real devices; give every device custom.sim or none",
            device=odd,
            field="custom.sim",
        )
    custom = _get(tb, "custom", {}) or {}
    testbed = Testbed(
        name=str(_get(tb, "name", path.stem)),
        path=path,
        devices=tuple(devices),
        links=links,
        others=tuple(others),
        domain=str(_get(custom, "domain", "")),
        extra=dict(custom),
    )
    from pkilab.hostsrv import spec_from_testbed

    spec_from_testbed(testbed)  # custom.hostsrv is checked whether or not this run serves files
    return testbed


def _proxies(where: str, tb: Any) -> set[str]:
    """Names of the devices any connection uses as a proxy."""
    names: set[str] = set()
    for dname, dev in tb.devices.items():
        for cname, raw in (_get(dev, "connections", {}) or {}).items():
            if cname != "defaults":
                try:
                    names.update(conn.proxy_names(raw, f"connections.{cname}"))
                except conn.ConnectionError_ as exc:
                    raise TestbedError(where, str(exc), dname, exc.field) from None
    return names


def _resolve(where: str, resolver: conn.Resolver, name: str, via: str | None = None) -> ConnectionSpec:
    try:
        return resolver.resolve(name, via)
    except conn.ConnectionError_ as exc:
        raise TestbedError(where, str(exc), exc.device or name, exc.field) from None


def _device(
    where: str,
    resolver: conn.Resolver,
    name: str,
    dev: Any,
    known_faults: set[str] | None,
    via: str | None,
    backend: str | None,
) -> DeviceSpec:
    custom = _get(dev, "custom", {}) or {}
    role = _get(custom, "role")
    if role not in ROLES:
        raise TestbedError(where, f"role must be one of {', '.join(ROLES)} (got {role!r})", name, "custom.role")
    os_name = str(_get(dev, "os", "") or "")
    if os_name not in ("ios", "iosxe"):
        raise TestbedError(where, f"os must be ios or iosxe (got {os_name!r})", name, "os")
    connection = _resolve(where, resolver, name, via)
    _check_login(where, name, connection)
    chosen = backend or ("unicon" if connection.unicon else "netmiko")
    if chosen == "unicon" and not unicon_available():
        raise TestbedError(where, f"the unicon backend needs pkilab's unicon extra: {UNICON_EXTRA}", name)
    return DeviceSpec(
        name=name,
        role=role,
        os=os_name,
        platform=str(_get(dev, "platform", "") or ""),
        connection=connection,
        backend=chosen,
        type=str(_get(dev, "type", "") or ""),
        interfaces=_interfaces(where, name, dev),
        sim=sim_spec(where, name, custom, connection.host, known_faults, connections=_get(dev, "connections", {})),
    )


def _other(
    where: str, resolver: conn.Resolver, name: str, dev: Any, is_proxy: bool, known_faults: set[str] | None
) -> DeviceSpec | None:
    """A device without a role (a proxy, a Linux host, a switch): never certified.

    Its connection is checked like any other: a field pkilab does not support is refused, never
    ignored, even on a device pkilab does not use. One pkilab does not use and that offers no CLI
    connection to choose (none, or several and no ``defaults.via``) is left out: there is nothing
    in it pkilab would act upon or ignore.
    """
    custom = _get(dev, "custom", {}) or {}
    used = is_proxy or _get(custom, "sim") is not None
    try:
        connection = resolver.resolve(name)
    except conn.ConnectionError_ as exc:
        if used or exc.field != "connections":
            raise TestbedError(where, str(exc), exc.device or name, exc.field) from None
        return None
    return DeviceSpec(
        name=name,
        role=None,
        os=str(_get(dev, "os", "") or ""),
        platform=str(_get(dev, "platform", "") or ""),
        connection=connection,
        type=str(_get(dev, "type", "") or ""),
        sim=sim_spec(where, name, custom, connection.host, known_faults, connections=_get(dev, "connections", {})),
    )


def _check_login(where: str, name: str, c: ConnectionSpec) -> None:
    """SSH needs a user and a password (or keys); a console may have no login at all."""
    if c.console:
        return
    if not c.credentials.username:
        raise TestbedError(
            where, "empty username (is the %ENV{} variable it names set?)", name, "credentials.default.username"
        )
    keys = c.ssh_options.pubkey or c.ssh_options.identity_files
    if not c.credentials.password and not keys:
        raise TestbedError(
            where, "empty password (is the %ENV{} variable it names set?)", name, "credentials.default.password"
        )


def _interfaces(where: str, name: str, dev: Any) -> tuple[InterfaceSpec, ...]:
    result: list[InterfaceSpec] = []
    for if_name, intf in (_get(dev, "interfaces", {}) or {}).items():
        if not _IF_NAME_RE.fullmatch(if_name):
            raise TestbedError(where, f"not an IOS interface name: {if_name!r}", name, "topology.interfaces")
        ipv4 = _get(intf, "ipv4")
        if ipv4 is not None and not isinstance(ipv4, ipaddress.IPv4Interface):
            try:
                ipv4 = ipaddress.IPv4Interface(str(ipv4))
            except ValueError:
                raise TestbedError(where, f"bad IPv4 address {ipv4!r}", name, f"topology.{if_name}.ipv4") from None
        link = _get(intf, "link")
        link_name = getattr(link, "name", None) or (str(link) if link else None)
        result.append(InterfaceSpec(if_name, ipv4, link_name))
    return tuple(result)


def _check_unique_ports(where: str, devices: list[DeviceSpec]) -> None:
    """No two devices on one address and port (a port behind a proxy is the proxy's business)."""
    seen: dict[tuple[str, int], str] = {}
    for d in devices:
        if d.sim:
            # Every server of the simulated lab counts, whatever loopback address it is on.
            ports = [("127.0.0.1", port, d.sim.ssh_field if label == "ssh" else label) for port, label in d.sim.ports()]
        elif d.port and not d.connection.proxy:
            ports = [(d.host, d.port, f"connections.{d.connection.name}.port")]
        else:
            ports = []
        for host, port, label in ports:
            key = (host, port)
            if key in seen:
                raise TestbedError(where, f"port {port} already used by {seen[key]}", d.name, label)
            seen[key] = d.name


def _check_topology(where: str, devices: list[DeviceSpec]) -> tuple[str, ...]:
    owners: dict[ipaddress.IPv4Address, str] = {}
    links: dict[str, list[tuple[str, InterfaceSpec]]] = {}
    for d in devices:
        for intf in d.interfaces:
            if intf.ipv4 is not None:
                addr = intf.ipv4.ip
                if addr in owners:
                    raise TestbedError(
                        where, f"address {addr} is also on {owners[addr]}", d.name, f"topology.{intf.name}.ipv4"
                    )
                owners[addr] = f"{d.name} {intf.name}"
            if intf.link:
                links.setdefault(intf.link, []).append((d.name, intf))
    for link, members in links.items():
        nets = {m.ipv4.network for _, m in members if m.ipv4 is not None}
        if len(nets) > 1:
            dev, intf = members[-1]
            raise TestbedError(
                where,
                f"link {link!r} joins different subnets: {', '.join(sorted(map(str, nets)))}",
                dev,
                f"topology.{intf.name}.ipv4",
            )
    return tuple(links)


#: The environment variable that moves every simulated-lab port of a run (two runs on one machine).
PORT_OFFSET_ENV = "PKILAB_PORT_OFFSET"


def without_port_offset(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` for a child process handed a testbed whose ports are already moved.

    A child reading :data:`PORT_OFFSET_ENV` too (``pkilab sim up``, a pytest run) would move them again.
    """
    return {k: v for k, v in environ.items() if k != PORT_OFFSET_ENV}


def env_port_offset() -> int:
    """``PKILAB_PORT_OFFSET`` as a signed port offset (0 when unset or empty).

    Raises:
        UserError: The value is not a whole number of ASCII digits within +-65534.
    """
    value = os.environ.get(PORT_OFFSET_ENV, "").strip()
    if not value:
        return 0
    if not re.fullmatch(r"-?[0-9]{1,5}", value) or abs(int(value)) > 65534:
        raise UserError(f"{PORT_OFFSET_ENV}={value[:20]!r}: not a port offset (a whole number within +-65534)")
    return int(value)
