"""Leave the lab as it was found: snapshot a router's PKI state and restore it in a finalizer.

What the seed's procedures add — certificate servers, trustpoints, key pairs, files in NVRAM,
configuration lines — is recorded before a suite runs and removed afterwards, even when the
suite failed; then the configuration is saved so that a reload does not bring it back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pkilab.config import values as v
from pkilab.device.session import Answer, Session
from pkilab.errors import PkilabError
from pkilab.parsers import parse

_YES = r"\[yes/no\]:"


@dataclass(frozen=True)
class Baseline:
    """What a router held before a suite touched it."""

    files: frozenset[str]
    trustpoints: frozenset[str]
    servers: frozenset[str]
    keys: frozenset[str]


def snapshot(session: Session) -> Baseline:
    """Record the router's NVRAM files, trustpoints, certificate servers and key pairs."""
    return Baseline(
        files=frozenset(_files(session)),
        trustpoints=frozenset(_trustpoints(session)),
        servers=frozenset(_servers(session)),
        keys=frozenset(_keys(session)),
    )


def _files(session: Session) -> list[str]:
    return [f.name for f in parse("dir nvram:", session.run("dir nvram:")).files]


def _trustpoints(session: Session) -> list[str]:
    out = session.run("show crypto pki trustpoints", check=False)
    return re.findall(r"^Trustpoint (\S+?):", out, re.M)


def _servers(session: Session) -> list[str]:
    out = session.run("show crypto pki server", check=False)
    return [s.name for s in parse("show crypto pki server", out).servers if s.name] if out.strip() else []


def _keys(session: Session) -> list[str]:
    out = session.run("show crypto key mypubkey rsa", check=False)
    if not out.strip() or out.lstrip().startswith("%"):
        return []
    return [
        k.name for k in parse("show crypto key mypubkey rsa", out).keys if k.name and not k.name.endswith(".server")
    ]


def restore(session: Session, baseline: Baseline, undo_lines: Iterable[str] = ()) -> list[str]:
    """Remove what was added since ``baseline``; return what is still left (empty when clean)."""
    if not session.connected:
        session.connect()
    now = snapshot(session)
    session.run("configure terminal", check=False)
    try:
        for name in sorted(now.servers - baseline.servers):
            session.dialog(
                f"no crypto pki server {v.word(name, 'server')}",
                [Answer(r"want to do this\? " + _YES, "yes"), Answer(r"and\s+key\? " + _YES, "yes")],
                check=False,
            )
        for name in sorted(now.trustpoints - baseline.trustpoints):
            session.dialog(f"no crypto pki trustpoint {v.word(name, 'trustpoint')}", [Answer(_YES, "yes")], check=False)
        for label in sorted(now.keys - baseline.keys):
            session.dialog(f"crypto key zeroize rsa {v.word(label, 'key')}", [Answer(_YES, "yes")], check=False)
        for line in undo_lines:
            session.run(line, check=False)
    finally:
        session.run("end", check=False)
    problems: list[str] = []
    for name in sorted(set(_files(session)) - baseline.files):
        out = session.run(f"delete /force nvram:{v.word(name, 'file')}", check=False)
        if "%" in out:
            problems.append(f"{session.name}: delete nvram:{name}: {out.strip()}")
    session.run("write memory", check=False)
    after = snapshot(session)
    for what, left, then in (
        ("trustpoints", after.trustpoints, baseline.trustpoints),
        ("servers", after.servers, baseline.servers),
        ("keys", after.keys, baseline.keys),
        ("files", after.files, baseline.files),
    ):
        if left - then:
            problems.append(f"{session.name}: {what} left behind: {sorted(left - then)}")
    return problems


class RestoreError(PkilabError):
    """The lab could not be put back as it was."""
