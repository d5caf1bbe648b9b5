"""``pkilab init``: a starter testbed that loads, from flags or as a template; nothing asked, nothing half-written."""

from pathlib import Path

import pytest

from pkilab.cli import main
from pkilab.testbed import load

CREDENTIALS = ("PKILAB_USERNAME", "PKILAB_PASSWORD", "PKILAB_ENABLE")


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIALS:
        monkeypatch.setenv(name, f"{name.lower()}-value")


def test_the_template_loads_and_holds_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], credentials: None
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    text = (tmp_path / "testbed.yaml").read_text()
    testbed = load(tmp_path / "testbed.yaml")
    assert {d.role for d in testbed.devices} == {"ca", "headend", "branch", "host"}
    assert all(d.host.startswith("192.0.2.") for d in testbed.devices)  # documentation addresses
    assert '"%ENV{PKILAB_PASSWORD}"' in text and "pkilab" in testbed.devices[0].password
    assert "wrote testbed.yaml" in capsys.readouterr().out


def test_routers_from_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str], credentials: None) -> None:
    path = tmp_path / "lab.yaml"
    argv = ["init", str(path), "--name", "pod7", "--ca", "R1=10.0.0.1", "--headend", "HE=10.0.0.2:2222"]
    assert main([*argv, "--branch", "BR1=10.0.0.3", "--branch", "BR2=10.0.0.4", "--telnet"]) == 0
    testbed = load(path)
    assert testbed.name == "pod7"
    assert [(d.name, d.role, d.protocol, d.host, d.port) for d in testbed.devices] == [
        ("R1", "ca", "telnet", "10.0.0.1", 23),
        ("HE", "headend", "telnet", "10.0.0.2", 2222),
        ("BR1", "branch", "telnet", "10.0.0.3", 23),
        ("BR2", "branch", "telnet", "10.0.0.4", 23),
    ]
    assert "no device with role host" in capsys.readouterr().out


def test_without_the_credential_variables_the_written_file_still_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    assert main(["init", str(tmp_path / "t.yaml")]) == 0
    import os

    assert not any(os.environ.get(name) for name in CREDENTIALS)  # the placeholders are gone again


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ca", "R 1=10.0.0.1"], "--ca 'R 1=10.0.0.1': expected NAME=ADDRESS[:PORT]"),
        (["--headend", "HE"], "--headend 'HE': expected NAME=ADDRESS[:PORT]"),
        (["--branch", "BR=10.0.0.1:70000"], "port '70000' is not 1-65535"),
        (["--host", "H=10.0.0.999"], "'10.0.0.999' is not an IPv4 address or host name"),
        (["--ca", "R1=10.0.0.1", "--headend", "R1=10.0.0.2"], "R1 is given twice"),
        (["--ca", "R1=10.0.0.1", "--headend", "R2=10.0.0.1"], "not written, it would not load: "),
        # A trailing newline passes a "^...$" pattern; a non-ASCII digit passes str.isdigit().
        (["--ca", "R1\n=10.0.0.1"], "expected NAME=ADDRESS[:PORT]"),
        (["--ca", "R1=lab-ca\n"], "is not an IPv4 address or host name"),
        (["--ca", "R1=10.0.0.1:\u00b2"], "is not 1-65535"),
        (["--name", 'pod: {"x'], "--name 'pod: {\"x': a testbed name is"),
    ],
)
def test_bad_flags_are_one_line_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    path = tmp_path / "t.yaml"
    assert main(["init", str(path), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pkilab: error: ") and message in err[0]
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("mine\n")
    assert main(["init", str(path)]) == 2
    assert path.read_text() == "mine\n"
    assert "already exists (--force overwrites it)" in capsys.readouterr().err
    assert main(["init", str(path), "--force"]) == 0
    assert path.read_text() != "mine\n"


def test_a_directory_that_does_not_exist_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "no" / "t.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"pkilab: error: {tmp_path / 'no' / 't.yaml'}: cannot write: No such file or directory"]
