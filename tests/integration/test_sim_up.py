"""`pkilab sim up` as a user runs it: one line per device, `ready`, SSH answers, SIGTERM stops it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from pkilab.fixtures import worker_offset
from pkilab.testbed import without_port_offset
from pkilab.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _until_ready(proc: subprocess.Popen[str]) -> list[str]:
    """The lines ``pkilab sim up`` prints up to and including ``ready``."""
    assert proc.stdout is not None and proc.stderr is not None, "started with stdout and stderr piped"
    lines: list[str] = []
    while not lines or lines[-1] != "ready":
        line = proc.stdout.readline()
        assert line, f"sim up ended early: {proc.stderr.read()}"
        lines.append(line.strip())
    return lines


def test_sim_up_prints_ready_serves_ssh_and_stops_on_sigterm(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    for dev in data["devices"].values():
        dev["connections"]["cli"]["port"] += 4000 + worker_offset()
        dev["custom"]["sim"]["http_port"] += 4000 + worker_offset()
    testbed = tmp_path / "tb.yaml"
    testbed.write_text(yaml.safe_dump(data))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pkilab.cli",
            "sim",
            "up",
            "--testbed",
            str(testbed),
            "--pcap-dir",
            str(tmp_path / "pcap"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # The testbed's ports are already moved by this run's offset: the lab must not move them again.
        env=without_port_offset(os.environ),
    )
    try:
        lines = _until_ready(proc)
        assert len(lines) == 7 and lines[-2].startswith("5 devices listening after")
        from netmiko import ConnectHandler

        conn = ConnectHandler(
            device_type="cisco_ios",
            host="127.0.0.1",
            port=6223 + worker_offset(),
            username="admin",
            password="pkilab-login",
            secret="pkilab-enable",
        )
        conn.enable()
        assert "Success rate is 100 percent (5/5)" in conn.send_command("ping 66.66.66.1")
        conn.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    # Every link has a capture with the ping on the outside link (Ethernet frames, real ICMP).
    from scapy.layers.inet import ICMP, IP
    from scapy.utils import rdpcap

    packets = rdpcap(str(tmp_path / "pcap" / "outside.pcap"))
    echoes = [p for p in packets if ICMP in p and p[IP].src == "66.66.66.2" and p[IP].dst == "66.66.66.1"]
    assert len(echoes) >= 5
    assert wait_until(lambda: (tmp_path / "pcap" / "hq-lan.pcap").exists(), 1, 0.1, "hq-lan capture")


def _testbed(tmp_path: Path, shift: int, hostsrv: bool = True) -> Path:
    """sim.yaml with its ports moved by ``shift`` (and the worker's offset), with or without custom.hostsrv."""
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    for dev in data["devices"].values():
        dev["connections"]["cli"]["port"] += shift + worker_offset()
        dev["custom"]["sim"]["http_port"] += shift + worker_offset()
    if hostsrv:
        base = 6900 + shift + worker_offset()
        data["testbed"]["custom"]["hostsrv"] = {"address": "127.0.0.1", "tftp_port": base, "http_port": base + 1}
    else:
        del data["testbed"]["custom"]["hostsrv"]
    path = tmp_path / f"tb-{shift}-{hostsrv}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_sim_up_serves_a_directory_over_tftp_and_http_with_hostsrv(tmp_path: Path) -> None:
    import re
    import urllib.request

    from pkilab.hostsrv import tftp_read

    served = tmp_path / "served"
    served.mkdir()
    (served / "ese-ios-ca.ser").write_bytes(b"serial = 0x5\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pkilab.cli",
            "sim",
            "up",
            "--testbed",
            str(_testbed(tmp_path, 4200)),
            "--hostsrv",
            str(served),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _until_ready(proc)
        found = [
            m
            for m in map(
                re.compile(
                    r"host file servers: tftp 127\.0\.0\.1:(\d+), http 127\.0\.0\.1:(\d+), "
                    r"serving (.+)"
                ).fullmatch,
                lines,
            )
            if m
        ]
        assert len(found) == 1 and found[0][3] == str(served.resolve())
        tftp_port, http_port = int(found[0][1]), int(found[0][2])
        assert tftp_read("127.0.0.1", tftp_port, "ese-ios-ca.ser") == b"serial = 0x5\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/ese-ios-ca.ser", timeout=10) as answer:
            assert answer.read() == b"serial = 0x5\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_sim_up_hostsrv_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    cases = [
        (_testbed(tmp_path, 4300, hostsrv=False), tmp_path, "--hostsrv needs custom.hostsrv"),
        (_testbed(tmp_path, 4300), not_a_dir, "not a directory"),
    ]
    for testbed, root, message in cases:
        done = subprocess.run(
            [sys.executable, "-m", "pkilab.cli", "sim", "up", "--testbed", str(testbed), "--hostsrv", str(root)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1 and message in done.stderr
