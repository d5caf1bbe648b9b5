"""``pkilab parse`` as a tool: --list, ambiguous abbreviations, a closed pipe, bytes that are not UTF-8."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pkilab
from pkilab import catalog
from pkilab.catalog import EXEC, Command
from pkilab.cli import main
from pkilab.parsers import UnknownCommandError, match_command
from pkilab.parsers.cli import EXIT_PIPE_CLOSED
from pkilab.parsers.registry import READERS, AmbiguousCommandError
from pkilab.parsers.system import parse_clock
from unit.parsers import parser_seed_outputs as seed

LIB = str(Path(pkilab.__file__).resolve().parents[1])


def test_list_shows_every_command_of_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    forms = [(form, reader) for command, reader in READERS.items() for form in command.forms]
    assert len(out) == len(forms)
    for line, (form, reader) in zip(out, forms, strict=True):
        shown, parser = line.rsplit(None, 1)
        assert parser == f"{reader.__module__.removeprefix('pkilab.parsers.')}.{reader.__name__}"
        assert shown == form


def test_list_follows_the_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    frob = Command("show frob [detail]", modes=(EXEC,))
    monkeypatch.setattr("pkilab.parsers.cli.READERS", {frob: parse_clock})
    assert main(["parse", "--list"]) == 0
    assert capsys.readouterr().out == "show frob [detail]  system.parse_clock\n"


def test_list_and_a_command_do_not_mix(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["parse", "--list", "show clock"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["parse"])
    assert "--list" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "word", "keywords"),
    [
        ("sh cry i sa", "i", ("ipsec", "isakmp")),
        ("sh cry i", "i", ("ipsec", "isakmp")),
        ("sh c", "c", ("clock", "crypto")),
        ("show crypto pki server CA c", "c", ("certificates", "crl")),
        ("sh cry ca ser CA c", "c", ("certificates", "crl")),
    ],
)
def test_ambiguous_abbreviations_say_so(command: str, word: str, keywords: tuple[str, ...]) -> None:
    """The keywords are the catalog's: those a simulated router knows at that place."""
    with pytest.raises(AmbiguousCommandError) as info:
        match_command(command)
    message = str(info.value)
    assert message.startswith(f'% Ambiguous command:  "{command}"')
    assert f"{word!r} matches {', '.join(keywords)}" in message


@pytest.mark.parametrize(
    "command", ["show crypto bogus", "show running-config", "sh cry isa sa det extra", "show crypto pki server CA x"]
)
def test_unknown_commands_are_not_called_ambiguous(command: str) -> None:
    with pytest.raises(UnknownCommandError) as info:
        match_command(command)
    assert not isinstance(info.value, AmbiguousCommandError)


def test_unique_abbreviations_still_match() -> None:
    assert match_command("sh cry pki ser CA cr") is catalog.SHOW_CRYPTO_PKI_SERVER_CRL
    assert match_command("sh cry is sa") is catalog.SHOW_CRYPTO_ISAKMP_SA
    assert match_command("show crypto pki timer detail") is catalog.SHOW_CRYPTO_PKI_TIMERS  # a prefix of "timers"


def test_cli_says_ambiguous_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "out.txt"
    f.write_text(seed.ISAKMP_SA_12X)
    assert main(["parse", "sh cry i sa", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith('pkilab parse: % Ambiguous command:  "sh cry i sa"')


def _parse_into_closed_pipe(args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run ``pkilab parse`` with its stdout a pipe whose reader has already gone."""
    env = dict(os.environ, PYTHONPATH=LIB)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pkilab.cli", "parse", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # like `| head` having exited
    _, err = proc.communicate(stdin, timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, b"", err)


def _many_sas(n: int) -> str:
    rows = [
        f"10.0.{i // 250}.{i % 250 + 1}   192.0.2.1       QM_IDLE           {1000 + i}    0 ACTIVE" for i in range(n)
    ]
    return "dst             src             state          conn-id slot status\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["--list"], b""),
        (["show clock", "-"], b"*10:22:10.625 UTC Thu May 23 2024\n"),  # fails at the final flush
        (["show crypto isakmp sa", "-"], _many_sas(2000).encode()),  # fails while writing
    ],
)
def test_a_closed_pipe_ends_quietly(args: list[str], stdin: bytes) -> None:
    done = _parse_into_closed_pipe(args, stdin)
    assert done.stderr == b""
    assert done.returncode == EXIT_PIPE_CLOSED


def test_stdin_that_is_not_utf8_is_read_not_fatal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"*10:22:10.625 UTC Thu May 23 2024\n\xff\xfe\n")))
    assert main(["parse", "show clock", "-"]) == 1  # the stray line is refused, quoted, in one line
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\ufffd" in err
