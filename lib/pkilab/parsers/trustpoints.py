"""``show crypto pki trustpoints [NAME]`` and ``show crypto pki trustpoints [NAME] status``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pkilab.parsers._base import FactsMixin, clean_lines, fail

__all__ = [
    "Trustpoint",
    "TrustpointCert",
    "TrustpointStatus",
    "TrustpointStatuses",
    "Trustpoints",
    "parse_trustpoints",
    "parse_trustpoints_status",
]

_TP_HEAD = re.compile(r"^Trustpoint (\S+?):?$")


@dataclass(frozen=True, slots=True)
class Trustpoint(FactsMixin):
    """One trustpoint of ``show crypto pki trustpoints``.

    ``subject`` is the CA certificate's subject lines; ``notes`` the free lines IOS prints
    (``Certificate configured.``, ``Persistent self-signed certificate trust point``…).
    """

    name: str
    subject: tuple[str, ...]
    serial: str | None
    certificate_configured: bool
    scep_url: str | None
    key_label: str | None
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Trustpoints(FactsMixin):
    """Every trustpoint printed."""

    trustpoints: tuple[Trustpoint, ...]


_TP_NOTES = re.compile(
    r"^(?:Certificate configured\.|Persistent self-signed certificate trust point|"
    r"Trustpool|Certificate request\(s\) pending\.?|RSA key pair.*|Key label:.*|"
    r"Auto-enroll.*|Revocation.*|CRL.*)$"
)


class _Tp:
    """Mutable collector for one trustpoint."""

    def __init__(self, name: str):
        self.name = name
        self.subject: list[str] = []
        self.notes: list[str] = []
        self.serial: str | None = None
        self.scep: str | None = None
        self.key: str | None = None
        self.in_subject = False

    def build(self) -> Trustpoint:
        notes = tuple(self.notes)
        return Trustpoint(
            self.name,
            tuple(self.subject),
            self.serial,
            "Certificate configured." in notes,
            self.scep,
            self.key,
            notes,
        )


def parse_trustpoints(text: str) -> Trustpoints:
    """Parse ``show crypto pki trustpoints``.

    Raises:
        ParseError: On a line that is not a trustpoint fact.
    """
    name = "show crypto pki trustpoints"
    lines, _ = clean_lines(text)
    out: list[_Tp] = []
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if m := _TP_HEAD.match(s):
            out.append(_Tp(m.group(1)))
            continue
        if not out:
            raise fail(name, ln, "expected 'Trustpoint NAME:'")
        cur = out[-1]
        if s == "Subject Name:":
            cur.in_subject = True
        elif m := re.match(r"^Serial Number(?: \(hex\))?:\s*(\S+)$", s):
            cur.serial, cur.in_subject = m.group(1), False
        elif cur.in_subject and "=" in s:
            cur.subject.append(s)
        elif m := re.match(r"^SCEP URL:\s*(\S+)$", s):
            cur.scep = m.group(1)
        elif m := re.match(r"^Using key label (\S+)$", s):
            cur.key = m.group(1)
        elif _TP_NOTES.match(s):
            cur.notes.append(s)
        else:
            raise fail(name, ln)
    return Trustpoints(tuple(t.build() for t in out))


@dataclass(frozen=True, slots=True)
class TrustpointCert(FactsMixin):
    """A certificate block of the status view (``Issuing CA certificate configured:``…)."""

    kind: str
    subject: str | None
    fingerprint_md5: str | None
    fingerprint_sha1: str | None


@dataclass(frozen=True, slots=True)
class TrustpointStatus(FactsMixin):
    """One trustpoint of ``show crypto pki trustpoints status``.

    ``state`` holds the dotted-leader lines as ``(label, value)`` pairs, e.g.
    ``("Keys generated", "Yes (General Purpose, non-exportable)")``.
    """

    name: str
    certificates: tuple[TrustpointCert, ...]
    last_enrollment_status: str | None
    state: tuple[tuple[str, str], ...]

    def state_of(self, label: str) -> str | None:
        """Return the value of a ``State:`` line such as ``Issuing CA authenticated``."""
        return next((v for k, v in self.state if k == label), None)


@dataclass(frozen=True, slots=True)
class TrustpointStatuses(FactsMixin):
    """Every trustpoint printed by the status view."""

    trustpoints: tuple[TrustpointStatus, ...]


_DOTS = re.compile(r"\.{2,}")


def _leader(s: str) -> tuple[str, str] | None:
    """Split a dotted-leader line (``Keys generated ............. Yes``) into label and value.

    The label is everything before the first run of two or more dots (past the first
    character), the value everything after that run. Read with one search: a pattern of the
    form ``(.+?) *[.]{2,}`` re-read the blanks after every character of a long line.
    """
    m = _DOTS.search(s, 1)
    if m is None:
        return None
    return s[: m.start()].strip(), s[m.end() :].strip()


class _TpStatus:
    """Mutable collector for one trustpoint of the status view."""

    def __init__(self, name: str):
        self.name = name
        self.certs: list[dict[str, str]] = []
        self.state: list[tuple[str, str]] = []
        self.last: str | None = None
        self.ctx: str | None = None

    def build(self) -> TrustpointStatus:
        certs = tuple(TrustpointCert(c["kind"], c.get("subject"), c.get("MD5"), c.get("SHA1")) for c in self.certs)
        return TrustpointStatus(self.name, certs, self.last, tuple(self.state))


def parse_trustpoints_status(text: str) -> TrustpointStatuses:
    """Parse ``show crypto pki trustpoints [NAME] status`` (dotted leaders of any length).

    Raises:
        ParseError: On a line that is not a status fact.
    """
    name = "show crypto pki trustpoints status"
    lines, _ = clean_lines(text)
    out: list[_TpStatus] = []
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if m := _TP_HEAD.match(s):
            out.append(_TpStatus(m.group(1)))
            continue
        if not out:
            raise fail(name, ln, "expected 'Trustpoint NAME:'")
        tp = out[-1]
        if m := re.match(r"^(.+ certificate) configured:$", s):
            tp.certs.append({"kind": m.group(1)})
        elif s in ("Subject Name:", "State:"):
            tp.ctx = s
        elif m := re.match(r"^Fingerprint (MD5|SHA1):\s*(.+)$", s):
            if not tp.certs:
                raise fail(name, ln, "fingerprint outside a certificate block")
            tp.certs[-1][m.group(1)] = m.group(2).strip()
        elif tp.ctx == "Subject Name:" and "=" in s and tp.certs:
            tp.certs[-1]["subject"] = s
            tp.ctx = None
        elif m := re.match(r"^Last enrollment status:\s*(.+)$", s):
            tp.last = m.group(1)
        elif tp.ctx == "State:" and (pair := _leader(s)):
            tp.state.append(pair)
        else:
            raise fail(name, ln)
    return TrustpointStatuses(tuple(t.build() for t in out))
