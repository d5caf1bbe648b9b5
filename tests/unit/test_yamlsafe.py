"""Hostile YAML is refused quickly with one line, before anything walks it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pkilab.errors import TestbedError
from pkilab.yamlsafe import MAX_DEPTH, load_file

ROOT = Path(__file__).resolve().parents[2]


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (_bomb().encode(), "YAML bomb"),
        (b"devices: " + b"[" * 20000 + b"]" * 20000 + b"\n", "nested deeper"),
        (
            b"devices:\n" + b"".join(b"  " * i + b"k:\n" for i in range(1, 200)) + b"  " * 200 + b"v: 1\n",
            "nested deeper",
        ),
        (bytes(range(256)) * 4, "binary"),
        (b"\xff\xfe\xfa devices: {}\n", "not UTF-8"),
        (b"devices: [unclosed\n", "invalid YAML"),
        (b"devices:\n  r1:\n    cli: {port: 22, port: 2222}\n", "devices.r1.cli.port: key 'port' given twice (line 3)"),
        (b"devices: {}\ntestbed: {}\ndevices: {r1: {}}\n", "devices: key 'devices' given twice (line 3)"),
    ],
    ids=["billion-laughs", "deep-flow", "deep-block", "binary", "latin1", "invalid", "dup-key", "dup-top-key"],
)
def test_hostile_yaml_refused_in_one_line_within_seconds(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "testbed.yaml"
    path.write_bytes(content)
    started = time.monotonic()
    with pytest.raises(TestbedError) as info:
        load_file(path)
    message = str(info.value)
    assert says in message and str(path) in message and "\n" not in message, message
    assert time.monotonic() - started < 10, "refused promptly, not after walking the expansion"


def test_reasonable_aliases_and_depth_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    nested = "x: " + "[" * (MAX_DEPTH - 2) + "1" + "]" * (MAX_DEPTH - 2) + "\n"
    path.write_text("base: &b {user: admin}\none: *b\ntwo: *b\n" + nested)
    data = load_file(path)
    assert data["one"] == {"user": "admin"} and data["two"] == data["one"]


def test_every_shipped_testbed_loads() -> None:
    for path in (ROOT / "testbeds").glob("*.yaml"):
        assert isinstance(load_file(path), dict), path


def test_keys_that_differ_only_in_type_and_repeated_merge_keys_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text('ports: {1: int, "1": str}\nbase: &b {a: 1}\nc:\n  <<: *b\n  <<: *b\n  d: 2\n')
    data = load_file(path)
    assert data["ports"] == {1: "int", "1": "str"} and data["c"] == {"a": 1, "d": 2}
