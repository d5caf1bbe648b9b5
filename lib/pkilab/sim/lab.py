"""The simulated lab: routers from a testbed, their SSH servers and consoles, the virtual network, timers.

``Lab(testbed)`` builds one simulated router per router device; ``await lab.start()`` boots them
and opens their servers on the testbed's ports (SSH on ``custom.sim.ssh_port`` or the direct ssh
connection's port, the telnet console on ``custom.sim.console``), then the lab's terminal
servers and jump hosts (:mod:`pkilab.sim.termserver`, :mod:`pkilab.sim.jumphost`); ``await
lab.stop()`` closes everything. Every router has a console line (:mod:`pkilab.sim.console`),
reachable over its telnet port or a terminal server. The lab also runs each router's periodic
work (NTP polls, IKE timers, auto-enroll, console idle timeouts) and its reloads: SSH sessions
drop, the console stays and prints the boot, the router is down for :attr:`boot_seconds`, then
it comes back with its startup configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from pkilab.errors import SimError
from pkilab.sim._asyncssh import asyncssh
from pkilab.sim.console import ConsoleLine, start_console_server
from pkilab.sim.features import FEATURES
from pkilab.sim.features.admin import Admin
from pkilab.sim.features.ip import Ip
from pkilab.sim.features.system import System
from pkilab.sim.hostbind import HostBind, start_binds
from pkilab.sim.http import HttpServer
from pkilab.sim.network import Network
from pkilab.sim.router import Router, install_features
from pkilab.sim.ssh import CliChannel, start_server
from pkilab.testbed import DeviceSpec, Testbed

TICK_SECONDS = 0.2


def initial_config(spec: DeviceSpec, domain: str) -> str:
    """The configuration a simulated device boots with on its first start."""
    lines = [f"hostname {spec.name}"]
    if domain:
        lines.append(f"ip domain name {domain}")
    lines += [
        "no ip domain lookup",
        f"enable secret 0 {spec.enable_password}",
        f"username {spec.username} secret 0 {spec.password}",
    ]
    for intf in spec.interfaces:
        lines.append(f"interface {intf.name}")
        if intf.ipv4 is not None:
            lines.append(f" ip address {intf.ipv4.ip} {intf.ipv4.netmask}")
            lines.append(" no shutdown")
    lines.extend(spec.sim.config if spec.sim else ())
    return "\n".join(lines) + "\n"


class Lab:
    """A running simulated lab."""

    boot_seconds = 0.5

    def __init__(self, testbed: Testbed, pcap_dir: Path | None = None) -> None:
        install_features(FEATURES)
        self.testbed = testbed
        self.pcap_dir = pcap_dir
        self.network = Network(None, pcap_dir)
        self.routers: dict[str, Router] = {}
        self._servers: dict[str, Any] = {}
        self._channels: dict[str, set[CliChannel]] = {}
        self._http: dict[str, HttpServer] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.started_in: float | None = None
        self.binds: list[HostBind] = []  # custom.sim.bind: interfaces bridged to host addresses
        self.consoles: dict[str, ConsoleLine] = {}  # con0 of every router, up for the life of the lab
        self._listeners: list[Any] = []  # console ports, terminal servers, jump hosts: never reloaded
        # The direct-tcpip channels the jump hosts opened (jump host, address, port), as sshd logs them.
        self.forwards: list[tuple[str, str, int]] = []

    # ---- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Boot every router and open the lab's servers; raise :class:`SimError` if a port is taken."""
        t0 = time.monotonic()
        self.network.loop = asyncio.get_running_loop()
        for spec in self.testbed.all_devices:
            if spec.sim is not None and spec.sim.kind != "router":
                continue
            router = Router(self, spec)
            self.routers[spec.name] = router
            rejected = router.boot(initial_config(spec, self.testbed.domain))
            if rejected:
                raise SimError(
                    f"{self.testbed.path}: device {spec.name!r}: custom.sim.config: IOS rejects {rejected[0]!r}"
                )
            router.feature(Admin).save()
            line = self.consoles[spec.name] = ConsoleLine(router)
            line.start()
            line.booted()
        # custom.sim.bind: real UDP 500/4500 sockets joined to the routers' virtual links.
        self.binds = await start_binds(self)
        for router in self.routers.values():
            await self._open(router)
        await self._open_listeners()
        self._ticker = asyncio.get_running_loop().create_task(self._tick())
        self.started_in = time.monotonic() - t0

    async def _open_listeners(self) -> None:
        """Console ports, then terminal servers and jump hosts: they live as long as the lab."""
        from pkilab.sim.jumphost import start_jumphost
        from pkilab.sim.termserver import start_termserver

        for index, spec in enumerate(self.testbed.all_devices, start=1):
            sim = spec.sim
            if sim is None:
                continue
            server: Any
            try:
                if sim.kind == "router" and sim.console:
                    server = await start_console_server(self.consoles[spec.name], sim.address, sim.console, index)
                    field_name = "custom.sim.console"
                elif sim.kind == "terminal_server":
                    server = await start_termserver(self, spec, self.host_key)
                    field_name = sim.ssh_field
                elif sim.kind == "jumphost":
                    server = await start_jumphost(self, spec, self.host_key)
                    field_name = sim.ssh_field
                else:
                    continue
            except OSError as exc:
                await self.stop()
                port = sim.console if sim.kind == "router" else sim.ssh_port
                raise SimError(
                    f"{self.testbed.path}: device {spec.name!r}: {field_name}: cannot listen "
                    f"on {sim.address}:{port} ({exc.strerror})"
                ) from None
            self._listeners.append(server)

    def describe(self) -> list[str]:
        """One line per device: what it is and where to reach it (``pkilab sim up`` prints these)."""
        lines = []
        for spec in self.testbed.all_devices:
            sim = spec.sim
            if sim is None:
                continue
            reach = []
            if sim.ssh_port:
                reach.append(f"ssh {sim.address}:{sim.ssh_port}")
            if sim.console:
                reach.append(f"console telnet {sim.address}:{sim.console}")
            what = f"role {spec.role}" if sim.kind == "router" else sim.kind.replace("_", " ")
            lines.append(f"{spec.name}: {', '.join(reach) or 'terminal server only'} ({what})")
        return lines

    async def _open(self, router: Router) -> None:
        sim = router.spec.sim
        if sim is not None and sim.ssh_port:
            try:
                self._servers[router.name] = await start_server(router, sim.address, sim.ssh_port, self.host_key)
            except OSError as exc:
                await self.stop()
                raise SimError(
                    f"{self.testbed.path}: device {router.name!r}: {sim.ssh_field}: cannot listen "
                    f"on {sim.address}:{sim.ssh_port} ({exc.strerror})"
                ) from None
        self.http_changed(router)

    async def stop(self) -> None:
        """Close every server and session."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        for task in list(self._tasks):
            task.cancel()
        for name in list(self.routers):
            await self._close(name)
        for server in self._listeners:
            server.close()
        for line in self.consoles.values():
            line.stop()
        for server in self._listeners:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._listeners = []
        await asyncio.sleep(0)  # let the cancelled session tasks finish before the loop stops
        for router in self.routers.values():
            for f in router.features.values():
                f.stop()
        for bind in self.binds:
            bind.close()
        self.binds = []
        self.network.close()

    async def _close(self, name: str) -> None:
        server = self._servers.pop(name, None)
        # Every session ends as an `exit` ends it (channel closed, the client's close awaited, then
        # the SSH disconnect), all at once, before the lab goes on: a client reads an orderly end.
        await asyncio.gather(*(chan.drop() for chan in list(self._channels.get(name, ()))), return_exceptions=True)
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await server.wait_closed()
        http = self._http.pop(name, None)
        if http is not None:
            await http.stop()

    # ---- sessions ----------------------------------------------------------------------
    def register_channel(self, router: Router, chan: CliChannel) -> None:
        """Remember an open SSH channel (to drop it on reload)."""
        self._channels.setdefault(router.name, set()).add(chan)

    def unregister_channel(self, router: Router, chan: CliChannel) -> None:
        """Forget a closed channel."""
        self._channels.get(router.name, set()).discard(chan)

    # ---- reload ------------------------------------------------------------------------
    def reload(self, router: Router) -> None:
        """Reload ``router``: drop its sessions now, boot it again after a short pause.

        The router is down from this moment: a login that arrives before its sessions are dropped
        must not reach the configuration that is about to go (a client reconnecting at once would
        otherwise see the state from before the reload). Its console stays connected and shows
        the reload.
        """
        line = self.consoles.get(router.name)
        requester = (line.requester() if line else None) or self._vty_requester(router)
        router.up = False
        if line is not None:
            line.going_down(requester)
        self.spawn(self._reload(router))

    def _vty_requester(self, router: Router) -> str:
        """Who asked for a reload over SSH, as IOS names them in %SYS-5-RELOAD."""
        for chan in self._channels.get(router.name, ()):
            if chan.session.pending is not None:
                return f"{chan.session.user or 'console'} on vty0 (127.0.0.1)"
        return "console"

    async def _reload(self, router: Router) -> None:
        await asyncio.sleep(0.05)  # let the reload dialog's last bytes leave
        router.up = False
        await self._close(router.name)
        for f in router.features.values():
            f.stop()
        await asyncio.sleep(self.boot_seconds)
        router.reloads += 1
        router.boot()
        line = self.consoles.get(router.name)
        if line is not None:
            line.booted()
        await self._open(router)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` as a task of the lab (kept referenced until it ends)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- HTTP --------------------------------------------------------------------------
    def http_changed(self, router: Router) -> None:
        """Start or stop ``router``'s HTTP server to match ``ip http server``."""
        if self.network.loop is None or (not router.up and router.name not in self._http):
            return
        wanted = router.up and router.feature(System).http_server and router.spec.sim is not None
        running = self._http.get(router.name)
        if wanted and running is None:
            server = HttpServer(router, "127.0.0.1", router.spec.sim.http_port if router.spec.sim else 0)
            self._http[router.name] = server
            self.spawn(server.start())
        elif not wanted and running is not None:
            del self._http[router.name]
            self.spawn(running.stop())

    # ---- timers ------------------------------------------------------------------------
    async def _tick(self) -> None:
        while True:
            now = time.monotonic()
            for line in self.consoles.values():
                line.tick(now)
            for router in self.routers.values():
                if not router.up:
                    continue
                router.tick(now)
            await asyncio.sleep(TICK_SECONDS)

    def router_by_address(self, address: str) -> Router | None:
        """The router owning ``address`` (diagnostics and tests)."""
        for r in self.routers.values():
            if r.up and address in r.feature(Ip).local_addresses():
                return r
        return None
