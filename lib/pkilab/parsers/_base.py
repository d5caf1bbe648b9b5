"""Shared machinery of the show-output parsers: line cleaning, errors, dates, JSON facts.

Every parser takes the text a router printed and returns a frozen dataclass. The helpers
here keep the parsers honest: a line nobody understands raises :class:`ParseError`
quoting it, and the cleaning step only removes terminal artifacts (a command echo, the
``--More--`` pager, trailing blanks), never device data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from pkilab.errors import ParseError

__all__ = [
    "DIGITS",
    "MAX_DIGITS",
    "FactsMixin",
    "Line",
    "ParseError",
    "clean_lines",
    "fail",
    "ios_datetime",
    "number",
    "quoted",
    "to_int",
]

# A command echo: an optional prompt then a command word. Only ever removed from the top.
_ECHO_RE = re.compile(r"^\s*(?:[\w.:/()@-]+[#>]\s*)?(?:do\s+)?(?:sh|sho|show|crypto|cry|dir|more|ping)(?:\s|$)")
_PROMPT_ONLY_RE = re.compile(r"^[\w.:/()@-]+[#>]\s*$")
_PAGER_RE = re.compile(r"^\s*-+\s*More\s*-+\s*$")
# Console log lines that a router interleaves with command output (logging console).
ASYNC_LOG_RE = re.compile(
    r"^[*.]?(?:\d+: )?(?:[A-Z][a-z]{2} +\d+ (?:\d{4} )?)?\d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Za-z]+)?"
    r": %[A-Z0-9_]+-\d-"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Line:
    """One line of device output, its 1-based number in the text, trailing blanks removed."""

    no: int
    text: str

    @property
    def stripped(self) -> str:
        """The line without leading blanks."""
        return self.text.lstrip()


def clean_lines(text: str, *, keep_async_log: bool = True) -> tuple[list[Line], list[str]]:
    """Split ``text`` into lines, dropping terminal artifacts.

    Removed: a leading command echo (``Router#show clock``, ``show crypto pki server X crl``),
    a prompt-only last line and ``--More--`` pager lines. Console log messages interleaved by
    the router stay in place by default, so that a parser that does not expect them refuses
    them; with ``keep_async_log=False`` they are returned apart instead. Trailing blanks are
    removed from every line; blank lines are kept.

    Args:
        text: The output as printed.
        keep_async_log: Leave ``%FAC-SEV-MNEMONIC`` console lines among the lines.

    Returns:
        The kept lines and the console messages taken out.
    """
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines: list[Line] = []
    async_log: list[str] = []
    seen_content = False
    for idx, value in enumerate(raw, 1):
        value = value.rstrip()
        if "\x08" in value:  # pager erase sequences
            value = re.sub(r".\x08", "", value).rstrip()
        if not seen_content and value.strip():
            seen_content = True
            if _ECHO_RE.match(value) and not ASYNC_LOG_RE.match(value.strip()):
                continue
        if _PAGER_RE.match(value):
            continue
        if not keep_async_log and ASYNC_LOG_RE.match(value.strip()):
            async_log.append(value.strip())
            continue
        lines.append(Line(idx, value))
    while lines and not lines[-1].text.strip():
        lines.pop()
    if lines and _PROMPT_ONLY_RE.match(lines[-1].text.strip()) and ":" not in lines[-1].text:
        lines.pop()
    # A prompt without '#'/'>' (``iosv-1``) left at the very end of a capture.
    return lines, async_log


# The longest stretch of a refused line an error quotes: an error stays one readable line even
# when the line it refuses is half a megabyte long.
_QUOTE_MAX = 200


def quoted(text: str) -> str:
    """Return ``text`` cut to what an error message quotes (its length said when it is cut)."""
    if len(text) <= _QUOTE_MAX:
        return text
    return f"{text[:_QUOTE_MAX]}… ({len(text)} characters)"


def fail(parser: str, line: Line, reason: str = "unexpected line") -> ParseError:
    """Build the :class:`ParseError` for ``line`` (raise the result)."""
    return ParseError(parser, quoted(line.text), line.no, reason)


# The widest number IOS prints is a 64-bit counter (18446744073709551615, 20 digits). A longer
# digit string is not a number IOS printed, and int() of an unbounded one costs quadratic time
# and, past 4,300 digits, raises ValueError.
MAX_DIGITS = 20
# A number in a pattern: ASCII digits, at most MAX_DIGITS (a longer run leaves the line unmatched).
DIGITS = rf"[0-9]{{1,{MAX_DIGITS}}}"


def to_int(text: str | None) -> int | None:
    """Return ``text`` as an int when it is 1 to :data:`MAX_DIGITS` ASCII digits, else ``None``.

    The one checked conversion of the parsers: ``int()`` also takes ``+5``, ``1_000``, blanks
    and non-ASCII digits, and ``str.isdigit()`` is true for ``²``, which ``int()`` refuses.
    """
    if text and len(text) <= MAX_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


def number(parser: str, line: Line, text: str | None, what: str = "number") -> int:
    """Return :func:`to_int` of ``text``; raise :class:`ParseError` on ``line`` when it is not one.

    Args:
        parser: The parser's name, for the error.
        line: The line the value was read from.
        text: The digits as printed.
        what: What the value is (``conn-id``, ``slot``…), for the error.
    """
    value = to_int(text)
    if value is None:
        raise fail(parser, line, f"{what} is not a number of 1 to {MAX_DIGITS} digits")
    return value


# Zones whose offset is unambiguous in IOS captures. IST is India (Cisco's Bangalore labs);
# an abbreviation not listed gives a naive datetime rather than a guessed offset.
_ZONES: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10,
    "MSK": 3, "EET": 2, "EEST": 3, "CET": 1, "CEST": 2, "WET": 0, "WEST": 1,
    "IST": 5.5, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "AEST": 10, "AEDT": 11,
}  # fmt: skip

_MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}

_DATE_RE = re.compile(
    r"^[*.]?(\d{1,2}):(\d\d):(\d\d)(?:\.(\d{1,6}))?\s+(?:([A-Za-z][A-Za-z0-9+-]*)\s+)?"
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+)?([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{4})$",
    re.IGNORECASE,
)
_ISO_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$")


@lru_cache(maxsize=4096)
def ios_datetime(text: str) -> datetime | None:
    """Read an IOS time stamp such as ``19:00:00 EST Dec 31 1969`` or ``.02:49:05.799 EST Mon Feb 5 2035``.

    Args:
        text: The stamp as printed (ISO 8601 stamps of IOS-XE timer output are accepted too).

    Returns:
        A timezone-aware datetime when the zone abbreviation is known, a naive one when it is
        not, ``None`` when the text is not a time stamp (a date that does not exist, such as
        month 0 or February 30, is not one).
    """
    text = text.strip()
    m = _DATE_RE.match(text)
    if m is None:
        return _iso_datetime(text)
    hh, mm, ss, frac, zone, mon, day, year = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    offset = _ZONES.get(zone.upper()) if zone else None
    return _checked_datetime((year, month, day, hh, mm, ss), frac, None if offset is None else timedelta(hours=offset))


def _iso_datetime(text: str) -> datetime | None:
    m = _ISO_RE.match(text)
    if m is None:
        return None
    y, mo, d, hh, mi, ss, frac, zone = m.groups()
    if zone is None:
        return _checked_datetime((y, mo, d, hh, mi, ss), frac, None)
    if zone == "Z":
        return _checked_datetime((y, mo, d, hh, mi, ss), frac, timedelta(0))
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return _checked_datetime((y, mo, d, hh, mi, ss), frac, offset)


def _checked_datetime(fields: tuple[str | int, ...], frac: str | None, offset: timedelta | None) -> datetime | None:
    """Build the datetime of a matched stamp; ``None`` when its fields name no real instant.

    Every field was matched as at most four digits (the fraction is cut to microseconds), so
    the conversions are cheap; the range checks are the datetime constructor's.
    """
    year, month, day, hour, minute, second = (int(f) for f in fields)
    micro = int((frac or "0").ljust(6, "0")[:6])
    try:
        naive = datetime(year, month, day, hour, minute, second, micro)
        return naive if offset is None else naive.replace(tzinfo=timezone(offset))
    except ValueError:  # month 0 or 13, day 32, hour 24, an offset of a day or more
        return None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a parser builds many acyclic objects.

    Results are trees of tuples and dataclasses without cycles; collections triggered by
    their allocation would only walk them again (and the rest of the heap) for nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def builder_twin(cls: type) -> Any:
    """Return a mutable class with the same slots as the frozen slots dataclass ``cls``.

    Parsers of very large tables fill an instance of the twin with plain attribute stores
    and then set its ``__class__`` to ``cls``: the result is an ordinary frozen ``cls``
    instance, built several times faster than through the frozen ``__init__`` (which pays an
    ``object.__setattr__`` call per field). Layouts are identical, so CPython allows the swap.
    """
    slots = cls.__dict__.get("__slots__")
    if not slots:
        raise TypeError(f"{cls.__name__} is not a slots dataclass")
    return type(f"_{cls.__name__}Builder", cls.__bases__, {"__slots__": tuple(slots), "__module__": cls.__module__})


def _facts(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            if f.metadata.get("facts") is False:
                continue
            out[f.name] = _facts(getattr(value, f.name))
        for name in getattr(value, "_derived_facts", ()):
            out[name] = _facts(getattr(value, name))
        return out
    if isinstance(value, tuple | list):
        return [_facts(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _facts(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class FactsMixin:
    """Gives a result dataclass ``to_dict()``: its JSON facts, field names unchanged.

    A class may name properties in ``_derived_facts`` (a class attribute) to have them
    included in ``to_dict()`` after the fields.
    """

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the parsed facts as plain JSON-ready data (datetimes as ISO 8601)."""
        result = _facts(self)
        assert isinstance(result, dict)
        return result


def at(text: str | None) -> datetime | None:
    """Return :func:`ios_datetime` of ``text``, or ``None`` when there is no text."""
    return ios_datetime(text) if text else None


def strip_echo(text: str) -> tuple[str, int]:
    """Normalise newlines and drop a leading command echo, for parsers that scan the whole text.

    Returns:
        The text and how many lines were removed before it (to number lines in errors).
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    skipped = 0
    pos = 0
    while True:
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        if line.strip():
            if _ECHO_RE.match(line) and not ASYNC_LOG_RE.match(line.strip()):
                return ("" if end < 0 else text[end + 1 :]), skipped + 1
            return text[pos:], skipped
        if end < 0:
            return "", skipped
        skipped += 1
        pos = end + 1
