"""The simulated CLI interpreter: abbreviations, IOS errors, modes, filters, dialogs."""

import pytest

from pkilab.sim.interp import apply_filter
from unit.sim.simkit import Cli, OfflineLab


def test_abbreviations_reach_the_same_command(cli: Cli) -> None:
    full = cli("show ip interface brief")
    assert "FastEthernet0/0" in full
    assert cli("sh ip int br") == full
    assert cli("sh run").startswith("Building configuration...")


def test_invalid_input_puts_the_caret_under_the_offending_word(cli: Cli) -> None:
    out = cli("show ip foo")
    prompt = "r1#"
    caret_line, message = out.splitlines()[0], out.splitlines()[1]
    assert caret_line.index("^") == len(prompt) + len("show ip ")
    assert message == "% Invalid input detected at '^' marker."
    assert out.endswith("\nr1#")


def test_incomplete_and_ambiguous(cli: Cli) -> None:
    assert cli("show ip").startswith("% Incomplete command.")
    cli("configure terminal")
    out = cli("i")  # interface / ip
    assert out.startswith('% Ambiguous command:  "i"')


def test_unknown_first_word_in_exec(cli: Cli) -> None:
    assert "% Unknown command or computer name" in cli("frobnicate")


def test_config_modes_prompts_and_navigation(cli: Cli) -> None:
    out = cli("conf t")
    assert "Enter configuration commands, one per line.  End with CNTL/Z." in out
    assert out.endswith("r1(config)#")
    assert cli("interface fa0/0").endswith("r1(config-if)#")
    assert cli("exit").endswith("r1(config)#")
    assert cli("ip access-list extended CryptoMapACL").endswith("r1(config-ext-nacl)#")
    cli("permit ip 10.113.0.0 0.0.0.255 10.0.0.0 0.255.255.255")
    cli("deny ip any any")
    cli("remark This ACL is a filter of which traffic is for the crypto ipsec tunnel")
    assert cli("line vty 0 4").endswith("r1(config-line)#")
    cli("login local")
    # A global command typed in a sub-mode is accepted and leaves the sub-mode, as on IOS.
    assert cli("hostname edge1").endswith("edge1(config)#")
    assert cli("interface e0/0").endswith("edge1(config-if)#")
    assert cli("end").endswith("edge1#")
    run = cli("show running-config")
    assert (
        "ip access-list extended CryptoMapACL\n permit ip 10.113.0.0 0.0.0.255 10.0.0.0 0.255.255.255\n"
        " deny ip any any\n remark This ACL" in run
    )
    assert "line vty 0 4\n login local" in run


def test_ctrl_z_and_do(cli: Cli) -> None:
    cli("configure terminal")
    cli("interface FastEthernet0/0")
    out = cli("do show ip interface brief")
    assert "FastEthernet0/0" in out and out.endswith("r1(config-if)#")
    assert cli("description uplink\x1a").endswith("r1#")
    assert " description uplink" in cli("show running-config")


def test_long_hostname_is_truncated_in_config_prompts(cli: Cli) -> None:
    cli("configure terminal")
    out = cli("hostname a-very-long-router-hostname-here")
    assert out.endswith("a-very-long-router-h(config)#")
    assert cli("end").endswith("a-very-long-router-hostname-here#")


@pytest.mark.parametrize(
    "kind, arg, expected",
    [
        ("include", "Fast", ["FastEthernet0/0 up"]),
        ("exclude", "Fast", ["Ethernet0/0 down", "header"]),
        ("begin", "Eth", ["Ethernet0/0 down", "FastEthernet0/0 up"]),
    ],
)
def test_filters(kind: str, arg: str, expected: list[str]) -> None:
    text = "header\nEthernet0/0 down\nFastEthernet0/0 up\n"
    got = apply_filter(text, kind, arg).splitlines()
    assert sorted(got) == sorted(expected)


def test_filters_on_the_router(cli: Cli) -> None:
    out = cli("show running-config | include ^hostname")
    assert out.splitlines()[0] == "hostname r1"
    section = cli("show running-config | section interface FastEthernet0/0")
    assert section.splitlines()[:2] == ["interface FastEthernet0/0", " ip address 10.0.0.1 255.255.255.0"]
    assert "Number of lines which match regexp = 1" in cli("show run | count ^hostname")
    assert "% Invalid input" in cli("show run | frob x")


def test_user_exec_enable_and_disable(lab: OfflineLab) -> None:
    cli = lab.cli(privilege=1)
    assert cli.session.prompt() == "r1>"
    assert "% Invalid input" in cli("show running-config") or "% Unknown" in cli("configure terminal")
    assert cli("enable") == "Password: "
    assert cli.session.feed("wrong").output == "Password: "
    assert cli("enable-pw").endswith("r1#")
    assert cli("disable").endswith("r1>")


def test_write_memory_dialog_and_startup_config(cli: Cli, lab: OfflineLab) -> None:
    cli("configure terminal")
    cli("hostname saved")
    cli("end")
    assert cli("copy running-config startup-config") == "Destination filename [startup-config]? "
    out = cli("")
    assert "Building configuration..." in out and "[OK]" in out
    start = cli("show startup-config")
    assert start.startswith("Using ") and "hostname saved" in start
    assert "enable-pw" not in start and "login-pw" not in start, "secrets must be stored hashed"
    assert cli("wr mem").startswith("Building configuration...")


def test_reload_dialog_asks_to_save_when_modified(cli: Cli) -> None:
    cli("configure terminal")
    cli("hostname changed")
    cli("end")
    assert "System configuration has been modified. Save? [yes/no]: " in cli("reload")
    assert cli("maybe").startswith("% Please answer 'yes' or 'no'.")
    assert cli("no") == "Proceed with reload? [confirm]"
    assert cli("n").endswith("changed#"), "declining the confirmation keeps the router up"


def test_dir_and_more_nvram(cli: Cli) -> None:
    listing = cli("dir nvram:")
    assert listing.startswith("Directory of nvram:/")
    assert "startup-config" in listing and "private-config" in listing
    assert "bytes total (" in listing
    assert "% " not in cli("more nvram:startup-config")
    assert "No such file" in cli("more nvram:nothing.cnm")


def test_clock_set_timezone_and_marker(cli: Cli) -> None:
    cli("configure terminal")
    cli("clock timezone EST -5")
    cli("clock summer-time EDT recurring")
    cli("end")
    cli("clock set 02:49:00 Feb 5 2035")
    line = cli("show clock").splitlines()[0]
    assert line.startswith(".02:49:0") or line.startswith("02:49:0"), line
    assert "EST Mon Feb 5 2035" in line
    cli("clock set 12:00:00 1 Jul 2030")
    assert "EDT Mon Jul 1 2030" in cli("show clock")


def test_help_lists_keywords(cli: Cli) -> None:
    out = cli("show ip ?")
    assert "interface" in out and "route" in out
