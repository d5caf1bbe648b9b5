"""Sessions over every access path, on both backends, against the simulated lab.

The lab is ``testbeds/sim.yaml``; the client testbeds written here reach its routers over SSH,
through two chained SSH jump hosts, on telnet consoles (with IOS's setup dialog and a line
password) and through a CML-like terminal server. The jump hosts, consoles and terminal
server are real servers (``tests/accesskit.py``); the routers are the simulated lab's.
"""

import copy
import time
from pathlib import Path

import pytest
import yaml

from accesskit import Console, JumpHost, Loop, TerminalServer
from pkilab.device.session import Answer, Session
from pkilab.errors import CommandError, DeviceAuthenticationError, DeviceConnectionError
from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.parsers import parse
from pkilab.testbed import load, unicon_available

ROOT = Path(__file__).resolve().parents[2]


BACKENDS = ["netmiko", "unicon"]
# Parameters of the tests: unicon only with its extra installed (pip install 'pkilab[unicon]').
ON_BACKENDS = pytest.mark.parametrize(
    "backend",
    [
        "netmiko",
        pytest.param(
            "unicon", marks=pytest.mark.skipif(not unicon_available(), reason="the unicon extra is not installed")
        ),
    ],
)
# unicon's IOS plugin configures `no logging console` and `line console 0 / exec-timeout 0` at
# connect; the simulated routers do not take those lines yet, so these testbeds give unicon the
# connection argument pyATS users give for such devices (its exec init commands still run).
UNICON_ARGS = {"init_config_commands": []}
SHIFT = 1600  # away from the suites' lab and the other integration modules' (1000)
KIT = 2300  # the test servers' ports: base + KIT + n (sim.yaml uses 2221-2285 and 6900-6901)


@pytest.fixture(scope="module")
def base():
    return SHIFT + worker_offset()


@pytest.fixture(scope="module")
def sim(base):
    tb = load(ROOT / "testbeds" / "sim.yaml").shifted(base)
    runner = SimLabRunner(tb).start()
    try:
        yield tb
    finally:
        runner.stop()


@pytest.fixture(scope="module")
def kit():
    loop = Loop()
    yield loop
    loop.stop()


def client_testbed(tmp_path, sim, devices, extra=None, name="access"):
    """A testbed with the lab's routers (roles, no custom.sim) reached by ``devices[name]`` connections."""
    raw = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    data = {"testbed": {"name": name, "credentials": copy.deepcopy(raw["testbed"]["credentials"])}, "devices": {}}
    for dname, conns in devices.items():
        dev = raw["devices"][dname]
        data["devices"][dname] = {
            "os": dev["os"],
            "type": dev["type"],
            "connections": conns,
            "custom": {"role": dev["custom"]["role"]},
        }
    data["devices"].update(extra or {})
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return load(path)


def _ssh(sim, dname, **more):
    d = sim.device(dname)
    return {"protocol": "ssh", "ip": "127.0.0.1", "port": d.port, **more}


def _backend_args(backend):
    return {"arguments": UNICON_ARGS} if backend == "unicon" else {}


def _connect(tb, dname, backend):
    return Session(tb.device(dname), backend=backend, timeout=20, boot_timeout=60).connect()


@ON_BACKENDS
def test_session_over_ssh(tmp_path, sim, backend):
    tb = client_testbed(tmp_path, sim, {"hq-host": {"cli": _ssh(sim, "hq-host", **_backend_args(backend))}})
    s = _connect(tb, "hq-host", backend)
    try:
        assert s.backend == backend
        assert parse("show version", s.run("show version")).hostname == "hq-host"
        with pytest.raises(CommandError, match="Invalid input"):
            s.run("show crypto nonsense")
        saved = s.dialog(
            "copy running-config startup-config", [Answer(r"Destination filename \[startup-config\]\?", "")]
        )
        out = s.config(["interface Loopback42", "ip address 10.42.42.42 255.255.255.255"])
        assert "Enter configuration commands" in out
        assert "Loopback42" in s.run("show ip interface brief | include Loopback42")
        assert "[OK]" in saved
        assert "! connected (" + backend in s.transcript.since(0)
    finally:
        s.close()
    assert not s.connected


@ON_BACKENDS
def test_session_through_two_chained_jump_hosts(tmp_path, sim, kit, base, backend):
    outer = JumpHost(kit, base + KIT + 0, "outer", "outer-pw")
    inner = JumpHost(kit, base + KIT + 10, "inner", "inner-pw")
    try:
        jumps = {
            "jump-outer": {
                "os": "linux",
                "type": "linux",
                "credentials": {"default": {"username": "outer", "password": "outer-pw"}},
                "connections": {"cli": {"protocol": "ssh", "ip": "127.0.0.1", "port": outer.port}},
            },
            "jump-inner": {
                "os": "linux",
                "type": "linux",
                "credentials": {"default": {"username": "inner", "password": "inner-pw"}},
                "connections": {
                    "cli": {"protocol": "ssh", "ip": "127.0.0.1", "port": inner.port, "proxy": "jump-outer"}
                },
            },
        }
        conn = _ssh(sim, "ese-branch", proxy="jump-inner", ssh_options="-o StrictHostKeyChecking=no")
        tb = client_testbed(tmp_path, sim, {"ese-branch": {"cli": {**conn, **_backend_args(backend)}}}, jumps)
        assert [h.device for h in tb.device("ese-branch").connection.proxy] == ["jump-outer", "jump-inner"]
        assert [d.name for d in tb.devices] == ["ese-branch"]  # jump hosts are never certified
        JumpHost.forwarded.clear()
        s = _connect(tb, "ese-branch", backend)
        try:
            assert parse("show version", s.run("show version")).hostname == "ese-branch"
        finally:
            s.close()
        # The outer host forwarded to the inner one, the inner one to the router.
        assert ("127.0.0.1", inner.port) in JumpHost.forwarded
        assert ("127.0.0.1", sim.device("ese-branch").port) in JumpHost.forwarded
    finally:
        outer.close()
        inner.close()


def test_a_jump_host_refusing_the_login_is_named(tmp_path, sim, kit, base):
    jump = JumpHost(kit, base + KIT + 20, "jumper", "right-pw")
    try:
        extra = {
            "jump": {
                "os": "linux",
                "type": "linux",
                "credentials": {"default": {"username": "jumper", "password": "wrong-pw"}},
                "connections": {"cli": {"protocol": "ssh", "ip": "127.0.0.1", "port": jump.port}},
            }
        }
        tb = client_testbed(tmp_path, sim, {"ese-branch": {"cli": _ssh(sim, "ese-branch", proxy="jump")}}, extra)
        with pytest.raises(DeviceAuthenticationError, match="proxy 'jump' refused the login") as info:
            _connect(tb, "ese-branch", "netmiko")
        assert "wrong-pw" not in str(info.value) and "\n" not in str(info.value)
    finally:
        jump.close()


def _console(kit, sim, base, dname, slot, **kwargs):
    d = sim.device(dname)
    return Console(kit, base + KIT + 30 + slot, d.port, d.username, d.password, **kwargs)


@ON_BACKENDS
def test_console_with_setup_dialog_and_line_password(tmp_path, sim, kit, base, backend):
    console = _console(kit, sim, base, "ese-branch2", BACKENDS.index(backend), fresh=True, line_password="con-pw")
    try:
        conn = {"protocol": "telnet", "ip": "127.0.0.1", "port": console.port, **_backend_args(backend)}
        conn["credentials"] = {"line": {"password": "con-pw"}}
        tb = client_testbed(tmp_path, sim, {"ese-branch2": {"a": conn}})
        s = _connect(tb, "ese-branch2", backend)
        try:
            assert s.run("show clock")
            assert parse("show version", s.run("show version")).hostname == "ese-branch2"
        finally:
            s.close()
        assert console.log[:4] == ["setup:no", "autoinstall:yes", "line-login", "cli"], console.log
        assert "con-pw" not in s.transcript.since(0)
    finally:
        console.close()


def test_console_wrong_line_password_is_refused(tmp_path, sim, kit, base):
    console = _console(kit, sim, base, "ese-branch2", 5, line_password="con-pw")
    try:
        conn = {"protocol": "telnet", "ip": "127.0.0.1", "port": console.port}
        conn["credentials"] = {"line": {"password": "not-it"}}
        tb = client_testbed(tmp_path, sim, {"ese-branch2": {"a": conn}})
        with pytest.raises(DeviceAuthenticationError, match="console login refused"):
            _connect(tb, "ese-branch2", "netmiko")
    finally:
        console.close()


@ON_BACKENDS
def test_console_session_survives_a_reload(tmp_path, sim, kit, base, backend):
    console = _console(kit, sim, base, "hq-host", 2 + BACKENDS.index(backend))
    try:
        conn = {"protocol": "telnet", "ip": "127.0.0.1", "port": console.port, **_backend_args(backend)}
        tb = client_testbed(tmp_path, sim, {"hq-host": {"a": conn}})
        s = _connect(tb, "hq-host", backend)
        try:
            s.config(["interface Loopback77", "ip address 10.77.77.77 255.255.255.255"])
            stream = s.stream
            started = time.monotonic()
            out = s.reload(save=False)
            assert "Proceed with reload? [confirm]" in out
            # Same stream, back in privileged exec, with the startup configuration (Loopback77 gone).
            assert s.stream is stream and s.connected
            assert "Loopback77" not in s.run("show ip interface brief")
            assert time.monotonic() - started < 60
            assert "Press RETURN to get started" in s.transcript.since(0)
        finally:
            s.close()
    finally:
        console.close()


@ON_BACKENDS
def test_terminal_server_console(tmp_path, sim, kit, base, backend):
    console = _console(kit, sim, base, "ese-cryagg", 6 + BACKENDS.index(backend))
    ts = TerminalServer(
        kit, base + KIT + 40 + BACKENDS.index(backend), "lab1", {"ese-cryagg": console.port}, "ts-user", "ts-pw"
    )
    extra = {
        "terminal_server": {
            "os": "linux",
            "type": "linux",
            "credentials": {"default": {"username": "ts-user", "password": "ts-pw"}},
            "connections": {
                "cli": {"protocol": "ssh", "ip": "127.0.0.1", "port": base + KIT + 40 + BACKENDS.index(backend)}
            },
        }
    }
    try:
        conn = {"protocol": "telnet", "proxy": "terminal_server", "command": "open /lab1/ese-cryagg/0"}
        conns = {"defaults": {"class": "unicon.Unicon"}, "a": {**conn, **_backend_args(backend)}}
        tb = client_testbed(tmp_path, sim, {"ese-cryagg": conns}, extra)
        assert tb.device("ese-cryagg").backend == "unicon"
        s = _connect(tb, "ese-cryagg", backend)
        try:
            assert parse("show version", s.run("show version")).hostname == "ese-cryagg"
        finally:
            s.close()
        assert ts.opened == ["open /lab1/ese-cryagg/0"]
    finally:
        ts.close()
        console.close()


def test_unreachable_console_is_a_connection_error(tmp_path, sim, base):
    conn = {"protocol": "telnet", "ip": "127.0.0.1", "port": base + KIT + 50}
    tb = client_testbed(tmp_path, sim, {"hq-host": {"a": conn}})
    with pytest.raises(DeviceConnectionError, match=r"cannot reach 127\.0\.0\.1"):
        _connect(tb, "hq-host", "netmiko")
