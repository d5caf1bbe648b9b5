"""The seed's PKI procedures as steps over sessions: CA bring-up, trustpoints, enrollment, grants.

Each step drives a router only through a :class:`~pkilab.device.session.Session` (CLI text in,
CLI text out) and returns parsed state, so the same procedure runs on a real IOS router and on
the simulated lab. Values are checked (:mod:`pkilab.config.values`) before they become lines.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap
from dataclasses import dataclass, field
from typing import Any

from pkilab.config import values as v
from pkilab.device.session import Answer, Session
from pkilab.errors import PkilabError
from pkilab.parsers import parse_as
from pkilab.parsers.certificates import Certificate, CertificateTable
from pkilab.parsers.exec_dialogs import AuthenticateResult, EnrollResult, GrantResult, ImportResult, RequestResult
from pkilab.parsers.server import PkiServer, PkiServers, ServerCrl, ServerRequests
from pkilab.plan import Deadlines, LabPlan
from pkilab.wait import wait_until

YES = r"\[yes/no\]:"
# What a step waits for a long command when its caller gives no deadline: a real router's. The
# suites pass their lab plan's (``plan.deadlines``); a deadline ends at the prompt, so a long one
# costs nothing when the command is quick.
REAL = Deadlines.real()


@dataclass(frozen=True)
class CaServerSettings:
    """``crypto pki server`` settings; :meth:`from_plan` gives the lab plan's."""

    name: str
    issuer_name: str
    passphrase: str = field(repr=False)
    modulus: int = 1024
    exportable: bool = True
    database_level: str = "names"
    database_url: str | None = None
    lifetime_crl: int = 24
    lifetime_certificate: int = 254
    lifetime_ca_certificate: int = 508
    grant_auto: bool = False
    cdp_url: str | None = None

    @classmethod
    def from_plan(cls, plan: LabPlan, **changes: Any) -> CaServerSettings:
        """The plan's CA (name, issuer, lifetimes, key size), with ``changes`` applied."""
        ca = plan.ca
        settings = cls(
            name=ca.server,
            issuer_name=ca.issuer_name,
            passphrase=ca.passphrase,
            modulus=plan.crypto.modulus,
            database_level=ca.database_level,
            lifetime_crl=ca.lifetime_crl,
            lifetime_certificate=ca.lifetime_certificate,
            lifetime_ca_certificate=ca.lifetime_ca_certificate,
        )
        return dataclasses.replace(settings, **changes)

    def lines(self) -> list[str]:
        """The ``(cs-server)#`` configuration lines, values checked."""
        name = v.word(self.name, "ca.name")
        level = v.choice(self.database_level, "ca.database_level", ("minimal", "names", "complete"))
        lines = [f"crypto pki server {name}", f"database level {level}"]
        if self.database_url:
            lines.append(f"database url {v.word(self.database_url, 'ca.database_url')}")
        lines += [
            f"issuer-name {v.dn(self.issuer_name, 'ca.issuer_name')}",
            f"lifetime crl {v.integer(self.lifetime_crl, 'ca.lifetime_crl', 1, 336)}",
            f"lifetime certificate {v.integer(self.lifetime_certificate, 'ca.lifetime_certificate', 1, 1825)}",
            f"lifetime ca-certificate {v.integer(self.lifetime_ca_certificate, 'ca.lifetime_ca_certificate', 1, 1825)}",
        ]
        if self.cdp_url:
            lines.append(f"cdp-url {v.url(self.cdp_url, 'ca.cdp_url')}")
        return lines


@dataclass(frozen=True)
class TrustpointSettings:
    """``crypto pki trustpoint`` settings of an enrolling router; :meth:`from_plan` gives the plan's."""

    name: str
    enrollment_url: str | None
    terminal: bool = False
    revocation: str = "crl"
    auto_enroll: int | None = 70
    source_interface: str | None = None
    rsakeypair: str | None = None

    @classmethod
    def from_plan(cls, plan: LabPlan, **changes: Any) -> TrustpointSettings:
        """The plan's trustpoint (name, enrollment URL, auto-enroll), with ``changes`` applied."""
        tp = cls(name=plan.ca.trustpoint, enrollment_url=plan.ca.enrollment_url, auto_enroll=plan.auto_enroll)
        return dataclasses.replace(tp, **changes)

    def lines(self) -> list[str]:
        """The ``(ca-trustpoint)#`` lines, values checked."""
        lines = [f"crypto pki trustpoint {v.word(self.name, 'trustpoint.name')}"]
        if self.terminal:
            lines.append("enrollment terminal")
        elif self.enrollment_url:
            lines += ["enrollment mode ra", f"enrollment url {v.url(self.enrollment_url, 'trustpoint.enrollment_url')}"]
        check = v.choice(self.revocation, "trustpoint.revocation", ("crl", "none", "crl none"))
        lines.append(f"revocation-check {check}")
        if self.source_interface:
            lines.append(f"source interface {v.word(self.source_interface, 'trustpoint.source_interface')}")
        if self.rsakeypair:
            lines.append(f"rsakeypair {v.word(self.rsakeypair, 'trustpoint.rsakeypair')}")
        if self.auto_enroll is not None:
            lines.append(f"auto-enroll {v.integer(self.auto_enroll, 'trustpoint.auto_enroll', 1, 100)}")
        return lines


class ProcedureError(PkilabError):
    """A procedure step did not reach the state the seed documents."""


def generate_keys(
    session: Session, label: str | None, modulus: int, exportable: bool, timeout: float = REAL.keygen
) -> str:
    """``crypto key generate rsa general-keys [label L] modulus N [exportable]`` (config mode).

    ``timeout``: as long as generating the key pair may take (``Deadlines.keygen``).
    """
    words = ["crypto key generate rsa general-keys"]
    if label:
        words.append(f"label {v.word(label, 'key.label')}")
    words.append(f"modulus {v.integer(modulus, 'key.modulus', 360, 4096)}")
    if exportable:
        words.append("exportable")
    session.run("configure terminal")
    try:
        return session.dialog(" ".join(words), [Answer(r"replace them\? \[yes/no\]:", "yes")], timeout=timeout)
    finally:
        session.run("end", check=False)


def bring_up_ca(session: Session, s: CaServerSettings, timeout: float = REAL.keygen) -> PkiServer:
    """The seed's "Configuring the Cisco IOS CA Server": keys, server settings, ``no shutdown``.

    Returns the parsed ``show crypto pki server`` entry once the server is enabled. ``timeout``
    (``Deadlines.keygen``) bounds the key generation, ``no shutdown`` and the server's start.
    """
    session.masker.add(s.passphrase)
    session.config(["ip http server"])
    generate_keys(session, s.name, s.modulus, s.exportable, timeout)
    session.run("configure terminal")
    try:
        for line in s.lines():
            session.run(line)
        if s.grant_auto:
            session.dialog("grant auto", [Answer(YES, "yes")], check=True)
        session.dialog(
            "no shutdown",
            [
                Answer(YES, "yes"),
                Answer(r"Re-enter password:", s.passphrase, secret=True),
                Answer(r"Password:", s.passphrase, secret=True),
            ],
            timeout=timeout,
        )
    finally:
        session.run("end", check=False)
    return wait_until(
        lambda: _enabled_server(session, s.name), timeout, 0.3, f"{session.name}: certificate server {s.name} enabled"
    )


def server_status(session: Session) -> PkiServers:
    """``show crypto pki server``, parsed."""
    return parse_as(PkiServers, "show crypto pki server", session.run("show crypto pki server"))


def _enabled_server(session: Session, name: str) -> PkiServer | None:
    servers = server_status(session).servers
    return next((srv for srv in servers if (srv.name in (None, name)) and srv.enabled), None)


def remove_ca(session: Session, name: str) -> None:
    """``no crypto pki server NAME`` with its dialogs, then the key pair."""
    session.run("configure terminal")
    try:
        session.dialog(
            f"no crypto pki server {v.word(name, 'ca.name')}",
            [
                Answer(r"sure you want to do this\? \[yes/no\]:", "yes"),
                Answer(r"signing certificate and\s+key\? \[yes/no\]:", "yes"),
            ],
            check=False,
        )
        session.dialog(f"crypto key zeroize rsa {name}", [Answer(YES, "yes")], check=False)
    finally:
        session.run("end", check=False)


def configure_trustpoint(session: Session, s: TrustpointSettings) -> None:
    """Create and configure a trustpoint (seed: "Create and configure a trustpoint")."""
    session.config(s.lines())


def authenticate(
    session: Session, name: str, pasted_pem: str | None = None, timeout: float = REAL.transfer
) -> AuthenticateResult:
    """``crypto pki authenticate NAME``: accept the CA certificate; return the parsed dialog.

    ``timeout``: as long as fetching the CA certificate over SCEP may take (``Deadlines.transfer``).
    """
    v.word(name, "trustpoint.name")
    if pasted_pem is None:
        out = session.dialog(f"crypto pki authenticate {name}", [Answer(YES, "yes")], timeout=timeout)
    else:
        out = session.paste(
            f"crypto pki authenticate {name}",
            [ln.strip() for ln in pasted_pem.strip().splitlines()],
            answers=[Answer(YES, "yes")],
            timeout=timeout,
        )
    result = parse_as(AuthenticateResult, f"crypto pki authenticate {name}", out)
    if not result.accepted:
        raise ProcedureError(f"{session.name}: CA certificate of {name} not accepted: {out.strip()[-200:]}")
    return result


def enroll(
    session: Session, name: str, challenge: str, include_serial: bool = False, timeout: float = REAL.keygen
) -> EnrollResult:
    """``crypto pki enroll NAME`` over SCEP with the seed's dialog; return the parsed outcome.

    ``timeout``: IOS generates the trustpoint's key pair in this dialog when it has none
    (``Deadlines.keygen``); the request itself is sent in the background.
    """
    v.word(name, "trustpoint.name")
    v.word(challenge, "challenge password", secret=True)
    out = session.dialog(
        f"crypto pki enroll {name}",
        [
            Answer(r"Re-enroll and replace it\? \[yes/no\]:", "yes"),
            Answer(r"Re-enter password:", challenge, secret=True),
            Answer(r"Password:", challenge, secret=True),
            Answer(r"serial number in the subject name\? \[yes/no\]:", "yes" if include_serial else "no"),
            Answer(r"IP address in the subject name\? \[no\]:", "no"),
            Answer(r"Request certificate from CA\? \[yes/no\]:", "yes"),
        ],
        timeout=timeout,
    )
    return parse_as(EnrollResult, f"crypto pki enroll {name}", out)


def server_requests(ca: Session, name: str) -> ServerRequests:
    """``crypto pki server NAME info requests``, parsed."""
    cmd = f"crypto pki server {v.word(name, 'ca.name')} info requests"
    return parse_as(ServerRequests, cmd, ca.run(cmd))


def grant(ca: Session, name: str, request_id: int | str) -> str:
    """``crypto pki server NAME grant ID|all``."""
    rid = request_id if request_id == "all" else v.integer(int(request_id), "request id", 1, 999)
    return ca.run(f"crypto pki server {v.word(name, 'ca.name')} grant {rid}")


def certificates(session: Session, trustpoint: str | None = None) -> CertificateTable:
    """``show crypto pki certificates [TRUSTPOINT]``, parsed."""
    cmd = "show crypto pki certificates" + (f" {v.word(trustpoint, 'trustpoint.name')}" if trustpoint else "")
    return parse_as(CertificateTable, cmd, session.run(cmd))


def wait_for_certificate(session: Session, name: str, timeout: float = REAL.certificate) -> Certificate:
    """Poll ``show crypto pki certificates NAME`` until the router certificate is Available."""

    def available() -> Certificate | None:
        certs = certificates(session, name)
        return next((c for c in certs.certificates if c.section == "Certificate" and c.status == "Available"), None)

    return wait_until(available, timeout, 0.3, f"{session.name}: certificate of trustpoint {name} Available")


def generate_password(ca: Session, name: str, minutes: int | None = None) -> str:
    """``crypto pki server NAME password generate [MINUTES]``; return the one-time password."""
    import re

    cmd = f"crypto pki server {v.word(name, 'ca.name')} password generate"
    if minutes is not None:
        cmd += f" {v.integer(minutes, 'minutes', 1, 1440)}"
    out = ca.run(cmd)
    match = re.search(r"password(?: is|:)\s*(\S+)", out, re.IGNORECASE)
    if match is None:
        raise ProcedureError(f"{ca.name}: no one-time password in {out.strip()!r}")
    ca.masker.add(match.group(1))
    return match.group(1)


def reject(ca: Session, name: str, request_id: int | str) -> str:
    """``crypto pki server NAME reject ID|all``."""
    rid = request_id if request_id == "all" else v.integer(int(request_id), "request id", 1, 999)
    return ca.run(f"crypto pki server {v.word(name, 'ca.name')} reject {rid}")


def set_grant_mode(ca: Session, name: str, auto: bool) -> None:
    """``grant auto`` (with its confirmation), or back to manual granting (``no grant auto``).

    IOS's ``grant none`` rejects every request automatically; manual is the absence of both.
    """
    ca.run("configure terminal")
    try:
        ca.run(f"crypto pki server {v.word(name, 'ca.name')}")
        if auto:
            ca.dialog("grant auto", [Answer(YES, "yes")], check=True)
        else:
            ca.run("no grant auto")
    finally:
        ca.run("end", check=False)


def router_certificate(session: Session, name: str) -> Certificate | None:
    """The router certificate of trustpoint ``name`` (any status), or None."""
    certs = certificates(session, name)
    return next((c for c in certs.certificates if c.section == "Certificate"), None)


def export_pem(session: Session, name: str, passphrase: str) -> str:
    """``crypto pki export NAME pem terminal 3des PASS``: what the router prints (the passphrase masked).

    IOS prints the CA certificate, the encrypted key and then, after ``% Certificate:``, the
    router's own certificate; the key pair must be exportable.
    """
    session.masker.add(passphrase)
    return session.run(
        f"crypto pki export {v.word(name, 'trustpoint.name')} pem terminal 3des "
        f"{v.word(passphrase, 'passphrase', secret=True)}"
    )


def export_ca_pem(session: Session, name: str, passphrase: str) -> str:
    """The CA certificate PEM of an enrolled router's trustpoint ``name`` (the export's first one)."""
    import re

    match = re.search(
        r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", export_pem(session, name, passphrase), re.S
    )
    if match is None:
        raise ProcedureError(f"{session.name}: no CA certificate in the export of {name}")
    return match.group(0)


def ca_fingerprint(ca: Session, s: CaServerSettings) -> str:
    """The MD5 fingerprint of the running CA's certificate, as IOS prints fingerprints.

    ``show crypto pki server`` prints it on 15.x and IOS-XE; the seed's 12.x layout does not, and
    the CA certificate exported from the server's trustpoint gives it there.
    """
    from cryptography import x509

    from pkilab.pki.fingerprints import md5_words

    server = _enabled_server(ca, s.name)
    if server is not None and server.fingerprint:
        return server.fingerprint
    return md5_words(x509.load_pem_x509_certificate(export_ca_pem(ca, s.name, s.passphrase).encode()))


def terminal_request(session: Session, name: str, timeout: float = REAL.keygen) -> str:
    """``crypto pki enroll NAME`` on an ``enrollment terminal`` trustpoint: the PKCS#10 it prints.

    ``timeout``: IOS generates a missing key pair in this dialog (``Deadlines.keygen``).
    """
    out = session.dialog(
        f"crypto pki enroll {v.word(name, 'trustpoint.name')}",
        [
            Answer(r"serial number in the subject name\? \[yes/no\]:", "no"),
            Answer(r"IP address in the subject name\? \[no\]:", "no"),
            Answer(r"Display Certificate Request to terminal\? \[yes/no\]:", "yes"),
            Answer(r"Redisplay enrollment request\? \[yes/no\]:", "no"),
        ],
        timeout=timeout,
    )
    request = parse_as(EnrollResult, f"crypto pki enroll {name}", out).request
    if not request:
        raise ProcedureError(f"{session.name}: no certificate request printed")
    return str(request)


def submit_terminal_request(ca: Session, name: str, request: str) -> int:
    """``crypto pki server NAME request pkcs10 terminal`` with the pasted request; its request id."""
    cmd = f"crypto pki server {v.word(name, 'ca.name')} request pkcs10 terminal"
    return int(parse_as(RequestResult, cmd, ca.paste(cmd, request.splitlines())).request_id)


def grant_terminal(ca: Session, name: str, request_id: int) -> str:
    """``grant N`` for a terminal request: the base64 certificate IOS prints."""
    cmd = f"crypto pki server {v.word(name, 'ca.name')} grant {v.integer(request_id, 'request id', 1, 999)}"
    cert = parse_as(GrantResult, cmd, ca.run(cmd)).certificate
    if not cert:
        raise ProcedureError(f"{ca.name}: grant {request_id} printed no certificate")
    return str(cert)


def import_certificate(session: Session, name: str, certificate_b64: str) -> ImportResult:
    """``crypto pki import NAME certificate`` with the pasted certificate; the parsed outcome."""
    cmd = f"crypto pki import {v.word(name, 'trustpoint.name')} certificate"
    # Pasted as IOS prints base64, 64 characters a line: a terminal line has a length limit.
    lines = textwrap.wrap("".join(certificate_b64.split()), 64)
    return parse_as(ImportResult, cmd, session.paste(cmd, lines))


def export_keys(
    session: Session, label: str, passphrase: str, url: str = "nvram:", timeout: float = REAL.transfer
) -> str:
    """``crypto key export rsa L pem url nvram: 3des PASS`` (config mode), accepting the file names.

    ``timeout``: a URL on a server is written with IOS's transfer timeouts (``Deadlines.transfer``).
    """
    session.masker.add(passphrase)
    session.run("configure terminal")
    try:
        return session.dialog(
            f"crypto key export rsa {v.word(label, 'key.label')} pem url {v.word(url, 'url')} 3des "
            f"{v.word(passphrase, 'passphrase', secret=True)}",
            [Answer(r"Destination filename \[[^\]]*\]\?", "")],
            timeout=timeout,
        )
    finally:
        session.run("end", check=False)


def import_keys(
    session: Session, label: str, passphrase: str, url: str = "nvram:", timeout: float = REAL.transfer
) -> bool:
    """``crypto key import rsa L pem url nvram: PASS``; True when IOS says the import succeeded.

    ``timeout``: a URL on a server is read with IOS's transfer timeouts (``Deadlines.transfer``).
    """
    session.masker.add(passphrase)
    session.run("configure terminal")
    try:
        out = session.dialog(
            f"crypto key import rsa {v.word(label, 'key.label')} pem url {v.word(url, 'url')} "
            f"{v.word(passphrase, 'passphrase', secret=True)}",
            [Answer(r"Source filename \[[^\]]*\]\?", "")],
            timeout=timeout,
            check=False,
        )
    finally:
        session.run("end", check=False)
    return "Key pair import succeeded" in out


def copy_file(session: Session, source: str, destination: str, timeout: float = REAL.transfer) -> str:
    """``copy SRC DST`` accepting the proposed destination file name (``Deadlines.transfer``)."""
    return session.dialog(
        f"copy {v.word(source, 'source')} {v.word(destination, 'destination')}",
        [Answer(r"Destination filename \[[^\]]*\]\?", "")],
        timeout=timeout,
    )


def revoke(ca: Session, name: str, serial: int) -> str:
    """``crypto pki server NAME revoke 0xSERIAL`` (the seed: "0x" is required)."""
    return ca.run(f"crypto pki server {v.word(name, 'ca.name')} revoke 0x{v.integer(serial, 'serial', 1, 2**63):X}")


def server_crl(ca: Session, name: str) -> ServerCrl:
    """``crypto pki server NAME info crl``, parsed."""
    cmd = f"crypto pki server {v.word(name, 'ca.name')} info crl"
    return parse_as(ServerCrl, cmd, ca.run(cmd))


def serial(cert: Certificate) -> int:
    """The certificate's serial number (a pending request has none: :class:`ProcedureError`)."""
    if cert.serial is None:
        raise ProcedureError(f"certificate {cert.section!r} shows no serial number (status {cert.status})")
    return int(cert.serial, 16)


def validity(cert: Certificate) -> tuple[dt.datetime, dt.datetime]:
    """The certificate's start and end dates (both shown for an Available certificate)."""
    if cert.start_at is None or cert.end_at is None:
        raise ProcedureError(f"certificate {cert.section!r} shows no validity dates (status {cert.status})")
    return cert.start_at, cert.end_at


def renew_date(cert: Certificate) -> dt.datetime:
    """The certificate's renew date (shown when the trustpoint has ``auto-enroll``)."""
    if cert.renew_at is None:
        raise ProcedureError(f"certificate {cert.section!r} shows no renew date")
    return cert.renew_at
