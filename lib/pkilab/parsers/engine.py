"""``show crypto engine connections active`` and ``show crypto eli [all]``.

Engine connection tables exist in three layouts, read from their header: 12.2/12.3
(``ID Interface IP-Address State Algorithm Encrypt Decrypt``), 12.4 with an ``Interface``
column (``ID Interface Type Algorithm Encrypt Decrypt IP-Address``) and 15.x/IOS-XE
(``ID Type Algorithm Encrypt Decrypt LastSeqN IP-Address``, an empty IP-Address allowed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pkilab.parsers._base import FactsMixin, Line, clean_lines, fail, number, to_int

__all__ = [
    "CryptoEli",
    "EliEngine",
    "EliSessionCount",
    "EngineConnection",
    "EngineConnections",
    "parse_crypto_eli",
    "parse_engine_connections",
]


@dataclass(frozen=True, slots=True)
class EngineConnection(FactsMixin):
    """A row of ``show crypto engine connections active``; absent columns are ``None``.

    ``algorithm`` is as printed (``HMAC_SHA+3DES_56_C``, ``AES+SHA384``).
    """

    id: int
    ip: str | None
    algorithm: str
    encrypt: int
    decrypt: int
    interface: str | None
    type: str | None
    state: str | None
    last_seq: int | None


@dataclass(frozen=True, slots=True)
class EngineConnections(FactsMixin):
    """The engine's active connections in printed order."""

    connections: tuple[EngineConnection, ...]


_COLUMNS = {
    "ID": "id",
    "Interface": "interface",
    "IP-Address": "ip",
    "State": "state",
    "Algorithm": "algorithm",
    "Encrypt": "encrypt",
    "Decrypt": "decrypt",
    "Type": "type",
    "LastSeqN": "last_seq",
}
# Columns every layout prints: a header without them is not one.
_NEEDED = {"id", "algorithm", "encrypt", "decrypt"}


def parse_engine_connections(text: str) -> EngineConnections:
    """Parse ``show crypto engine connections active`` (12.2 to IOS-XE).

    Raises:
        ParseError: On a row whose columns do not fit the header, or an unknown line.
    """
    name = "show crypto engine connections active"
    lines, _ = clean_lines(text)
    cols: list[str] | None = None
    rows: list[EngineConnection] = []
    for ln in lines:
        s = ln.text.strip()
        if not s or s == "Crypto Engine Connections":
            continue
        toks = s.split()
        if toks[0] == "ID" and all(t in _COLUMNS for t in toks) and {_COLUMNS[t] for t in toks} >= _NEEDED:
            cols = [_COLUMNS[t] for t in toks]
            continue
        if cols is None or to_int(toks[0]) is None:
            raise fail(name, ln, "expected the column header" if cols is None else "unexpected line")
        rows.append(_engine_row(name, ln, cols, toks))
    return EngineConnections(tuple(rows))


def _engine_row(name: str, ln: Line, cols: list[str], toks: list[str]) -> EngineConnection:
    if len(toks) == len(cols) - 1 and cols[-1] == "ip":
        toks = [*toks, ""]  # a connection with no address (GETVPN rekey SA)
    if len(toks) != len(cols):
        raise fail(name, ln, "columns do not match the header")
    d = dict(zip(cols, toks, strict=True))
    return EngineConnection(
        number(name, ln, d["id"], "ID"),
        d.get("ip") or None,
        d["algorithm"],
        number(name, ln, d["encrypt"], "encrypt"),
        number(name, ln, d["decrypt"], "decrypt"),
        d.get("interface"),
        d.get("type"),
        d.get("state"),
        number(name, ln, d["last_seq"], "last_seq") if "last_seq" in d else None,
    )


@dataclass(frozen=True, slots=True)
class EliSessionCount(FactsMixin):
    """A session counter line (``IKE-Session : 0 active, 41058 max, 0 failed, 319288 created``)."""

    name: str
    active: int
    max: int | None
    failed: int | None
    created: int | None


@dataclass(frozen=True, slots=True)
class EliEngine(FactsMixin):
    """One ``CryptoEngine NAME details: state = X`` block."""

    name: str
    state: str
    capabilities: tuple[str, ...]
    sessions: tuple[EliSessionCount, ...]
    attributes: tuple[tuple[str, str], ...]
    ssl_suites: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class CryptoEli(FactsMixin):
    """``show crypto eli [all]``."""

    hardware_encryption: str | None
    engine_count: int | None
    engines: tuple[EliEngine, ...]
    attributes: tuple[tuple[str, str], ...]


_ELI_ENGINE = re.compile(r"^CryptoEngine (.+?) details: state = (\S+)$")
_ELI_COUNT = re.compile(
    r"^([A-Za-z0-9-]+)\s*:\s*(\d+) active(?:\([^)]*\))?(?:,\s*(\d+) max)?(?:,\s*(\d+) failed)?"
    r"(?:,\s*(\d+) created)?$"
)
_ELI_SUITES = re.compile(r"^(\S+) suites?:$")


class _Engine:
    """Mutable collector for one ``CryptoEngine`` block."""

    def __init__(self, name: str, state: str):
        self.name, self.state = name, state
        self.caps: list[str] = []
        self.sessions: list[EliSessionCount] = []
        self.attrs: list[tuple[str, str]] = []
        self.suites: list[tuple[str, list[str]]] = []

    def build(self) -> EliEngine:
        suites = tuple((n, tuple(lst)) for n, lst in self.suites)
        return EliEngine(self.name, self.state, tuple(self.caps), tuple(self.sessions), tuple(self.attrs), suites)


def parse_crypto_eli(text: str) -> CryptoEli:
    """Parse ``show crypto eli [all]``.

    Raises:
        ParseError: On a line that is not an engine fact, a counter, or a cipher-suite entry.
    """
    lines, _ = clean_lines(text)
    engines: list[_Engine] = []
    glob: list[tuple[str, str]] = []
    hw = None
    count = None
    suite: list[str] | None = None
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if m := re.match(r"^Hardware Encryption\s*:\s*(.+)$", s):
            hw = m.group(1)
        elif m := re.match(r"^Number of (?:hardware )?crypto engines = (\d+)$", s):
            count = number("show crypto eli", ln, m.group(1), "engine count")
        elif m := _ELI_ENGINE.match(s):
            engines.append(_Engine(m.group(1), m.group(2)))
            suite = None
        elif (m := re.match(r"^(Number of DH's pregenerated|DH lifetime) = (.+)$", s)) or (
            m := re.match(r"^(DH calculations|crypto engine \d+|DH in use/freeing/free)\s*[:-]\s*(.+)$", s)
        ):
            glob.append((m.group(1), m.group(2)))
        elif not engines or not _eli_engine_line(engines[-1], ln, suite):
            raise fail("show crypto eli", ln)
        elif m := _ELI_SUITES.match(s):
            suite = engines[-1].suites[-1][1]
    return CryptoEli(hw, count, tuple(e.build() for e in engines), tuple(glob))


def _eli_engine_line(eng: _Engine, ln: Line, suite: list[str] | None) -> bool:
    s = ln.text.strip()
    if m := _ELI_SUITES.match(s):
        eng.suites.append((m.group(1), []))
    elif suite is not None and re.fullmatch(r"[A-Z0-9_]+", s):
        suite.append(s)
    elif s.startswith("Capability"):
        eng.caps = [c.strip() for c in s.partition(":")[2].split(",") if c.strip()]
    elif m := _ELI_COUNT.match(s):
        g = m.groups()
        active = number("show crypto eli", ln, g[1], "active count")
        most, failed, created = (None if x is None else number("show crypto eli", ln, x, "count") for x in g[2:])
        eng.sessions.append(EliSessionCount(g[0], active, most, failed, created))
    elif m := re.match(r"^(SSL \w+(?: \w+)*|Max SSL connec)\s*:\s*(.*)$", s):
        eng.attrs.append((m.group(1).strip(), m.group(2).strip()))
    else:
        return False
    return True
