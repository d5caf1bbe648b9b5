"""``show crypto pki trustpoints [NAME]`` and ``show crypto pki trustpoints [NAME] status``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pkilab.parsers._base import FactsMixin, clean_lines, fail

__all__ = ["Trustpoint", "TrustpointCert", "TrustpointStatus", "TrustpointStatuses", "Trustpoints",
           "parse_trustpoints", "parse_trustpoints_status"]

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


def parse_trustpoints(text: str) -> Trustpoints:
    """Parse ``show crypto pki trustpoints``.

    Raises:
        ParseError: On a line that is not a trustpoint fact.
    """
    name = "show crypto pki trustpoints"
    lines, _ = clean_lines(text)
    out: list[Trustpoint] = []
    cur: dict[str, object] | None = None
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if m := _TP_HEAD.match(s):
            if cur is not None:
                out.append(_tp(cur))
            cur = {"name": m.group(1), "subject": [], "notes": []}
            continue
        if cur is None:
            raise fail(name, ln, "expected 'Trustpoint NAME:'")
        subject, notes = cur["subject"], cur["notes"]
        assert isinstance(subject, list) and isinstance(notes, list)
        if s == "Subject Name:":
            cur["in_subject"] = True
        elif m := re.match(r"^Serial Number(?: \(hex\))?:\s*(\S+)$", s):
            cur["serial"], cur["in_subject"] = m.group(1), False
        elif cur.get("in_subject") and "=" in s:
            subject.append(s)
        elif m := re.match(r"^SCEP URL:\s*(\S+)$", s):
            cur["scep"] = m.group(1)
        elif m := re.match(r"^Using key label (\S+)$", s):
            cur["key"] = m.group(1)
        elif _TP_NOTES.match(s):
            notes.append(s)
        else:
            raise fail(name, ln)
    if cur is not None:
        out.append(_tp(cur))
    return Trustpoints(tuple(out))


def _tp(d: dict[str, object]) -> Trustpoint:
    notes = tuple(d["notes"])  # type: ignore[call-overload]
    serial, scep, key = d.get("serial"), d.get("scep"), d.get("key")
    return Trustpoint(str(d["name"]), tuple(d["subject"]), serial if isinstance(serial, str) else None,  # type: ignore[call-overload]
                      "Certificate configured." in notes, scep if isinstance(scep, str) else None,
                      key if isinstance(key, str) else None, notes)


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


_LEADER = re.compile(r"^(.+?)\s*\.{2,}\s*(.*)$")


def parse_trustpoints_status(text: str) -> TrustpointStatuses:
    """Parse ``show crypto pki trustpoints [NAME] status`` (dotted leaders of any length).

    Raises:
        ParseError: On a line that is not a status fact.
    """
    name = "show crypto pki trustpoints status"
    lines, _ = clean_lines(text)
    out: list[TrustpointStatus] = []
    tp: dict[str, object] | None = None
    for ln in lines:
        s = ln.text.strip()
        if not s:
            continue
        if m := _TP_HEAD.match(s):
            if tp is not None:
                out.append(_tps(tp))
            tp = {"name": m.group(1), "certs": [], "state": []}
            continue
        if tp is None:
            raise fail(name, ln, "expected 'Trustpoint NAME:'")
        certs, state = tp["certs"], tp["state"]
        assert isinstance(certs, list) and isinstance(state, list)
        if m := re.match(r"^(.+ certificate) configured:$", s):
            certs.append({"kind": m.group(1)})
        elif s in ("Subject Name:", "State:"):
            tp["ctx"] = s
        elif m := re.match(r"^Fingerprint (MD5|SHA1):\s*(.+)$", s):
            if not certs:
                raise fail(name, ln, "fingerprint outside a certificate block")
            certs[-1][m.group(1)] = m.group(2).strip()
        elif tp.get("ctx") == "Subject Name:" and "=" in s and certs:
            certs[-1]["subject"] = s
            tp["ctx"] = None
        elif m := re.match(r"^Last enrollment status:\s*(.+)$", s):
            tp["last"] = m.group(1)
        elif tp.get("ctx") == "State:" and (m := _LEADER.match(s)):
            state.append((m.group(1).strip(), m.group(2).strip()))
        else:
            raise fail(name, ln)
    if tp is not None:
        out.append(_tps(tp))
    return TrustpointStatuses(tuple(out))


def _tps(d: dict[str, object]) -> TrustpointStatus:
    certs = tuple(TrustpointCert(c["kind"], c.get("subject"), c.get("MD5"), c.get("SHA1"))
                  for c in d["certs"])  # type: ignore[attr-defined]
    last = d.get("last")
    return TrustpointStatus(str(d["name"]), certs, last if isinstance(last, str) else None,
                            tuple(d["state"]))  # type: ignore[call-overload]
