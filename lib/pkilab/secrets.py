"""Masking of secrets in transcripts, logs and reports.

Two sources of secrets are combined:

* values known to pkilab (testbed passwords, enable secrets, PSKs, passphrases and challenge
  passwords that procedures send) — registered on a :class:`Masker`;
* values found in IOS text by pattern (``crypto isakmp key K address``, ``enable secret``,
  ``username U secret S``, ``crypto key export … 3des PASS``, the one-time password printed by
  ``crypto pki server NAME password generate`` …), so that a secret typed by hand or shown by
  the device is masked even when nobody registered it.

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

# (pattern, group holding the secret). Patterns match IOS command lines and device output.
_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(p, re.IGNORECASE | re.MULTILINE), g)
    for p, g in (
        # crypto isakmp key KEY address A [MASK] / hostname H
        (r"(\bcrypto\s+isakmp\s+key\s+(?:[0-7]\s+)?)(\S+)", 2),
        # pre-shared-key [0|6] KEY (keyrings)
        (r"(\bpre-shared-key\s+(?:address\s+\S+\s+(?:\S+\s+)?key\s+)?(?:[0-7]\s+)?)(\S+)", 2),
        # enable secret/password [level N] [0|5|8|9] SECRET
        (r"(\benable\s+(?:secret|password)\s+(?:level\s+\d+\s+)?(?:[0-9]\s+)?)(\S+)", 2),
        # username U [privilege N] secret|password [0|5|7|8|9] SECRET
        (r"(\busername\s+\S+\s+(?:privilege\s+\d+\s+)?(?:secret|password)\s+(?:[0-9]\s+)?)(\S+)", 2),
        # line password; trustpoint `password` (challenge password kept in the config)
        (r"(^\s*password\s+(?:[0-7]\s+)?)(\S+)", 2),
        # crypto key export rsa L pem {terminal|url U} {3des|des} PASSPHRASE
        (r"(\bcrypto\s+key\s+export\s+rsa\s+\S+\s+pem\s+(?:terminal|url\s+\S+)\s+(?:3des|des)\s+)(\S+)", 2),
        # crypto key import rsa L pem [usage-keys] {terminal|url U} PASSPHRASE
        (r"(\bcrypto\s+key\s+import\s+rsa\s+\S+\s+(?:\S+\s+)*?pem\s+(?:terminal|url\s+\S+)\s+)(\S+)", 2),
        # crypto {ca|pki} export TP pem terminal {3des|des} PASSPHRASE / pkcs12 URL password P
        (r"(\bcrypto\s+(?:ca|pki)\s+export\s+\S+\s+pem\s+(?:terminal|url\s+\S+)\s+(?:3des|des)\s+)(\S+)", 2),
        (r"(\bpkcs12\s+\S+\s+password\s+)(\S+)", 2),
        # user:password@ in URLs (copy ftp://user:pass@host/…, database url …)
        (r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(?=@)", 2),
        # IOS prints the generated one-time enrollment password on its own line
        (r"(^\s*%\s*New\s+(?:one-time\s+)?password\s+for\s+.*?:\s*)(\S+)", 2),
        (r"(\bOne[- ]time\s+(?:enrollment\s+)?password\s*(?:is|:)\s*)(\S+)", 2),
    )
)


class Masker:
    """Replaces known secrets and secret-looking IOS fields with :data:`MASK`.

    Thread-safe: procedures may register a challenge password while a reporter masks.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._regex: re.Pattern[str] | None = None
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        """Register a secret value to be masked wherever it appears."""
        if not secret or len(secret) < _MIN_SECRET_LEN:
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
                # Longest first so a secret that contains another is masked whole.
                alternatives = sorted(self._secrets, key=len, reverse=True)
                self._regex = re.compile("|".join(re.escape(s) for s in alternatives))
            return self._regex

    def mask(self, text: str) -> str:
        """Return ``text`` with every registered secret and every secret field masked."""
        if not text:
            return text
        regex = self._value_regex()
        if regex is not None:
            text = regex.sub(MASK, text)
        return mask_patterns(text)


def mask_patterns(text: str) -> str:
    """Mask secrets recognised by their IOS context (no registered values needed)."""
    for pattern, group in _PATTERNS:
        text = pattern.sub(functools.partial(_replace_group, group=group), text)
    return text


def _replace_group(match: re.Match[str], group: int) -> str:
    start, end = match.span(group)
    whole_start = match.start(0)
    s = match.group(0)
    if match.group(group) == MASK:
        return s
    return s[: start - whole_start] + MASK + s[end - whole_start :]


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask ``text`` with a one-off :class:`Masker` over ``secrets``."""
    return Masker(secrets).mask(text)
