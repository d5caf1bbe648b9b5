"""Benchmark: round trip of a short show command through pkilab's session layer, on both backends.

Measures the lab start time, then for each session backend (netmiko; unicon when the ``unicon``
extra is installed) the connect time and ``Session.run('show clock')``, and, for comparison,
netmiko's own ``send_command`` on the same device.
Run: .venv/bin/python bench/session_roundtrip.py [--count N] [--port-offset N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from pkilab.device.session import Session
from pkilab.labs.sim import SimLabRunner
from pkilab.testbed import DeviceSpec, load, unicon_available

ROOT = Path(__file__).resolve().parents[1]


def _measure(spec: DeviceSpec, backend: str, count: int) -> str:
    t0 = time.perf_counter()
    session = Session(spec, backend=backend).connect()
    connect = time.perf_counter() - t0
    try:
        for _ in range(20):
            session.run("show clock")
        samples = []
        for _ in range(count):
            t = time.perf_counter()
            session.run("show clock")
            samples.append((time.perf_counter() - t) * 1000)
    finally:
        session.close()
    samples.sort()
    return (
        f"{backend:8} connect + enable {connect * 1000:5.0f} ms; Session.run('show clock') median "
        f"{statistics.median(samples):.2f} ms, p95 {samples[int(len(samples) * 0.95)]:.2f} ms over {len(samples)}"
    )


def _netmiko_send_command(spec: DeviceSpec, count: int) -> str:
    from netmiko import ConnectHandler

    conn = ConnectHandler(
        device_type="cisco_ios",
        host=spec.host,
        port=spec.port,
        username=spec.username,
        password=spec.password,
        secret=spec.enable_password,
    )
    try:
        conn.enable()
        samples = []
        for _ in range(count):
            t = time.perf_counter()
            conn.send_command("show clock")
            samples.append((time.perf_counter() - t) * 1000)
    finally:
        conn.disconnect()
    return (
        f"netmiko send_command('show clock') (for comparison): median {statistics.median(samples):.2f} ms over {count}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--port-offset", type=int, default=int(os.environ.get("PKILAB_PORT_OFFSET", "0")) + 3000)
    args = parser.parse_args()
    testbed = load(ROOT / "testbeds" / "sim.yaml").shifted(args.port_offset)
    t0 = time.perf_counter()
    runner = SimLabRunner(testbed).start()
    start = time.perf_counter() - t0
    lines = []
    try:
        spec = testbed.device("ese-cryagg")
        for backend in ("netmiko", "unicon"):
            if backend == "unicon" and not unicon_available():
                lines.append("unicon   not measured: install the extra (pip install 'pkilab[unicon]')")
                continue
            lines.append(_measure(spec, backend, args.count))
        lines.append(_netmiko_send_command(spec, min(50, args.count)))
    finally:
        runner.stop()
    print(
        f"lab start ({len(testbed.devices)} devices, in-process): {start * 1000:.0f} ms (lab.start itself "
        f"{runner.lab.started_in * 1000:.0f} ms)"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
