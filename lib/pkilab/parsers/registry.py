"""Map a command as typed to its reader: the parsers' registration against the command catalog.

:data:`READERS` names, for each catalog command whose output pkilab reads, the function that reads
it; the command's syntax, modes and abbreviations are the catalog's (:mod:`pkilab.catalog`), so a
command as typed is matched exactly as a simulated router matches it: each keyword may be
abbreviated to any prefix unique among the keywords possible at its place (``sh cry isa sa
det``), a prefix of several is refused as IOS refuses it (:class:`AmbiguousCommandError`),
``crypto ca`` is the old spelling of ``crypto pki``, and an output filter (``| include …``) is
ignored. A leading prompt (``R1#``) and ``do`` are taken off first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pkilab import catalog
from pkilab.catalog import Command, NoMatch
from pkilab.errors import ParseError, UserError
from pkilab.parsers import (
    certificates,
    engine,
    exec_dialogs,
    ipsec,
    isakmp,
    keys,
    server,
    session,
    syslog,
    system,
    trustpoints,
)

__all__ = [
    "READERS",
    "AmbiguousCommandError",
    "UnknownCommandError",
    "match_command",
    "parse",
    "parse_as",
    "parser_for",
]

T = TypeVar("T")

#: The reader of each catalog command whose output pkilab reads (its return type is the result).
READERS: Mapping[Command, Callable[[str], Any]] = {
    catalog.SHOW_CRYPTO_ISAKMP_SA: isakmp.parse_isakmp_sa,
    catalog.SHOW_CRYPTO_ISAKMP_SA_DETAIL: isakmp.parse_isakmp_sa_detail,
    catalog.SHOW_CRYPTO_IPSEC_SA: ipsec.parse_ipsec_sa,
    catalog.SHOW_CRYPTO_ENGINE_CONNECTIONS: engine.parse_engine_connections,
    catalog.SHOW_CRYPTO_SESSION: session.parse_crypto_session,
    catalog.SHOW_CRYPTO_ELI: engine.parse_crypto_eli,
    catalog.SHOW_CRYPTO_PKI_CERTIFICATES: certificates.parse_certificates,
    catalog.SHOW_CRYPTO_PKI_TRUSTPOINTS: trustpoints.parse_trustpoints,
    catalog.SHOW_CRYPTO_PKI_TRUSTPOINTS_STATUS: trustpoints.parse_trustpoints_status,
    catalog.SHOW_CRYPTO_PKI_SERVER: server.parse_pki_server,
    catalog.SHOW_CRYPTO_PKI_SERVER_REQUESTS: server.parse_server_requests,
    catalog.SHOW_CRYPTO_PKI_SERVER_CRL: server.parse_server_crl,
    catalog.SHOW_CRYPTO_PKI_SERVER_CERTIFICATES: server.parse_server_certificates,
    catalog.SHOW_CRYPTO_PKI_CRLS: server.parse_crls,
    catalog.SHOW_CRYPTO_PKI_TIMERS: server.parse_pki_timers,
    catalog.SHOW_CRYPTO_KEY_MYPUBKEY: keys.parse_mypubkey,
    catalog.SHOW_CLOCK: system.parse_clock,
    catalog.SHOW_NTP_STATUS: system.parse_ntp_status,
    catalog.SHOW_NTP_ASSOCIATIONS: system.parse_ntp_associations,
    catalog.SHOW_NTP_ASSOCIATIONS_DETAIL: system.parse_ntp_associations,
    catalog.SHOW_LOGGING: syslog.parse_logging,
    catalog.DIR: system.parse_dir,
    catalog.MORE: system.parse_more_cnm,
    catalog.SHOW_VERSION: system.parse_version,
    catalog.SHOW_IP_INTERFACE_BRIEF: system.parse_ip_interface_brief,
    catalog.PING: exec_dialogs.parse_ping,
    catalog.CRYPTO_PKI_SERVER_REQUEST_PKCS10: exec_dialogs.parse_request_pkcs10,
    catalog.CRYPTO_PKI_SERVER_GRANT: exec_dialogs.parse_grant,
    catalog.CRYPTO_PKI_AUTHENTICATE: exec_dialogs.parse_authenticate,
    catalog.CRYPTO_PKI_ENROLL: exec_dialogs.parse_enroll,
    catalog.CRYPTO_PKI_IMPORT: exec_dialogs.parse_import,
}

_PROMPT_RE = re.compile(r"^[\w.-]+(?:\([\w-]+\))?[#>]")


class UnknownCommandError(UserError, LookupError):
    """No parser exists for the command (or its abbreviation is ambiguous)."""


class AmbiguousCommandError(UnknownCommandError):
    """A word of the command abbreviates more than one keyword IOS accepts there."""


def match_command(command: str) -> Command:
    """Return the catalog command ``command`` (as typed) is, when pkilab reads its output.

    Raises:
        AmbiguousCommandError: A word abbreviates several keywords at its place.
        UnknownCommandError: The command is not one pkilab reads.
    """
    head = command.split("|", 1)[0].strip()
    if m := _PROMPT_RE.match(head):  # a prompt pasted along
        head = head[m.end() :].strip()
    if re.match(r"(?i)do\s", head):  # an exec command typed in configuration mode
        head = head[2:].strip()
    if not head:
        raise UnknownCommandError("empty command")
    found = catalog.match("privileged", head)
    if isinstance(found, NoMatch):
        if found.kind == "ambiguous":
            word = found.text.split()[-1]
            hits = catalog.tree("privileged").help_at(found.text)
            keywords = ", ".join(k for k, _ in hits) if isinstance(hits, list) else ""
            raise AmbiguousCommandError(f'% Ambiguous command:  "{head}" ({word!r} matches {keywords})')
        raise UnknownCommandError(f"no parser for command {command!r} ({_why(found)})")
    if found.command not in READERS:
        raise UnknownCommandError(
            f"no parser for command {command!r} ({found.command.name} prints nothing pkilab reads)"
        )
    return found.command


def _why(found: NoMatch) -> str:
    if found.kind == "incomplete":
        return "incomplete command"
    return f"not an IOS command pkilab knows, at column {found.column + 1}"


def parser_for(command: str) -> Callable[[str], Any]:
    """Return the reader of ``command`` as typed (see :func:`match_command`)."""
    return READERS[match_command(command)]


def parse(command: str, text: str) -> Any:
    """Parse ``text``, the output of ``command`` as typed, into its frozen dataclass.

    Args:
        command: The command as typed; any unique abbreviation, ``crypto ca`` for
            ``crypto pki``, a trailing ``| filter`` ignored.
        text: What the router printed (a leading prompt/command echo line is tolerated).

    Raises:
        UnknownCommandError: No parser exists for the command.
        ParseError: A line of ``text`` was not understood (the error quotes it).
    """
    return parser_for(command)(text)


def parse_as(result: type[T], command: str, text: str) -> T:
    """:func:`parse`, typed: the parser of ``command`` must return a ``result``.

    The command's parser is still the registry's (one declaration per command); the caller states
    the type it expects and gets it checked, so typed code never handles ``Any``.

    Raises:
        UnknownCommandError: No parser exists for the command.
        ParseError: A line was not understood, or the command's parser reads another type.
    """
    value = parse(command, text)
    if not isinstance(value, result):
        raise ParseError(command, type(value).__name__, reason=f"read as another type than {result.__name__}")
    return value
