"""``show crypto key mypubkey rsa|ec|all [NAME]``.

Layouts: 12.2SX/12.3/12.4 (no ``Key type:`` and no storage line), 15.x/16.x (``Key type:
RSA KEYS``, `` Storage Device: …``), IOS-XE 17 (``Key type: RSA KEYS      2048 bits``), the
``.server`` encryption key with a bare ``Temporary key`` line, and EC keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pkilab.parsers._base import DIGITS, FactsMixin, at, clean_lines, fail, to_int

__all__ = ["KeyPair", "KeyPairs", "parse_mypubkey"]

_NAME = "show crypto key mypubkey"


@dataclass(frozen=True, slots=True)
class KeyPair(FactsMixin):
    """One key of ``show crypto key mypubkey``.

    Attributes:
        name: Key label (``ese-ios-ca``, ``ese-ios-ca.server``).
        usage: ``General Purpose Key``, ``Encryption Key``, ``Signature Key``.
        exportable: Whether the key is exportable.
        generated: Generation time as printed (``None`` when the line is cut or absent).
        key_type: ``RSA KEYS``/``EC KEYS``, ``None`` on releases that do not print it.
        bits: Modulus size when printed (IOS-XE 17), else ``None``.
        curve: EC curve when printed (``p521``).
        storage: Storage device as printed (``private-config``, ``not specified``).
        temporary: True for a ``Temporary key``.
        redundancy: True when ``Redundancy enabled.`` is printed.
        key_data: The hex of ``Key Data:`` with blanks removed (DER SubjectPublicKeyInfo).
    """

    name: str
    usage: str | None
    exportable: bool | None
    generated: str | None
    key_type: str | None
    bits: int | None
    curve: str | None
    storage: str | None
    temporary: bool
    redundancy: bool
    key_data: str
    generated_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyPairs(FactsMixin):
    """Every key printed, in order."""

    keys: tuple[KeyPair, ...]

    def get(self, name: str) -> KeyPair | None:
        """Return the key labelled ``name``, or ``None``."""
        return next((k for k in self.keys if k.name == name), None)


_HEX = re.compile(r"^[0-9A-Fa-f]{1,8}(?:\s+[0-9A-Fa-f]{1,8})*$")
_KEY_TYPE = re.compile(rf"^(\w+ KEYS)(?:\s+({DIGITS}) bits|\s+(\S+) curve)?$")
_EXPORT = re.compile(r"^Key is (not )?exportable\.(?:\s*Redundancy enabled\.)?$")


def parse_mypubkey(text: str) -> KeyPairs:
    """Parse ``show crypto key mypubkey rsa|ec|all``.

    Raises:
        ParseError: On a line that is not a key fact or key data.
    """
    lines, _ = clean_lines(text)
    keys: list[KeyPair] = []
    cur: dict[str, object] | None = None
    pending_generated: str | None = None
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if s.startswith("% Key pair was generated at:"):
            pending_generated = s.partition("at:")[2].strip() or None
            continue
        if s.startswith("Key name:"):
            if cur is not None:
                keys.append(_key(cur))
            cur = {"name": s.partition(":")[2].strip(), "generated": pending_generated, "data": []}
            pending_generated = None
            continue
        if cur is None:
            raise fail(_NAME, ln, "expected 'Key name:'")
        if not _key_line(cur, s):
            raise fail(_NAME, ln)
    if cur is not None:
        keys.append(_key(cur))
    return KeyPairs(tuple(keys))


def _key_line(cur: dict[str, object], s: str) -> bool:
    if s.startswith("Key type:"):
        m = _KEY_TYPE.match(s.partition(":")[2].strip())
        if m is None:
            return False
        cur["type"], cur["bits"], cur["curve"] = m.group(1), m.group(2), m.group(3)
    elif s.startswith("Storage Device:"):
        cur["storage"] = s.partition(":")[2].strip()
    elif s.startswith("Usage:"):
        cur["usage"] = s.partition(":")[2].strip()
    elif m := _EXPORT.match(s):
        cur["exportable"] = m.group(1) is None
        cur["redundancy"] = "Redundancy" in s
    elif s == "Temporary key":
        cur["temporary"] = True
    elif s == "Key Data:":
        cur["in_data"] = True
    elif cur.get("in_data") and _HEX.match(s):
        data = cur["data"]
        assert isinstance(data, list)
        data.append(s.replace(" ", ""))
    else:
        return False
    return True


def _key(d: dict[str, object]) -> KeyPair:
    def s(k: str) -> str | None:
        v = d.get(k)
        return v if isinstance(v, str) else None

    bits = s("bits")
    exportable = d.get("exportable")
    data = d.get("data")
    return KeyPair(
        str(d["name"]), s("usage"), exportable if isinstance(exportable, bool) else None, s("generated"),
        s("type"), to_int(bits), s("curve"), s("storage"), bool(d.get("temporary")),
        bool(d.get("redundancy")), "".join(data) if isinstance(data, list) else "", at(s("generated")),
    )  # fmt: skip
