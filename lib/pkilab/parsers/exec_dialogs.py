"""Results of the exec dialogs procedures drive.

Ping, CA server requests and grants, ``crypto pki authenticate``, ``crypto pki enroll`` and
``crypto pki import``.

A dialog transcript mixes router messages, prompts and the answers typed to them, so these
parsers read the facts they are asked for and keep every ``%`` message; they raise
:class:`ParseError` when the fact that defines the outcome is missing or malformed (no
``Success rate`` line in a ping, no ``reqId`` after a PKCS#10 request, a certificate body that
is not base64).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from pkilab.parsers._base import FactsMixin, Line, clean_lines, fail, number

__all__ = [
    "AuthenticateResult", "EnrollResult", "GrantResult", "ImportResult", "PingResult", "RequestResult",
    "parse_authenticate", "parse_enroll", "parse_grant", "parse_import", "parse_ping", "parse_request_pkcs10",
]  # fmt: skip


def _messages(lines: list[Line]) -> tuple[str, ...]:
    return tuple(m for ln in lines if (m := ln.text.strip().lstrip("!").strip()).startswith("%"))


@dataclass(frozen=True, slots=True)
class PingResult(FactsMixin):
    """``ping …``.

    Attributes:
        sent / received: Echo requests sent and replies received.
        success_rate: Percent as printed.
        pattern: The ``!``/``.``/``U``… characters, lines joined (``....!!!!!!!!!!!``).
        rtt_min / rtt_avg / rtt_max: Milliseconds, ``None`` when nothing came back.
        source: From ``Packet sent with a source address of …``, else ``None``.
    """

    target: str | None
    size: int | None
    timeout: int | None
    sent: int
    received: int
    success_rate: int
    pattern: str
    rtt_min: int | None
    rtt_avg: int | None
    rtt_max: int | None
    source: str | None


_PING_SENDING = re.compile(r"^Sending (\d+), (\d+)-byte ICMP Echos to (\S+), timeout is (\d+) seconds?:$")
_PING_RATE = re.compile(
    r"^Success rate is (\d+) percent \((\d+)/(\d+)\)(?:, round-trip min/avg/max = (\d+)/(\d+)/(\d+) ms)?$"
)
_PING_PATTERN = re.compile(r"^[!.UQM?&C]+$")


def parse_ping(text: str) -> PingResult:
    """Parse the output of ``ping`` (IPv4/IPv6, ``repeat``/``source`` forms).

    Raises:
        ParseError: On an unknown line, or when the ``Success rate`` line is missing.
    """
    name = "ping"
    lines, _ = clean_lines(text)
    pattern: list[str] = []
    target = size = timeout = None
    rate: tuple[int, ...] | None = None  # percent, received, sent
    rtt: list[int | None] = [None, None, None]  # min/avg/max
    source = None
    for ln in lines:
        s = ln.text.strip().lstrip("!").strip() if ln.text.strip().startswith("! ") else ln.text.strip()
        if not s or s == "Type escape sequence to abort.":
            continue
        if m := _PING_SENDING.match(s):
            target = m.group(3)
            size, timeout = number(name, ln, m.group(2), "size"), number(name, ln, m.group(4), "timeout")
        elif m := re.match(r"^Packet sent with a source address of (\S+)$", s):
            source = m.group(1)
        elif m := _PING_RATE.match(s):
            rate = tuple(number(name, ln, x, "count") for x in m.group(1, 2, 3))
            rtt = [None if x is None else number(name, ln, x, "round-trip time") for x in m.group(4, 5, 6)]
        elif _PING_PATTERN.match(s):
            pattern.append(s)
        else:
            raise fail(name, ln)
    if rate is None:
        raise fail(name, lines[-1] if lines else Line(0, ""), "no 'Success rate' line")
    percent, received, sent = rate
    rtt_min, rtt_avg, rtt_max = rtt
    return PingResult(
        target, size, timeout, sent, received, percent, "".join(pattern), rtt_min, rtt_avg, rtt_max, source
    )


@dataclass(frozen=True, slots=True)
class RequestResult(FactsMixin):
    """``crypto pki server NAME request pkcs10 terminal``: the request id the server gave."""

    request_id: int
    state: str
    messages: tuple[str, ...]


def parse_request_pkcs10(text: str) -> RequestResult:
    """Read ``% Enrollment request pending, reqId=3``.

    Raises:
        ParseError: When no request id is printed.
    """
    lines, _ = clean_lines(text)
    for ln in lines:
        m = re.search(r"Enrollment request (\w+), reqId\s*=\s*(\d+)", ln.text)
        if m:
            req_id = number("crypto pki server request pkcs10", ln, m.group(2), "reqId")
            return RequestResult(req_id, m.group(1), _messages(lines))
    raise fail("crypto pki server request pkcs10", _last(lines), "no 'reqId=' in the output")


def _last(lines: list[Line]) -> Line:
    content = [ln for ln in lines if ln.text.strip()]
    return content[-1] if content else Line(0, "")


_B64_LINE = re.compile(r"^[A-Za-z0-9+/=]+$")


def _base64_block(lines: list[Line], start: int, name: str) -> tuple[str, int]:
    """Collect base64 lines from ``start``; return the text and the index after the block."""
    parts: list[str] = []
    i = start
    while i < len(lines):
        s = lines[i].text.strip().lstrip("!").strip()
        if s.startswith("-----BEGIN") or s.startswith("-----END"):
            i += 1
            continue
        if not s:
            if parts:
                break
            i += 1
            continue
        if not _B64_LINE.match(s):
            break
        parts.append(s)
        i += 1
    body = "".join(parts)
    if body:
        try:
            base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise fail(name, lines[start], "certificate body is not base64") from None
    return body, i


@dataclass(frozen=True, slots=True)
class GrantResult(FactsMixin):
    """``crypto pki server NAME grant N``.

    ``certificate`` is the base64 DER after ``% Granted certificate:`` (terminal requests);
    ``None`` when the server printed none (SCEP requests are fetched by the client).
    """

    certificate: str | None
    messages: tuple[str, ...]

    @property
    def der(self) -> bytes | None:
        """The granted certificate as DER bytes."""
        return base64.b64decode(self.certificate) if self.certificate else None

    @property
    def pem(self) -> str | None:
        """The granted certificate as PEM text."""
        if not self.certificate:
            return None
        body = "\n".join(self.certificate[i : i + 64] for i in range(0, len(self.certificate), 64))
        return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def parse_grant(text: str) -> GrantResult:
    """Parse ``crypto pki server NAME grant N``.

    Raises:
        ParseError: When the ``% Granted certificate:`` body is not base64, or an error is printed.
    """
    name = "crypto pki server grant"
    lines, _ = clean_lines(text)
    for i, ln in enumerate(lines):
        s = ln.text.strip().lstrip("!").strip()
        if s.startswith("% Granted certificate"):
            body, _ = _base64_block(lines, i + 1, name)
            if not body:
                raise fail(name, ln, "no certificate after 'Granted certificate:'")
            return GrantResult(body, _messages(lines))
        if re.match(r"^%(?:\s*(?:Invalid|Error|No such|Request .* not found)|.*fail)", s, re.IGNORECASE):
            raise fail(name, ln, "the server refused the grant")
    return GrantResult(None, _messages(lines))


@dataclass(frozen=True, slots=True)
class AuthenticateResult(FactsMixin):
    """``crypto pki authenticate TP``.

    ``fingerprint`` is the MD5 fingerprint as printed (``9D8D787D 574D2955 CA666B2B 22F3C31A``),
    from ``Fingerprint:`` (12.x) or ``Fingerprint MD5:`` (15.x).
    """

    fingerprint: str | None
    fingerprint_sha1: str | None
    accepted: bool | None
    imported: bool
    messages: tuple[str, ...]

    @property
    def fingerprint_hex(self) -> str | None:
        """The MD5 fingerprint without blanks, upper case."""
        return self.fingerprint.replace(" ", "").upper() if self.fingerprint else None


# The value starts with a hex digit: a class that also takes blanks right after ``\s*`` would
# let the two share a long run of blanks in quadratically many ways.
_FP = re.compile(r"^(?:Certificate Request )?Fingerprint(?:\s+(MD5|SHA1))?\s*:\s*([0-9A-Fa-f][0-9A-Fa-f ]*)$")


def parse_authenticate(text: str) -> AuthenticateResult:
    """Parse the ``crypto pki authenticate`` dialog.

    Raises:
        ParseError: When no fingerprint is printed.
    """
    lines, _ = clean_lines(text)
    fps: dict[str, str] = {}
    accepted: bool | None = None
    for ln in lines:
        s = ln.text.strip().lstrip("!").strip()
        if m := _FP.match(s):
            fps[m.group(1) or "MD5"] = " ".join(m.group(2).split())
        elif "CA certificate accepted" in s:
            accepted = True
        elif re.search(r"certificate (?:not accepted|rejected)", s, re.IGNORECASE):
            accepted = False
    if not fps:
        raise fail("crypto pki authenticate", _last(lines), "no fingerprint in the output")
    imported = any("successfully imported" in m for m in _messages(lines)) or bool(accepted)
    return AuthenticateResult(fps.get("MD5"), fps.get("SHA1"), accepted, imported, _messages(lines))


@dataclass(frozen=True, slots=True)
class EnrollResult(FactsMixin):
    """``crypto pki enroll TP``.

    Attributes:
        request_sent: ``% Certificate request sent to Certificate Authority`` was printed.
        fingerprint_md5 / fingerprint_sha1: ``Certificate Request Fingerprint MD5/SHA1:`` lines.
        request: The base64 PKCS#10 between ``Certificate Request follows:`` and ``---End``.
        fqdn / subject: What IOS said it would put in the certificate.
    """

    request_sent: bool
    fingerprint_md5: str | None
    fingerprint_sha1: str | None
    request: str | None
    fqdn: str | None
    subject: str | None
    messages: tuple[str, ...]


def parse_enroll(text: str) -> EnrollResult:
    """Parse the ``crypto pki enroll`` dialog (SCEP or terminal enrollment).

    Raises:
        ParseError: When a displayed request is not base64.
    """
    name = "crypto pki enroll"
    lines, _ = clean_lines(text)
    fps: dict[str, str] = {}
    request = fqdn = subject = None
    for i, ln in enumerate(lines):
        s = ln.text.strip().lstrip("!").strip()
        if m := _FP.match(s.lstrip("% ").strip()):
            fps[m.group(1) or "MD5"] = " ".join(m.group(2).split())
        elif s.startswith("Certificate Request follows"):
            request, _ = _base64_block(lines, i + 1, name)
        elif m := re.match(r"^%\s*The fully-qualified domain name in the certificate will be:\s*(\S+)", s):
            fqdn = m.group(1)
        elif m := re.match(r"^%\s*The subject name in the certificate will (?:be|include):\s*(.+)$", s):
            subject = m.group(1).strip()
    msgs = _messages(lines)
    sent = any("request sent to Certificate Authority" in m for m in msgs)
    return EnrollResult(sent, fps.get("MD5"), fps.get("SHA1"), request or None, fqdn, subject, msgs)


@dataclass(frozen=True, slots=True)
class ImportResult(FactsMixin):
    """``crypto pki import TP certificate``: ``success`` and the message that decided it."""

    success: bool
    message: str | None
    fqdn: str | None
    messages: tuple[str, ...]


def parse_import(text: str) -> ImportResult:
    """Parse the ``crypto pki import TP certificate`` dialog.

    Raises:
        ParseError: When the output says neither success nor failure.
    """
    lines, _ = clean_lines(text)
    msgs = _messages(lines)
    fqdn = next((m.group(1) for x in msgs if (m := re.search(r"will be:\s*(\S+)", x))), None)
    for msg in msgs:
        if "successfully imported" in msg:
            return ImportResult(True, msg, fqdn, msgs)
    for msg in msgs:
        if re.search(r"fail|error|invalid|not |does not match|mismatch|rejected", msg, re.IGNORECASE):
            return ImportResult(False, msg, fqdn, msgs)
    raise fail("crypto pki import", _last(lines), "no success or failure message")
