"""IOS command syntax: patterns, a keyword tree, IOS matching rules (the simulator's and the parsers').

A command is registered as a pattern string::

    crypto key generate rsa [general-keys] [label label:WORD] [modulus modulus:<360-4096>] [exportable]

* lowercase words are keywords; a typed word matches a keyword when it is the keyword or a
  unique prefix of the keywords possible at that point (IOS abbreviation); ``log~ging`` is a
  keyword IOS declares with a minimum match (its parser's ``KEYWORD_MM``): ``log`` or longer
  selects it even where another keyword shares the prefix (``show log`` is ``show logging``,
  not ambiguous with ``show login``);
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

from pkilab.catalog.command import Command

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
    """A node of the keyword tree; ``command`` is set where a command may end."""

    keywords: dict[str, Node] = field(default_factory=dict)
    params: list[tuple[Param, Node]] = field(default_factory=list)
    command: Command | None = None
    minimum: dict[str, int] = field(default_factory=dict)  # keyword -> IOS's minimum match

    def candidates(self, word: str) -> list[str]:
        """The keywords ``word`` (lower case) may stand for here.

        Itself when it is one, else its minimum-match keyword, else every keyword it is a prefix of.
        """
        if word in self.keywords:
            return [word]
        prefixed = [k for k in self.keywords if k.startswith(word)]
        chosen = [k for k in prefixed if len(word) >= self.minimum.get(k, len(k) + 1)]
        return chosen if len(chosen) == 1 else prefixed

    help: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """A successful match: the catalog's command and the captured arguments."""

    command: Command
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


def expand(pattern: str, marks: bool = False) -> list[list[str]]:
    """Every flat token sequence ``pattern`` stands for (options taken and left out, each choice).

    Keywords are spelled in full (``logging``) unless ``marks`` keeps their minimum-match mark.
    """
    alternatives, _ = _parse_seq(_TOKEN_RE.findall(pattern), 0, set())
    seqs = [seq for alt in alternatives for seq in _expand(alt)]
    return seqs if marks else [[t.replace("~", "") for t in seq] for seq in seqs]


_KINDS = ("WORD", "LINE", "A.B.C.D", "HEX", "IF", "TIME", "MONTH")
_DEFAULT_NAMES = {"A.B.C.D": "address", "IF": "interface"}


def param_of(token: str) -> Param | None:
    """Return the parameter a pattern token declares (``NAME:TYPE`` or ``TYPE``), or None for a keyword."""
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

    def add(self, pattern: str, command: Command) -> None:
        """Add ``pattern`` (see module docstring), one form of ``command``, to the tree."""
        for seq in expand(pattern, marks=True):
            self._insert(seq, command)

    def _insert(self, seq: list[str], command: Command) -> None:
        help = command.help
        node = self.root
        for tok in seq:
            param = param_of(tok)
            if param is None:
                kw, tilde, rest = tok.lower().partition("~")
                if tilde:
                    node.minimum[kw + rest] = len(kw)
                    kw += rest
                if kw in help:
                    node.help[kw] = help[kw]
                node = node.keywords.setdefault(kw, Node())
                continue
            if param.label in help:
                node.help[param.label] = help[param.label]
            for existing, child in node.params:
                if existing == param:
                    node = child
                    break
            else:
                child = Node()
                node.params.append((param, child))
                node = child
        if node.command is not None and node.command is not command:
            raise ValueError(f"{command!r} and {node.command!r} both end at {' '.join(seq)!r}")
        node.command = command

    def match(self, line: str) -> Match | NoMatch:
        """Match a typed line against the tree."""
        tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", line)]
        node = self.root
        args: dict[str, Any] = {}
        for i, (col, tok) in enumerate(tokens):
            low = tok.lower()
            prefixed = node.candidates(low)
            if len(prefixed) == 1:
                args[prefixed[0]] = True
                node = node.keywords[prefixed[0]]
                continue
            matched = False
            for param, child in node.params:
                if param.kind == "LINE":
                    args[param.name] = line[col:].rstrip()
                    if child.command is None:
                        return NoMatch("incomplete", len(line))
                    return Match(child.command, args)
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
        if node.command is None:
            return NoMatch("incomplete", len(line))
        return Match(node.command, args)

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
        # Parameters first, then keywords, as IOS lists them (the seed's `grant ?`: <1-999>, all).
        out = [] if completing else [(p.label, node.help.get(p.label, "")) for p, _ in node.params]
        out += [(k, node.help.get(k, "")) for k in sorted(node.keywords) if k.startswith(prefix)]
        if not completing and node.command is not None:
            out.append(("<cr>", ""))
        return out

    def _step(self, node: Node, word: str) -> Node | None:
        prefixed = node.candidates(word.lower())
        if len(prefixed) == 1:
            return node.keywords[prefixed[0]]
        for param, child in node.params:
            if param.accept(word) is not None:
                return child
        return None

    def first_keywords(self) -> list[str]:
        """Return the keywords a command of this mode may start with."""
        return sorted(self.root.keywords)
