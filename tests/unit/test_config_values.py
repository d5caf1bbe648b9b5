"""Values checked before they become IOS configuration lines: a trailing newline is refused too.

A ``^...$`` pattern tried with ``re.match`` lets a value end in a newline (``$`` matches before a
final ``\\n``): "secret\\n" would have ended its configuration line early and typed what followed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pkilab.config import values
from pkilab.errors import ConfigValueError


@pytest.mark.parametrize(
    ("check", "good"),
    [
        (values.word, "pkilab-psk"),
        (values.hostname, "ca.example.com"),
        (values.url, "http://10.59.138.12:80/cgi-bin"),
        (values.dn, "CN = ese-ios-ca, OU = lab"),
    ],
    ids=["word", "hostname", "url", "dn"],
)
def test_a_value_ending_in_a_newline_is_refused(check: Callable[[str, str], str], good: str) -> None:
    assert check(good, "field") == good
    for bad in (good + "\n", good + "\r", good + "\nend"):
        with pytest.raises(ConfigValueError, match=r"^field: "):
            check(bad, "field")


def test_a_secret_is_masked_in_the_refusal() -> None:
    with pytest.raises(ConfigValueError) as info:
        values.word("hunter2\n", "crypto.psk", secret=True)
    assert "hunter2" not in str(info.value) and "********" in str(info.value)
