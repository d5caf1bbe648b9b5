"""The simulated routers' SSH front end as clients meet it: exec requests, orderly session ends,
the commands unicon sends at connect, and login block / login delay over real SSH logins."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import paramiko
import pytest

from integration.netmikokit import as_text
from pkilab.labs.sim import SimLabRunner
from pkilab.parsers import parse
from pkilab.testbed import DeviceSpec, Testbed
from pkilab.wait import wait_until
from shellkit import RawShell

if TYPE_CHECKING:
    from netmiko import BaseConnection

pytestmark = pytest.mark.usefixtures("running_lab")


def connect(spec: DeviceSpec, password: str | None = None, user: str | None = None) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        spec.host,
        spec.port,
        user or spec.username,
        password or spec.password,
        timeout=30,
        banner_timeout=30,
        auth_timeout=30,
        allow_agent=False,
        look_for_keys=False,
    )
    return client


def run_exec(spec: DeviceSpec, command: str, stdin_text: str | None = None, **login: str | None) -> tuple[str, int]:
    """``ssh router COMMAND``: (output, exit status)."""
    client = connect(spec, **login)
    try:
        stdin, stdout, _ = client.exec_command(command, timeout=30)
        if stdin_text is not None:
            stdin.write(stdin_text)
            stdin.flush()
        out = stdout.read().decode()
        return out.replace("\r\n", "\n"), stdout.channel.recv_exit_status()
    finally:
        client.close()


def paramiko_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("paramiko") and r.levelno >= logging.ERROR]


# ---- exec requests ---------------------------------------------------------------------------
def test_an_exec_request_runs_the_command_and_closes(sim_testbed: Testbed) -> None:
    spec = sim_testbed.device("ese-branch")
    out, status = run_exec(spec, "show clock")
    assert status == 0
    assert parse("show clock", out).datetime is not None
    assert "ese-branch" not in out, "an exec request's output has no prompt"


@pytest.fixture
def boss(sim_testbed: Testbed, netmiko_factory: Callable[[str], BaseConnection]) -> Iterator[dict[str, str]]:
    """A privilege-15 user on ese-branch for the test's duration: (user, password)."""
    conn = netmiko_factory("ese-branch")
    conn.enable()
    conn.send_config_set(["username boss privilege 15 secret boss-pw"])
    yield {"user": "boss", "password": "boss-pw"}
    conn.send_config_set(["no username boss"])


def test_an_exec_request_runs_at_the_users_privilege(sim_testbed: Testbed, boss: dict[str, str]) -> None:
    spec = sim_testbed.device("ese-branch")
    out, _ = run_exec(spec, "show running-config")  # the testbed's user has privilege 1: user exec
    assert "% Invalid input detected at '^' marker." in out and "hostname" not in out
    assert out.splitlines()[0].index("^") == len("show "), "no prompt: the caret counts from the command"
    out, status = run_exec(spec, "show running-config | include ^hostname", **boss)
    assert (out, status) == ("hostname ese-branch\n", 0)


def test_an_exec_request_takes_a_dialogs_answer_from_its_input(sim_testbed: Testbed, boss: dict[str, str]) -> None:
    spec = sim_testbed.device("ese-branch")
    out, status = run_exec(spec, "clear logging", stdin_text="\n", **boss)
    assert (out, status) == ("Clear logging buffer [confirm]", 0)
    out, _ = run_exec(spec, "show logging", **boss)
    assert out.endswith("Log Buffer (4096 bytes):\n\n")


# ---- how a session ends ----------------------------------------------------------------------
def test_exit_closes_the_connection_in_order(sim_testbed: Testbed, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="paramiko")
    shell = RawShell(sim_testbed.device("ese-cryagg"))
    transport = shell.client.get_transport()
    shell.chan.sendall(b"exit\n")
    wait_until(lambda: not transport.is_active(), 10, 0.05, "the router closes the connection after exit")
    assert shell.chan.closed
    assert paramiko_errors(caplog) == []
    shell.close()


def test_netmiko_disconnect_logs_no_socket_exception(
    netmiko_factory: Callable[[str], BaseConnection], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="paramiko")
    for name in ("ese-cryagg", "ese-branch", "hq-host"):
        conn = netmiko_factory(name)
        conn.enable()
        conn.send_config_set(["interface Loopback77", "description pkilab"])
        conn.send_config_set(["no interface Loopback77"])
        conn.disconnect()
    assert paramiko_errors(caplog) == []


def test_a_session_open_when_the_lab_stops_sees_an_orderly_end(
    sim_testbed: Testbed, caplog: pytest.LogCaptureFixture
) -> None:
    # Sessions a run never closed used to be reset when the lab's process went away, and paramiko
    # logged "Socket exception: Connection reset by peer" for each.
    caplog.set_level(logging.DEBUG, logger="paramiko")
    testbed = sim_testbed.shifted(50)
    runner = SimLabRunner(testbed).start()
    try:
        shell = RawShell(testbed.device("hq-host"))
        transport = shell.client.get_transport()
    finally:
        runner.stop()
    wait_until(lambda: not transport.is_active(), 10, 0.05, "the client learns that the session ended")
    shell.close()
    assert paramiko_errors(caplog) == []
    # An SSH disconnect, or (when the stopping lab's two-second wait for the client ran out on a loaded
    # machine) a plain end of stream: either way no reset.
    ends = [r.getMessage() for r in caplog.records if r.name.startswith("paramiko")]
    assert any("Disconnect" in m or "EOF" in m for m in ends), ends[-5:]


# ---- what drivers send at connect --------------------------------------------------------
def test_unicon_connects_and_its_init_commands_are_accepted(
    sim_testbed: Testbed, netmiko_factory: Callable[[str], BaseConnection]
) -> None:
    pytest.importorskip("genie", reason="unicon's IOS plugin needs genie")
    from pyats.topology import loader

    spec = sim_testbed.device("ese-branch2")
    tb = loader.load(
        {
            "testbed": {
                "name": "unicon-check",
                "credentials": {
                    "default": {"username": spec.username, "password": spec.password},
                    "enable": {"password": spec.enable_password},
                },
            },
            "devices": {
                spec.name: {
                    "os": "ios",
                    "type": "router",
                    "connections": {
                        "cli": {
                            "protocol": "ssh",
                            "ip": spec.host,
                            "port": spec.port,
                            # unicon runs OpenSSH; every lab start has a new host key
                            "ssh_options": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                        }
                    },
                }
            },
        }
    )
    device = tb.devices[spec.name]
    device.connect(via="cli", log_stdout=False, learn_hostname=True, connection_timeout=60)
    try:
        assert parse("show clock", device.execute("show clock")).datetime is not None
        run = device.execute("show running-config").replace("\r\n", "\n")
        assert "\nno logging console\n" in run and "\nline con 0\n exec-timeout 0 0\n" in run
    finally:
        device.disconnect()
        conn = netmiko_factory(spec.name)
        conn.enable()
        conn.send_config_set(["logging console", "line con 0", "no exec-timeout", "line vty 0 4", "no exec-timeout"])


# ---- login block and login delay -------------------------------------------------------------
def _log_times(log_text: str, mnemonic: str) -> list[dt.datetime]:
    """The router's msec timestamps of every ``mnemonic`` line in ``show logging``."""
    stamps = re.findall(r"^[*.]?(\w{3} +\d+ \d\d:\d\d:\d\d\.\d{3}): %" + mnemonic, log_text, re.M)
    return [dt.datetime.strptime(s.split(" ", 1)[1].strip(), "%d %H:%M:%S.%f") for s in stamps]


def _refused(spec: DeviceSpec, password: str | None) -> bool:
    try:
        connect(spec, password=password).close()
    except (paramiko.SSHException, OSError, EOFError):
        return True
    return False


def test_wrong_passwords_are_paced_then_blocked_except_from_the_quiet_mode_access_class(
    sim_testbed: Testbed, netmiko_factory: Callable[[str], BaseConnection]
) -> None:
    spec = sim_testbed.device("ese-branch2")
    conn = netmiko_factory(spec.name)
    conn.enable()
    conn.send_command("clear logging", expect_string=r"\[confirm\]")
    conn.send_command("\n", expect_string=r"#")
    conn.send_config_set(["login block-for 60 attempts 3 within 60", "login on-failure log"])
    try:
        for _ in range(3):
            with pytest.raises(paramiko.AuthenticationException):
                connect(spec, password="not-the-password")
        assert _refused(spec, spec.password), "a quiet period refuses even the right password"
        show = conn.send_command("show login")
        assert "Router presently in Quiet-Mode, will remain in Quiet-Mode for" in show
        log = as_text(conn.send_command("show logging"))
        failed = _log_times(log, "SEC_LOGIN-4-LOGIN_FAILED")
        assert len(failed) == 3 and "%SEC_LOGIN-1-QUIET_MODE_ON: Still timeleft for watching failures" in log
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(failed)]
        assert min(gaps) >= 0.95, f"the default login delay (1 s) paces attempts on the router's clock: {gaps}"
        conn.send_config_set(
            ["ip access-list extended MGMT", "permit tcp host 127.0.0.1 any", "login quiet-mode access-class MGMT"]
        )
        connect(spec).close()  # permitted by the quiet-mode access class
    finally:
        conn.send_config_set(
            [
                "no login block-for",
                "no login on-failure",
                "no login quiet-mode access-class",
                "no ip access-list extended MGMT",
            ]
        )
    with contextlib.closing(connect(spec)):
        assert "Router NOT enabled to watch for login Attacks" in conn.send_command("show login")
