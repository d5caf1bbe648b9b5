"""Sessions over every access path, on both backends, against the simulated lab's own access servers.

One lab (``testbeds/sim-jumphost.yaml`` grown by this module) offers every path at once: each router
has an SSH server and a telnet console, a CML-style terminal server reaches the consoles, and two
chained jump hosts (``jump`` behind ``jump-outer``) forward to the routers. A client testbed picks the
path with ``--via`` (:func:`pkilab.testbed.load`'s ``via``): ``direct`` (SSH), ``cli`` (SSH through
both jump hosts), ``con`` (telnet console), ``ts`` (``proxy: terminal_server``, ``command: open
/<lab>/<node>/0``). Nothing here is a stand-in: the consoles, terminal server and jump hosts are the
simulator's (docs/sim-access.md), the sessions pkilab's (``netmiko`` and ``unicon`` backends).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from pkilab.device.session import Answer, Session
from pkilab.errors import CommandError, DeviceAuthenticationError, DeviceConnectionError
from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.parsers import parse_as
from pkilab.parsers.system import Version
from pkilab.sim.faults import FAULTS
from pkilab.testbed import Testbed, load, unicon_available
from pkilab.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]
SHIFT = 1600  # away from the suites' lab and the other integration modules' (1000, 1400)
LAB = "pkilab-sim-jumphost"
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


Mutation = Callable[[dict[str, Any]], None]  # edits a testbed's YAML data in place


class Reach(Protocol):
    """The ``reach`` fixture: the lab's testbed with every router reached by ``via``."""

    def __call__(self, via: str, backend: str | None = None, mutate: Mutation | None = None) -> Testbed: ...


def _every_path(data: dict[str, Any]) -> dict[str, Any]:
    """sim-jumphost.yaml with consoles, a terminal server and a second jump host in front of the first."""
    devices = data["devices"]
    jump = devices["jump"]
    jump_port = jump["connections"]["cli"]["port"]
    devices["jump-outer"] = {
        "os": "linux",
        "type": "linux",
        "credentials": {"default": {"username": "outer", "password": "outer-pw"}},
        "connections": {"cli": {"protocol": "ssh", "ip": "127.0.0.1", "port": jump_port + 50}},
        "custom": {"sim": {"kind": "jumphost"}},
    }
    jump["connections"]["cli"]["proxy"] = "jump-outer"
    jump["custom"]["sim"]["ssh_port"] = jump_port
    devices["terminal_server"] = {
        "os": "linux",
        "type": "linux",
        "credentials": {"default": {"username": "cml", "password": "cml-pw"}},
        "connections": {"cli": {"protocol": "ssh", "ip": "127.0.0.1", "port": jump_port + 51}},
        "custom": {"sim": {"kind": "terminal_server"}},
    }
    for i, (name, dev) in enumerate(d for d in devices.items() if "role" in d[1]["custom"]):
        sim = dev["custom"]["sim"]
        sim["console"] = jump_port + 30 + i
        conns = dev["connections"]
        conns["direct"] = {"protocol": "ssh", "ip": "127.0.0.1", "port": sim["ssh_port"]}
        conns["con"] = {"protocol": "telnet", "ip": "127.0.0.1", "port": sim["console"]}
        conns["ts"] = {"protocol": "telnet", "proxy": "terminal_server", "command": f"open /{LAB}/{name}/0"}
    return data


def _write(tmp: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def lab_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = _every_path(yaml.safe_load((ROOT / "testbeds" / "sim-jumphost.yaml").read_text()))
    return _write(tmp_path_factory.mktemp("access"), "every-path.yaml", data)


@pytest.fixture(scope="module")
def runner(lab_file: Path) -> Iterator[SimLabRunner]:
    runner = SimLabRunner(load(lab_file, known_faults=FAULTS).shifted(SHIFT + worker_offset())).start()
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture
def reach(lab_file: Path, runner: SimLabRunner) -> Reach:
    """``reach(via, backend=None, mutate=None)``: the lab's testbed with every router reached by ``via``."""

    def load_via(via: str, backend: str | None = None, mutate: Mutation | None = None) -> Testbed:
        path = lab_file
        if mutate is not None:
            data = yaml.safe_load(lab_file.read_text())
            mutate(data)
            path = _write(lab_file.parent, f"variant-{time.monotonic_ns()}.yaml", data)
        return load(path, known_faults=FAULTS, via=via, backend=backend).shifted(SHIFT + worker_offset())

    return load_via


def _connect(tb: Testbed, name: str, backend: str | None = None) -> Session:
    return Session(tb.device(name), backend=backend, timeout=30, boot_timeout=60).connect()


def _hostname(s: Session) -> str | None:
    return parse_as(Version, "show version", s.run("show version")).hostname


@ON_BACKENDS
def test_session_over_ssh(reach: Reach, backend: str) -> None:
    s = _connect(reach("direct", backend), "hq-host")
    try:
        assert s.backend == backend and _hostname(s) == "hq-host"
        with pytest.raises(CommandError, match="Invalid input"):
            s.run("show crypto nonsense")
        saved = s.dialog(
            "copy running-config startup-config", [Answer(r"Destination filename \[startup-config\]\?", "")]
        )
        out = s.config(["interface Loopback42", "ip address 10.42.42.42 255.255.255.255"])
        assert "Enter configuration commands" in out and "[OK]" in saved
        assert "Loopback42" in s.run("show ip interface brief | include Loopback42")
        assert f"! connected ({backend}, ssh 127.0.0.1:" in s.transcript.since(0)
    finally:
        s.close()
    assert not s.connected


@ON_BACKENDS
def test_session_through_two_chained_jump_hosts(reach: Reach, runner: SimLabRunner, backend: str) -> None:
    tb = reach("cli", backend)
    spec = tb.device("ese-branch")
    assert [h.device for h in spec.connection.proxy] == ["jump-outer", "jump"]
    assert [d.name for d in tb.devices if d.role is None] == []  # proxies are never certified
    assert {d.name for d in tb.others} == {"jump", "jump-outer", "terminal_server"}
    runner.lab.forwards.clear()
    s = _connect(tb, "ese-branch")
    try:
        assert _hostname(s) == "ese-branch"
    finally:
        s.close()
    # The outer jump host forwarded to the inner one, the inner one to the router's SSH port.
    assert ("jump-outer", "127.0.0.1", tb.device("jump").port) in runner.lab.forwards
    assert spec.sim is not None, "ese-branch is simulated"
    assert ("jump", "127.0.0.1", spec.sim.ssh_port) in runner.lab.forwards


def test_a_jump_host_refusing_the_login_is_named(reach: Reach) -> None:
    def wrong(data: dict[str, Any]) -> None:
        data["devices"]["jump-outer"]["credentials"]["default"]["password"] = "wrong-pw"

    with pytest.raises(DeviceAuthenticationError, match="proxy 'jump-outer' refused the login") as info:
        _connect(reach("cli", mutate=wrong), "ese-branch")
    assert "wrong-pw" not in str(info.value) and "\n" not in str(info.value)


@ON_BACKENDS
def test_console_with_a_line_password(reach: Reach, backend: str) -> None:
    name = "ese-cryagg"
    admin = _connect(reach("direct"), name)
    try:
        admin.config(["line con 0", "password con-pw", "login"])

        def line_password(data: dict[str, Any]) -> None:
            data["devices"][name]["connections"]["con"]["credentials"] = {"line": {"password": "con-pw"}}

        s = _connect(reach("con", backend, mutate=line_password), name)
        try:
            assert _hostname(s) == name and s.run("show clock")
            transcript = s.transcript.since(0)
            assert "con-pw" not in transcript
            if backend == "netmiko":  # unicon logs in inside its own connect (not in the transcript)
                assert "User Access Verification\n\nPassword:" in transcript
        finally:
            s.close()
    finally:
        admin.config(["line con 0", "no login", "no password"])
        admin.close()


def test_console_wrong_line_password_is_refused(reach: Reach) -> None:
    # After the tests above: the console replays its recent output to a new telnet client (as
    # dynamips does), and unicon 26.9 fails with a KeyError ('fallback_creds') when it reads an old
    # "% Bad passwords" there; the terminal server's sessions, later, see no replay.
    name = "ese-cryagg"
    admin = _connect(reach("direct"), name)
    try:
        admin.config(["line con 0", "password con-pw", "login"])

        def wrong(data: dict[str, Any]) -> None:
            data["devices"][name]["connections"]["con"]["credentials"] = {"line": {"password": "not-it"}}

        with pytest.raises(DeviceAuthenticationError, match="the console login refused after") as info:
            _connect(reach("con", "netmiko", mutate=wrong), name)
        assert "not-it" not in str(info.value) and "\n" not in str(info.value)
    finally:
        admin.config(["line con 0", "no login", "no password"])
        admin.close()


@ON_BACKENDS
def test_console_answers_the_initial_configuration_dialog(reach: Reach, runner: SimLabRunner, backend: str) -> None:
    """A router booted without startup configuration: setup dialog answered no, autoinstall yes."""
    name = "ese-branch2"
    s = _connect(reach("con", "netmiko"), name)
    try:
        s.dialog("write erase", [Answer(r"\[confirm\]", "")])
    finally:
        s.close()
    # Power-cycle it (the lab's reload, as a power switch would): it boots with an empty NVRAM.
    assert runner.loop is not None
    runner.loop.call_soon_threadsafe(runner.lab.reload, runner.lab.routers[name])
    line = runner.lab.consoles[name]
    wait_until(lambda: line.session.state == "setup", 60, 0.1, f"{name} at the initial configuration dialog")
    fresh = _connect(reach("con", backend), name)
    try:
        assert fresh.base_prompt == "Router"  # a router without configuration is called Router
        assert fresh.run("show running-config | include hostname") == "hostname Router"
        if backend == "netmiko":  # unicon answers the dialog in its own connect (not in the transcript)
            assert "initial configuration dialog? [yes/no]: no" in fresh.transcript.since(0)
    finally:
        fresh.close()
    # ese-branch2 stays unconfigured (no users: no SSH): no later test of this module uses it.


@ON_BACKENDS
def test_console_session_survives_a_reload(reach: Reach, backend: str) -> None:
    s = _connect(reach("con", backend), "hq-host")
    try:
        s.config(["interface Loopback77", "ip address 10.77.77.77 255.255.255.255"])
        stream = s.stream
        started = time.monotonic()
        out = s.reload(save=False)
        assert "Proceed with reload? [confirm]" in out
        # The same stream, back in privileged exec, with the startup configuration (Loopback77 gone).
        assert s.stream is stream and s.connected
        assert "Loopback77" not in s.run("show ip interface brief")
        assert time.monotonic() - started < 60
        assert "Press RETURN to get started" in s.transcript.since(0)
    finally:
        s.close()


@ON_BACKENDS
def test_terminal_server_console(reach: Reach, backend: str) -> None:
    def cml_class(data: dict[str, Any]) -> None:
        data["devices"]["ese-cryagg"]["connections"]["defaults"] = {"class": "unicon.Unicon"}

    tb = reach("ts", backend, mutate=cml_class if backend == "unicon" else None)
    spec = tb.device("ese-cryagg")
    assert spec.backend == backend and spec.connection.terminal_server == "terminal_server"
    s = _connect(tb, "ese-cryagg")
    try:
        assert _hostname(s) == "ese-cryagg"
        if backend == "netmiko":  # unicon's connect reads the terminal server's lines itself
            assert "Connected to CML terminalserver." in s.transcript.since(0)
    finally:
        s.close()


def test_console_log_messages_stay_out_of_command_output(reach: Reach) -> None:
    s = _connect(reach("con"), "ese-branch")
    try:
        s.config(["ip host pkilab-log-test 10.1.2.3"])  # %SYS-5-CONFIG_I follows the prompt on the console
        assert "%SYS" not in s.run("show clock")
        assert s.run("show running-config | include pkilab-log-test") == "ip host pkilab-log-test 10.1.2.3"
        assert "%SYS-5-CONFIG_I" in s.run("show logging")  # where log messages are the output, they stay
        s.config(["no ip host pkilab-log-test 10.1.2.3"])
    finally:
        s.close()


def test_console_exec_timeout_logs_in_again(reach: Reach, runner: SimLabRunner) -> None:
    name = "ese-ios-ca"
    s = _connect(reach("con"), name)
    try:
        s.config(["line con 0", "exec-timeout 0 1"])
        line = runner.lab.consoles[name]
        wait_until(lambda: line.session.state == "idle", 30, 0.1, f"{name} console session timed out")
        # The next command notices the ended session, logs in again and runs in privileged exec.
        assert s.run("show running-config | include exec-timeout 0 1").strip() == "exec-timeout 0 1"
        assert "the console ended the exec session" in s.transcript.since(0)
    finally:
        s.config(["line con 0", "no exec-timeout"])
        s.close()


def test_unreachable_console_is_a_connection_error(lab_file: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(lab_file.read_text())
    for dev in data["devices"].values():
        dev["custom"].pop("sim")  # a real lab: nothing of the simulator checks the ports
    data["devices"]["hq-host"]["connections"]["con"]["port"] = 9  # nothing listens there
    tb = load(_write(tmp_path, "nowhere.yaml", data), via="con")
    with pytest.raises(DeviceConnectionError, match=r"cannot reach 127\.0\.0\.1:9"):
        _connect(tb, "hq-host")
