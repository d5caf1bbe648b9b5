"""Hostile or broken testbeds: one line naming file and field, exit 2, within seconds, no device touched."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _bomb() -> str:
    lines = ['a0: &a0 "lol"']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\ndevices: {r1: {os: ios}}\n"


def _seed_with(edit: str) -> str:
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    if edit == "hostname":
        data["devices"]["rôuter"] = data["devices"].pop("hq-host")
        data["topology"]["rôuter"] = data["topology"].pop("hq-host")
    else:
        data["testbed"]["custom"]["hostsrv"]["tftp_port"] = "sixty-nine"
    return yaml.safe_dump(data, allow_unicode=True)


CASES = {
    "billion-laughs": (_bomb(), "YAML bomb"),
    "deep": ("devices: " + "[" * 20000 + "]" * 20000 + "\n", "nested deeper"),
    "binary": (bytes(range(256)).decode("latin-1"), "binary"),
    "non-ascii-hostname": (_seed_with("hostname"), "not an IOS hostname"),
    "hostsrv-without-flag": (_seed_with("hostsrv"), "custom.hostsrv.tftp_port"),
}


@pytest.mark.parametrize("command", [["sim", "up"], ["certify"]])
@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_in_one_line_before_any_device(tmp_path: Path, case: str, command: list[str]) -> None:
    text, says = CASES[case]
    path = tmp_path / "testbed.yaml"
    path.write_bytes(text.encode("latin-1") if case == "binary" else text.encode())
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pkilab.cli", *command, "--testbed", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(lines) == 1 and says in lines[0] and str(path) in lines[0], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not proc.stdout.strip(), proc.stdout  # the one line is all: no pytest count line before it
    assert time.monotonic() - started < 60
