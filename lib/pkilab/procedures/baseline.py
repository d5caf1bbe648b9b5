"""Leave the lab as it was found: snapshot a router's PKI state and restore it in a finalizer.

What the seed's procedures add — certificate servers, trustpoints, key pairs, files in NVRAM,
configuration lines — is recorded before a suite runs and removed afterwards, even when the
suite failed; then the configuration is saved so that a reload does not bring it back.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from pkilab.config import values as v
from pkilab.device.session import Answer, Session
from pkilab.errors import PkilabError
from pkilab.parsers import parse_as
from pkilab.parsers.keys import KeyPairs
from pkilab.parsers.server import PkiServers
from pkilab.parsers.system import DirListing

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
    return [f.name for f in parse_as(DirListing, "dir nvram:", session.run("dir nvram:")).files]


def _trustpoints(session: Session) -> list[str]:
    out = session.run("show crypto pki trustpoints", check=False)
    return re.findall(r"^Trustpoint (\S+?):", out, re.M)


def _servers(session: Session) -> list[str]:
    out = session.run("show crypto pki server", check=False)
    if not out.strip():
        return []
    servers = parse_as(PkiServers, "show crypto pki server", out).servers
    if all(s.name for s in servers):
        return [s.name for s in servers if s.name]
    # 12.x prints no server name (`Certificate Server status: …`): the configuration has it.
    config = session.run("show running-config", check=False)
    return re.findall(r"^crypto (?:pki|ca) server (\S+)", config, re.M)


def _keys(session: Session) -> list[str]:
    out = session.run("show crypto key mypubkey rsa", check=False)
    if not out.strip() or out.lstrip().startswith("%"):
        return []
    return [
        k.name
        for k in parse_as(KeyPairs, "show crypto key mypubkey rsa", out).keys
        if k.name and not k.name.endswith(".server")
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


@dataclass
class Keeper:
    """The routers a body changes, their baselines, and the lines that undo what the body added."""

    get: Callable[[str], Session]
    saved: dict[str, Baseline] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)

    def keep(self, name: str) -> Session:
        """Snapshot router ``name`` (once) and return its session."""
        session = self.get(name)
        if name not in self.saved:
            self.saved[name] = snapshot(session)
            self.lines.setdefault(name, [])
        return session

    def undo(self, name: str, *lines: str) -> None:
        """Configuration lines to run on ``name`` when restoring (after its PKI objects are removed)."""
        self.lines.setdefault(name, []).extend(lines)

    def restore_all(self) -> list[str]:
        """Restore every kept router, each on its own (one router's trouble does not stop the others)."""
        problems: list[str] = []
        for name, saved in self.saved.items():
            try:
                problems += restore(self.get(name), saved, self.lines.get(name, ()))
            except Exception as exc:  # a router that cannot be restored is reported, the others still are
                problems.append(f"{name}: restore failed: {exc}")
        return problems


@contextlib.contextmanager
def left_as_found(get: Callable[[str], Session], *names: str) -> Iterator[Keeper]:
    """Snapshot routers for the body and put them back afterwards, even when the body failed.

    ``get`` returns a connected session for a device name (reconnecting after a reload). The body
    may keep more routers and add undo lines through the yielded :class:`Keeper`. When the body
    raised (a failure, an interrupt), its exception wins and what could not be restored is added
    to it as a note; otherwise leftovers raise :class:`RestoreError`.
    """
    keeper = Keeper(get)
    for name in names:
        keeper.keep(name)
    failed = False
    try:
        yield keeper
    except BaseException as exc:
        failed = True
        problems = keeper.restore_all()
        if problems:
            exc.add_note("lab not restored: " + "; ".join(problems))
        raise
    finally:
        if not failed:
            problems = keeper.restore_all()
            if problems:
                raise RestoreError("; ".join(problems))
