"""Log messages a console prints among the CLI's output, and how the session sets them apart.

A router's console shows its log messages as they happen (``logging console``, on by default in
IOS). IOS's logger prints a message when the command that caused it has printed its output and
the next prompt, so most arrive after a prompt; one caused by something else (an IKE exchange, a
clock update) lands wherever the output is, on a line of its own. A driver that reads up to the
prompt must therefore (1) accept log messages after a prompt or a question (:data:`LOG_TAIL`),
(2) drop those that come before the next command's echo (:func:`log_prefix_length`), and (3) on a
console, drop those inside an output (:func:`drop_log_messages`), except in the commands whose
output *is* log messages (``show logging``: :func:`shows_log`). unicon avoids the question by
configuring ``no logging console`` at connect; pkilab's own console driver leaves the router's
configuration as it found it.
"""

from __future__ import annotations

import re

#: One log message as IOS prints it: an optional sequence number, an optional timestamp (``*``/``.``
#: mark an unauthoritative clock, a zone may follow), then ``%FACILITY-SEVERITY-MNEMONIC: text``.
LOG_LINE = r"(?:\d+: )?(?:[*.]?[A-Z][a-z]{2} +\d+ [\d:.]+(?: [A-Z]{2,5})?: )?%[A-Z][A-Z0-9_]*-\d-[A-Z0-9_]+:[^\n]*"
#: A message with the indented lines of one that spans several (``%PKI-6-CSR_FINGERPRINT:`` then
#: `` CSR Fingerprint MD5 : …``).
LOG_MESSAGE = LOG_LINE + r"(?:\n [^\n]*)*"
#: Log messages after a prompt or a question, for patterns that must match at the end of the
#: output. Whole lines only: the rest of a line is on its way.
LOG_TAIL = r"(?:\n+" + LOG_MESSAGE + r"(?=\n))*\s*"
_LOG_BLOCK_RE = re.compile(r"(?:[ \t]*\n)*(?:" + LOG_MESSAGE + r"(?:[ \t]*\n)+)*")
# Inside an output only single-line messages are taken: an indented line after one may be output.
_INSIDE_RE = re.compile(r"(?:\n[ \t]*)?\n" + LOG_LINE + r"(?=\n|$)|^" + LOG_LINE + r"(?:\n|$)")


def log_prefix_length(text: str) -> int:
    """How many characters at the start of ``text`` are log messages and blank lines (whole lines)."""
    m = _LOG_BLOCK_RE.match(text)
    return m.end() if m else 0


def drop_log_messages(output: str) -> str:
    """``output`` without the single-line log messages printed into it (and the newline before each)."""
    return _INSIDE_RE.sub("", output)


def shows_log(command: str) -> bool:
    """True for ``show logging`` (any abbreviation IOS takes): its output is log messages."""
    words = command.lower().split()
    return (
        len(words) >= 2
        and len(words[0]) >= 2
        and "show".startswith(words[0])
        and len(words[1]) >= 3
        and "logging".startswith(words[1])
    )
