"""Load pyATS testbed files and validate them before any device is touched.

The file is read by pyATS's own loader (so ``%ENV{VAR}`` markup and every pyATS construct
work), then checked here: roles, connections, credentials, ports, addresses, links and the
simulator's settings. Any problem raises :class:`~pkilab.errors.TestbedError` with one line
naming the file, the device and the field.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pkilab import connections as conn
from pkilab.connections import ConnectionSpec, Credentials, Hop, SshOptions
from pkilab.errors import TestbedError
from pkilab.yamlsafe import load_file

__all__ = ["ConnectionSpec", "Credentials", "DeviceSpec", "Hop", "InterfaceSpec", "SimSpec", "SshOptions", "Testbed"]

ROLES = ("ca", "headend", "branch", "host")
#: ``custom.sim.timing`` values (:data:`pkilab.sim.images.TIMINGS` defines each).
SIM_TIMINGS = ("fast", "ios")
# Classic IOS names its images PLATFORM-FEATURES-mz.124-24.T5.bin; IOS-XE
# PLATFORM-FEATURES.17.09.04a.SPA.bin (no format field, the version dotted, a signature tag).
#: Session backends: netmiko (the default) and unicon (``class: unicon.Unicon`` or ``--backend unicon``).
BACKENDS = ("netmiko", "unicon")
UNICON_EXTRA = "pip install 'pkilab[unicon]'"
_IMAGE_RE = re.compile(
    r"^(?P<platform>[a-z0-9]+)-(?P<feature>[a-z0-9_]+)(?:"
    r"-(?P<fmt>m[a-z]*)\.(?P<ver>\d{3,4}-\d+\.?[A-Za-z0-9.]*?)"
    r"|\.(?P<xe>\d{2}\.\d{2}\.\d{2}[a-z]?)(?:\.SPA)?)(?:\.bin)?$"
)
_IF_NAME_RE = re.compile(r"^(Ethernet|FastEthernet|GigabitEthernet|Loopback|Serial|Tunnel|Vlan)\d+(/\d+)*$")
_HOSTNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")
_SAFE_LINE_RE = re.compile(r"^[\x20-\x7e]*$")


@dataclass(frozen=True)
class InterfaceSpec:
    """One interface of a device from the testbed topology."""

    name: str
    ipv4: ipaddress.IPv4Interface | None
    link: str | None


#: What a simulated device is (``custom.sim.kind``): an IOS router, or one of the hosts that labs put
#: in front of their routers (a CML-style terminal server, an SSH jump host).
SIM_KINDS = ("router", "terminal_server", "jumphost")
#: The ``custom.sim`` keys each kind accepts; any other key is refused, never ignored.
_SIM_KEYS = {
    "router": frozenset({"kind", "http_port", "image", "timing", "faults", "bind", "config", "console", "ssh_port"}),
    # ssh_port: where it listens when its own connection goes through a proxy (a chained jump host).
    "terminal_server": frozenset({"kind", "ssh_port"}),
    "jumphost": frozenset({"kind", "ssh_port"}),
}


@dataclass(frozen=True)
class SimSpec:
    """A simulated device's settings (``custom.sim``).

    ``ssh_port`` is where the device's SSH server listens on 127.0.0.1 (``custom.sim.ssh_port``, else
    the port of its direct SSH connection to a loopback address; None: a console-only router).
    ``console`` is a router's telnet console port (``custom.sim.console``). Terminal servers and
    jump hosts have neither an image nor an HTTP port (0 and "").
    """

    http_port: int = 0
    image: str = ""
    faults: tuple[str, ...] = ()
    timing: str = "fast"
    bind: tuple[tuple[str, str], ...] = ()
    config: tuple[str, ...] = ()
    kind: str = "router"
    console: int | None = None
    ssh_port: int | None = None
    ssh_field: str = "custom.sim.ssh_port"
    address: str = "127.0.0.1"

    def ports(self) -> tuple[tuple[int, str], ...]:
        """The 127.0.0.1 ports the simulator opens for this device, with the field each comes from."""
        found = [(self.ssh_port, "ssh"), (self.console, "custom.sim.console"), (self.http_port, "custom.sim.http_port")]
        return tuple((port, label) for port, label in found if port)

    def moved(self, offset: int) -> SimSpec:
        """This spec with every port moved by ``offset``."""

        def move(port: int | None) -> int | None:
            return port + offset if port else port

        return dataclasses.replace(
            self,
            http_port=move(self.http_port) or 0,
            console=move(self.console),
            ssh_port=move(self.ssh_port),
        )


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
        sim=_sim(where, name, custom, connection.host, known_faults, connections=_get(dev, "connections", {})),
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
        sim=_sim(where, name, custom, connection.host, known_faults, connections=_get(dev, "connections", {})),
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


def _sim(
    where: str, name: str, custom: Any, host: str, known_faults: set[str] | None, connections: Any = None
) -> SimSpec | None:
    sim = _get(custom, "sim")
    if sim is None:
        return None
    if not hasattr(sim, "get"):
        raise TestbedError(where, "must be a mapping", name, "custom.sim")
    kind = sim.get("kind") or "router"
    if kind not in SIM_KINDS:
        raise TestbedError(where, f"must be one of {', '.join(SIM_KINDS)} (got {kind!r})", name, "custom.sim.kind")
    for key in sim:
        if key not in _SIM_KEYS[kind]:
            what = kind.replace("_", " ")
            raise TestbedError(where, f"not a setting of a simulated {what}", name, f"custom.sim.{key}")
    direct = _direct_connections(where, name, connections, host)
    address = _sim_address(where, name, direct)
    if kind != "router":
        ssh_port, ssh_field = _sim_ssh_port(where, name, sim, direct)
        if ssh_port is None:
            raise TestbedError(
                where, f"a simulated {kind} needs a direct ssh connection to 127.0.0.1", name, "connections"
            )
        _check_direct(where, name, direct, None, ssh_port)
        return SimSpec(kind=kind, ssh_port=ssh_port, ssh_field=ssh_field, address=address)
    console = _port_setting(where, name, sim, "console")
    ssh_port, ssh_field = _sim_ssh_port(where, name, sim, direct)
    _check_direct(where, name, direct, console, ssh_port)
    return dataclasses.replace(
        _router_sim(where, name, sim, known_faults),
        console=console,
        ssh_port=ssh_port,
        ssh_field=ssh_field,
        address=address,
    )


def _router_sim(where: str, name: str, sim: Any, known_faults: set[str] | None) -> SimSpec:
    """The IOS settings of a simulated router: image, HTTP port, faults, bridges, extra configuration."""
    port = _port_setting(where, name, sim, "http_port")
    if port is None:
        raise TestbedError(where, "must be an integer 1-65535 (got None)", name, "custom.sim.http_port")
    image = sim.get("image")
    if not isinstance(image, str) or not _IMAGE_RE.fullmatch(image):
        raise TestbedError(
            where,
            "not an IOS image name like c7200-adventerprisek9-mz.152-4.M11.bin or "
            f"c8000v-universalk9.17.09.04a.SPA.bin (got {image!r})",
            name,
            "custom.sim.image",
        )
    timing = sim.get("timing", "fast")
    if timing not in SIM_TIMINGS:
        choices = ", ".join(SIM_TIMINGS)
        raise TestbedError(where, f"must be one of {choices} (got {timing!r})", name, "custom.sim.timing")
    faults = sim.get("faults") or []
    if not isinstance(faults, list) or not all(isinstance(f, str) for f in faults):
        raise TestbedError(where, "must be a list of fault names", name, "custom.sim.faults")
    if known_faults is not None:
        for f in faults:
            if f not in known_faults:
                raise TestbedError(where, f"unknown fault {f!r} (see `pkilab sim faults`)", name, "custom.sim.faults")
    bind = sim.get("bind") or {}
    if not hasattr(bind, "items"):
        raise TestbedError(where, "must map INTERFACE: ADDRESS", name, "custom.sim.bind")
    for intf, addr in bind.items():
        try:
            ipaddress.IPv4Address(str(addr))
        except ValueError:
            raise TestbedError(where, f"{intf}: {addr!r} is not an IPv4 address", name, "custom.sim.bind") from None
    config = sim.get("config") or []
    if not isinstance(config, list) or not all(isinstance(c, str) and _SAFE_LINE_RE.fullmatch(c) for c in config):
        raise TestbedError(where, "must be a list of single printable configuration lines", name, "custom.sim.config")
    return SimSpec(
        http_port=port,
        image=image,
        faults=tuple(faults),
        timing=timing,
        bind=tuple((str(k), str(v)) for k, v in bind.items()),
        config=tuple(config),
    )


def _port_setting(where: str, name: str, sim: Any, key: str) -> int | None:
    """``custom.sim.KEY`` as a TCP port, or None when it is not set."""
    port = sim.get(key)
    if port is None:
        return None
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise TestbedError(where, f"must be an integer 1-65535 (got {port!r})", name, f"custom.sim.{key}")
    return port


@dataclass(frozen=True)
class _Direct:
    """A connection of a simulated device to an address and port (directly or through a jump host).

    Something of the simulated lab must listen there. Connections through a terminal server name
    a console by a command, not an address, and are not listed.
    """

    name: str
    protocol: str
    ip: str
    port: int
    proxied: bool = False


def _direct_connections(where: str, name: str, connections: Any, host: str) -> list[_Direct]:
    """The device's connections to an address; each must point at a loopback address."""
    if connections is None:  # a caller that did not pass the connections: check the one it chose
        connections = {"cli": {"ip": host}}
    found: list[_Direct] = []
    for cname in connections:
        conn = connections[cname]
        ip = _get(conn, "ip") or _get(conn, "host")
        if cname == "defaults" or not ip:
            continue
        try:
            loopback = ipaddress.ip_address(str(ip)).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise TestbedError(
                where, f"a simulated device listens on loopback only (got {ip})", name, f"connections.{cname}.ip"
            )
        protocol = str(_get(conn, "protocol", "") or "")
        port = _get(conn, "port", 22 if protocol == "ssh" else 23)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise TestbedError(
                where, f"port must be an integer 1-65535 (got {port!r})", name, f"connections.{cname}.port"
            )
        found.append(_Direct(str(cname), protocol, str(ip), port, proxied=bool(_get(conn, "proxy"))))
    return found


def _sim_address(where: str, name: str, direct: list[_Direct]) -> str:
    """The loopback address the device's servers listen on (one per device)."""
    addresses = sorted({d.ip for d in direct})
    if len(addresses) > 1:
        raise TestbedError(
            where,
            f"direct connections to {' and '.join(addresses)}: a simulated device listens on one address",
            name,
            f"connections.{direct[-1].name}.ip",
        )
    return addresses[0] if addresses else "127.0.0.1"


def _sim_ssh_port(where: str, name: str, sim: Any, direct: list[_Direct]) -> tuple[int | None, str]:
    """Where the device's SSH server listens: ``custom.sim.ssh_port``, else its direct ssh connection."""
    explicit = _port_setting(where, name, sim, "ssh_port")
    if explicit is not None:
        return explicit, "custom.sim.ssh_port"
    ssh = [d for d in direct if d.protocol == "ssh" and not d.proxied]
    ports = sorted({d.port for d in ssh})
    if len(ports) > 1:
        raise TestbedError(
            where,
            f"direct ssh connections on ports {ports[0]} and {ports[1]}: the simulated device has one SSH server "
            "(set custom.sim.ssh_port)",
            name,
            f"connections.{ssh[-1].name}.port",
        )
    return (ports[0], f"connections.{ssh[0].name}.port") if ports else (None, "")


def _check_direct(where: str, name: str, direct: list[_Direct], console: int | None, ssh_port: int | None) -> None:
    """Every direct connection must reach a server the simulator opens for this device."""
    for d in direct:
        field_name = f"connections.{d.name}.port"
        if d.protocol == "ssh" and d.port != ssh_port:
            raise TestbedError(where, f"{d.port} is not this device's SSH port ({ssh_port})", name, field_name)
        if d.protocol == "telnet" and console is None:
            raise TestbedError(
                where,
                "a telnet connection to a simulated router needs custom.sim.console (its console port)",
                name,
                f"connections.{d.name}",
            )
        if d.protocol == "telnet" and d.port != console:
            raise TestbedError(where, f"{d.port} is not this router's console port ({console})", name, field_name)


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


def image_version(image: str) -> tuple[str, str, str]:
    """Split an image name into (platform, feature set, IOS version): ``15.2(4)M11``, ``17.9.4a``."""
    m = _IMAGE_RE.fullmatch(image)
    if not m:
        raise ValueError(f"not an IOS image name: {image!r}")
    if m.group("xe"):
        major, minor, rebuild = m.group("xe").split(".")
        return m.group("platform"), m.group("feature"), f"{int(major)}.{int(minor)}.{rebuild.lstrip('0') or '0'}"
    ver = m.group("ver")
    mm = re.match(r"^(\d{2})(\d)(\d?)-(\d+)\.?([A-Za-z]*\d*(?:\.\d+)?)?$", ver)
    if mm:
        major, minor, _, rebuild, train = mm.groups()
        version = f"{int(major)}.{minor}({rebuild}){train or ''}"
    else:
        version = ver
    return m.group("platform"), m.group("feature"), version
