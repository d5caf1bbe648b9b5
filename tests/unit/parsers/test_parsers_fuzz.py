"""Any text: every parser the registry knows returns its result or raises ParseError, in linear time.

Seeds are the real outputs of the shared corpus (read in place, skipped when it is absent) and
the outputs of this folder (``parser_seed_outputs``, ``test_parsers_tables``), each given to the
parsers that read it cleanly. Hypothesis damages them the ways a capture gets damaged or a hostile
file is built: lines dropped or repeated, digit runs blown up past any counter, dates with month 0
or 13, non-ASCII characters, very long lines, truncation, stray text.

The linear-time check puts one pathological line into a real output: the start of a real line
(its indentation, the line cut at a blank run or after its colon, or the whole line) followed by
a long run of one unit. Runs are screened at 2 kB and 20 kB and judged at 50 kB and 500 kB. It
compares growth, never speed: ten times the input must cost about ten times the time (a
quadratic pattern costs a hundred times), measured in process CPU time, with the time of the
output without the run subtracted and a suspicious figure measured again before it counts.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkilab.errors import ParseError
from pkilab.parsers.registry import READERS, match_command
from unit.parsers import parser_seed_outputs, test_parsers_tables
from unit.parsers.parser_corpus import corpus_command, corpus_dir

# Each reader once, named ``module:function`` (several commands may share one).
_READERS = {f"{r.__module__.rpartition('.')[2]}:{r.__name__}": r for r in READERS.values()}
TARGETS = sorted(_READERS)


def _target(reader: Callable[[str], Any]) -> str:
    return f"{reader.__module__.rpartition('.')[2]}:{reader.__name__}"


def _parser(target: str) -> Callable[[str], Any]:
    return _READERS[target]


def _strings(module: ModuleType) -> list[str]:
    """The module's upper-case string constants, and the strings inside its tuple constants."""
    out: list[str] = []
    for name, value in vars(module).items():
        if not name.isupper():
            continue
        for item in value if isinstance(value, tuple) else (value,):
            for text in item if isinstance(item, tuple) else (item,):
                if isinstance(text, str) and len(text) > 8:
                    out.append(text)
    return out


def _reads(target: str, text: str) -> bool:
    try:
        _parser(target)(text)
    except ParseError:
        return False
    return True


@functools.cache
def seeds() -> dict[str, tuple[str, ...]]:
    """Seed outputs of each parser (``module:function``)."""
    out: dict[str, list[str]] = {target: [] for target in TARGETS}
    corpus = corpus_dir()
    if corpus is not None:
        for entry in json.loads((corpus / "index.json").read_text()):
            text = (corpus / entry["file"]).read_text(encoding="utf-8", errors="replace")
            out[_target(READERS[match_command(corpus_command(entry["command"]))])].append(text)
    for text in _strings(parser_seed_outputs) + _strings(test_parsers_tables):
        for target in TARGETS:
            if _reads(target, text):
                out[target].append(text)
    return {target: tuple(texts) for target, texts in out.items()}


def _seeds_of(target: str) -> tuple[str, ...]:
    texts = seeds()[target]
    if not texts:
        pytest.skip(f"no seed output for {target} without the shared corpus")
    return texts


def test_every_registered_parser_has_seeds_when_the_corpus_is_here() -> None:
    if corpus_dir() is None:
        pytest.skip("shared corpus not found (../shared/corpus, or PKILAB_CORPUS)")
    assert [t for t in TARGETS if not seeds()[t]] == []


RUNAWAY = 20.0  # seconds one parse may run before it is stopped and reported (never when linear)


class Runaway(Exception):
    """A parse ran past :data:`RUNAWAY` seconds (catastrophic backtracking)."""


@contextlib.contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    """Interrupt the code inside after ``seconds`` (the regular expression engine checks signals)."""

    def expire(signum: int, frame: Any) -> None:
        raise Runaway(f"still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------------------------------------
# Damage

# superscript two, Arabic-Indic three, full-width one, line separator, NEL, BOM, NUL, backspace,
# double-struck one, Roman twelve, minus sign
NON_ASCII = (
    "²",
    "٣",
    "\uff11",
    "é",
    "ß",
    "\u2028",
    "\x85",
    "\ufeff",
    "\x00",
    "\x08",
    "\r",
    "\U0001d7d9",
    "Ⅻ",
    "\u2212",
)
DIGIT_RUNS = (21, 400, 4301, 5000)  # past a 64-bit counter, past int()'s 4,300-digit limit
LONG_UNITS = (" ", "a", "1", "1 ", ":", ".", ",", "(", "-", "#", "a - a, ")
DATE_DAMAGE = (
    (re.compile(r"\b(\d{4})-\d\d-\d\d"), (r"\1-00-15", r"\1-13-15", r"\1-02-30", r"\1-01-00", r"\1-01-32")),
    (re.compile(r"\b\d\d:\d\d:\d\d\b"), ("24:00:00", "23:60:00", "99:99:99", "00:00:61")),
    (re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} "), ("Feb 30 ", "Jan 0 ", "Jan 32 ")),
    (re.compile(r"\b(19|20)\d\d\b"), ("0000", "9999")),
    (re.compile(r"[+-]\d\d:?\d\d\b"), ("+99:99", "-24:00")),
)
OPS = ("drop", "repeat", "digits", "date", "non-ascii", "long", "truncate", "insert")


def damage(text: str, mutations: list[tuple[str, int, int, str]]) -> str:
    """Apply ``(operation, a, b, stray text)`` mutations to ``text`` in order."""
    lines = text.split("\n")
    for op, a, b, stray in mutations:
        if op == "truncate":
            joined = "\n".join(lines)
            lines = joined[: a % (len(joined) + 1)].split("\n")
            continue
        i = a % len(lines)
        line = lines[i]
        if op == "drop":
            del lines[i]
            lines = lines or [""]
        elif op == "repeat":
            lines[i : i + 1] = [line] * (2 + b % 3)
        elif op == "digits" and (runs := list(re.finditer(r"\d+", line))):
            run = runs[b % len(runs)]
            width = DIGIT_RUNS[b // len(runs) % len(DIGIT_RUNS)]
            lines[i] = line[: run.start()] + run.group()[0] * width + line[run.end() :]
        elif op == "date":
            lines[i] = _date_damage(line, b)
        elif op == "non-ascii":
            char = NON_ASCII[b % len(NON_ASCII)]
            at = b // len(NON_ASCII) % (len(line) + 1)
            lines[i] = line[:at] + char + line[at:]
        elif op == "long":
            unit = LONG_UNITS[b % len(LONG_UNITS)]
            at = b // len(LONG_UNITS) % (len(line) + 1)
            lines[i] = line[:at] + unit * (20_000 // len(unit)) + stray + line[at:]
        elif op == "insert":
            at = b % (len(line) + 1)
            lines[i] = line[:at] + stray + line[at:]
    return "\n".join(lines)


def _date_damage(line: str, b: int) -> str:
    for pattern, replacements in DATE_DAMAGE:
        if pattern.search(line):
            return pattern.sub(replacements[b % len(replacements)], line, count=1)
    return line


mutations = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 1 << 20), st.integers(0, 1 << 20), st.text(max_size=12)),
    min_size=1,
    max_size=4,
)


def test_damage_does_what_it_says() -> None:
    line = "  Validity Date: 10:00:00 UTC Jan 2 2020 (2025-10-19T14:07:56Z), conn-id: 1005"
    assert "-13-15T" in damage(line, [("date", 0, 1, "")])
    assert "1" * 4301 in damage(line, [("digits", 0, 2 * len(re.findall(r"\d+", line)) + 8, "")])
    assert damage("a\nb\nc", [("drop", 1, 0, "")]) == "a\nc"
    assert damage("a\nb", [("repeat", 0, 1, "")]) == "a\na\na\nb"
    assert damage("abc\ndef", [("truncate", 5, 0, "")]) == "abc\nd"
    assert len(damage("x", [("long", 0, 0, "!")])) > 20_000
    assert damage("ab", [("non-ascii", 0, 1 + len(NON_ASCII), "")]) == "a٣b"


@pytest.mark.parametrize("target", TARGETS)
def test_damaged_outputs_give_a_result_or_parse_error(target: str) -> None:
    texts = _seeds_of(target)
    parser = _parser(target)

    # 100 examples a parser (3,000 in all) take about 12 s on a busy 2-core machine. The
    # deadline and the watchdog only stop a runaway (one pattern took 42 s on a 50 kB line).
    @settings(
        max_examples=100,
        deadline=timedelta(seconds=5),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.sampled_from(texts), mutations)
    def check(text: str, mutation_list: list[tuple[str, int, int, str]]) -> None:
        damaged = damage(text, mutation_list)
        with _watchdog(RUNAWAY):
            try:
                result = parser(damaged)
            except ParseError:
                return
            json.dumps(result.to_dict())  # derived facts (dates) are computed here too

    check()


# ---------------------------------------------------------------------------------------------
# Linear time

RUN_UNITS = (" ", "a", "1 ", ", ", " - a A", "(")
RUN_END = "x,1!"  # a letter, a comma, a digit, punctuation: something for every pattern to refuse
SCREEN = (2_000, 20_000)
SMALL, LARGE = 50_000, 500_000
# Ten times the input costs ~10 times the time when linear (up to ~30 once 500 kB no longer fits
# the processor's caches) and ~100 times when quadratic.
MAX_GROWTH = 50
KINDS = 40  # kinds of line tried per parser at most: the most frequent


def _kind(stripped: str) -> str:
    return re.sub(r"[0-9A-Fa-f]*[0-9][0-9A-Fa-f]*", "1", stripped.split()[0].lower())


def _cuts(line: str) -> list[tuple[str, tuple[str, ...]]]:
    """Starts of a pathological line from ``line``, each with the run units to follow it.

    The indentation alone (followed by runs of the line's first character: '#' of '#pkts'),
    the line cut at each of its first four blank runs, after its first colon, and whole.
    """
    stripped = line.strip()
    indent = line[: len(line) - len(stripped)]
    ends = [m.start() for m in re.finditer(r"\s+", line) if m.start() > len(indent)][:4]
    if 0 <= line.find(":") < 60:
        ends.append(line.find(":") + 1)
    starts = dict.fromkeys([line[:end] for end in ends] + [line])
    return [(indent, (stripped[0],)), *((start, RUN_UNITS) for start in starts)]


@functools.cache
def pathological_starts(target: str) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(output before a line, start of a pathological line, run units) for each kind of line.

    A kind of line is its first word with digits set aside, taken where the output before it is
    shortest (a parser meets the run right where its patterns for that line start); the most
    frequent :data:`KINDS` kinds of a parser are tried.
    """
    found: dict[str, tuple[str, str]] = {}
    seen: dict[str, int] = {}
    for text in seeds()[target]:
        offset = 0
        for line in text.split("\n"):
            if line.strip():
                kind = _kind(line.strip())
                seen[kind] = seen.get(kind, 0) + 1
                if kind not in found or len(found[kind][0]) > offset:
                    found[kind] = (text[:offset], line)
            offset += len(line) + 1
    common = sorted(found, key=lambda kind: (-seen[kind], kind))[:KINDS]
    return tuple((found[kind][0], start, units) for kind in common for start, units in _cuts(found[kind][1]))


def _cpu(parser: Callable[[str], Any], text: str) -> float:
    start = time.process_time()
    try:
        json.dumps(parser(text).to_dict())  # derived facts (dates) are read from the line too
    except ParseError:
        pass
    return time.process_time() - start


def _cost(parser: Callable[[str], Any], start: str, unit: str, size: int, tries: int, base: float) -> float:
    """CPU time a run of ``size`` characters adds after ``start`` (best of ``tries``, 20 µs at least)."""
    text = start + unit * (size // len(unit)) + RUN_END
    return max(min(_cpu(parser, text) for _ in range(tries)) - base, 2e-5)


def _growth(parser: Callable[[str], Any], start: str, unit: str, sizes: tuple[int, int], base: float) -> float:
    """How much more the larger run costs; a figure over the bound is measured again, best of three."""
    small, large = sizes
    growth = _cost(parser, start, unit, large, 1, base) / _cost(parser, start, unit, small, 1, base)
    if growth > MAX_GROWTH:  # a busy machine can stall one measurement
        growth = _cost(parser, start, unit, large, 3, base) / _cost(parser, start, unit, small, 3, base)
    return growth


def _superlinear(parser: Callable[[str], Any], before: str, start: str, unit: str) -> str | None:
    """Return how the cost grew from 50 kB to 500 kB when it grew faster than linear, else None.

    Runs are screened at 2 kB and 20 kB first (cheap, and a quadratic pattern is far over the
    bound there already); only a run over the bound there is judged at 50 kB and 500 kB, and so
    is the plain blank run after the first start of each kind, so that every parser reads 500 kB.
    """
    base = min(_cpu(parser, before + start + RUN_END) for _ in range(3))
    if _growth(parser, before + start, unit, SCREEN, base) <= MAX_GROWTH:
        return None
    growth = _growth(parser, before + start, unit, (SMALL, LARGE), base)
    if growth <= MAX_GROWTH:
        return None
    return f"{start.strip()!r} + {unit!r} x {LARGE // len(unit)}: {growth:.0f}x the time of {SMALL} characters"


@pytest.mark.parametrize("target", TARGETS)
def test_pathological_lines_take_linear_time(target: str) -> None:
    _seeds_of(target)
    parser = _parser(target)
    gc.collect()
    gc.disable()  # a collection landing in one measurement is not the parser's growth
    try:
        for before, start, units in pathological_starts(target):
            for unit in units:
                try:
                    with _watchdog(RUNAWAY):
                        found = _superlinear(parser, before, start, unit)
                except Runaway as exc:
                    found = f"{start.strip()!r} + runs of {unit!r}: {exc}"
                assert found is None  # the first one is enough: a quadratic run costs minutes at 500 kB
    finally:
        gc.enable()


@pytest.mark.parametrize("target", TARGETS)
def test_every_parser_reads_500_kb_lines_in_linear_time(target: str) -> None:
    _seeds_of(target)
    parser = _parser(target)
    before, start, _ = next(s for s in pathological_starts(target) if len(s[2]) > 1)
    base = min(_cpu(parser, before + start + RUN_END) for _ in range(3))
    with _watchdog(RUNAWAY):
        assert _growth(parser, before + start, " ", (SMALL, LARGE), base) <= MAX_GROWTH
