"""``pkilab init``: write a starter testbed for your own routers, and check that it loads.

It asks nothing. Routers given with --ca, --headend, --branch and --host (NAME=ADDRESS[:PORT])
are written as they are; with none, a commented template with the seed's device names on
documentation addresses (192.0.2.x) is written, to edit. Credentials come from the
environment (PKILAB_USERNAME, PKILAB_PASSWORD, PKILAB_ENABLE) through pyATS markup, so the
file holds no secret.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pkilab.errors import TestbedError, UserError

DEFAULT_FILE = Path("testbed.yaml")
CREDENTIAL_ENV = ("PKILAB_USERNAME", "PKILAB_PASSWORD", "PKILAB_ENABLE")
_HOSTNAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")
_ADDRESS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
_TESTBED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_PORT = re.compile(r"[0-9]{1,5}")  # ASCII digits only: str.isdigit() takes "²" too
_ROLE_FLAGS = (("ca", "an IOS certificate server"), ("headend", "a VPN headend"), ("branch", "a branch router"))

# The seed's lab on documentation addresses: the template written when no router is given.
_TEMPLATE = (
    ("ca", "ese-ios-ca", "192.0.2.12", "the CA router's management address"),
    ("headend", "ese-cryagg", "192.0.2.1", "the headend's management address"),
    ("branch", "ese-branch", "192.0.2.2", "a branch's management address (repeat for more branches)"),
    ("host", "hq-host", "192.0.2.13", "the ping target / NTP master on the CA's LAN"),
)


@dataclass(frozen=True)
class Router:
    """One router of the testbed to write."""

    role: str
    name: str
    address: str
    port: int
    note: str = ""


def register(subparsers: Any) -> None:
    """Add ``init`` to the ``pkilab`` command line."""
    from pkilab.cli import describe

    p = subparsers.add_parser(
        "init", help="write a starter testbed for your own routers", description=describe(__doc__)
    )
    p.add_argument(
        "file", nargs="?", type=Path, default=DEFAULT_FILE, help=f"file to write (default: ./{DEFAULT_FILE})"
    )
    p.add_argument("--name", default="my-ios-lab", help="testbed name (default: my-ios-lab)")
    for role, what in (*_ROLE_FLAGS, ("host", "the ping target / NTP master")):
        p.add_argument(
            f"--{role}",
            action="append",
            default=[],
            metavar="NAME=ADDRESS[:PORT]",
            help=f"{what}: its hostname and management address (repeatable)",
        )
    p.add_argument("--telnet", action="store_true", help="reach the routers over telnet (default: ssh)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=run_init)


def run_init(args: argparse.Namespace) -> int:
    """Write the testbed, load it back through pkilab's validation, say what to do next."""
    routers: list[Router] = []
    for role in ("ca", "headend", "branch", "host"):
        for spec in getattr(args, role):
            router = parse_router(role, spec, args.telnet)
            if any(r.name == router.name for r in routers):
                raise UserError(f"--{role} {spec!r}: {router.name} is given twice (device names are hostnames)")
            routers.append(router)
    if not _TESTBED_NAME.fullmatch(args.name):
        raise UserError(f"--name {args.name!r}: a testbed name is ASCII letters, digits, '.', '_' and '-' (63 at most)")
    path: Path = args.file
    if path.exists() and not args.force:
        raise UserError(f"{path}: already exists (--force overwrites it)")
    text = render(args.name, routers, "telnet" if args.telnet else "ssh")
    # Written beside the target and checked there first: a file that does not load is never left.
    draft = path.with_name(f".{path.name}.pkilab-init")
    try:
        draft.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        testbed = validate(draft, path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
    draft.replace(path)
    kind = "routers" if routers else "template routers (edit their addresses)"
    print(
        f"wrote {path}: testbed {testbed.name}, {len(testbed.devices)} {kind}: "
        + ", ".join(f"{d.name} ({d.role}, {d.host}:{d.port})" for d in testbed.devices)
    )
    missing = [r for r in ("ca", "headend", "branch", "host") if r not in {d.role for d in testbed.devices}]
    if missing:
        print(f"no device with role {', '.join(missing)}: the suites that need one will be skipped")
    print(
        "next: set " + ", ".join(CREDENTIAL_ENV) + ", fill in the topology section (interfaces and links), then\n"
        f"  pkilab certify --testbed {path}"
    )
    return 0


def parse_router(role: str, spec: str, telnet: bool = False) -> Router:
    """Read ``NAME=ADDRESS[:PORT]`` given to ``--ROLE``.

    Raises:
        UserError: the name is no IOS hostname, or the address or port is wrong.
    """
    name, sep, where = spec.partition("=")
    if not sep or not _HOSTNAME.fullmatch(name):
        raise UserError(f"--{role} {spec!r}: expected NAME=ADDRESS[:PORT] with NAME the router's hostname")
    address, _, port_text = where.partition(":")
    default_port = 23 if telnet else 22
    if not _is_address(address):
        raise UserError(f"--{role} {spec!r}: {address!r} is not an IPv4 address or host name")
    if port_text and not (_PORT.fullmatch(port_text) and 1 <= int(port_text) <= 65535):
        raise UserError(f"--{role} {spec!r}: port {port_text!r} is not 1-65535")
    return Router(role, name, address, int(port_text) if port_text else default_port)


def _is_address(text: str) -> bool:
    with contextlib.suppress(ValueError):
        ipaddress.IPv4Address(text)
        return True
    return bool(_ADDRESS.fullmatch(text)) and not text.replace(".", "").isdigit()


def render(name: str, routers: list[Router], protocol: str) -> str:
    """Return the testbed YAML: ``routers``, or the commented template when there are none."""
    template = not routers
    if template:
        routers = [
            Router(role, dev, addr, 23 if protocol == "telnet" else 22, note) for role, dev, addr, note in _TEMPLATE
        ]
    lines = [
        "# pkilab testbed for your own routers (pyATS format), written by `pkilab init`.",
        "# Device names must equal the routers' hostnames. Credentials come from the environment:",
        "#   export PKILAB_USERNAME=admin PKILAB_PASSWORD=... PKILAB_ENABLE=...",
    ]
    if template:
        lines.append("# TEMPLATE: the seed's lab on documentation addresses; replace every 192.0.2.x address.")
    lines += [
        "testbed:",
        f"  name: {name}",
        "  credentials:",
        "    default:",
        '      username: "%ENV{PKILAB_USERNAME}"',
        '      password: "%ENV{PKILAB_PASSWORD}"',
        "    enable:",
        '      password: "%ENV{PKILAB_ENABLE}"',
        "  custom:",
        "    domain: example.com            # ip domain name of the routers (certificate subjects)",
        "    # The off-system storage suite needs the test host's TFTP/HTTP servers, reachable from the routers:",
        "    # hostsrv: {address: 192.0.2.50, tftp_port: 69, http_port: 80}",
        "",
        "devices:",
    ]
    for r in routers:
        note = f"   # {r.note}" if r.note else ""
        lines += [
            f"  {r.name}:",
            "    os: ios",
            "    type: router",
            "    connections:",
            f"      cli: {{protocol: {protocol}, ip: {r.address}, port: {r.port}}}{note}",
            f"    custom: {{role: {r.role}}}",
        ]
    lines += [
        "",
        "# The interfaces and links the suites test (neighbours, tunnels), one entry per device, e.g.:",
        "# topology:",
        f"#   {routers[0].name}:",
        "#     interfaces:",
        "#       GigabitEthernet0/0: {ipv4: 10.59.138.12/24, link: hq-lan, type: ethernet}",
    ]
    return "\n".join(lines) + "\n"


def validate(path: Path, target: Path) -> Any:
    """Load ``path`` through pkilab's testbed validation (unset credential variables stand in as placeholders).

    Raises:
        UserError: it does not load (an address the pyATS loader cannot resolve, say); named as ``target``.
    """
    from pkilab.testbed import load

    with _placeholder_credentials():
        try:
            return load(path)
        except TestbedError as exc:
            reason = str(exc).replace(str(path), str(target))
            raise UserError(f"{target} not written, it would not load: {reason}") from None


@contextlib.contextmanager
def _placeholder_credentials() -> Iterator[None]:
    unset = [name for name in CREDENTIAL_ENV if not os.environ.get(name)]
    for name in unset:
        os.environ[name] = "pkilab-init-check"
    try:
        yield
    finally:
        for name in unset:
            os.environ.pop(name, None)
