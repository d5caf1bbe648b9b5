"""``pkilab sim up|faults``: run the simulated lab in the foreground, list fault switches."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from pkilab.errors import SimError, UserError

DEFAULT_TESTBED = "testbeds/sim.yaml"


def register(sub: Any) -> None:
    """Add the ``sim`` subcommand."""
    p = sub.add_parser("sim", help="run the simulated lab")
    sim_sub = p.add_subparsers(dest="sim_command", metavar="ACTION", required=True)
    up = sim_sub.add_parser("up", help="start every simulated device of a testbed; prints 'ready'")
    up.add_argument("--testbed", default=DEFAULT_TESTBED, help=f"testbed file (default {DEFAULT_TESTBED})")
    up.add_argument("--pcap-dir", type=Path, default=None, help="write one pcap per virtual link here")
    up.add_argument(
        "--hostsrv",
        type=Path,
        default=None,
        metavar="DIR",
        help="also serve DIR over TFTP and HTTP at the testbed's custom.hostsrv (off-system storage)",
    )
    up.set_defaults(func=run_up)
    faults = sim_sub.add_parser("faults", help="list the fault switches of the simulator")
    faults.set_defaults(func=run_faults)


def run_faults(args: argparse.Namespace) -> int:
    """Print one line per fault: ``NAME  what it breaks``."""
    from pkilab.sim.faults import FAULTS

    width = max((len(n) for n in FAULTS), default=0)
    for name, text in sorted(FAULTS.items()):
        print(f"{name.ljust(width)}  {text}")
    return 0


def run_up(args: argparse.Namespace) -> int:
    """Start the lab and serve until SIGINT/SIGTERM."""
    from pkilab.sim.faults import FAULTS
    from pkilab.testbed import load

    testbed = load(args.testbed, known_faults=FAULTS)
    if not testbed.simulated:
        raise UserError(f"{args.testbed}: not a simulated testbed (devices have no custom.sim)")
    servers = _host_servers(args.testbed, testbed, args.hostsrv) if args.hostsrv is not None else None
    try:
        return asyncio.run(_serve(testbed, args.pcap_dir))
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


async def _serve(testbed: Any, pcap_dir: Path | None) -> int:
    from pkilab.sim.lab import Lab

    lab = Lab(testbed, pcap_dir)
    await lab.start()
    for line in lab.describe():
        print(line, flush=True)
    print(f"{len(testbed.devices)} devices listening after {lab.started_in:.2f} s", flush=True)
    print("ready", flush=True)  # alone on its line: what scripts wait for
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if sys.platform != "win32":  # the event loop has no signal handlers there; Ctrl-C still stops it
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await lab.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0
