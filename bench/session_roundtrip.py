"""Benchmark: round trip of a short show command through pkilab's session layer on the simulated lab.

Also measures the lab start time and, for comparison, netmiko's own send_command on the same
device. Run: .venv/bin/python bench/session_roundtrip.py [--count N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from pkilab.device.session import Session
from pkilab.labs.sim import SimLabRunner
from pkilab.testbed import load

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    testbed = load(ROOT / "testbeds" / "sim.yaml").shifted(3000)
    t0 = time.perf_counter()
    runner = SimLabRunner(testbed).start()
    start = time.perf_counter() - t0
    try:
        spec = testbed.device("ese-cryagg")
        t0 = time.perf_counter()
        session = Session(spec).connect()
        connect = time.perf_counter() - t0
        for _ in range(20):
            session.run("show clock")
        samples = []
        for _ in range(args.count):
            t = time.perf_counter()
            session.run("show clock")
            samples.append((time.perf_counter() - t) * 1000)
        netmiko = []
        for _ in range(min(50, args.count)):
            t = time.perf_counter()
            session.conn.send_command("show clock")
            netmiko.append((time.perf_counter() - t) * 1000)
        session.close()
    finally:
        runner.stop()
    samples.sort()
    print(
        f"lab start (4 devices, in-process): {start * 1000:.0f} ms (lab.start itself "
        f"{runner.lab.started_in * 1000:.0f} ms)"
    )
    print(f"session connect + enable (netmiko): {connect * 1000:.0f} ms")
    print(
        f"pkilab Session.run('show clock'): median {statistics.median(samples):.2f} ms, "
        f"p95 {samples[int(len(samples) * 0.95)]:.2f} ms over {len(samples)}"
    )
    print(f"netmiko send_command('show clock'): median {statistics.median(netmiko):.2f} ms over {len(netmiko)}")


if __name__ == "__main__":
    main()
