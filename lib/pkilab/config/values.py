"""Values checked before they become IOS configuration lines.

A value that could inject a second command (newline, carriage return, ``|`` filters, control
characters) or break the line's syntax is refused with :class:`ConfigValueError` naming the
field and the value (masked when it is a secret).
"""

from __future__ import annotations

import ipaddress
import re

from pkilab.errors import ConfigValueError

_WORD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:/#+=\-]*$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9\-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,62}))*$")
_URL_RE = re.compile(r"^(https?|tftp|ftp)://[A-Za-z0-9._\-:@]+(/[A-Za-z0-9._\-/#%~]*)?$")
_DN_RE = re.compile(r"^[A-Za-z]+ ?= ?[^,=\x00-\x1f|]+( ?, ?[A-Za-z]+ ?= ?[^,=\x00-\x1f|]+)*$")


def _refuse(field: str, value: str, why: str, secret: bool) -> ConfigValueError:
    shown = "********" if secret else repr(value)
    return ConfigValueError(f"{field}: {shown} {why}")


def word(value: str, field: str, secret: bool = False, max_len: int = 128) -> str:
    """A single IOS token: no spaces, no control characters, no ``|``."""
    if not isinstance(value, str) or not value:
        raise _refuse(field, str(value), "must be a non-empty string", secret)
    if len(value) > max_len:
        raise _refuse(field, value, f"is longer than {max_len} characters", secret)
    if not _WORD_RE.fullmatch(value):
        raise _refuse(
            field, value, "must be one word of letters, digits and ._@:/#+=- (no spaces, newlines or '|')", secret
        )
    return value


def hostname(value: str, field: str) -> str:
    """A host name or FQDN."""
    if not _HOST_RE.fullmatch(value or ""):
        raise _refuse(field, value, "is not a host name", False)
    return value


def ipv4(value: str, field: str) -> str:
    """A dotted IPv4 address."""
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise _refuse(field, str(value), "is not an IPv4 address", False) from None


def integer(value: int, field: str, lo: int, hi: int) -> int:
    """An integer within IOS's range (the range is the command's, e.g. lifetime crl 1-336)."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _refuse(field, str(value), f"must be an integer {lo}-{hi}", False)
    return value


def url(value: str, field: str) -> str:
    """An http/https/tftp/ftp URL without spaces."""
    if not _URL_RE.fullmatch(value or ""):
        raise _refuse(field, value, "is not a URL IOS accepts (http://, tftp://, ftp://, no spaces)", False)
    return value


def dn(value: str, field: str) -> str:
    """An IOS distinguished name as typed after ``issuer-name``: ``CN = x, OU = y``."""
    if not _DN_RE.fullmatch(value or "") or "\n" in value or "\r" in value:
        raise _refuse(field, value, "is not a distinguished name like 'CN = ese-ios-ca, OU = ESE'", False)
    return value


def choice(value: str, field: str, options: tuple[str, ...]) -> str:
    """One of a fixed set of keywords."""
    if value not in options:
        raise _refuse(field, str(value), f"must be one of {', '.join(options)}", False)
    return value
