"""The simulator's settings of a testbed device (``custom.sim``), validated before any device is touched.

:func:`sim_spec` reads a device's ``custom.sim`` block together with its connections: the kind of
simulated device, its image, timing, faults, bridges, extra configuration lines and the loopback
ports its servers listen on, each of which a direct connection must reach. Any problem raises
:class:`~pkilab.errors.TestbedError` with one line naming the file, the device and the field
(:mod:`pkilab.testbed` calls it for every device and re-exports :class:`SimSpec`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from pkilab import connections as conn
from pkilab.errors import TestbedError

_get = conn.get

#: ``custom.sim.timing`` values (:data:`pkilab.sim.images.TIMINGS` defines each).
SIM_TIMINGS = ("fast", "ios")
# Classic IOS names its images PLATFORM-FEATURES-mz.124-24.T5.bin; IOS-XE
# PLATFORM-FEATURES.17.09.04a.SPA.bin (no format field, the version dotted, a signature tag).
_IMAGE_RE = re.compile(
    r"^(?P<platform>[a-z0-9]+)-(?P<feature>[a-z0-9_]+)(?:"
    r"-(?P<fmt>m[a-z]*)\.(?P<ver>\d{3,4}-\d+\.?[A-Za-z0-9.]*?)"
    r"|\.(?P<xe>\d{2}\.\d{2}\.\d{2}[a-z]?)(?:\.SPA)?)(?:\.bin)?$"
)
_SAFE_LINE_RE = re.compile(r"^[\x20-\x7e]*$")


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


def sim_spec(
    where: str, name: str, custom: Any, host: str, known_faults: set[str] | None, connections: Any = None
) -> SimSpec | None:
    """The validated ``custom.sim`` of device ``name`` in ``where``, or None when it has none.

    Args:
        where: the testbed file (for messages).
        name: the device.
        custom: the device's ``custom`` block.
        host: the address of the connection pkilab chose (checked when ``connections`` is None).
        known_faults: the simulator's fault names, or None not to check them.
        connections: the device's connections (each direct one must reach a server of the device).
    """
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
