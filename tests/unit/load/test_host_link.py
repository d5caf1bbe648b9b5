"""The host path for real routers: the branches' addresses on a host interface, UDP 500/4500 each.

Run in a network namespace of its own (``unshare -n``), so the host's networking is not touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = r"""
import asyncio, json, subprocess
from pkilab.load.ports import HostLink, PortError
from pkilab.sim import packets as pk

subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
got = []

async def main():
    out = {}
    try:
        await HostLink(None).open(["10.77.0.9"], got.append)
    except PortError as exc:
        out["no_interface"] = str(exc)
    link = HostLink("lo")
    await link.open(["10.77.0.1-10.77.0.2"], got.append)
    out["added"] = list(link.added)
    link.send(pk.ipv4("10.77.0.1", "10.77.0.2", pk.PROTO_UDP, pk.udp("10.77.0.1", "10.77.0.2", 500, 500, b"mm1")))
    link.send(pk.ipv4("10.77.0.2", "10.77.0.1", pk.PROTO_UDP, pk.udp("10.77.0.2", "10.77.0.1", 4500, 4500, b"esp")))
    link.send(pk.ipv4("10.77.0.1", "10.77.0.2", pk.PROTO_ESP, bytes(40)))
    for _ in range(100):
        if len(got) == 2:
            break
        await asyncio.sleep(0.01)
    out["received"] = []
    for packet in got:
        ip = pk.IPv4.parse(packet)
        udp = pk.Udp.parse(ip.payload)
        out["received"].append([ip.src, ip.dst, udp.sport, udp.dport, udp.data.decode()])
    out["dropped"] = link.dropped
    link.close()
    left = subprocess.run(["ip", "-br", "address", "show", "dev", "lo"], capture_output=True, text=True).stdout
    out["left"] = "10.77.0.1" in left or "10.77.0.2" in left
    print(json.dumps(out))

asyncio.run(main())
"""


def test_branch_addresses_on_a_host_interface_carry_ike_and_nat_t() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs root, unshare and ip (a network namespace of its own)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert "10.77.0.9 is not an address of this host" in out["no_interface"]
    assert out["added"] == ["10.77.0.1", "10.77.0.2"]
    assert sorted(out["received"]) == [
        ["10.77.0.1", "10.77.0.2", 500, 500, "mm1"],
        ["10.77.0.2", "10.77.0.1", 4500, 4500, "esp"],
    ]
    assert out["dropped"] == 1, "plain ESP cannot leave through a UDP socket"
    assert out["left"] is False, "the run's addresses are removed again"


def test_without_root_the_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from pkilab.load import ports

    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # ports.os is this os module
    monkeypatch.setattr(ports, "_on_host", lambda _a: False)

    async def go() -> None:
        await ports.HostLink("eth9").open(["192.0.2.77"], lambda _p: None)

    with pytest.raises(ports.PortError) as info:
        asyncio.run(go())
    assert str(info.value) == "adding 192.0.2.77 to eth9 needs root (run pkilab load as root)"
