"""Map a command as typed to its parser.

A command is matched against the grammar below the way IOS reads it: each keyword may be
abbreviated to any prefix that is unique among the keywords IOS accepts at that position
(``sh cry isa sa det``; a prefix of several is refused as IOS refuses it, with
:class:`AmbiguousCommandError`), ``crypto ca`` is the old spelling of ``crypto pki``, and an
output filter (``| include …``, ``| begin …``) is ignored. Upper-case words in a pattern are
arguments (any one token); ``[…]`` is optional and ``{a|b}`` an alternative. :func:`commands`
returns the table.
"""

from __future__ import annotations

import importlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from pkilab.errors import ParseError, UserError

__all__ = [
    "AmbiguousCommandError",
    "UnknownCommandError",
    "commands",
    "match_command",
    "parse",
    "parse_as",
    "parser_for",
]

T = TypeVar("T")

# (pattern, "module:function"). Order matters only between patterns of equal specificity.
_GRAMMAR: tuple[tuple[str, str], ...] = (
    ("show crypto isakmp sa [{active|standby}]", "isakmp:parse_isakmp_sa"),
    ("show crypto isakmp sa detail", "isakmp:parse_isakmp_sa_detail"),
    ("show crypto isakmp sa {active|standby} detail", "isakmp:parse_isakmp_sa_detail"),
    ("show crypto ipsec sa [detail]", "ipsec:parse_ipsec_sa"),
    ("show crypto ipsec sa {peer|interface|address|map|vrf} ARG [detail]", "ipsec:parse_ipsec_sa"),
    ("show crypto ipsec sa ipv6 [{detail|detailed}]", "ipsec:parse_ipsec_sa"),
    ("show crypto engine connections [active]", "engine:parse_engine_connections"),
    ("show crypto session [detail]", "session:parse_crypto_session"),
    (
        "show crypto session {interface|local|remote|username|group|fvrf|ivrf} ARG [detail]",
        "session:parse_crypto_session",
    ),
    ("show crypto eli [{all|detail}]", "engine:parse_crypto_eli"),
    ("show crypto {pki|ca} certificates [{verbose|ARG}]", "certificates:parse_certificates"),
    ("show crypto {pki|ca} certificates ARG verbose", "certificates:parse_certificates"),
    ("show crypto {pki|ca} certificates verbose ARG", "certificates:parse_certificates"),
    ("show crypto {pki|ca} trustpoints [ARG]", "trustpoints:parse_trustpoints"),
    ("show crypto {pki|ca} trustpoints [ARG] status", "trustpoints:parse_trustpoints_status"),
    ("show crypto {pki|ca} server [ARG]", "server:parse_pki_server"),
    ("show crypto {pki|ca} server ARG requests", "server:parse_server_requests"),
    ("crypto {pki|ca} server ARG info requests", "server:parse_server_requests"),
    ("show crypto {pki|ca} server ARG crl", "server:parse_server_crl"),
    ("crypto {pki|ca} server ARG info crl", "server:parse_server_crl"),
    ("show crypto {pki|ca} server ARG certificates", "server:parse_server_certificates"),
    ("show crypto {pki|ca} crls", "server:parse_crls"),
    ("show crypto {pki|ca} timers [detail]", "server:parse_pki_timers"),
    ("show crypto {pki|ca} timer [detail]", "server:parse_pki_timers"),
    ("show crypto key mypubkey {rsa|ec|all} [ARG]", "keys:parse_mypubkey"),
    ("show clock [detail]", "system:parse_clock"),
    ("show ntp status", "system:parse_ntp_status"),
    ("show ntp associations [detail]", "system:parse_ntp_associations"),
    ("show logging", "syslog:parse_logging"),
    ("dir [ARG]", "system:parse_dir"),
    ("dir all-filesystems", "system:parse_dir"),
    ("more ARG", "system:parse_more_cnm"),
    ("show version", "system:parse_version"),
    ("show ip interface brief", "system:parse_ip_interface_brief"),
    ("ping" + " ARG" * 16, "exec_dialogs:parse_ping"),
    ("crypto {pki|ca} server ARG request pkcs10 ARG [ARG]", "exec_dialogs:parse_request_pkcs10"),
    ("crypto {pki|ca} server ARG grant ARG", "exec_dialogs:parse_grant"),
    ("crypto {pki|ca} authenticate ARG", "exec_dialogs:parse_authenticate"),
    ("crypto {pki|ca} enroll ARG", "exec_dialogs:parse_enroll"),
    ("crypto {pki|ca} import ARG certificate", "exec_dialogs:parse_import"),
)

# Keywords IOS also accepts at a position although pkilab has no parser for them: they make
# an abbreviation ambiguous exactly as on the router (``sh cry i`` is isakmp or ipsec…).
_SIBLINGS: dict[tuple[str, ...], tuple[str, ...]] = {
    (): (
        "show",
        "crypto",
        "dir",
        "more",
        "ping",
        "clear",
        "clock",
        "configure",
        "copy",
        "debug",
        "delete",
        "disable",
        "enable",
        "erase",
        "exit",
        "reload",
        "setup",
        "ssh",
        "telnet",
        "terminal",
        "traceroute",
        "undebug",
        "write",
    ),
    ("show",): (
        "crypto",
        "clock",
        "ntp",
        "logging",
        "version",
        "ip",
        "interfaces",
        "running-config",
        "startup-config",
        "cdp",
        "controllers",
        "debugging",
        "dhcp",
        "diag",
        "file",
        "flash:",
        "history",
        "hosts",
        "ipv6",
        "line",
        "license",
        "memory",
        "policy-map",
        "processes",
        "protocols",
        "route-map",
        "sessions",
        "snmp",
        "ssh",
        "tcp",
        "tech-support",
        "users",
        "vlans",
    ),
    ("show", "crypto"): (
        "isakmp",
        "ipsec",
        "engine",
        "session",
        "eli",
        "pki",
        "ca",
        "key",
        "ikev2",
        "map",
        "dynamic-map",
        "gdoi",
        "call",
        "ctcp",
        "debug-condition",
        "dmvpn",
        "ha",
        "identity",
        "mib",
        "route",
        "socket",
        "tech-support",
        "vpn",
    ),
    ("show", "crypto", "isakmp"): ("sa", "policy", "key", "peers", "profile", "default", "diagnose", "stats"),
    ("show", "crypto", "ipsec"): (
        "sa",
        "transform-set",
        "client",
        "security-association",
        "profile",
        "default",
        "policy",
        "spi-lookup",
    ),
    ("show", "crypto", "pki"): (
        "certificates",
        "trustpoints",
        "server",
        "crls",
        "timers",
        "trustpool",
        "counters",
        "sessions",
        "token",
        "benchmarks",
        "eject",
    ),
    ("show", "crypto", "key"): ("mypubkey", "pubkey-chain"),
    ("show", "ip"): (
        "interface",
        "route",
        "arp",
        "access-lists",
        "bgp",
        "cef",
        "dhcp",
        "eigrp",
        "http",
        "igmp",
        "nat",
        "ospf",
        "protocols",
        "sla",
        "ssh",
        "vrf",
    ),
    ("show", "ntp"): ("status", "associations", "config", "info", "packets"),
    ("crypto",): ("pki", "ca", "key", "isakmp", "ipsec", "engine", "ikev2", "map"),
    ("crypto", "pki"): (
        "server",
        "authenticate",
        "enroll",
        "import",
        "export",
        "cert",
        "crl",
        "trustpoint",
        "trustpool",
        "benchmark",
        "token",
    ),
}


# Folder names of the shared output corpus (``corpus/index.json`` "command") that are not a
# command once underscores become blanks.
_CORPUS_SLUGS = {
    "crypto_pki_server_info_requests": "crypto pki server NAME info requests",
    "crypto_pki_server_info_crl": "crypto pki server NAME info crl",
    "show_crypto_pki_server_cert": "show crypto pki server NAME certificates",
    "show_crypto_pki_certificates_verbose": "show crypto pki certificates verbose",
    "show_crypto_pki_trustpoints_status": "show crypto pki trustpoints status",
    "show_crypto_key_mypubkey_all": "show crypto key mypubkey all",
    "show_crypto_key_mypubkey_ec": "show crypto key mypubkey ec",
    "show_crypto_key_mypubkey_rsa": "show crypto key mypubkey rsa",
    "show_logging_other": "show logging",
    "log_messages_crypto": "show logging",
    "dir_nvram": "dir nvram:",
    "dir_other": "dir",
}


class UnknownCommandError(UserError, LookupError):
    """No parser exists for the command (or its abbreviation is ambiguous)."""


class AmbiguousCommandError(UnknownCommandError):
    """A word of the command abbreviates more than one keyword IOS accepts there."""


def commands() -> tuple[tuple[str, str], ...]:
    """Return the commands pkilab reads: ``(pattern, "module:function")`` in table order.

    Upper-case words of a pattern are arguments, ``[…]`` is optional and ``{a|b}`` an
    alternative (see the module docstring).
    """
    return _GRAMMAR


@dataclass(frozen=True, slots=True)
class _Pattern:
    words: tuple[str, ...]  # keywords in lower case, arguments as "*"
    target: str


def _expand(pattern: str) -> list[tuple[str, ...]]:
    """Expand ``[…]`` and ``{a|b}`` into every concrete word sequence."""
    parts = re.findall(r"\[[^\]]*\]|\{[^}]*\}|\S+", pattern)
    choices: list[list[tuple[str, ...]]] = []
    for part in parts:
        if part.startswith("["):
            inner = _expand(part[1:-1])
            choices.append([(), *inner])
        elif part.startswith("{"):
            choices.append([(alt,) for alt in part[1:-1].split("|")])
        else:
            choices.append([(part,)])
    return [tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*choices)]


def _norm(word: str) -> str:
    return "*" if word.isupper() else word


@lru_cache(maxsize=1)
def _patterns() -> tuple[_Pattern, ...]:
    out = []
    for pattern, target in _GRAMMAR:
        for words in _expand(pattern):
            out.append(_Pattern(tuple(_norm(w) for w in words), target))
    return tuple(out)


@lru_cache(maxsize=1)
def _keywords_at() -> dict[tuple[str, ...], frozenset[str]]:
    """For each canonical keyword prefix, the keywords that may follow it."""
    table: dict[tuple[str, ...], set[str]] = {}
    for pat in _patterns():
        for i, word in enumerate(pat.words):
            if word != "*":
                table.setdefault(_canon_prefix(pat.words[:i]), set()).add(word)
    for prefix, words in _SIBLINGS.items():
        table.setdefault(prefix, set()).update(words)
    return {k: frozenset(v) for k, v in table.items()}


def _canon_prefix(words: tuple[str, ...]) -> tuple[str, ...]:
    if not words:
        return words
    ca_at = 2 if words[0] == "show" else 1
    return tuple("pki" if w == "ca" and i == ca_at else w for i, w in enumerate(words))


def _match(tokens: list[str], pat: _Pattern, table: dict[tuple[str, ...], frozenset[str]]) -> int | None:
    """Return the number of keywords matched, or None when ``tokens`` do not fit ``pat``."""
    if len(tokens) > len(pat.words) or (len(tokens) < len(pat.words) and pat.target != "exec_dialogs:parse_ping"):
        return None
    score = 0
    for i, (tok, word) in enumerate(zip(tokens, pat.words, strict=False)):
        if word == "*":
            continue
        low = tok.lower()
        if low == word:
            score += 1
            continue
        if not word.startswith(low):
            return None
        siblings = table.get(_canon_prefix(pat.words[:i]), frozenset())
        if sum(1 for s in siblings if s.startswith(low)) > 1:
            return None  # ambiguous abbreviation, as IOS would say
        score += 1
    return score


def match_command(command: str) -> str:
    """Return the ``module:function`` of the parser for ``command``.

    Raises:
        UnknownCommandError: No parser matches, or an abbreviation is ambiguous.
    """
    head = command.split("|", 1)[0]
    if "_" in head and " " not in head.strip():  # a corpus folder name
        slug = head.strip()
        head = _CORPUS_SLUGS.get(slug, slug.replace("_", " "))
    tokens = head.split()
    if tokens and (m := re.match(r"^[\w.-]+(?:\([\w-]+\))?[#>]", tokens[0])):  # a prompt pasted along
        rest = tokens[0][m.end() :]
        tokens = ([rest] if rest else []) + tokens[1:]
    if len(tokens) > 1 and tokens[0].lower() == "do":  # an exec command typed in configuration mode
        tokens = tokens[1:]
    if not tokens:
        raise UnknownCommandError("empty command")
    table = _keywords_at()
    best: tuple[int, str] | None = None
    for pat in _patterns():
        score = _match(tokens, pat, table)
        if score is not None and (best is None or score > best[0]):
            best = (score, pat.target)
    if best is None:
        ambiguous = _ambiguous_word(tokens, table)
        if ambiguous is not None:
            word, keywords = ambiguous
            raise AmbiguousCommandError(
                f'% Ambiguous command:  "{command.strip()}" ({word!r} matches {", ".join(keywords)})'
            )
        raise UnknownCommandError(f"no parser for command {command!r}")
    return best[1]


def _ambiguous_word(
    tokens: list[str], table: dict[tuple[str, ...], frozenset[str]]
) -> tuple[str, tuple[str, ...]] | None:
    """Return the first typed word that abbreviates several keywords at its place, and those.

    The words are read as IOS reads them: a word equal to a keyword, or the prefix of exactly
    one, is that keyword; any other word is an argument.
    """
    prefix: tuple[str, ...] = ()
    for token in tokens:
        keywords = table.get(_canon_prefix(prefix), frozenset())
        low = token.lower()
        hits = (low,) if low in keywords else tuple(sorted(k for k in keywords if k.startswith(low)))
        if len(hits) > 1:
            return token, hits
        prefix += hits or ("*",)
    return None


def parser_for(command: str) -> Callable[[str], Any]:
    """Return the parser function for ``command`` (see :func:`match_command`)."""
    module, func = match_command(command).split(":")
    mod = importlib.import_module(f"pkilab.parsers.{module}")
    result: Callable[[str], Any] = getattr(mod, func)
    return result


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
