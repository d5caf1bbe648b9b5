"""Command grammar of the simulated IOS CLI: patterns, a keyword tree, IOS matching rules.

A command is registered as a pattern string::

    crypto key generate rsa [general-keys] [label label:WORD] [modulus modulus:<360-4096>] [exportable]

* lowercase words are keywords; a typed word matches a keyword when it is the keyword or a
  unique prefix of the keywords possible at that point (IOS abbreviation);
* ``[ … ]`` is optional, ``{ a | b }`` is a choice;
* parameters are ``NAME:TYPE`` or a bare ``TYPE``: ``WORD`` (one token), ``LINE`` (the rest
  of the line, as typed), ``<lo-hi>`` (integer range), ``A.B.C.D`` (IPv4 address), ``HEX``
  (hex number, ``0x`` allowed), ``IF`` (interface name), ``TIME`` (hh:mm:ss), ``MONTH``.

Matching walks the tree token by token. Errors follow IOS: no match → ``invalid`` at the
token's column; several prefix matches → ``ambiguous``; the line ends before a command is
complete → ``incomplete``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Handler = Any  # a callable, or what a GrammarSet binds to one

# Abbreviations IOS resolves although they prefix more than one keyword: IOS keywords carry a
# minimum match length, so `show log` is `show logging` on routers that also have `show login`
# (the seed types `show log` on 12.3T; Cisco's login-block guide shows `show login` on the
# same 12.3(4)T+ images). Keyed by the keywords before the abbreviation.
ABBREVIATIONS: dict[tuple[str, ...], str] = {("show", "log"): "logging"}

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)

_INTERFACE_TYPES = ("Ethernet", "FastEthernet", "GigabitEthernet", "Loopback", "Tunnel", "Serial", "Vlan")
_IF_RE = re.compile(r"^([A-Za-z][A-Za-z-]*?)\s*(\d+(?:/\d+)*(?:\.\d+)?)$")


def normalize_interface(token: str) -> str | None:
    """Return the full IOS name of an interface typed as ``e0/0``, ``fa0/1``, ``Gi0/0`` …, or None."""
    m = _IF_RE.match(token)
    if not m:
        return None
    prefix, number = m.group(1).lower(), m.group(2)
    matches = [t for t in _INTERFACE_TYPES if t.lower().startswith(prefix)]
    if not matches:
        return None
    # IOS resolves the common short forms (e = Ethernet, f/fa = FastEthernet, g/gi = Gigabit).
    exact = [t for t in matches if t.lower() == prefix]
    chosen = exact[0] if exact else min(matches, key=len)
    return f"{chosen}{number}"


@dataclass(frozen=True)
class Param:
    """A parameter slot of a pattern."""

    name: str
    kind: str
    lo: int = 0
    hi: int = 0

    def accept(self, token: str) -> Any:
        """Return the converted value of ``token`` or None when it does not fit."""
        k = self.kind
        if k in ("WORD", "LINE"):
            return token
        if k == "RANGE":
            if not token.isdigit():
                return None
            v = int(token)
            return v if self.lo <= v <= self.hi else None
        if k == "A.B.C.D":
            try:
                return str(ipaddress.IPv4Address(token))
            except ValueError:
                return None
        if k == "HEX":
            t = token[2:] if token.lower().startswith("0x") else token
            return int(t, 16) if t and all(c in "0123456789abcdefABCDEF" for c in t) else None
        if k == "IF":
            return normalize_interface(token)
        if k == "TIME":
            m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", token)
            if not m:
                return None
            h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            return (h, mi, s) if h < 24 and mi < 60 and s < 60 else None
        if k == "MONTH":
            t = token.lower()
            hits = [i + 1 for i, name in enumerate(MONTHS) if len(t) >= 3 and name.startswith(t)]
            return hits[0] if len(hits) == 1 else None
        raise AssertionError(f"unknown parameter kind {k}")

    @property
    def label(self) -> str:
        """How ``?`` help shows this parameter."""
        if self.kind == "RANGE":
            return f"<{self.lo}-{self.hi}>"
        return self.kind


@dataclass
class Node:
    """A node of the keyword tree; ``handler`` is set where a command may end."""

    keywords: dict[str, Node] = field(default_factory=dict)
    params: list[tuple[Param, Node]] = field(default_factory=list)
    handler: Handler | None = None
    help: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """A successful match: the handler and the captured arguments."""

    handler: Handler
    args: dict[str, Any]


@dataclass(frozen=True)
class NoMatch:
    """A failed match: ``kind`` is invalid, ambiguous or incomplete; ``column`` is 0-based."""

    kind: str
    column: int
    text: str = ""


# ---- pattern compilation -------------------------------------------------------------------

_TOKEN_RE = re.compile(r"\[|\]|\{|\}|\||[^\s\[\]{}|]+")


def _parse_seq(tokens: list[str], pos: int, stop: set[str]) -> tuple[list[list[Any]], int]:
    """Parse a sequence into its alternatives (each a list of atoms); returns (alts, pos)."""
    alternatives: list[list[Any]] = [[]]
    while pos < len(tokens) and tokens[pos] not in stop:
        tok = tokens[pos]
        if tok == "[":
            inner, pos = _parse_seq(tokens, pos + 1, {"]"})
            pos += 1
            alternatives = [a + [("opt", inner)] for a in alternatives]
        elif tok == "{":
            inner, pos = _parse_seq(tokens, pos + 1, {"}"})
            pos += 1
            alternatives = [a + [("alt", inner)] for a in alternatives]
        elif tok == "|":
            alternatives.append([])
            pos += 1
            continue
        else:
            alternatives[-1].append(("tok", tok))
            pos += 1
    # A '|' at top level of this group splits alternatives of the group itself.
    return alternatives, pos


def _expand(atoms: list[Any]) -> Iterator[list[str]]:
    """Yield every flat token sequence that a list of atoms describes."""
    if not atoms:
        yield []
        return
    head, rest = atoms[0], atoms[1:]
    kind, value = head
    if kind == "tok":
        heads: list[list[str]] = [[value]]
    else:
        heads = [seq for alt in value for seq in _expand(alt)]
        if kind == "opt":
            heads.append([])
    for h in heads:
        for r in _expand(rest):
            yield h + r


_KINDS = ("WORD", "LINE", "A.B.C.D", "HEX", "IF", "TIME", "MONTH")
_DEFAULT_NAMES = {"A.B.C.D": "address", "IF": "interface"}


def _param_of(token: str) -> Param | None:
    """Return the parameter a pattern token declares (``NAME:TYPE`` or ``TYPE``), or None."""
    name, sep, kind = token.partition(":")
    if not sep:
        name, kind = "", token
    m = re.fullmatch(r"<(\d+)-(\d+)>", kind)
    if m:
        return Param(name or "number", "RANGE", int(m.group(1)), int(m.group(2)))
    if kind in _KINDS:
        return Param(name or _DEFAULT_NAMES.get(kind, kind.lower()), kind)
    return None


class Grammar:
    """The commands of one CLI mode, as a keyword tree."""

    def __init__(self) -> None:
        self.root = Node()

    def add(self, pattern: str, handler: Handler, help: dict[str, str] | None = None) -> None:
        """Register ``pattern`` (see module docstring) to call ``handler(ctx, args)``."""
        tokens = _TOKEN_RE.findall(pattern)
        alternatives, _ = _parse_seq(tokens, 0, set())
        for alt in alternatives:
            for seq in _expand(alt):
                self._insert(seq, handler, help or {})

    def _insert(self, seq: list[str], handler: Handler, help: dict[str, str]) -> None:
        node = self.root
        for tok in seq:
            param = _param_of(tok)
            if param is None:
                kw = tok.lower()
                if kw in help:
                    node.help[kw] = help[kw]
                node = node.keywords.setdefault(kw, Node())
                continue
            for existing, child in node.params:
                if existing == param:
                    node = child
                    break
            else:
                child = Node()
                node.params.append((param, child))
                node = child
        node.handler = handler

    def match(self, line: str) -> Match | NoMatch:
        """Match a typed line against the tree."""
        tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", line)]
        node = self.root
        args: dict[str, Any] = {}
        path: list[str] = []
        for i, (col, tok) in enumerate(tokens):
            low = tok.lower()
            if low in node.keywords:
                args[low] = True
                node = node.keywords[low]
                path.append(low)
                continue
            prefixed = [k for k in node.keywords if k.startswith(low)]
            preferred = ABBREVIATIONS.get((*path, low))
            if preferred in prefixed:
                prefixed = [preferred]
            if len(prefixed) == 1:
                path.append(prefixed[0])
                args[prefixed[0]] = True
                node = node.keywords[prefixed[0]]
                continue
            matched = False
            for param, child in node.params:
                if param.kind == "LINE":
                    args[param.name] = line[col:].rstrip()
                    if child.handler is None:
                        return NoMatch("incomplete", len(line))
                    return Match(child.handler, args)
                value = param.accept(tok)
                if value is not None:
                    args[param.name] = value
                    node = child
                    matched = True
                    break
            if matched:
                continue
            if len(prefixed) > 1:
                return NoMatch("ambiguous", col, " ".join(t for _, t in tokens[: i + 1]))
            return NoMatch("invalid", col)
        if node.handler is None:
            return NoMatch("incomplete", len(line))
        return Match(node.handler, args)

    def help_at(self, line: str) -> list[tuple[str, str]] | NoMatch:
        """Return ``?`` help for the words possible after ``line`` (or completing its last word)."""
        completing = bool(line) and not line.endswith(" ")
        words = line.split()
        prefix = words.pop().lower() if completing else ""
        node = self.root
        for w in words:
            result = self._step(node, w)
            if result is None:
                return NoMatch("invalid", line.find(w))
            node = result
        out = [(k, node.help.get(k, "")) for k in sorted(node.keywords) if k.startswith(prefix)]
        if not completing:
            out += [(p.label, "") for p, _ in node.params]
            if node.handler is not None:
                out.append(("<cr>", ""))
        return out

    def _step(self, node: Node, word: str) -> Node | None:
        low = word.lower()
        if low in node.keywords:
            return node.keywords[low]
        prefixed = [k for k in node.keywords if k.startswith(low)]
        if len(prefixed) == 1:
            return node.keywords[prefixed[0]]
        for param, child in node.params:
            if param.accept(word) is not None:
                return child
        return None

    def first_keywords(self) -> list[str]:
        """Return the keywords a command of this mode may start with."""
        return sorted(self.root.keywords)
