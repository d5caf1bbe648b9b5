"""``show logging``: the settings header and the buffered messages.

The header (everything up to ``Log Buffer (N bytes):``) varies with every release; it is
kept line by line in ``header`` and the facts pkilab needs are read from it. In the buffer a
message starts with a time stamp and/or ``%FACILITY-SEVERITY-MNEMONIC:``; a line that does
not is the continuation of the message above it (IOS wraps long messages, with or without
indentation) and is appended to its text. Console captures (``terminal monitor``) have no
header and are read the same way; prompt lines typed between messages are kept apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pkilab.parsers._base import DIGITS, FactsMixin, at, clean_lines, to_int

__all__ = ["LogMessage", "Logging", "parse_logging"]


@dataclass(frozen=True, slots=True)
class LogMessage(FactsMixin):
    """One buffered message.

    Attributes:
        facility: ``CRYPTO``, ``PKI``…; ``None`` for a time-stamped line with no ``%`` tag (debug).
        severity: 0-7, ``None`` when there is no tag.
        mnemonic: ``IKMP_INVAL_CERT``…
        text: The message text, continuation lines joined with one space.
        timestamp: The stamp as printed, without the ``*``/``.`` marker.
        marker: ``*`` (clock not authoritative), ``.`` (not synchronised) or ``""``.
        sequence: The sequence number prefix (``000123:``) if printed.
        host: The origin host of the remote-syslog form (``…: host %FAC-…``).
        lines: The message as printed, one entry per printed line.
    """

    facility: str | None
    severity: int | None
    mnemonic: str | None
    text: str
    timestamp: str | None
    marker: str
    sequence: int | None
    host: str | None
    lines: tuple[str, ...]

    @property
    def tag(self) -> str | None:
        """``%CRYPTO-5-IKMP_INVAL_CERT`` style tag, or ``None``."""
        if self.facility is None:
            return None
        return f"%{self.facility}-{self.severity}-{self.mnemonic}"

    @property
    def timestamp_at(self) -> datetime | None:
        """The time stamp as a datetime when it carries a year (IOS often omits it)."""
        return at(self.timestamp)


@dataclass(frozen=True, slots=True)
class Logging(FactsMixin):
    """``show logging``.

    Attributes:
        messages: Buffered messages, oldest first.
        header: The settings header lines (before ``Log Buffer``), as printed.
        syslog_enabled: From ``Syslog logging: enabled|disabled``.
        buffer_level: From ``Buffer logging: level X``.
        buffer_size: From ``Log Buffer (N bytes):``.
        leading: Buffer lines before the first message (the oldest message cut by the ring buffer).
        prompts: Prompt lines found among console messages.
        untagged: Buffer entries with no ``%FAC-SEV-MNEMONIC`` tag (debug output), in order.
    """

    messages: tuple[LogMessage, ...]
    header: tuple[str, ...]
    syslog_enabled: bool | None
    buffer_level: str | None
    buffer_size: int | None
    leading: tuple[str, ...]
    prompts: tuple[str, ...]
    untagged: tuple[LogMessage, ...] = ()

    def find(self, mnemonic: str) -> tuple[LogMessage, ...]:
        """Return the messages whose mnemonic (or ``FAC-SEV-MNEMONIC`` tag) contains ``mnemonic``."""
        return tuple(m for m in self.messages if m.tag and mnemonic in m.tag)


_STAMP = (
    r"(?:[A-Z][a-z]{2}\s+\d{1,2}(?:\s+\d{4})?\s+\d{1,2}:\d\d:\d\d(?:\.\d+)?(?:\s+[A-Za-z]{2,5})?"
    r"|\d+[wdyh]\d+[dh]|\d{1,2}:\d\d:\d\d(?:\.\d+)?)"
)
_MESSAGE = re.compile(
    rf"^(?:<\d+>)?(?:({DIGITS}):\s*)?(?:([*.]?)({_STAMP}):\s*)?(?:(\S+)\s+)??"
    r"%([A-Z][A-Z0-9_]*)-([0-9])-([A-Z0-9_]+)\s*:?\s?(.*)$"
)
_STAMPED = re.compile(rf"^(?:({DIGITS}):\s*)?([*.]?)({_STAMP}):\s?(.*)$")
# An untimestamped debug line (``ISAKMP: (0):…``, ``CRYPTO_PKI: …``, ``IPSEC(validate…):``).
_DEBUG = re.compile(r"^([A-Z][A-Z0-9_-]{2,})(?:\([^)]*\))?:\s*(.*)$")
_PROMPT = re.compile(r"^[\w.-]+(?:\([\w-]+\))?[#>]\s?\S*.*$")
_BUFFER = re.compile(rf"^Log Buffer \(({DIGITS}) bytes\):?$")


def parse_logging(text: str) -> Logging:
    """Parse ``show logging`` (any release) or a console capture of log messages.

    Never raises on buffer text: a line that does not start a message continues the one
    above it, or is kept in ``leading`` before the first message.
    """
    lines, _ = clean_lines(text, keep_async_log=True)
    has_header = any(_BUFFER.match(ln.text.strip()) for ln in lines)
    header: list[str] = []
    messages: list[list[str]] = []
    parsed: list[LogMessage] = []
    leading: list[str] = []
    prompts: list[str] = []
    buffer_size = None
    in_buffer = not has_header
    for ln in lines:
        s = ln.text.strip()
        if not in_buffer:
            if m := _BUFFER.match(s):
                buffer_size = to_int(m.group(1))
                in_buffer = True
            elif s:
                header.append(ln.text)
            continue
        if not s:
            continue
        msg = _start(s)
        if msg is not None:
            parsed.append(msg)
            messages.append([ln.text])
        elif _PROMPT.match(s) and ("#" in s or ">" in s) and " " not in s.split("#")[0].split(">")[0]:
            prompts.append(s)
        elif parsed:
            messages[-1].append(ln.text)
        else:
            leading.append(s)
    final = [_joined(m, printed) for m, printed in zip(parsed, messages, strict=True)]
    return Logging(
        tuple(m for m in final if m.facility is not None),
        tuple(header),
        _syslog_enabled(header),
        _buffer_level(header),
        buffer_size,
        tuple(leading),
        tuple(prompts),
        tuple(m for m in final if m.facility is None),
    )


def _start(s: str) -> LogMessage | None:
    m = _MESSAGE.match(s)
    if m is not None:
        seq, marker, stamp, host, fac, sev, mnem, rest = m.groups()
        return LogMessage(fac, to_int(sev), mnem, rest.strip(), stamp, marker or "", to_int(seq), host, ())
    m = _STAMPED.match(s)
    if m is not None:
        seq, marker, stamp, rest = m.groups()
        return LogMessage(None, None, None, rest.strip(), stamp, marker or "", to_int(seq), None, ())
    if _DEBUG.match(s):
        return LogMessage(None, None, None, s, None, "", None, None, ())
    return None


def _joined(msg: LogMessage, printed: list[str]) -> LogMessage:
    extra = [p.strip() for p in printed[1:]]
    text = " ".join([msg.text, *extra]).strip() if extra else msg.text
    return LogMessage(
        msg.facility,
        msg.severity,
        msg.mnemonic,
        text,
        msg.timestamp,
        msg.marker,
        msg.sequence,
        msg.host,
        tuple(p.rstrip() for p in printed),
    )


def _syslog_enabled(header: list[str]) -> bool | None:
    for h in header:
        m = re.match(r"^\s*Syslog logging:\s*(enabled|disabled)", h)
        if m:
            return m.group(1) == "enabled"
    return None


def _buffer_level(header: list[str]) -> str | None:
    for h in header:
        m = re.match(r"^\s*Buffer logging:\s*(?:level\s+(\w+)|(disabled))", h)
        if m:
            return m.group(1) or m.group(2)
    return None
