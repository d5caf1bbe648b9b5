"""Masking of secrets in transcripts, logs and reports.

A secret is masked because of where it stands (its field), or because it is a value pkilab
knows:

* **IOS fields**: the token IOS syntax puts a secret in — ``crypto isakmp key K address A``,
  ``pre-shared-key … key K``, ``enable secret S``, ``username U secret S``, a line or trustpoint
  ``password P``, the passphrase of ``crypto key export|import`` and ``crypto pki export``,
  ``pkcs12 … password P``, ``user:password@`` in URLs, the one-time password ``password
  generate`` prints, a ``Password:`` answer echoed by a careless client;
* **named fields** in Python and YAML text (failure tracebacks, reprs, testbed excerpts): the
  quoted value given to a name that says secret — ``PASSPHRASE = "…"``, ``psk='…'``,
  ``'challenge_password': '…'``, ``password: …`` (see :func:`is_secret_field`);
* **known values**: testbed passwords and enable secrets, and every PSK, passphrase and
  challenge or one-time password a procedure sends (registered on a :class:`Masker`), masked
  wherever they stand as a whole token (not inside a longer word).

Words around a secret are left alone: "a valid one-time password is granted" keeps "granted".
Every text pkilab writes (transcripts, JUnit, results, HTML/Markdown reports) goes through
:meth:`Masker.mask`.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable

MASK = "********"

# Secrets are at least this long to be masked by value: masking "1" or "a" everywhere would
# destroy the transcript while protecting nothing.
_MIN_SECRET_LEN = 3

# Words that make a field name secret (a part of the name: `key_export_passphrase`, `PSK`,
# `challengePassword`), and part sequences that do (`isakmp_key`, `pre_shared_key`).
_SECRET_WORDS = frozenset(
    {"password", "passwords", "passwd", "pass", "passphrase", "secret", "secrets", "psk", "challenge", "otp"}
)
_SECRET_PHRASES = (("isakmp", "key"), ("pre", "shared"), ("preshared",), ("private", "key"))
_NAME_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

# Where a line of IOS text starts: the line itself, or after the prompt it was typed at.
_LINE = r"^[ \t]*(?:[\w.\-]+(?:\([\w.\-]+\))?[#>][ \t]*)?(?:no[ \t]+)?"
_END = r"[ \t]*$"  # the secret is the last word of its line

# (pattern, group holding the secret). Patterns match IOS command lines and device output.
_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(p, re.IGNORECASE | re.MULTILINE), g)
    for p, g in (
        # crypto isakmp key [0|6] KEY address A [MASK] | hostname H
        (r"(\bcrypto\s+isakmp\s+key\s+(?:[0-7]\s+)?)(\S+)(?=\s+(?:address|hostname)\b|" + _END + ")", 2),
        # keyrings: pre-shared-key [address A [MASK] key | hostname H key | local | remote] [0|6] KEY
        (
            r"(\bpre-shared-key\s+(?:(?:address|hostname)\s+\S+\s+(?:\S+\s+)?key\s+|(?:local|remote)\s+)?"
            r"(?:[0-7]\s+)?)(\S+)(?=" + _END + ")",
            2,
        ),
        # enable secret|password [level N] [0|5|7|8|9] SECRET
        (_LINE + r"(enable\s+(?:secret|password)\s+(?:level\s+\d+\s+)?(?:[0-9]\s+)?)(\S+)(?=" + _END + ")", 2),
        # username U [privilege N] secret|password [0|5|7|8|9] SECRET
        (
            _LINE
            + r"(username\s+\S+\s+(?:privilege\s+\d+\s+)?(?:secret|password)\s+(?:[0-9]\s+)?)(\S+)(?="
            + _END
            + ")",
            2,
        ),
        # line or trustpoint `password [0|7] P` (a challenge password kept in the configuration)
        (_LINE + r"(password\s+(?:[0-7]\s+)?)(\S+)(?=" + _END + ")", 2),
        # crypto key export rsa L pem {terminal|url U} {3des|des} PASSPHRASE
        (r"(\bcrypto\s+key\s+export\s+rsa\s+\S+\s+pem\s+(?:terminal|url\s+\S+)\s+(?:3des|des|aes)\s+)(\S+)", 2),
        # crypto key import rsa L [usage-keys|general-purpose] pem {terminal|url U} PASSPHRASE
        (r"(\bcrypto\s+key\s+import\s+rsa\s+\S+\s+(?:\S+\s+)*?pem\s+(?:terminal|url\s+\S+)\s+)(\S+)", 2),
        # crypto {ca|pki} export TP pem {terminal|url U} {3des|des} PASSPHRASE
        (r"(\bcrypto\s+(?:ca|pki)\s+export\s+\S+\s+pem\s+(?:terminal|url\s+\S+)\s+(?:3des|des|aes)\s+)(\S+)", 2),
        # crypto {ca|pki} {export|import} TP pkcs12 URL password P
        (r"(\bpkcs12\s+\S+\s+password\s+)(\S+)", 2),
        # user:password@ in URLs (copy ftp://user:pass@host/…, database url …)
        (r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(?=@)", 2),
        # `crypto pki server NAME password generate` prints the one-time password on its own line
        (
            r"(^[ \t]*%?[ \t]*(?:New[ \t]+)?One-time[ \t]+(?:enrollment[ \t]+)?password(?:[ \t]+for[ \t].*?)?:[ \t]*)"
            r"(\S+)",
            2,
        ),
        # a dialog's Password: / Re-enter password: answer, when a client echoes it
        (r"(^[ \t]*(?:Re-enter[ \t]+)?password:[ \t]*)(\S+)(?=" + _END + ")", 2),
    )
)

# Named fields: NAME = 'value' / NAME="value" (Python source, keyword arguments, reprs),
# 'NAME': 'value' (dict reprs, JSON), NAME: value (YAML, block or flow style).
_QUOTED = r"""(?P<q>['"])(?P<value>[^'"\n]*)(?P=q)"""
_NAMED = (
    re.compile(r"\b(?P<name>[A-Za-z_]\w*)\s*==?\s*" + _QUOTED),
    re.compile(r"""(?P<nq>['"])(?P<name>[A-Za-z_][\w-]*)(?P=nq)\s*:\s*""" + _QUOTED),
    re.compile(
        r"(?:^[ \t]*(?:-[ \t]+)?|[{,][ \t]*)(?P<name>[A-Za-z_][\w-]*):[ \t]+"
        r"""(?P<q>['"]?)(?P<value>[^'"\s#,{}]+)(?P=q)(?=[ \t]*(?:$|[,}#]))""",
        re.MULTILINE,
    ),
)
# YAML words that are no secret whatever the field is called (`secret_shown: false`).
_NOT_VALUES = frozenset({"true", "false", "yes", "no", "on", "off", "null", "none", "~"})


def is_secret_field(name: str) -> bool:
    """Return whether a field called ``name`` holds a secret (by the words of its name).

    ``password``, ``enable_password``, ``key_export_passphrase``, ``PSK``, ``isakmp_key``,
    ``challengePassword`` and ``one_time_password`` do; ``bypass``, ``compass``, ``message``,
    ``key_label`` and ``passive`` do not.
    """
    parts = tuple(p.lower() for p in _NAME_PARTS.findall(name))
    if _SECRET_WORDS.intersection(parts):
        return True
    return any(parts[i : i + len(phrase)] == phrase for phrase in _SECRET_PHRASES for i in range(len(parts)))


class Masker:
    """Replaces known secrets and secret fields with :data:`MASK`.

    Thread-safe: procedures may register a challenge password while a reporter masks.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._regex: re.Pattern[str] | None = None
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        """Register a secret value to be masked wherever it stands as a whole token."""
        if not secret or len(secret) < _MIN_SECRET_LEN or secret == MASK:
            return
        with self._lock:
            if secret not in self._secrets:
                self._secrets.add(secret)
                self._regex = None

    def secrets(self) -> frozenset[str]:
        """Return the registered secret values (for tests that search reports for leaks)."""
        with self._lock:
            return frozenset(self._secrets)

    def _value_regex(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._regex is None and self._secrets:
                # Longest first so a secret that contains another is masked whole; not inside a
                # longer word ("ant" must not eat "granted"), but next to punctuation ('x', :x@).
                alternatives = "|".join(re.escape(s) for s in sorted(self._secrets, key=len, reverse=True))
                self._regex = re.compile(f"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")
            return self._regex

    def mask(self, text: str) -> str:
        """Return ``text`` with every registered secret and every secret field masked."""
        if not text:
            return text
        regex = self._value_regex()
        if regex is not None:
            text = regex.sub(MASK, text)
        return mask_fields(text)


def mask_fields(text: str) -> str:
    """Mask secrets recognised by their field: IOS syntax and secret-named fields (no values needed)."""
    for pattern, group in _PATTERNS:
        text = pattern.sub(functools.partial(_replace_group, group=group), text)
    for named in _NAMED:
        text = named.sub(_replace_named, text)
    return text


def _replace_group(match: re.Match[str], group: int) -> str:
    start, end = match.span(group)
    whole_start = match.start(0)
    s = match.group(0)
    if match.group(group) == MASK:
        return s
    return s[: start - whole_start] + MASK + s[end - whole_start :]


def _replace_named(match: re.Match[str]) -> str:
    value = match.group("value")
    if not value or value == MASK or value.lower() in _NOT_VALUES or not is_secret_field(match.group("name")):
        return match.group(0)
    return _replace_group(match, match.re.groupindex["value"])


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask ``text`` with a one-off :class:`Masker` over ``secrets``."""
    return Masker(secrets).mask(text)
