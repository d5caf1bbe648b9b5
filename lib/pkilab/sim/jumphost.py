"""A simulated SSH jump host: ``direct-tcpip`` forwarding to the lab's own ports, and a minimal shell.

A client logs in with the jump host's credentials and asks it to open TCP connections
(``ssh -J``, paramiko's ``direct-tcpip`` channel as netmiko's ``sock=``, asyncssh's ``tunnel=``).
The jump host opens them only to the ports the simulated lab listens on (routers' SSH, console
and HTTP ports, terminal servers, jump hosts), on loopback; anything else is refused with SSH's
``administratively prohibited``, as an OpenSSH server with ``PermitOpen`` does.

An interactive session gets a minimal shell, not a real one (say so wherever it matters):
``USER@NAME:~$``, ``exit``/``logout``, ``hostname``, ``whoami``, ``echo``, and the two commands a
CLI proxy (unicon's) types on a jump host to reach the next hop: ``ssh [-l USER] [-p PORT]
[USER@]HOST`` and ``telnet HOST [PORT]``, limited to the same lab ports (:mod:`pkilab.sim.hops`).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from pkilab.sim._asyncssh import asyncssh
from pkilab.sim.termserver import HostSSH, Listener, PtySession, start_host_server

if TYPE_CHECKING:
    from pkilab.sim.lab import Lab
    from pkilab.testbed import DeviceSpec


def lab_ports(lab: Lab) -> set[int]:
    """Every 127.0.0.1 port the simulated lab listens on."""
    ports: set[int] = set()
    for spec in lab.testbed.all_devices:
        if spec.sim is not None:
            ports.update(port for port, _ in spec.sim.ports())
    return ports


def allowed(lab: Lab, host: str, port: int) -> bool:
    """True when the jump host may open a connection to ``host:port``: a lab port on loopback."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return loopback and port in lab_ports(lab)


class JumpShell(PtySession):
    """The minimal shell of an interactive session on the jump host."""

    def __init__(self, lab: Lab, spec: DeviceSpec, user: str) -> None:
        super().__init__()
        self.lab = lab
        self.spec = spec
        self.user = user
        self.hop: Any = None  # a running ssh/telnet command (pkilab.sim.hops.Hop)

    @property
    def prompt(self) -> str:
        """A Linux shell prompt."""
        return f"{self.user}@{self.spec.name}:~$ "

    def session_started(self) -> None:
        self.send(self.prompt)

    def data_received(self, data: str, datatype: Any) -> None:
        if self.hop is not None:
            self.hop.type(data)
            return
        for line, _ in self.typed_lines(data):
            self.run(line)
            if self.hop is not None:
                return  # the hop reads what is typed from now on (the rest of this chunk is the Enter's LF)
            if self.chan is None:
                return

    def connection_lost(self, exc: Exception | None) -> None:
        if self.hop is not None:
            self.hop.close()
        self.chan = None

    def run(self, line: str) -> None:
        """Run one command line."""
        words = line.split()
        if not words:
            self.send(self.prompt)
            return
        verb = words[0]
        if verb in ("exit", "logout"):
            self.end(0)
            return
        if verb in ("ssh", "telnet"):
            from pkilab.sim.hops import start_hop

            self.hop = start_hop(self, words)
            if self.hop is not None:
                return
        elif verb == "hostname":
            self.send(self.spec.name + "\r\n")
        elif verb == "whoami":
            self.send(self.user + "\r\n")
        elif verb == "echo":
            self.send(" ".join(words[1:]) + "\r\n")
        else:
            self.send(f"-sh: {verb}: not found\r\n")
        self.send(self.prompt)

    def hop_ended(self, message: str) -> None:
        """The ssh/telnet command ended: back to the shell."""
        self.hop = None
        self.send(message + self.prompt)


class JumpSSH(HostSSH):
    """The jump host's SSH server: forwarding only to the lab, a minimal shell."""

    def __init__(self, lab: Lab, spec: DeviceSpec, connections: set[Any]) -> None:
        super().__init__(spec, connections)
        self.lab = lab

    def session_requested(self) -> JumpShell:
        return JumpShell(self.lab, self.spec, self.user)

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        if not allowed(self.lab, dest_host, dest_port):
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "open failed")
        self.lab.forwards.append((self.spec.name, dest_host, dest_port))
        return True

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False  # no remote forwarding


async def start_jumphost(lab: Lab, spec: DeviceSpec, host_key: Any) -> Listener:
    """Start the jump host ``spec`` of ``lab``."""
    connections: set[Any] = set()
    return await start_host_server(spec, lambda: JumpSSH(lab, spec, connections), connections, host_key)
