"""``pkilab sim up|faults|images``: run the simulated lab in the foreground, list fault switches and images.

``sim up`` starts every device of a simulated testbed (default: pkilab's own simulated lab),
prints one line per device and ``ready``, and serves until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pkilab.errors import SimError, UserError
from pkilab.resources import sim_testbed

if TYPE_CHECKING:
    from pkilab.testbed import Testbed

DEFAULT_TESTBED = str(sim_testbed())
_MAX_PORT = 65535


def register(sub: Any) -> None:
    """Add the ``sim`` subcommand."""
    from pkilab.cli import describe, require_action

    p = sub.add_parser("sim", help="run the simulated lab", description=describe(__doc__))
    sim_sub = p.add_subparsers(dest="sim_command", metavar="ACTION", title="actions")
    require_action(p, sim_sub)
    up = sim_sub.add_parser(
        "up",
        help="start every simulated device of a testbed; prints 'ready'",
        description="Start every simulated device of a testbed, print one line per device and 'ready', "
        "and serve until Ctrl-C or SIGTERM.",
    )
    up.add_argument("--testbed", default=None, help=f"testbed file (default: $PKILAB_TESTBED, else {DEFAULT_TESTBED})")
    up.add_argument("--pcap-dir", type=Path, default=None, help="write one pcap per virtual link here")
    up.add_argument(
        "--port-base",
        type=int,
        metavar="N",
        help="move every port of the lab (SSH, HTTP, host file servers) so that the lowest one is N",
    )
    up.add_argument(
        "--hostsrv",
        type=Path,
        default=None,
        metavar="DIR",
        help="also serve DIR over TFTP and HTTP at the testbed's custom.hostsrv (off-system storage)",
    )
    up.add_argument(
        "--link-port",
        action="append",
        default=[],
        metavar="LINK=HOST:PORT",
        help="serve virtual link LINK to another process over UDP (pkilab load; docs/load.md); PORT 0 picks one",
    )
    up.set_defaults(func=run_up)
    faults = sim_sub.add_parser(
        "faults",
        help="list the fault switches of the simulator",
        description="List the simulator's fault switches (custom.sim.faults): each makes a router deviate "
        "from IOS in one precise way, to prove that the suites catch it.",
    )
    faults.set_defaults(func=run_faults)
    images = sim_sub.add_parser(
        "images",
        help="list the IOS images the simulator plays (custom.sim.image)",
        description="List the IOS images the simulated routers can run (custom.sim.image), each a personality "
        "with its release's wording and layouts, and the timing modes (custom.sim.timing).",
    )
    images.set_defaults(func=run_images)


def sim_ports(testbed: Testbed) -> list[int]:
    """Return every port a simulated lab of ``testbed`` listens on (what :meth:`Testbed.shifted` moves)."""
    ports = [port for d in testbed.all_devices if d.sim for port, _ in d.sim.ports()]
    hostsrv = testbed.extra.get("hostsrv")
    if isinstance(hostsrv, dict):
        ports += [v for k, v in hostsrv.items() if k in ("tftp_port", "http_port") and type(v) is int]
    return ports


def port_offset(testbed: Testbed, base: int) -> int:
    """Return the offset that moves the lab's lowest port to ``base`` (``--port-base``).

    Raises:
        UserError: the testbed is not simulated, or a port would leave 1-65535.
    """
    if not testbed.simulated:
        raise UserError(f"--port-base: {testbed.path} is not a simulated testbed (its devices have no custom.sim)")
    ports = sim_ports(testbed)
    offset = base - min(ports)
    if base < 1 or max(ports) + offset > _MAX_PORT:
        raise UserError(
            f"--port-base {base}: the lab's ports span {min(ports)}-{max(ports)}, "
            f"so N must be 1-{_MAX_PORT - (max(ports) - min(ports))}"
        )
    return offset


def run_faults(args: argparse.Namespace) -> int:
    """Print one line per fault: ``NAME  what it breaks``."""
    from pkilab.sim.faults import FAULTS

    width = max((len(n) for n in FAULTS), default=0)
    for name, text in sorted(FAULTS.items()):
        print(f"{name.ljust(width)}  {text}")
    return 0


def run_images(args: argparse.Namespace) -> int:
    """Print one line per image: ``IMAGE  os OS, platform PLATFORM, IOS VERSION``, then the timings."""
    from pkilab.sim.images import PERSONALITIES, TIMINGS

    width = max(len(i) for i in PERSONALITIES)
    for image, p in PERSONALITIES.items():
        print(f"{image.ljust(width)}  os {p.os}, platform {p.platform}, IOS {p.version}")
    print(f"custom.sim.timing: {', '.join(TIMINGS)} (default fast; ios runs every timer as IOS does)")
    return 0


def run_up(args: argparse.Namespace) -> int:
    """Start the lab and serve until SIGINT/SIGTERM."""
    from pkilab.sim.faults import FAULTS
    from pkilab.testbed import env_port_offset, load

    args.testbed = args.testbed or os.environ.get("PKILAB_TESTBED") or DEFAULT_TESTBED
    testbed = load(args.testbed, known_faults=FAULTS)
    if not testbed.simulated:
        raise UserError(f"{args.testbed}: not a simulated testbed (devices have no custom.sim)")
    # --port-base puts the lowest port there; otherwise PKILAB_PORT_OFFSET moves them, as for a test run.
    offset = port_offset(testbed, args.port_base) if args.port_base is not None else env_port_offset()
    testbed = testbed.shifted(offset)
    servers = _host_servers(args.testbed, testbed, args.hostsrv) if args.hostsrv is not None else None
    try:
        return asyncio.run(_serve(testbed, args.pcap_dir, [_link_port(x) for x in args.link_port]))
    except SimError as exc:
        raise UserError(str(exc)) from None
    finally:
        if servers is not None:
            servers.stop()


def _host_servers(path: str, testbed: Any, root: Path) -> Any:
    """Start the host's TFTP/HTTP file servers of ``custom.hostsrv`` on ``root``; print where they are."""
    from pkilab.errors import PkilabError
    from pkilab.hostsrv import HostServers, spec_from_testbed

    spec = spec_from_testbed(testbed)
    if spec is None:
        raise UserError(f"{path}: --hostsrv needs custom.hostsrv (address, tftp_port, http_port) in the testbed")
    if not root.is_dir():
        raise UserError(f"--hostsrv {root}: not a directory")
    servers = HostServers(spec, root.resolve())
    try:
        servers.start()
    except PkilabError as exc:
        raise UserError(f"{path}: {exc}") from None
    bound = servers.bound_spec()
    print(
        f"host file servers: tftp {bound.address}:{bound.tftp_port}, http {bound.address}:{bound.http_port}, "
        f"serving {servers.root}",
        flush=True,
    )
    return servers


def _link_port(text: str) -> tuple[str, str, int]:
    link, _, where = text.partition("=")
    host, _, port = where.rpartition(":")
    if not link or not host or not port.isdigit() or int(port) > 65535:
        raise UserError(f"--link-port {text!r}: expected LINK=HOST:PORT, e.g. outside=127.0.0.1:0")
    return link, host, int(port)


async def _serve(testbed: Any, pcap_dir: Path | None, link_ports: list[tuple[str, str, int]]) -> int:
    from pkilab.sim.lab import Lab
    from pkilab.sim.linkport import LinkPortServer

    # Handlers first: a script that sends SIGTERM as soon as it reads `ready` must find them set.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if sys.platform != "win32":  # the event loop has no signal handlers there; Ctrl-C still stops it
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    lab = Lab(testbed, pcap_dir)
    await lab.start()
    ports = []
    for link, host, port in link_ports:
        server = LinkPortServer(lab, link, host, port)
        try:
            bound = await server.start()
        except SimError:
            await lab.stop()
            raise
        ports.append(server)
        print(f"link {link}: udp {bound[0]}:{bound[1]}", flush=True)
    for line in lab.describe():
        print(line, flush=True)
    print(f"{len(testbed.all_devices)} devices listening after {lab.started_in:.2f} s", flush=True)
    print("ready", flush=True)  # alone on its line: what scripts wait for
    await stop.wait()
    for server in ports:
        server.close()
    await lab.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0
