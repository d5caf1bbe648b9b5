"""The pkilab command line as a tool: version, plain-text help, one-line errors naming what is missing."""

import argparse
import re
from collections.abc import Iterator

import pytest

from pkilab.cli import build_parser, describe, main
from pkilab.errors import UserError
from pkilab.resources import sim_testbed
from pkilab.sim.cli import port_offset, sim_ports
from pkilab.testbed import load

REST = re.compile(r"``|:\w+:`|`\w")


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert re.fullmatch(r"pkilab \d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_help_is_plain_text_and_every_command_is_described() -> None:
    parser = build_parser()
    assert not REST.search(parser.format_help())
    commands = dict(_subparsers(parser))
    assert {"certify", "init", "sim", "parse", "report"} <= set(commands)
    nested = [(f"{name} {sub}", p) for name, cmd in commands.items() for sub, p in _subparsers(cmd)]
    for name, command in [*commands.items(), *nested]:
        assert command.description, f"pkilab {name} has no description"
        assert not REST.search(command.format_help()), f"pkilab {name} --help shows reST markup"


@pytest.mark.parametrize(("argv", "actions"), [(["report"], "merge"), (["sim"], "up, faults, images")])
def test_a_command_without_its_action_says_which_are_missing(
    capsys: pytest.CaptureFixture[str], argv: list[str], actions: str
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == f"pkilab {argv[0]}: error: an action is required: {actions}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    assert "pkilab: error: the following arguments are required: COMMAND" in capsys.readouterr().err


def test_describe_drops_rest_markup_and_keeps_the_first_paragraph() -> None:
    doc = """``pkilab x``: uses :func:`pkilab.y` and *this*,
    over two lines.

    Second paragraph."""
    assert describe(doc) == "pkilab x: uses pkilab.y and this, over two lines."


def test_port_base_moves_the_lowest_port_and_keeps_the_spacing() -> None:
    testbed = load(sim_testbed())
    ports = sim_ports(testbed)
    offset = port_offset(testbed, 30000)
    assert min(sim_ports(testbed.shifted(offset))) == 30000
    assert sorted(p + offset for p in ports) == sorted(sim_ports(testbed.shifted(offset)))
    span = max(ports) - min(ports)
    with pytest.raises(UserError, match=rf"--port-base 65000: the lab's ports span .*N must be 1-{65535 - span}"):
        port_offset(testbed, 65000)
    with pytest.raises(UserError, match="--port-base 0"):
        port_offset(testbed, 0)


def test_port_base_needs_a_simulated_testbed(monkeypatch: pytest.MonkeyPatch) -> None:
    from pkilab.resources import testbeds_dir

    for name in ("PKILAB_USERNAME", "PKILAB_PASSWORD", "PKILAB_ENABLE"):
        monkeypatch.setenv(name, "x")
    with pytest.raises(UserError, match="is not a simulated testbed"):
        port_offset(load(testbeds_dir() / "static-example.yaml"), 30000)
