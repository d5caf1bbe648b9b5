"""pkilab load's usage errors: one line naming the option, exit code 2, before any lab starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkilab.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[3]
SIM = str(ROOT / "testbeds" / "sim.yaml")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--branches", "0"], "--branches must be at least 1, not 0"),
        (["--branches", "5", "--revoke", "150"], "--revoke is a percentage 0-100, not 150"),
        (["--branches", "5", "--rate", "-1"], "--rate must not be negative, not -1"),
        (["--branches", "5", "--inflight", "0"], "--inflight must be at least 1, not 0"),
        (["--branches", "5", "--auth", "psk", "--revoke", "10"], "--revoke needs --auth rsig"),
        (["--branches", "5", "--attach", "nowhere"], "--attach 'nowhere': expected HOST:PORT"),
        (["--branches", "70000"], "has 65534 addresses for 70000 branches"),
    ],
)
def test_bad_options_are_one_line(
    args: list[str], line: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["load", "--testbed", SIM, "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pkilab: error: ") and line in err and "\n" not in err, err
    assert not (tmp_path / "results.json").exists()


def test_missing_testbed_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["load", "--testbed", str(tmp_path / "none.yaml"), "--branches", "1"]) == 2
    assert "none.yaml: no such testbed file" in capsys.readouterr().err


def test_load_is_a_documented_subcommand() -> None:
    help_text = build_parser().format_help()
    assert "load" in help_text and "virtual branches" in help_text
