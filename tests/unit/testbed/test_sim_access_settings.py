"""custom.sim for access paths: console ports, SSH ports, terminal servers and jump hosts.

Each bad setting is refused with one line naming the file, the device and the field; the three
access testbeds themselves validate, and their ports move with ``Testbed.shifted``.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from accesskit import load_access_testbed
from pkilab.errors import TestbedError
from pkilab.testbed import SimSpec, Testbed, load

ROOT = Path(__file__).resolve().parents[3]
SIM = ROOT / "testbeds" / "sim.yaml"
CONSOLE = ROOT / "testbeds" / "sim-console.yaml"
TERMSERVER = ROOT / "testbeds" / "sim-termserver.yaml"
JUMPHOST = ROOT / "testbeds" / "sim-jumphost.yaml"


def _variant(tmp_path: Path, source: Path, mutate: Callable[[dict[str, Any]], object]) -> Path:
    data = yaml.safe_load(source.read_text())
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _sim(data: dict[str, Any], name: str) -> Any:
    return data["devices"][name]["custom"]["sim"]


def _conns(data: dict[str, Any], name: str) -> Any:
    return data["devices"][name]["connections"]


def _spec(tb: Testbed, name: str) -> SimSpec:
    sim = tb.device(name).sim
    assert sim is not None, name
    return sim


# A simulated jump host for a case that puts the terminal server behind it.
BASTION: dict[str, Any] = {
    "os": "linux",
    "type": "linux",
    "credentials": {"default": {"username": "b", "password": "b-pw"}},
    "connections": {"cli": {"protocol": "ssh", "ip": "127.0.0.1", "port": 5121}},
    "custom": {"sim": {"kind": "jumphost"}},
}

CASES: dict[str, tuple[Path, Callable[[dict[str, Any]], object], str]] = {
    "console-clashes-with-ssh": (
        SIM,
        lambda d: _sim(d, "ese-branch").update(console=2223),
        "device 'ese-branch': custom.sim.console: port 2223 already used by ese-branch",
    ),
    "console-clashes-with-other-device": (
        CONSOLE,
        lambda d: _sim(d, "ese-branch").update(console=5001) or _conns(d, "ese-branch")["a"].update(port=5001),
        "custom.sim.console: port 5001 already used by",  # either device: the dumped YAML sorts them
    ),
    "console-not-a-port": (
        SIM,
        lambda d: _sim(d, "ese-branch").update(console="5003"),
        "device 'ese-branch': custom.sim.console: must be an integer 1-65535",
    ),
    "telnet-without-console": (
        CONSOLE,
        lambda d: _sim(d, "hq-host").pop("console"),
        "device 'hq-host': connections.a: a telnet connection to a simulated router needs custom.sim.console",
    ),
    "telnet-to-another-port": (
        CONSOLE,
        lambda d: _conns(d, "hq-host")["a"].update(port=5099),
        "device 'hq-host': connections.a.port: 5099 is not this router's console port (5004)",
    ),
    "ssh-to-another-port": (
        SIM,
        lambda d: _sim(d, "hq-host").update(ssh_port=2299),
        "device 'hq-host': connections.cli.port: 2224 is not this device's SSH port (2299)",
    ),
    "two-ssh-ports": (
        SIM,
        lambda d: _conns(d, "hq-host").update(ssh2={"protocol": "ssh", "ip": "127.0.0.1", "port": 2298}),
        "device 'hq-host': connections.ssh2.port: direct ssh connections on ports 2224 and 2298",
    ),
    "proxied-ssh-to-another-port": (
        JUMPHOST,
        lambda d: _conns(d, "hq-host")["cli"].update(port=5299),
        "device 'hq-host': connections.cli.port: 5299 is not this device's SSH port (5224)",
    ),
    "ssh-port-clash": (
        JUMPHOST,
        lambda d: _sim(d, "hq-host").update(ssh_port=5220) or _conns(d, "hq-host")["cli"].update(port=5220),
        "port 5220 already used by",
    ),
    "unknown-kind": (
        JUMPHOST,
        lambda d: _sim(d, "jump").update(kind="bastion"),
        "device 'jump': custom.sim.kind: must be one of router, terminal_server, jumphost",
    ),
    "router-setting-on-a-jumphost": (
        JUMPHOST,
        lambda d: _sim(d, "jump").update(http_port=5299),
        "device 'jump': custom.sim.http_port: not a setting of a simulated jumphost",
    ),
    "unknown-router-setting": (
        SIM,
        lambda d: _sim(d, "hq-host").update(consoel=5004),
        "device 'hq-host': custom.sim.consoel: not a setting of a simulated router",
    ),
    "termserver-without-ssh": (
        TERMSERVER,
        lambda d: _conns(d, "terminal_server")["cli"].update(proxy="bastion") or d["devices"].update(bastion=BASTION),
        "device 'terminal_server': connections: a simulated terminal_server needs a direct ssh connection",
    ),
    "termserver-not-loopback": (
        TERMSERVER,
        lambda d: _conns(d, "terminal_server")["cli"].update(ip="192.0.2.10"),
        "device 'terminal_server': connections.cli.ip: a simulated device listens on loopback only",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_access_setting_is_refused_naming_the_field(tmp_path: Path, case: str) -> None:
    source, mutate, expected = CASES[case]
    path = _variant(tmp_path, source, mutate)
    with pytest.raises(TestbedError) as info:
        load_access_testbed(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert expected in message


def test_console_testbed_routers_are_console_only() -> None:
    tb = load(CONSOLE)
    for d in tb.devices:
        assert d.sim is not None and d.sim.ssh_port is None and d.sim.console == d.port
        assert d.protocol == "telnet" and d.role


def test_termserver_testbed() -> None:
    tb = load_access_testbed(TERMSERVER)
    ts = tb.device("terminal_server")
    assert ts.sim is not None and ts.sim.kind == "terminal_server" and ts.sim.ssh_port == 5120
    assert (ts.username, ts.password) == ("cml", "pkilab-cml")
    routers = [d for d in tb.devices if d.sim is not None and d.sim.kind == "router"]
    assert {d.role for d in routers} == {"ca", "headend", "branch", "host"}
    assert all(d.sim is not None and d.sim.ssh_port is None and d.sim.console is None for d in routers)


def test_jumphost_testbed() -> None:
    tb = load_access_testbed(JUMPHOST)
    assert _spec(tb, "jump").kind == "jumphost"
    assert _spec(tb, "ese-ios-ca").ssh_port == 5221
    assert _spec(tb, "ese-ios-ca").ssh_field == "custom.sim.ssh_port"


def test_same_lab_as_sim_yaml() -> None:
    def routers(path: Path) -> tuple[dict[str, tuple[str, str, Any]], Any]:
        data = yaml.safe_load(path.read_text())
        devices = {
            name: (dev["custom"]["role"], dev["custom"]["sim"]["image"], dev["custom"]["sim"].get("config"))
            for name, dev in data["devices"].items()
            if "role" in dev.get("custom", {})
        }
        return devices, data["topology"]

    reference = routers(SIM)
    for path in (CONSOLE, TERMSERVER, JUMPHOST):
        assert routers(path) == reference, path.name


def test_access_testbeds_share_no_port_with_sim_yaml() -> None:
    def ports(tb: Testbed) -> set[int]:
        return {port for d in tb.devices if d.sim for port, _ in d.sim.ports()}

    seen = ports(load(SIM))
    for path in (CONSOLE, TERMSERVER, JUMPHOST):
        mine = ports(load_access_testbed(path))
        assert not mine & seen, path.name
        seen |= mine


def test_shift_moves_console_and_ssh_ports() -> None:
    tb = load(CONSOLE).shifted(100)
    assert _spec(tb, "ese-ios-ca").console == 5101
    assert _spec(tb, "ese-ios-ca").http_port == 5181
    assert _spec(tb, "ese-ios-ca").ssh_port is None
    jump = load_access_testbed(JUMPHOST).shifted(100)
    assert _spec(jump, "jump").ssh_port == 5320
    assert _spec(jump, "jump").http_port == 0
    assert _spec(jump, "hq-host").ssh_port == 5324
