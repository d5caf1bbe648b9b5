"""Connections as pyATS defines them: via, proxies, terminal servers, ssh_options, credentials, classes."""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pkilab.errors import TestbedError
from pkilab.testbed import load

# What CML's lab.get_pyats_testbed() writes (a terminal_server device; per node a console
# connection `a` opened by a command on it), with the roles a user adds.
CML: dict[str, Any] = {
    "testbed": {"name": "cml-lab", "credentials": {"default": {"username": "cisco", "password": "cisco"}}},
    "devices": {
        "terminal_server": {
            "os": "linux",
            "type": "linux",
            "credentials": {"default": {"username": "developer", "password": "C1sco12345"}},
            "connections": {"cli": {"protocol": "ssh", "host": "10.10.20.161", "port": 22}},
        },
        "r1": {
            "os": "iosxe",
            "type": "router",
            "credentials": {"enable": {"password": "en-secret"}},
            "connections": {
                "defaults": {"class": "unicon.Unicon"},
                "a": {"protocol": "telnet", "proxy": "terminal_server", "command": "open /5f2a/n0/0"},
            },
            "custom": {"role": "ca"},
        },
        "ubuntu-0": {"os": "linux", "type": "linux", "connections": {}},  # a node pkilab never uses
    },
    "topology": {"r1": {"interfaces": {"GigabitEthernet1": {"type": "ethernet", "link": "l0"}}}},
}


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "tb.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _variant(tmp_path: Path, mutate: Callable[[dict[str, Any]], object], base: dict[str, Any] = CML) -> Path:
    data = copy.deepcopy(base)
    mutate(data)
    return _write(tmp_path, data)


def _r1(data: dict[str, Any]) -> Any:
    return data["devices"]["r1"]


def test_an_unsupported_field_on_a_device_pkilab_does_not_use_is_refused_too(tmp_path: Path) -> None:
    def weird(data: dict[str, Any]) -> None:
        data["devices"]["ubuntu-0"]["connections"] = {"a": {"protocol": "telnet", "weird": 1}}

    with pytest.raises(TestbedError) as info:
        load(_variant(tmp_path, weird))
    message = str(info.value)
    assert "device 'ubuntu-0': connections.a.weird: not supported by pkilab" in message and "\n" not in message


def test_cml_testbed_loads_as_written(tmp_path: Path) -> None:
    tb = load(_write(tmp_path, CML))
    [r1] = tb.devices
    c = r1.connection
    assert (r1.role, c.name, c.protocol, c.command, c.console) == ("ca", "a", "telnet", "open /5f2a/n0/0", True)
    assert c.terminal_server == "terminal_server" and c.host == "" and r1.port == 0
    hop = c.proxy[0].connection
    assert (hop.host, hop.port, hop.credentials.username, hop.credentials.password) == (
        "10.10.20.161",
        22,
        "developer",
        "C1sco12345",
    )
    assert r1.backend == "unicon" and c.unicon
    assert (c.credentials.username, c.credentials.password, c.credentials.enable) == ("cisco", "cisco", "en-secret")
    # Devices without a role are kept apart and never certified; one with no connection is left out.
    assert [d.name for d in tb.others] == ["terminal_server"] and tb.others[0].role is None
    assert tb.device("terminal_server").os == "linux"
    assert {"C1sco12345", "cisco", "en-secret"} <= tb.secrets()
    assert "C1sco12345" not in repr(c) and "en-secret" not in repr(r1)


def test_backend_override_and_default(tmp_path: Path) -> None:
    path = _write(tmp_path, CML)
    assert load(path, backend="netmiko").devices[0].backend == "netmiko"
    plain = _variant(tmp_path, lambda d: _r1(d)["connections"].pop("defaults"))
    assert load(plain).devices[0].backend == "netmiko"
    assert load(plain, backend="unicon").devices[0].backend == "unicon"
    with pytest.raises(TestbedError, match="--backend must be one of netmiko, unicon"):
        load(plain, backend="scrapli")


def _with_ssh(data: dict[str, Any]) -> None:
    _r1(data)["connections"]["cli"] = {"protocol": "ssh", "ip": "192.0.2.1", "port": 2222}


def test_via_picks_the_connection(tmp_path: Path) -> None:
    path = _variant(tmp_path, _with_ssh)
    # Nothing names one: 'cli' is pyATS's usual name and is preferred over 'a'.
    assert load(path).devices[0].connection.name == "cli"
    assert load(path, via="a").devices[0].connection.name == "a"

    def ssh_named_a(d: dict[str, Any]) -> None:
        _with_ssh(d)
        _r1(d)["connections"]["defaults"].update(via="a")

    named = _variant(tmp_path, ssh_named_a)
    assert load(named).devices[0].connection.name == "a"
    assert load(named, via="cli").devices[0].connection.port == 2222


def test_jump_host_chain_is_flattened_outermost_first(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["devices"]["jump2"] = {
            "os": "linux",
            "type": "linux",
            "connections": {"cli": {"protocol": "ssh", "ip": "10.0.0.2", "proxy": "terminal_server"}},
        }
        _r1(d)["connections"]["cli"] = {
            "protocol": "ssh",
            "ip": "10.0.0.9",
            "proxy": "jump2",
            "ssh_options": "-o StrictHostKeyChecking=no -o KexAlgorithms=+curve25519-sha256@libssh.org",
        }
        _r1(d)["connections"]["defaults"]["via"] = "cli"

    c = load(_variant(tmp_path, mutate)).devices[0].connection
    assert [h.device for h in c.proxy] == ["terminal_server", "jump2"]
    assert c.proxy[1].connection.proxy == () and (c.host, c.port) == ("10.0.0.9", 22)
    assert c.ssh_options.strict_host_keys == "no"
    assert c.ssh_options.algorithms == (("kex", "+curve25519-sha256@libssh.org"),)


def test_line_and_per_connection_credentials(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        _r1(d)["connections"]["a"]["credentials"] = {
            "line": {"password": "line-pw"},
            "default": {"password": "conn-pw"},
        }

    c = load(_variant(tmp_path, mutate)).devices[0].connection
    # The connection's password wins; its user name still comes from the testbed (field by field).
    assert (c.credentials.username, c.credentials.password, c.credentials.line_password) == (
        "cisco",
        "conn-pw",
        "line-pw",
    )


def _set(path: tuple[str, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path
        node: Any = d
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(last)
        else:
            node[last] = value

    return mutate


REFUSED = {
    "unknown-connection-key": (("devices", "r1", "connections", "a", "sshtunnel"), "x", "connections.a.sshtunnel"),
    "unknown-defaults-key": (
        ("devices", "r1", "connections", "defaults", "alias"),
        "x",
        "connections.defaults.alias",
    ),
    "other-class": (("devices", "r1", "connections", "a", "class"), "mylib.Conn", "connections.a.class"),
    "proxy-not-a-device": (("devices", "r1", "connections", "a", "proxy"), "nowhere", "connections.a.proxy"),
    "command-without-proxy": (("devices", "r1", "connections", "a", "proxy"), None, "connections.a.command"),
    "command-and-ip": (("devices", "r1", "connections", "a", "ip"), "192.0.2.9", "connections.a.ip"),
    "ssh-options-on-telnet": (
        ("devices", "r1", "connections", "a", "ssh_options"),
        "-o ConnectTimeout=3",
        "connections.a.ssh_options",
    ),
    "unknown-credential": (
        ("devices", "r1", "credentials", "tacacs"),
        {"username": "u", "password": "p"},
        "credentials.tacacs",
    ),
    "unknown-argument": (
        ("devices", "r1", "connections", "a", "arguments"),
        {"learn_hostname": True},
        "connections.a.arguments.learn_hostname",
    ),
    "via-names-nothing": (("devices", "r1", "connections", "defaults", "via"), "b", "connections.defaults.via"),
    "proxy-over-telnet": (
        ("devices", "terminal_server", "connections", "cli", "protocol"),
        "telnet",
        "connections.a.proxy",
    ),
    "bad-role": (("devices", "r1", "custom", "role"), "router", "custom.role"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unsupported_fields_are_refused_in_one_line(tmp_path: Path, case: str) -> None:
    path_, value, field = REFUSED[case]
    path = _variant(tmp_path, _set(path_, value))
    with pytest.raises(TestbedError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    assert f": {field}:" in message, message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("-o ProxyCommand=nc", "option 'proxycommand' not supported"),
        ("-L 8080:localhost:80", "option '-L' not supported"),
        ("-o ConnectTimeout=soon", "is not a number"),
        ("-o StrictHostKeyChecking=maybe", "StrictHostKeyChecking must be"),
    ],
)
def test_unsupported_ssh_options_are_refused(tmp_path: Path, options: str, expected: str) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["devices"]["terminal_server"]["connections"]["cli"]["ssh_options"] = options

    with pytest.raises(TestbedError, match=expected) as info:
        load(_variant(tmp_path, mutate))
    assert "device 'terminal_server': connections.cli.ssh_options" in str(info.value)


def test_ssh_options_parsed(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["devices"]["terminal_server"]["connections"]["cli"]["ssh_options"] = (
            "-o UserKnownHostsFile=/dev/null -oConnectTimeout=7 -o 'ServerAliveInterval 30' "
            "-i /k/id -o Ciphers=aes128-ctr"
        )

    o = load(_variant(tmp_path, mutate)).others[0].connection.ssh_options
    assert (o.known_hosts, o.connect_timeout, o.keepalive, o.identity_files) == ("/dev/null", 7.0, 30, ("/k/id",))
    assert o.algorithms == (("cipher", "aes128-ctr"),)


def test_proxy_loop_is_refused(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["devices"]["terminal_server"]["connections"]["cli"]["proxy"] = "jump"
        d["devices"]["jump"] = {
            "os": "linux",
            "type": "linux",
            "connections": {"cli": {"protocol": "ssh", "ip": "10.0.0.3", "proxy": "terminal_server"}},
        }

    with pytest.raises(TestbedError, match="proxy loop"):
        load(_variant(tmp_path, mutate))


def test_a_console_needs_no_login_but_ssh_does(tmp_path: Path) -> None:
    def no_creds(d: dict[str, Any]) -> None:
        d["testbed"].pop("credentials")

    tb = load(_variant(tmp_path, no_creds))
    assert tb.devices[0].connection.credentials.username == ""

    def ssh_no_creds(d: dict[str, Any]) -> None:
        no_creds(d)
        _with_ssh(d)
        _r1(d)["connections"]["defaults"]["via"] = "cli"

    with pytest.raises(TestbedError, match=r"credentials\.default\.username"):
        load(_variant(tmp_path, ssh_no_creds))


def test_several_connections_and_none_named_is_refused(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        _r1(d)["connections"]["b"] = {"protocol": "telnet", "proxy": "terminal_server", "command": "open /5f2a/n0/1"}
        _r1(d)["connections"]["mgmt"] = _r1(d)["connections"].pop("a")

    with pytest.raises(TestbedError, match=r"several connections \(b, mgmt\) and no connections\.defaults\.via"):
        load(_variant(tmp_path, mutate))


def test_testbed_without_any_role_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TestbedError, match=r"no device has a custom\.role"):
        load(_variant(tmp_path, lambda d: _r1(d).pop("custom")))


def test_unicon_class_without_the_extra_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pkilab.testbed as testbed

    monkeypatch.setattr(testbed, "unicon_available", lambda: False)
    with pytest.raises(TestbedError) as info:
        load(_write(tmp_path, CML))
    assert "device 'r1': connections.defaults.class: unicon.Unicon needs pkilab's unicon extra" in str(info.value)
    assert "pip install 'pkilab[unicon]'" in str(info.value)
