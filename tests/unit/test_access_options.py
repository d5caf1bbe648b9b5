"""--via and --backend: pkilab certify passes them to pytest; the plugin hands them to the loader."""

import subprocess
import sys
from pathlib import Path

import pytest

import pkilab.report.certify as certify_module
from pkilab.cli import build_parser
from pkilab.report.certify import CertifyOptions

ROOT = Path(__file__).resolve().parents[2]


def test_certify_passes_via_and_backend_to_pytest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, CertifyOptions] = {}
    monkeypatch.setattr(certify_module, "certify", lambda options: seen.setdefault("options", options) and 0)
    args = build_parser().parse_args(["certify", "--via", "a", "--backend", "unicon", "--", "-k", "baseline"])
    args.func(args)
    command = certify_module.pytest_command(seen["options"], tmp_path / "run.log")
    assert command[-6:] == ["--backend", "unicon", "--via", "a", "-k", "baseline"], command


def test_pytest_refuses_a_via_no_device_has(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "suites" / "test_lab_baseline.py"),
            "--via",
            "nowhere",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={tmp_path / 'j.xml'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out
    assert "--via: no connection named 'nowhere' (the device has cli)" in out
