"""`pkilab sim up` as a user runs it: one line per device, `ready`, SSH answers, SIGTERM stops it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from pkilab.fixtures import worker_offset
from pkilab.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_sim_up_prints_ready_serves_ssh_and_stops_on_sigterm(tmp_path):
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    for dev in data["devices"].values():
        dev["connections"]["cli"]["port"] += 4000 + worker_offset()
        dev["custom"]["sim"]["http_port"] += 4000 + worker_offset()
    testbed = tmp_path / "tb.yaml"
    testbed.write_text(yaml.safe_dump(data))
    proc = subprocess.Popen([sys.executable, "-m", "pkilab.cli", "sim", "up", "--testbed", str(testbed),
                             "--pcap-dir", str(tmp_path / "pcap")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        lines = []
        while not lines or lines[-1] != "ready":
            line = proc.stdout.readline()
            assert line, f"sim up ended early: {proc.stderr.read()}"
            lines.append(line.strip())
        assert len(lines) == 7 and lines[-2].startswith("5 devices listening after")
        from netmiko import ConnectHandler

        conn = ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=6223 + worker_offset(), username="admin",
                              password="pkilab-login", secret="pkilab-enable")
        conn.enable()
        assert "Success rate is 100 percent (5/5)" in conn.send_command("ping 66.66.66.1")
        conn.disconnect()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    # Every link has a capture with the ping on the outside link (Ethernet frames, real ICMP).
    from scapy.all import ICMP, IP, rdpcap

    packets = rdpcap(str(tmp_path / "pcap" / "outside.pcap"))
    echoes = [p for p in packets if ICMP in p and p[IP].src == "66.66.66.2" and p[IP].dst == "66.66.66.1"]
    assert len(echoes) >= 5
    assert wait_until(lambda: (tmp_path / "pcap" / "hq-lan.pcap").exists(), 1, 0.1, "hq-lan capture")
