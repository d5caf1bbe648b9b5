"""Benchmark: the whole certification run on the simulated lab, with per-suite times.

Runs ``pkilab certify`` once (its own lab on shifted ports) and prints the wall time and each
suite's time from the JUnit report. Run: .venv/bin/python bench/certify_run.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from junitparser import JUnitXml

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
        for dev in data["devices"].values():
            dev["connections"]["cli"]["port"] += 8000
            dev["custom"]["sim"]["http_port"] += 8000
        testbed = Path(tmp) / "sim.yaml"
        testbed.write_text(yaml.safe_dump(data))
        started = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pkilab.cli",
                "certify",
                "--testbed",
                str(testbed),
                "--reports",
                str(Path(tmp) / "reports"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        xml = JUnitXml.fromfile(str(Path(tmp) / "reports" / "junit.xml"))
        per_suite: dict[str, tuple[int, float]] = {}
        for suite in xml:
            for case in suite:
                module = case.classname.rsplit(".", 1)[-1] if case.classname else "?"
                count, secs = per_suite.get(module, (0, 0.0))
                per_suite[module] = (count + 1, secs + (case.time or 0.0))
    print(f"pkilab certify: exit {proc.returncode}, wall {wall:.1f} s (lab start and pytest included)")
    for module, (count, secs) in sorted(per_suite.items()):
        print(f"  {module:<28} {count:>3} tests {secs:>7.1f} s")
    print(
        f"  {'total':<28} {sum(c for c, _ in per_suite.values()):>3} tests "
        f"{sum(s for _, s in per_suite.values()):>7.1f} s"
    )


if __name__ == "__main__":
    main()
