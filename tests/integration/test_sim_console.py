"""The simulated routers' telnet consoles (testbeds/sim-console.yaml, GNS3 style), driven by a raw telnet client.

Negotiation as dynamips does it, Press RETURN, exec sessions, several clients on one line, a
reload watched on the console, the initial configuration dialog after ``write erase``, console
logins (line password, ``login local``), ``logging console`` and the idle timeout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

import pytest

from accesskit import ROOT, TelnetClient, console_port, running
from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.sim.features.system import System
from pkilab.sim.lineedit import MAX_LINE
from pkilab.testbed import Testbed, load


class OpenConsole(Protocol):
    """The ``console`` fixture: a telnet client on the console of router ``name``."""

    def __call__(self, name: str, ttype: str | None = None, refuse_echo: bool = False) -> TelnetClient: ...


@pytest.fixture(scope="module")
def testbed() -> Testbed:
    return load(ROOT / "testbeds" / "sim-console.yaml").shifted(1000 + worker_offset())


@pytest.fixture(scope="module")
def runner(testbed: Testbed) -> Iterator[SimLabRunner]:
    with running(testbed) as runner:
        yield runner


@pytest.fixture
def console(testbed: Testbed, runner: SimLabRunner) -> Iterator[OpenConsole]:
    opened: list[TelnetClient] = []

    def open_console(name: str, ttype: str | None = None, refuse_echo: bool = False) -> TelnetClient:
        client = TelnetClient("127.0.0.1", console_port(testbed.device(name)), ttype=ttype, refuse_echo=refuse_echo)
        opened.append(client)
        return client

    yield open_console
    for client in opened:
        client.close()


# A prompt is at the end of the output, or followed by log messages: IOS prints them after the prompt.
AT_END = r"(?=$|\r\n\*?\.?\w{3} +\d)"


def prompt(client: TelnetClient, name: str, line: str = "") -> re.Match[str]:
    client.line(line)
    return client.expect(rf"\n{name}(\([\w-]+\))?[>#]{AT_END}")


def enable(client: TelnetClient, name: str) -> None:
    prompt(client, name)
    client.line("enable")
    # A console stays logged in between clients (as on a real console server): maybe already enabled.
    if client.expect(rf"Password: $|\n{name}#{AT_END}").group(0) == "Password: ":
        client.line("pkilab-enable")
        client.expect(rf"\n{name}#{AT_END}")


def configure(client: TelnetClient, name: str, *lines: str) -> None:
    client.line("configure terminal")
    client.expect(r"\(config\)#$")
    for line in lines:
        client.line(line)
        m = client.expect(r"(\(config[\w-]*\)#|% .*)$")
        assert not m.group(0).startswith("%"), line
    client.line("end")
    client.expect(rf"{name}#{AT_END}")


def reload(client: TelnetClient) -> None:
    client.line("reload")
    m = client.expect(r"Save\? \[yes/no\]: |Proceed with reload\? \[confirm\]")
    if "Save" in m.group(0):
        client.line("no")
        client.expect(r"Proceed with reload\? \[confirm\]")
    client.line("")


def test_negotiation_greeting_and_title(console: OpenConsole) -> None:
    client = console("ese-branch", ttype="XTERM")
    client.expect(r'Connected to Dynamips VM "ese-branch" \(ID 3, type c7200\) - Console port\r\n')
    client.expect(r"Press ENTER to get the prompt\.\r\n")
    client.expect("\x1b]0;ese-branch\x07")  # dynamips sets an xterm's title once it knows the terminal type
    assert client.received[:4] == ["DO 24", "WILL 1", "WILL 3", "DONT 34"]
    assert "SB 24 1" in client.received  # asked for the terminal type once the client agreed to send it
    assert client.sent[:3] == ["WILL 24", "DO 1", "DO 3"]
    prompt(client, "ese-branch")
    # our acknowledgements were not answered again: no negotiation loop
    assert client.received.count("WILL 1") == 1 and client.received.count("WILL 3") == 1


def test_refused_echo_and_unknown_options(console: OpenConsole) -> None:
    client = console("ese-branch", refuse_echo=True)
    prompt(client, "ese-branch")
    assert client.sent[1] == "DONT 1" and client.received.count("WILL 1") == 1  # a refusal is not answered
    client.sock.sendall(bytes((255, 253, 1)))  # the client changes its mind: DO ECHO
    client.sock.sendall(bytes((255, 254, 1)))  # and again: DONT ECHO
    client.sock.sendall(bytes((255, 253, 99, 255, 251, 98, 255, 246)))  # DO 99, WILL 98, AYT
    client.expect(r"\[Yes\]")
    assert client.received[4:] == ["WILL 1", "WONT 1", "WONT 99", "DONT 98"]
    prompt(client, "ese-branch")


def test_press_return_exec_and_exit(console: OpenConsole) -> None:
    client = console("ese-ios-ca")
    prompt(client, "ese-ios-ca")
    enable(client, "ese-ios-ca")
    client.line("show version | include uptime")
    client.expect(r"ese-ios-ca uptime is .*\r\nese-ios-ca#$")
    client.line("exit")
    client.expect(r"\r\n\r\nese-ios-ca con0 is now available\r\n")
    client.expect(r"Press RETURN to get started\.\r\n")
    prompt(client, "ese-ios-ca")  # back to user exec: the old session and its privilege are gone
    assert client.text.endswith("ese-ios-ca>")


def test_a_long_line_is_bounded_as_over_ssh(console: OpenConsole) -> None:
    """The console types through the SSH sessions' line editor: 1,024 characters kept, one bell."""
    client = console("ese-branch2")
    prompt(client, "ese-branch2")
    for _ in range(10):
        client.send("x" * 10_000)
        client.pump()
    client.expect("x" * MAX_LINE + "\a", timeout=30)
    client.line("")
    client.expect(r"% (Unknown command|Invalid input)[^\n]*\r\n(\r\n)?ese-branch2[>#]$", timeout=30)
    assert client.text.count("x") < 2 * MAX_LINE + 10  # echoed once (and replayed at most once), not 100,000 times
    prompt(client, "ese-branch2")


def test_clients_share_the_line_and_a_late_one_sees_recent_output(console: OpenConsole) -> None:
    first = console("ese-ios-ca")
    prompt(first, "ese-ios-ca")
    first.line("show clock")
    first.expect(r"UTC .*\r\nese-ios-ca>$")
    second = console("ese-ios-ca")
    second.expect(r"Press ENTER to get the prompt\.\r\n")
    second.expect(r"show clock\r\n.*UTC .*\r\nese-ios-ca>$")  # replayed, as dynamips does
    second.line("show users")
    first.expect(r"show users")  # what one client types, every client sees
    second.expect(r"ese-ios-ca>$")


def test_reload_keeps_the_console_and_prints_the_boot(console: OpenConsole, runner: SimLabRunner) -> None:
    client = console("ese-branch")
    enable(client, "ese-branch")
    reload(client)
    client.expect(r"%SYS-5-RELOAD: Reload requested by console\. Reload Reason: Reload Command\.\r\n")
    client.expect(r"ROM: reload requested\.\.\.\r\n")
    client.expect(r"ROMMON emulation microcode\.\r\n\r\nLaunching IOS image at 0x80008000\.\.\.")
    client.expect(r"Restricted Rights Legend")
    client.expect(r"Cisco IOS Software, 7200 Software \(C7200-ADVENTERPRISEK9-M\), Version 15\.2\(4\)M11")
    client.expect(r"FastEthernet interface")
    press = client.expect(r"\r\n\r\nPress RETURN to get started!\r\n").end()
    client.expect(r"\*.*: %SYS-5-CONFIG_I: Configured from memory by console")
    restart = client.expect(r"\*.*: %SYS-5-RESTART: System restarted --\r\nCisco IOS Software").start()
    assert press < restart
    assert not client.closed(timeout=0.3)  # the console stayed connected through the reload
    prompt(client, "ese-branch")
    client.line("show version | include reload reason")
    client.expect(r"Last reload reason: Reload Command")
    assert runner.lab.routers["ese-branch"].reloads == 1


def test_initial_configuration_dialog_after_erase(console: OpenConsole) -> None:
    client = console("ese-branch2")
    enable(client, "ese-branch2")
    client.line("write erase")
    client.expect(r"Continue\? \[confirm\]$")
    client.line("")
    client.expect(r"\[OK\]\r\nErase of nvram: complete\r\n")
    reload(client)
    client.expect(r"Launching IOS image")
    client.expect(r"         --- System Configuration Dialog ---\r\n\r\n")
    client.expect(r"Would you like to enter the initial configuration dialog\? \[yes/no\]: $")
    assert "%SYS-5-RESTART" not in client.text[client.seen :]  # IOS holds log messages during the dialog
    client.line("perhaps")
    client.expect(r"% Please answer 'yes' or 'no'\.\r\nWould you like to enter the initial configuration dialog")
    client.line("no")
    client.expect(r"Would you like to terminate autoinstall\? \[yes\]: $")
    client.line("")
    client.expect(r"Press RETURN to get started!")
    client.expect(r"%SYS-5-RESTART: System restarted")
    prompt(client, "Router")  # no startup configuration: IOS's default hostname, no login
    client.line("enable")  # no enable secret: the console does not ask for one
    client.expect(r"enable\r\nRouter#$")
    client.line("show running-config | include hostname|username")
    client.expect(r"hostname Router\r\nRouter#$")


def test_console_login_line_password_then_local(console: OpenConsole) -> None:
    client = console("ese-cryagg")
    enable(client, "ese-cryagg")
    configure(client, "ese-cryagg", "line console 0", "password s3cret", "login")
    client.line("exit")
    client.expect(r"Press RETURN to get started\.")
    client.line("")
    client.expect(r"User Access Verification\r\n\r\nPassword: $")
    client.line("wrong")
    client.expect(r"\r\nPassword: $")
    client.line("s3cret")
    client.expect(r"\r\nese-cryagg>$")
    assert "s3cret" not in client.text.split("User Access Verification")[-1]  # passwords are not echoed
    enable(client, "ese-cryagg")
    configure(client, "ese-cryagg", "line console 0", "login local")
    client.line("exit")
    client.expect(r"Press RETURN to get started\.")
    client.line("")
    client.expect(r"User Access Verification\r\n\r\nUsername: $")
    client.line("admin")
    client.expect(r"admin\r\nPassword: $")
    client.line("pkilab-login")
    client.expect(r"\r\nese-cryagg>$")
    enable(client, "ese-cryagg")
    configure(client, "ese-cryagg", "line console 0", "no login", "no password")
    client.line("exit")
    client.expect(r"Press RETURN to get started\.")
    prompt(client, "ese-cryagg")


def test_logging_console_messages_arrive_asynchronously(console: OpenConsole, runner: SimLabRunner) -> None:
    client = console("hq-host")
    enable(client, "hq-host")
    system = runner.lab.routers["hq-host"].feature(System)

    def log(text: str) -> None:
        assert runner.loop is not None, "the lab is running"
        runner.loop.call_soon_threadsafe(system.logmsg, text)

    log("%CRYPTO-6-ISAKMP_ON_OFF: ISAKMP is ON")
    m = client.expect(r"\r\n\*?\w{3} .*: %CRYPTO-6-ISAKMP_ON_OFF: ISAKMP is ON\r\n")
    assert client.text[: m.start()].endswith("hq-host#")  # at the idle prompt, nothing typed
    configure(client, "hq-host", "logging console errors")
    log("%CRYPTO-6-ISAKMP_ON_OFF: ISAKMP is OFF")
    log("%PKI-3-CERTRETFAIL: Certificate enrollment failed.")
    client.expect(r"%PKI-3-CERTRETFAIL")
    assert "ISAKMP is OFF" not in client.text  # severity 6 is above the console's level
    configure(client, "hq-host", "no logging console")
    log("%PKI-3-CRL_FETCH_FAIL: CRL fetch for trustpoint x failed")
    prompt(client, "hq-host")
    client.line("show logging | include CRL_FETCH_FAIL")
    client.expect(r"CRL_FETCH_FAIL.*\r\nhq-host#$")  # logged to the buffer, not shown on the console
    assert client.text.count("CRL_FETCH_FAIL") == 2  # the command line and the buffer line only
    configure(client, "hq-host", "logging console")


def test_idle_exec_session_times_out(console: OpenConsole) -> None:
    client = console("hq-host")
    enable(client, "hq-host")
    configure(client, "hq-host", "line console 0", "exec-timeout 0 1")
    client.expect(r"hq-host con0 is now available\r\n", timeout=5)  # nobody typed anything
    prompt(client, "hq-host")
    assert client.text.endswith("hq-host>")
    enable(client, "hq-host")
    configure(client, "hq-host", "line console 0", "no exec-timeout")


def test_netmiko_telnet_driver_on_the_console(testbed: Testbed, runner: SimLabRunner) -> None:
    from netmiko import ConnectHandler

    spec = testbed.device("ese-ios-ca")
    conn = ConnectHandler(
        device_type="cisco_ios_telnet",
        host="127.0.0.1",
        port=console_port(spec),
        username=spec.username,
        password=spec.password,
        secret=spec.enable_password,
    )
    try:
        conn.enable()
        assert conn.find_prompt() == "ese-ios-ca#"
        assert "ese-ios-ca uptime is" in conn.send_command("show version")
    finally:
        conn.disconnect()


def test_a_taken_console_port_is_one_clear_error() -> None:
    import socket

    from pkilab.errors import SimError
    from pkilab.labs.sim import SimLabRunner

    testbed = load(ROOT / "testbeds" / "sim-console.yaml").shifted(1050 + worker_offset())
    port = console_port(testbed.device("hq-host"))
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", port))
        taken.listen(1)
        with pytest.raises(SimError) as info:
            SimLabRunner(testbed).start()
    message = str(info.value)
    assert f"device 'hq-host': custom.sim.console: cannot listen on 127.0.0.1:{port}" in message
    assert "\n" not in message
