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

#: What comes before ``%`` in a log message as IOS prints it: an optional sequence number, an optional
#: timestamp (``*``/``.`` mark an unauthoritative clock, a zone may follow).
_STAMP = r"(?:\d+: )?(?:[*.]?[A-Z][a-z]{2} +\d+ [\d:.]+(?: [A-Z]{2,5})?: )?"
_HEAD = _STAMP + r"%[A-Z][A-Z0-9_]*-\d-[A-Z0-9_]+:"
#: One log message line: ``%FACILITY-SEVERITY-MNEMONIC: text``.
LOG_LINE = _HEAD + r"[^\n]*"
#: The messages IOS continues on the lines after the first, and what those lines look like (the
#: simulator prints these three: lib/pkilab/sim/boot.py, lib/pkilab/sim/features/enroll.py).
CONTINUED: dict[str, str] = {
    "PKI-6-CSR_FINGERPRINT": r"(?:\n [^\n]*)+",  # " CSR Fingerprint MD5 : …", " CSR Fingerprint SHA1: …"
    "PKI-3-CRL_FETCH_FAIL": r"(?:\n [^\n]*)?",  # " Reason : …"
    "SYS-5-RESTART": r"\nCisco IOS[^\n]*(?:\n(?:Technical Support|Copyright|Compiled)[^\n]*)*",  # the version
}
_KNOWN = "|".join(f"%{name}:[^\\n]*{lines}" for name, lines in CONTINUED.items())
#: A whole message: a known multi-line one, or any one with the indented lines after it (where
#: nothing but log messages can be, after a prompt or before an echo).
LOG_MESSAGE = r"(?:" + _STAMP + r"(?:" + _KNOWN + r")|" + LOG_LINE + r"(?:\n [^\n]*)*)"
#: Log messages after a prompt or a question, for patterns that must match at the end of the
#: output. Whole lines only: the rest of a line is on its way.
LOG_TAIL = r"(?:\n+" + LOG_MESSAGE + r"(?=\n))*\s*"
_LOG_BLOCK_RE = re.compile(r"(?:[ \t]*\n)*(?:" + LOG_MESSAGE + r"(?:[ \t]*\n)+)*")
# Inside an output only the known multi-line messages take the lines after them: an indented line
# after another message may be output (a certificate's fields).
_INSIDE = r"(?:" + _STAMP + r"(?:" + _KNOWN + r")|" + LOG_LINE + r")"
_INSIDE_RE = re.compile(r"(?:\n[ \t]*)?\n" + _INSIDE + r"(?=\n|$)|^" + _INSIDE + r"(?:\n|$)")


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
