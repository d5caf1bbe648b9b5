"""Terminal lines and console logging: what unicon and netmiko send at connect, rendered as IOS does."""

import pytest

from pkilab.sim.features.lines import Lines
from unit.sim.simkit import Cli, OfflineLab


def configure(cli: Cli, *lines: str) -> str:
    outs = [cli("configure terminal")]
    outs += [cli(line) for line in lines]
    outs.append(cli("end"))
    return "".join(outs)


def line_blocks(run: str) -> str:
    """The running configuration from the first ``line`` block to ``end``."""
    return run[run.index("\nline con 0") + 1 : run.rindex("end")]


def test_every_router_shows_its_console_aux_and_vty_lines(cli: Cli) -> None:
    assert line_blocks(cli("show running-config")) == "line con 0\nline aux 0\nline vty 0 4\n!\n!\n"


def test_unicon_connect_sequence_is_accepted(cli: Cli) -> None:
    out = configure(cli, "no logging console", "line console 0", "exec-timeout 0", "line vty 0 4", "exec-timeout 0")
    assert "%" not in out
    assert "r1(config-line)#" in out
    run = cli("show running-config")
    assert "\nlogging buffered 4096\nno logging console\n" in run
    assert line_blocks(run).startswith("line con 0\n exec-timeout 0 0\nline aux 0\nline vty 0 4\n exec-timeout 0 0\n")
    assert "    Console logging: disabled\n" in cli("show logging")


def test_settings_render_in_ios_order_with_keywords_in_full(cli: Cli) -> None:
    out = configure(
        cli,
        "line vty 0 4",
        "transport input ssh",
        "login local",
        "logg sync",
        "password linepw",
        "exec-timeout 5 30",
        "privilege level 15",
        "access-class MGMT in",
        "line con 0",
        "logging synchronous",
        "exec-timeout 0 0",
        "privilege level 15",
        "stopbits 1",
    )
    assert "%" not in out
    assert line_blocks(cli("show running-config")) == (
        "line con 0\n exec-timeout 0 0\n privilege level 15\n logging synchronous\n stopbits 1\n"
        "line aux 0\n"
        "line vty 0 4\n access-class MGMT in\n exec-timeout 5 30\n privilege level 15\n password linepw\n"
        " logging synchronous\n login local\n transport input ssh\n!\n!\n"
    )


def test_a_setting_replaces_its_previous_value_and_no_removes_it(cli: Cli) -> None:
    configure(cli, "line vty 0 4", "login", "login local", "exec-timeout 1", "exec-timeout 10 0", "transport input all")
    blocks = line_blocks(cli("show running-config"))
    assert "line vty 0 4\n login local\n transport input all\n" in blocks  # 10 0 is the default
    configure(cli, "line vty 0 4", "no login", "no transport input", "exec-timeout 3", "no exec-timeout")
    assert line_blocks(cli("show running-config")).startswith("line con 0\nline aux 0\nline vty 0 4\n!")


def test_further_vty_ranges_are_their_own_blocks_after_the_first(cli: Cli) -> None:
    configure(cli, "line vty 5 15", "login local", "line vty 0 4", "login local")
    blocks = line_blocks(cli("show running-config"))
    assert blocks.endswith("line vty 0 4\n login local\nline vty 5 15\n login local\n!\n!\n")


def test_a_global_command_in_line_mode_goes_back_to_global_configuration(cli: Cli) -> None:
    out = configure(cli, "line vty 0 4", "login block-for 60 attempts 3 within 30")
    assert "%" not in out
    assert "\nlogin block-for 60 attempts 3 within 30\n" in cli("show running-config")


@pytest.mark.parametrize(
    ("typed", "rendered"),
    [
        ("logging console informational", "logging console informational"),
        ("logging console 3", "logging console errors"),
    ],
)
def test_logging_console_level(cli: Cli, typed: str, rendered: str) -> None:
    configure(cli, "no logging console", typed)
    run = cli("show running-config")
    assert f"\n{rendered}\n" in run and "no logging console" not in run
    level = rendered.split()[-1]
    assert f"    Console logging: level {level}, " in cli("show logging")


def test_logging_console_rejects_an_unknown_level(cli: Cli) -> None:
    assert "% Invalid input" in configure(cli, "logging console loud")


def test_lines_survive_a_save_and_boot(cli: Cli, lab: OfflineLab) -> None:
    configure(cli, "no logging console", "line con 0", "exec-timeout 0 0", "line vty 0 4", "transport input ssh")
    cli("write memory")
    router = lab.routers["r1"]
    router.boot()
    assert router.feature(Lines).blocks[("con", 0, None)].settings == {"exec-timeout": "exec-timeout 0 0"}
    assert "no logging console" in lab.cli()("show running-config")
