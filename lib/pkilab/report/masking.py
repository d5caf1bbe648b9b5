"""Building the :class:`pkilab.secrets.Masker` the report layer passes every text through.

The plugin masks transcripts before they reach JUnit; the report layer masks again, because a
report may be rendered from a JUnit file written by another tool, an older pkilab or a
hand-edited run. The secrets it knows are those of the testbed files it is given; the IOS
patterns of :mod:`pkilab.secrets` apply in every case.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from pkilab.secrets import Masker, is_secret_field
from pkilab.yamlsafe import load_file

# Testbed keys whose values (and everything below them) are secrets are recognised by the words
# of their names (pkilab.secrets.is_secret_field): pyATS credentials (password, enable secret),
# and the PKI/VPN values a testbed may carry in its `custom` sections (PSKs, key-export
# passphrases, enrollment challenge passwords). `bypass` or `compass` are no secret fields.
_ENV_MARKUP = re.compile(r"%ENV\{(\w+)\}")
_ENC_MARKUP = re.compile(r"%ENC\{([^}]*)\}")


def secrets_in_testbed(path: Path) -> frozenset[str]:
    """Return every secret value found in the testbed file at ``path``.

    Raises:
        TestbedError: the file cannot be read or is not YAML.
    """
    data = load_file(path)  # bounded: a YAML bomb or deep nesting is refused before the walk below
    found: set[str] = set()
    _collect(data, secret=False, found=found)
    return frozenset(found)


def _collect(node: object, secret: bool, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _collect(value, secret or is_secret_field(str(key)), found)
    elif isinstance(node, list):
        for item in node:
            _collect(item, secret, found)
    elif secret and isinstance(node, str | int) and not isinstance(node, bool):
        # A numeric password is a password too: YAML reads `password: 1234` as an int.
        found.add(str(node))
        if isinstance(node, str):
            found.update(_resolve_markup(node))


def _resolve_markup(value: str) -> set[str]:
    """Return the values pyATS markup in ``value`` stands for (``%ENV{VAR}``, ``%ENC{…}``).

    The device sees (and a transcript may echo) the resolved value, not the markup.
    """
    resolved = {os.environ[name] for name in _ENV_MARKUP.findall(value) if os.environ.get(name)}
    for encoded in _ENC_MARKUP.findall(value):
        try:
            from pyats.utils.secret_strings import SecretString, to_plaintext

            resolved.add(str(to_plaintext(SecretString(encoded))))
        except Exception:  # a value the pyATS secret key cannot decode: nothing to add
            pass
    return resolved


def build_masker(testbeds: Iterable[Path] = (), secrets: Iterable[str] = ()) -> Masker:
    """Return a masker knowing the secrets of ``testbeds`` plus ``secrets``.

    Raises:
        TestbedError: a testbed file cannot be read or is not YAML.
    """
    masker = Masker(secrets)
    for path in testbeds:
        for value in secrets_in_testbed(path):
            masker.add(value)
    return masker
