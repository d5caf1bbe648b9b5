"""Offline simulated routers for unit tests (no sockets): shared by the sim unit tests."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pkilab.sim.interp import CliSession, Step
from pkilab.sim.lab import Lab, initial_config
from pkilab.sim.router import Router
from pkilab.testbed import Credentials, DeviceSpec, InterfaceSpec, SimSpec, Testbed, ssh_connection


def make_spec(
    name: str = "r1", addr: str = "10.0.0.1/24", link: str = "lan", config: Iterable[str] = (), role: str = "branch"
) -> DeviceSpec:
    """A c7200 (a branch unless ``role`` says otherwise) on 15.2(4)M11 with one addressed interface on
    ``link`` and ``config`` applied at boot."""
    return DeviceSpec(
        name=name,
        role=role,
        os="ios",
        platform="c7200",
        connection=ssh_connection("127.0.0.1", 2999, Credentials("admin", "login-pw", "enable-pw")),
        interfaces=(
            InterfaceSpec("FastEthernet0/0", ipaddress.IPv4Interface(addr), link),
            InterfaceSpec("Ethernet0/0", None, None),
        ),
        sim=SimSpec(http_port=2998, image="c7200-adventerprisek9-mz.152-4.M11.bin", config=tuple(config)),
    )


class OfflineLab:
    """Routers booted without sockets or an event loop: the network delivers synchronously."""

    def __init__(
        self,
        *specs: DeviceSpec,
        pcap_dir: Path | None = None,
        hostsrv: dict[str, Any] | None = None,
        domain: str = "example.com",
    ) -> None:
        extra = {"hostsrv": hostsrv} if hostsrv is not None else {}
        self.lab = Lab(Testbed(name="t", path=Path("t.yaml"), devices=tuple(specs), extra=extra), pcap_dir)
        self.routers: dict[str, Router] = {}
        for spec in specs:
            r = Router(self.lab, spec)
            self.lab.routers[spec.name] = r
            assert r.boot(initial_config(spec, domain)) == []
            self.routers[spec.name] = r

    def cli(self, name: str = "r1", privilege: int = 15) -> Cli:
        """A CLI session on router ``name``."""
        return Cli(self.routers[name].new_session(privilege))


class Cli:
    """Drive a CliSession synchronously: type lines, answer dialogs."""

    def __init__(self, session: CliSession):
        self.session = session

    def __call__(self, line: str) -> str:
        step = self.session.feed(line)
        assert step.wait is None, "command needs the event loop"
        return step.output


async def finish(session: CliSession, step: Step, timeout: float) -> str:
    """Await what ``session`` waits for, as the terminal driver does (a failure is handed back to the
    session); return all it printed from ``step`` on."""
    output = step.output
    while step.wait is not None:
        try:
            value = await asyncio.wait_for(step.wait, timeout)
        except Exception as exc:
            value = exc
        step = session.resume(value)
        output += step.output
    return output
