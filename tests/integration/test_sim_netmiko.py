"""The simulated lab driven by netmiko exactly as a real IOS router: prompts, abbreviations,
errors, filters, configuration, dialogs and a reload."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from integration.netmikokit import as_text
from pkilab.labs.sim import SimLabRunner
from pkilab.parsers import parse
from pkilab.testbed import Testbed
from pkilab.wait import wait_until

if TYPE_CHECKING:
    from netmiko import BaseConnection

pytestmark = pytest.mark.usefixtures("running_lab")


@pytest.mark.parametrize("name", ["ese-ios-ca", "ese-cryagg", "ese-branch", "ese-branch2", "hq-host"])
def test_every_device_logs_in_to_user_exec_and_enables(
    netmiko_factory: Callable[[str], BaseConnection], name: str
) -> None:
    conn = netmiko_factory(name)
    assert conn.find_prompt() == f"{name}>"
    conn.enable()
    assert conn.find_prompt() == f"{name}#"
    version = parse("show version", as_text(conn.send_command("show version")))
    assert version.hostname == name
    assert version.version == "15.2(4)M11"


def test_abbreviations_errors_and_filters(netmiko_factory: Callable[[str], BaseConnection]) -> None:
    conn = netmiko_factory("ese-cryagg")
    conn.enable()
    assert conn.send_command("sh ip int br") == conn.send_command("show ip interface brief")
    assert "66.66.66.1" in conn.send_command("sh ip int br | i FastEthernet0/0")
    assert "10.59.138.1" not in conn.send_command("sh ip int br | exclude 0/1")
    assert as_text(conn.send_command("sh run | begin ^interface")).startswith("interface FastEthernet0/0")
    invalid = as_text(conn.send_command("show ip interfase brief"))
    lines = invalid.splitlines()
    assert lines[-1] == "% Invalid input detected at '^' marker."
    assert lines[-2].index("^") == len("ese-cryagg#show ip ")
    assert "% Incomplete command." in conn.send_command("show ip")
    assert '% Ambiguous command:  "sh c"' in conn.send_command("sh c") or "UTC" in conn.send_command("sh c")


def test_configuration_modes_and_running_config(netmiko_factory: Callable[[str], BaseConnection]) -> None:
    conn = netmiko_factory("ese-branch")
    conn.enable()
    out = conn.send_config_set(
        [
            "ip access-list extended CryptoMapACL",
            "permit ip 10.113.0.0 0.0.0.255 10.0.0.0 0.255.255.255",
            "deny ip any any",
            "interface Ethernet0/0",
            "description BRANCH LAN",
            "line vty 0 4",
            "login local",
        ]
    )
    assert "ese-branch(config-ext-nacl)#" in out
    assert "ese-branch(config-if)#" in out
    assert "ese-branch(config-line)#" in out
    assert "% Invalid" not in out
    run = conn.send_command("show running-config")
    assert "description BRANCH LAN" in run and "permit ip 10.113.0.0 0.0.0.255 10.0.0.0 0.255.255.255" in run
    out = conn.send_config_set(["no ip access-list extended CryptoMapACL", "interface Ethernet0/0", "no description"])
    assert "CryptoMapACL" not in conn.send_command("show running-config")


def test_copy_run_start_dialog_and_reload_restores_startup(
    netmiko_factory: Callable[[str], BaseConnection], sim_testbed: Testbed
) -> None:
    conn = netmiko_factory("hq-host")
    conn.enable()
    out = conn.send_command("copy running-config startup-config", expect_string=r"\[startup-config\]\?")
    assert "Destination filename [startup-config]?" in out
    out = conn.send_command("\n", expect_string=r"#")
    assert "[OK]" in out
    conn.send_config_set(["interface Loopback99", "ip address 192.0.2.99 255.255.255.255"])
    out = conn.send_command("reload", expect_string=r"\[yes/no\]:")
    assert "System configuration has been modified. Save? [yes/no]:" in out
    out = conn.send_command("no", expect_string=r"\[confirm\]")
    assert "Proceed with reload? [confirm]" in out
    conn.write_channel("\n")

    def dropped() -> bool:
        try:
            conn.write_channel("\n")
            conn.read_channel()
            return not conn.is_alive()
        except OSError:
            return True

    wait_until(dropped, 15, 0.1, "the reload drops the session")

    def back() -> BaseConnection | None:
        try:
            c = netmiko_factory("hq-host")
        except Exception:
            return None
        return c

    again = wait_until(back, 30, 0.3, "hq-host answers SSH again after the reload")
    again.enable()
    brief = again.send_command("show ip interface brief")
    assert "Loopback99" not in brief, "an unsaved change survived the reload"
    assert "10.59.138.13" in brief
    ping = parse("ping 10.59.138.1", as_text(again.send_command("ping 10.59.138.1")))
    assert ping.received == ping.sent, "interfaces saved up come back up after the reload"
    version = parse("show version", as_text(again.send_command("show version")))
    assert version.hostname == "hq-host"
    assert re.search(r"uptime is 0 minutes", as_text(again.send_command("show version")))


def test_ping_and_clock_commands(netmiko_factory: Callable[[str], BaseConnection]) -> None:
    conn = netmiko_factory("ese-branch")
    conn.enable()
    ping = parse("ping 66.66.66.1 repeat 10", as_text(conn.send_command("ping 66.66.66.1 repeat 10")))
    assert ping.sent == 10 and ping.received == 10 and ping.pattern == "!" * 10
    # The HQ LAN is only reachable through the (not yet configured) tunnel: every echo is lost.
    lost = parse(
        "ping ip 10.59.138.13 source e0/0 repeat 5",
        as_text(conn.send_command("ping ip 10.59.138.13 source e0/0 repeat 5")),
    )
    assert lost.received == 0 and lost.source == "10.113.0.1"
    clock = parse("show clock", as_text(conn.send_command("show clock")))
    assert clock.datetime is not None
    status = as_text(conn.send_command("show ntp status"))
    assert status.startswith("Clock is")


def test_a_reloading_router_refuses_logins_from_the_confirm_on(running_lab: SimLabRunner, sim_testbed: Testbed) -> None:
    # A login that arrives between the confirm and the sessions being dropped must not reach the
    # configuration that is about to go (a client reconnecting at once used to land there).
    import asyncio

    from pkilab.sim.ssh import CliServer

    spec = sim_testbed.device("ese-branch2")
    router = running_lab.lab.routers[spec.name]

    async def confirm_then_log_in() -> tuple[bool, bool]:
        session = router.new_session(15)
        asked = session.feed("reload").output
        assert asked.endswith("Proceed with reload? [confirm]"), asked
        assert session.feed("").closed
        return router.up, await CliServer(router).validate_password(spec.username, spec.password)

    assert running_lab.loop is not None, "the lab is running"
    up, accepted = asyncio.run_coroutine_threadsafe(confirm_then_log_in(), running_lab.loop).result(10)
    assert (up, accepted) == (False, False)
    assert wait_until(lambda: router.up, 10, 0.05, "ese-branch2 boots again")
