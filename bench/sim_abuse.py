"""Benchmark: one simulated router abused over SSH while another is timed.

`pkilab sim up` runs the seed's lab in its own process. A poller sends ``show clock`` to ese-cryagg in
a loop and times every round trip (send to prompt) while an abuser, on ese-branch, sends in turn: a
100 kB line, a 1 MB line, and 2,500 configuration lines pasted in one write. For each phase it prints
how long the abuse took, the poller's median / p99 / worst round trip during it, and the lab
process's resident memory before, at its peak, and two seconds after the abuse.

    .venv/bin/python bench/sim_abuse.py [--lines N] [--offset PORT_OFFSET]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from pkilab.testbed import DeviceSpec, load, without_port_offset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from shellkit import RawShell  # noqa: E402  (the tests' raw SSH shell)


def _rss_kib(pid: int) -> int:
    """Resident set size of a process (Linux /proc), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Poller(threading.Thread):
    """``show clock`` round trips on one router, each timed, until stopped."""

    def __init__(self, spec: DeviceSpec) -> None:
        super().__init__(daemon=True)
        self.shell = RawShell(spec)
        self.samples: list[tuple[float, float]] = []  # (monotonic start, seconds)
        self.halt = threading.Event()

    def run(self) -> None:
        """Poll until :attr:`halt` is set."""
        while not self.halt.is_set():
            start = time.monotonic()
            self.shell.command("show clock", timeout=120)
            self.samples.append((start, time.monotonic() - start))

    def between(self, t0: float, t1: float) -> list[float]:
        """Round trips that started in [t0, t1], in milliseconds."""
        return sorted(s * 1000 for start, s in self.samples if t0 <= start <= t1)


def _phase(name: str, abuse: object, poller: Poller, lab_pid: int) -> None:
    rss0, peak = _rss_kib(lab_pid), 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_kib(lab_pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.monotonic()
    abuse()  # type: ignore[operator]
    t1 = time.monotonic()
    done.set()
    watcher.join()
    time.sleep(2)
    rss2 = _rss_kib(lab_pid)
    ms = poller.between(t0, t1)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
    print(
        f"{name:<28} {t1 - t0:6.2f} s | other router: {len(ms):4d} polls, median "
        f"{statistics.median(ms) if ms else float('nan'):6.1f} ms, p99 {p99:6.1f} ms, worst "
        f"{max(ms) if ms else float('nan'):7.1f} ms | lab RSS {rss0 / 1024:.0f} -> peak {peak / 1024:.0f} -> "
        f"{rss2 / 1024:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2500)
    parser.add_argument("--offset", type=int, default=int(os.environ.get("PKILAB_PORT_OFFSET", "0")) + 8700)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
        for dev in data["devices"].values():
            dev["connections"]["cli"]["port"] += args.offset
            dev["custom"]["sim"]["http_port"] += args.offset
        data["testbed"]["custom"].pop("hostsrv", None)
        path = Path(tmp) / "sim.yaml"
        path.write_text(yaml.safe_dump(data))
        lab = subprocess.Popen(
            [sys.executable, "-m", "pkilab.cli", "sim", "up", "--testbed", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # The testbed's ports are already moved: the lab must not move them again.
            env=without_port_offset(os.environ),
        )
        try:
            while (line := lab.stdout.readline() if lab.stdout else "").strip() != "ready":
                if not line:
                    raise SystemExit(f"the lab did not start: {lab.stderr.read() if lab.stderr else ''}")
            run(load(path), lab.pid, args.lines)
        finally:
            lab.terminate()
            try:
                lab.wait(30)
            except subprocess.TimeoutExpired:
                lab.kill()


def run(testbed: object, lab_pid: int, lines: int) -> None:
    poller = Poller(testbed.device("ese-cryagg"))  # type: ignore[attr-defined]
    abuser = RawShell(testbed.device("ese-branch"))  # type: ignore[attr-defined]
    poller.start()
    time.sleep(1)
    abuser.command("enable", expect="Password: ")
    abuser.command(abuser.spec.enable_password)
    _phase("100 kB line", lambda: abuser.command("x" * 100_000, timeout=600), poller, lab_pid)
    _phase("1 MB line", lambda: abuser.command("x" * 1_000_000, timeout=600), poller, lab_pid)
    block = "configure terminal\n" + "".join(f"ip host h{i} 10.9.{i // 250}.{i % 250 + 1}\n" for i in range(lines))
    done = re.compile(re.escape(abuser.spec.name) + "#$")  # exec again: every pasted line has been read
    _phase(f"{lines} pasted config lines", lambda: abuser.command(block + "end", done, 600), poller, lab_pid)
    poller.halt.set()
    poller.join(30)
    abuser.close()
    poller.shell.close()


if __name__ == "__main__":
    main()
