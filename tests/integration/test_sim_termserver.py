"""The simulated CML-style terminal server (testbeds/sim-termserver.yaml), driven by an asyncssh client.

SSH in with the terminal server's credentials, ``open /<lab>/<node>/0`` and the channel is that
router's console: the same line as its telnet console, through reloads; ``Ctrl-]`` leaves it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from accesskit import ROOT, ScenarioRunner, SshShell, load_access_testbed, running, ssh_scenarios
from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.sim._asyncssh import asyncssh
from pkilab.testbed import Testbed

LAB = "pkilab-sim-cml"


@pytest.fixture(scope="module")
def testbed() -> Testbed:
    return load_access_testbed(ROOT / "testbeds" / "sim-termserver.yaml").shifted(1000 + worker_offset())


@pytest.fixture(scope="module")
def runner(testbed: Testbed) -> Iterator[SimLabRunner]:
    with running(testbed) as runner:
        yield runner


@pytest.fixture
def session(testbed: Testbed, runner: SimLabRunner) -> ScenarioRunner:
    """Run ``scenario(conn)`` with an SSH connection to the terminal server."""
    return ssh_scenarios(testbed.device("terminal_server"))


async def consoles_prompt(conn: asyncssh.SSHClientConnection) -> SshShell:
    shell = await SshShell.open(conn)
    await shell.expect(r"consoles> $")
    return shell


async def attach(shell: SshShell, path: str, name: str, enable: bool = False) -> None:
    """``open`` a console from the ``consoles>`` prompt, press RETURN, optionally enable."""
    shell.send(f"open {path}\r")
    await shell.expect(rf"Connecting to console for {name}\r\nConnected to CML terminalserver\.\r\n")
    shell.send("\r")
    await shell.expect(rf"\r\n{name}>$")
    if enable:
        shell.send("enable\r")
        await shell.expect(r"Password: $")
        shell.send("pkilab-enable\r")
        await shell.expect(rf"\r\n{name}#$")


def test_banner_and_prompt(session: ScenarioRunner) -> None:
    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        shell = await consoles_prompt(conn)
        assert "CML2 Console Server" in shell.text
        assert f'"open /{LAB}/ese-ios-ca/0"' in shell.text
        shell.send("list\r")
        await shell.expect(rf"/{LAB}/hq-host/0  \(n4\)\r\nconsoles> $")

    session(scenario)


def test_wrong_password_is_refused(session: ScenarioRunner) -> None:
    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        raise AssertionError("logged in with a wrong password")

    with pytest.raises(asyncssh.PermissionDenied):
        session(scenario, password="not-the-password")


def test_open_reaches_the_console_and_escape_returns(session: ScenarioRunner) -> None:
    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        shell = await consoles_prompt(conn)
        await attach(shell, f"/{LAB}/ese-branch/0", "ese-branch", enable=True)
        assert "Escape character is '^]'.\r\n\r\n" in shell.text
        shell.send("show version | include uptime\r")
        await shell.expect(r"ese-branch uptime is .*\r\nese-branch#$")
        shell.send("disable\r")
        await shell.expect(r"ese-branch>$")
        shell.send("\x1d")
        await shell.expect(r"\r\nconsoles> $")

    session(scenario)


def test_path_forms_and_errors(session: ScenarioRunner) -> None:
    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        shell = await consoles_prompt(conn)
        for path, answer in [
            ("/nolab/ese-branch/0", "no such lab: nolab"),
            (f"/{LAB}/nosuch/0", f"no such node in {LAB}: nosuch"),
            (f"/{LAB}/ese-branch/1", "ese-branch has no console line 1"),
            ("/ese-branch", "invalid console path"),
        ]:
            shell.send(f"open {path}\r")
            await shell.expect(rf"{answer}.*\r\nconsoles> $")
        shell.send("frobnicate\r")
        await shell.expect(r"unknown command: frobnicate\r\nconsoles> $")
        await attach(shell, f"/lab/{LAB}/n2/0", "ese-branch")  # the issue's /lab/ form, and CML's node id
        shell.send("\x1d")
        await shell.expect(r"consoles> $")
        shell.send("connect hq-host\r")
        await shell.expect(r"Connecting to console for hq-host\r\n")
        shell.send("\r")
        await shell.expect(r"hq-host>$")

    session(scenario)


def test_open_as_an_ssh_command(session: ScenarioRunner) -> None:
    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        shell = await SshShell.open(conn, f"open /{LAB}/hq-host/0")
        await shell.expect(r"Connected to CML terminalserver\.\r\n")
        shell.send("\r")
        await shell.expect(r"hq-host>$")
        shell.send("\x1d")  # leaving the console ends the command
        result = await asyncio.wait_for(shell.process.wait(), 5)
        assert result.exit_status == 0
        failing = await SshShell.open(conn, f"open /{LAB}/nosuch/0")
        result = await asyncio.wait_for(failing.process.wait(), 5)
        assert isinstance(result.stdout, str), "the process was opened in text mode"
        assert result.exit_status == 1 and "no such node" in result.stdout

    session(scenario)


def test_reload_through_the_terminal_server(session: ScenarioRunner, runner: SimLabRunner) -> None:
    async def scenario(conn: asyncssh.SSHClientConnection) -> None:
        shell = await consoles_prompt(conn)
        await attach(shell, f"/{LAB}/ese-ios-ca/0", "ese-ios-ca", enable=True)
        shell.send("reload\r")
        m = await shell.expect(r"Save\? \[yes/no\]: $|Proceed with reload\? \[confirm\]$")
        if "Save" in m.group(0):
            shell.send("no\r")
            await shell.expect(r"Proceed with reload\? \[confirm\]$")
        shell.send("\r")
        await shell.expect(r"%SYS-5-RELOAD: Reload requested by console")
        await shell.expect(r"Launching IOS image at 0x80008000")
        await shell.expect(r"Press RETURN to get started!")
        shell.send("\r")
        await shell.expect(r"\r\nese-ios-ca>$")

    session(scenario)
    assert runner.lab.routers["ese-ios-ca"].reloads == 1
