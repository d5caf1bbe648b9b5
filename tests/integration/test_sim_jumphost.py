"""The simulated SSH jump host (testbeds/sim-jumphost.yaml): direct-tcpip to the lab's ports only, a minimal shell.

Routers are reached with asyncssh's ``tunnel=`` (an SSH connection inside a forwarded channel);
anything outside the lab is refused. From the shell, ``ssh`` and ``telnet`` reach the next hop as a
CLI proxy (unicon's) types them. For the telnet hop one router of the testbed also gets a console.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager

import pytest
import yaml

from accesskit import (
    ROOT,
    ScenarioRunner,
    SshShell,
    console_port,
    load_access_testbed,
    running,
    ssh_port,
    ssh_scenarios,
)
from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.sim._asyncssh import asyncssh
from pkilab.testbed import DeviceSpec, Testbed

CONSOLE = 5230  # the console added to ese-branch for the telnet hop


def through(
    conn: asyncssh.SSHClientConnection, router: DeviceSpec
) -> AbstractAsyncContextManager[asyncssh.SSHClientConnection]:
    """An SSH connection to ``router``'s SSH port tunnelled through the jump host connection ``conn``."""
    return asyncssh.connect(
        "127.0.0.1",
        ssh_port(router),
        username=router.username,
        password=router.password,
        known_hosts=None,
        tunnel=conn,
    )


@pytest.fixture(scope="module")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Testbed:
    data = yaml.safe_load((ROOT / "testbeds" / "sim-jumphost.yaml").read_text())
    data["devices"]["ese-branch"]["custom"]["sim"]["console"] = CONSOLE
    path = tmp_path_factory.mktemp("jump") / "sim-jumphost-console.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_access_testbed(path).shifted(1000 + worker_offset())


@pytest.fixture(scope="module")
def runner(testbed: Testbed) -> Iterator[SimLabRunner]:
    with running(testbed) as runner:
        yield runner


@pytest.fixture
def jump(testbed: Testbed, runner: SimLabRunner) -> ScenarioRunner:
    """Run ``scenario(conn)`` with an SSH connection to the jump host."""
    return ssh_scenarios(testbed.device("jump"))


def test_ssh_to_a_router_through_the_jump_host(jump: ScenarioRunner, testbed: Testbed) -> None:
    router = testbed.device("ese-cryagg")

    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        async with through(conn, router) as inner:
            shell = await SshShell.open(inner)
            await shell.expect(r"ese-cryagg>$")
            shell.send("show version | include uptime\r")
            await shell.expect(r"ese-cryagg uptime is .*\r\nese-cryagg>$")

    jump(scenario)


def test_forwarding_outside_the_lab_is_refused(jump: ScenarioRunner, testbed: Testbed) -> None:
    router_port = ssh_port(testbed.device("ese-cryagg"))

    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        refused = []
        for host, port in [("127.0.0.1", 22), ("192.0.2.1", router_port), ("127.0.0.1", router_port + 1000)]:
            with pytest.raises(asyncssh.ChannelOpenError) as info:
                await conn.open_connection(host, port)
            refused.append(info.value.code)
        assert refused == [asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED] * 3
        reader, writer = await conn.open_connection("127.0.0.1", console_port(testbed.device("ese-branch")))
        assert (await reader.readexactly(3)) == b"\xff\xfd\x18"  # the console's DO TTYPE, through the tunnel
        writer.close()

    jump(scenario)


def test_wrong_jump_password_is_refused(jump: ScenarioRunner) -> None:
    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        raise AssertionError("logged in with a wrong password")

    with pytest.raises(asyncssh.PermissionDenied):
        jump(scenario, password="not-the-password")


def test_the_shell_is_minimal(jump: ScenarioRunner) -> None:
    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        shell = await SshShell.open(conn)
        await shell.expect(r"jumper@jump:~\$ $")
        shell.send("hostname\r")
        await shell.expect(r"\r\njump\r\njumper@jump:~\$ $")
        shell.send("whoami\r")
        await shell.expect(r"\r\njumper\r\n")
        shell.send("ls -l\r")
        await shell.expect(r"-sh: ls: not found\r\njumper@jump:~\$ $")
        shell.send("exit\r")
        result = await asyncio.wait_for(shell.process.wait(), 5)
        assert result.exit_status == 0

    jump(scenario)


def test_ssh_hop_from_the_shell(jump: ScenarioRunner, testbed: Testbed) -> None:
    port = ssh_port(testbed.device("ese-cryagg"))

    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        shell = await SshShell.open(conn)
        await shell.expect(r"\$ $")
        shell.send("ssh -l admin -p 22 127.0.0.1\r")
        await shell.expect(r"ssh: connect to host 127\.0\.0\.1 port 22: Connection refused\r\n.*\$ $")
        shell.send(f"ssh -o StrictHostKeyChecking=no -l admin 127.0.0.1 -p {port}\r")
        await shell.expect(r"admin@127\.0\.0\.1's password: $")
        shell.send("wrong\r")
        await shell.expect(r"Permission denied, please try again\.\r\nadmin@127\.0\.0\.1's password: $")
        shell.send("pkilab-login\r")
        await shell.expect(r"\r\nese-cryagg>$")
        assert "pkilab-login" not in shell.text  # the password is not echoed
        shell.send("exit\r")
        await shell.expect(r"Connection to 127\.0\.0\.1 closed\.\r\njumper@jump:~\$ $")

    jump(scenario)


def test_telnet_hop_from_the_shell(jump: ScenarioRunner, testbed: Testbed) -> None:
    port = console_port(testbed.device("ese-branch"))

    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        shell = await SshShell.open(conn)
        await shell.expect(r"\$ $")
        shell.send(f"telnet 127.0.0.1 {port}\r")
        await shell.expect(r"Trying 127\.0\.0\.1\.\.\.\r\nConnected to 127\.0\.0\.1\.\r\nEscape character is '\^\]'\.")
        await shell.expect(r"Connected to Dynamips VM")
        shell.send("\r")
        await shell.expect(r"\r\nese-branch>$")
        assert "\xff" not in shell.text  # the hop's telnet client consumed the negotiation
        shell.send("\x1d")
        await shell.expect(r"jumper@jump:~\$ $")

    jump(scenario)


def test_netmiko_through_a_paramiko_direct_tcpip_channel(testbed: Testbed, runner: SimLabRunner) -> None:
    import paramiko
    from netmiko import ConnectHandler

    jump, router = testbed.device("jump"), testbed.device("ese-ios-ca")
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        "127.0.0.1",
        ssh_port(jump),
        username=jump.username,
        password=jump.password,
        look_for_keys=False,
        allow_agent=False,
    )
    try:
        channel = client.get_transport().open_channel("direct-tcpip", ("127.0.0.1", ssh_port(router)), ("127.0.0.1", 0))
        conn = ConnectHandler(
            device_type="cisco_ios",
            host="127.0.0.1",
            port=ssh_port(router),
            username=router.username,
            password=router.password,
            secret=router.enable_password,
            sock=channel,
        )
        conn.enable()
        assert "ese-ios-ca uptime is" in conn.send_command("show version")
        conn.disconnect()
    finally:
        client.close()


def test_a_reload_over_ssh_shows_on_the_console(jump: ScenarioRunner, testbed: Testbed, runner: SimLabRunner) -> None:
    from accesskit import TelnetClient

    router = testbed.device("ese-branch")
    console = TelnetClient("127.0.0.1", console_port(router))
    console.line("")
    console.expect(r"ese-branch[>#]")

    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        async with through(conn, router) as inner:
            shell = await SshShell.open(inner)
            await shell.expect(r"ese-branch>$")
            shell.send("enable\r")
            await shell.expect(r"Password: $")
            shell.send("pkilab-enable\r")
            await shell.expect(r"ese-branch#$")
            shell.send("reload\r")
            m = await shell.expect(r"Save\? \[yes/no\]: $|Proceed with reload\? \[confirm\]$")
            if "Save" in m.group(0):
                shell.send("no\r")
                await shell.expect(r"\[confirm\]$")
            shell.send("\r")
            result = await asyncio.wait_for(shell.process.wait(), 10)
            assert result.exit_status is None  # the router dropped the SSH session; no shell exit

    try:
        jump(scenario)
        console.expect(r"%SYS-5-RELOAD: Reload requested by admin on vty0 \(127\.0\.0\.1\)\. Reload Reason")
        console.expect(r"Press RETURN to get started!", timeout=10)
        assert not console.closed(timeout=0.3)
    finally:
        console.close()
