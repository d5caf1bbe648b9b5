"""The running IOS certificate server: its database, files, one-time passwords and SCEP backend.

:class:`RunningCa` is what ``no shutdown`` brings up and ``shutdown`` drops. Its state is the
enrollment request database (in memory, as on IOS), the last serial number and the revoked
serials. What must outlive a restart or a restore is written at the database URL as IOS does:

* ``NAME.ser`` — the last serial number issued (and the request and CRL counters);
* ``NAME.crl`` — the current CRL in DER, reissued on start, on ``revoke`` and when it expires;
* ``N.cnm`` (database level ``names`` or ``complete``) — ``subjectname_str = …`` and
  ``expiration = …`` of certificate ``N`` in the router's date format;
* ``N.cer`` (level ``complete``) — the certificate itself in DER.

A CA restored from these files (and its exported key pair and CA certificate) continues the
serial numbers and keeps the revoked serials.

The database URL is a router file system (``nvram:``, ``flash:/cs``) or, for the seed's
off-system storage, ``tftp://HOST/DIR``: ``DatabaseStore`` (:mod:`.transfer`) sends those files to the test
host's TFTP server (:mod:`pkilab.hostsrv`) when HOST is the testbed's ``custom.hostsrv`` address
(the simulator treats that address as reachable from every router; other TFTP hosts time out).
The transfers are real TFTP or FTP over loopback, and none runs on the lab's event loop: the
writes go to a worker thread (``DatabaseStore.write_soon``), and the files a starting CA reads
back (:func:`read_database`) are read before :meth:`RunningCa.start`, in a worker thread in a
running lab (:mod:`.ca_server`), so that a slow or silent server stalls only this CA. TFTP cannot
list a directory, so a ``complete`` database over TFTP does not reload its ``N.cer`` files on restart. It implements
:class:`pkilab.protocols.scep.server.ScepBackend`; nothing here reads the host clock.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab.errors import PkiError
from pkilab.pki.ca import RevokedEntry, build_crl, create_ca_certificate, issue_from_csr
from pkilab.pki.csr import CsrInfo
from pkilab.pki.fingerprints import request_fingerprint
from pkilab.pki.names import parse_ios_dn, render_dn
from pkilab.protocols.scep.message import FailInfo
from pkilab.protocols.scep.server import Decision, EnrollmentRequest, Granted, Pending, Rejected
from pkilab.sim.features.transfer import DatabaseStore
from pkilab.sim.filesys import FileSystemError

DB_LEVEL_TEXT = {
    "minimal": "Minimum - no cert data written to storage",
    "names": "Names - subject name data written as <serialnum>.cnm",
    "complete": "Complete - all issued certs written as <serialnum>.cer",
}


@dataclass(frozen=True)
class ServerSettings:
    """The ``crypto pki server NAME`` sub-commands (IOS defaults)."""

    database_level: str = "minimal"
    database_url: str = "nvram:"
    issuer_name: str | None = None
    crl_hours: int = 168
    cert_days: int = 365
    ca_days: int = 1095
    grant: str = "manual"  # manual | auto | none
    cdp_url: str | None = None
    request_hours: int = 168
    hash: str | None = None
    extra: tuple[str, ...] = ()

    @property
    def signing_hash(self) -> str:
        """The hash certificates and CRLs are signed with.

        ``hash md5|sha1`` is kept in the configuration but signs with SHA-256: cryptography
        refuses to make X.509 signatures with those hashes.
        """
        return self.hash if self.hash in ("sha256", "sha384", "sha512") else "sha256"

    def issuer_text(self, name: str) -> str:
        """The issuer name as configured, ``CN=NAME`` by default."""
        return self.issuer_name or f"CN={name}"


@dataclass(frozen=True)
class Record:
    """One entry of the enrollment request database.

    Attributes:
        req_id: the ``ReqID``.
        state: ``pending``, ``granted`` or ``rejected``.
        csr: the request.
        fingerprint: MD5 of the request DER (32 hex digits).
        transaction_id: the SCEP transactionID (None for terminal/url requests).
        source: ``scep``, ``terminal`` or ``url``.
        pem: print/write the granted certificate as PEM (``request pkcs10 … pem``).
        url: where a ``url`` request came from.
        certificate: the certificate once granted.
        created: when it arrived (the router's clock); pending requests time out.
    """

    req_id: int
    state: str
    csr: CsrInfo
    fingerprint: str
    transaction_id: str | None
    source: str
    pem: bool = False
    url: str | None = None
    certificate: x509.Certificate | None = None
    created: dt.datetime | None = None


@dataclass(frozen=True)
class OneTimePassword:
    """The newest ``password generate`` password and when it stops being valid."""

    value: str
    expires: dt.datetime


@dataclass(frozen=True)
class CaContext:
    """What the running CA needs from its router.

    Attributes:
        name: the server (and key pair, and trustpoint) name.
        fs: where the database files go (the router's file systems, or TFTP).
        now: the router's clock (UTC).
        format_date: renders a UTC instant as the router prints dates.
        log: writes a ``%FAC-SEV-MNEMONIC: text`` log message.
    """

    name: str
    fs: DatabaseStore
    now: Callable[[], dt.datetime]
    format_date: Callable[[dt.datetime], str]
    log: Callable[[str], None]


def join_url(root: str, filename: str) -> str:
    """A file under the database URL (``nvram:`` + ``x.ser``, ``flash:/cs`` + ``x.ser``)."""
    return root + filename if root.endswith((":", "/")) else f"{root}/{filename}"


@dataclass(frozen=True)
class DatabaseFiles:
    """What a starting CA reads back from its database URL (None: the file could not be read)."""

    serial: bytes | None = None
    crl: bytes | None = None


def read_database(store: DatabaseStore, root: str, name: str) -> DatabaseFiles:
    """Read ``NAME.ser`` and ``NAME.crl`` under ``root``; blocking transfers when ``root`` is remote.

    A file that cannot be read (missing, refused, timed out) counts as absent, as IOS starts a
    CA without it.
    """

    def one(filename: str) -> bytes | None:
        try:
            return store.read(join_url(root, filename))
        except FileSystemError:
            return None

    return DatabaseFiles(one(f"{name}.ser"), one(f"{name}.crl"))


@dataclass(frozen=True, eq=False)
class CaLaunch:
    """One start of the server under way: what it checked and made before it reads the database back."""

    name: str
    store: DatabaseStore
    settings: ServerSettings
    key: rsa.RSAPrivateKey

    def read(self) -> DatabaseFiles:
        """The database files (blocking transfers for a TFTP/FTP database URL)."""
        return read_database(self.store, self.settings.database_url, self.name)


def read_serial_file(data: bytes) -> dict[str, int]:
    """The counters of a ``NAME.ser`` file (``serial``, ``request``, ``crl``)."""
    out: dict[str, int] = {}
    for line in data.decode("ascii", "replace").splitlines():
        m = re.fullmatch(r"\s*(\w+)\s*=\s*(0x[0-9A-Fa-f]+|\d+)\s*", line)
        if m:
            out[m.group(1)] = int(m.group(2), 0)
    return out


class RunningCa:
    """A started certificate server (see the module docstring)."""

    def __init__(
        self, ctx: CaContext, settings: ServerSettings, key: rsa.RSAPrivateKey, certificate: x509.Certificate
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.key = key
        self.certificate = certificate
        self.last_serial = 1
        self.next_req_id = 1
        self.crl_number = 0
        self.records: dict[int, Record] = {}
        self.pending: set[int] = set()  # ReqIDs of the pending records (what tick() looks at)
        self.by_transaction: dict[str, int] = {}
        self.revoked: list[RevokedEntry] = []
        self.password: OneTimePassword | None = None
        self.spent_passwords: set[str] = set()
        self.current_crl: x509.CertificateRevocationList | None = None
        self.issued: dict[int, x509.Certificate] = {certificate.serial_number: certificate}
        self.faults: frozenset[str] = frozenset()  # simulator fault switches of the router

    # ---- start -------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        ctx: CaContext,
        settings: ServerSettings,
        key: rsa.RSAPrivateKey,
        existing: x509.Certificate | None,
        files: DatabaseFiles,
        faults: frozenset[str] = frozenset(),
    ) -> RunningCa:
        """Bring the CA up: reuse ``existing`` (a restore) or make a new CA certificate.

        ``files`` are what :func:`read_database` read at the database URL; nothing here waits
        for a transfer (the writes it makes are :meth:`DatabaseStore.write_soon`'s).

        Raises:
            PkiError: the issuer name is not a DN, or a lifetime is out of range.
            FileSystemError: the database URL cannot be written.
        """
        now = ctx.now()
        fresh = existing is None
        if existing is None:
            subject = parse_ios_dn(settings.issuer_text(ctx.name))
            existing = create_ca_certificate(key, subject, now, settings.ca_days, hash_name=settings.signing_hash)
        ca = cls(ctx, settings, key, existing)
        ca.faults = faults
        ca._load_files(files)
        if fresh:
            ca.last_serial = max(ca.last_serial, 1)
            ca._write_names(existing)
        ca.refresh_crl()
        return ca

    def _load_files(self, files: DatabaseFiles) -> None:
        counters = read_serial_file(files.serial) if files.serial is not None else {}
        self.last_serial = 1 if "serial-reset-on-restore" in self.faults else counters.get("serial", 1)
        self.next_req_id = counters.get("request", 1)
        self.crl_number = counters.get("crl", 0)
        if self.settings.database_level == "complete":
            self._load_issued()
        if files.crl is None:
            return
        try:
            old = x509.load_der_x509_crl(files.crl)
        except ValueError:
            return
        if old.issuer == self.certificate.subject and old.is_signature_valid(self.key.public_key()):
            self.revoked = [RevokedEntry(r.serial_number, r.revocation_date_utc) for r in old]

    def _load_issued(self) -> None:
        """The ``N.cer`` files of a ``complete`` database that this CA signed (local storage only)."""
        try:
            filesystem, folder = self.ctx.fs.resolve(self.db_file(""))
        except FileSystemError:
            return
        for path, entry in filesystem.files.items():
            rest = path[len(folder) :] if path.startswith(folder) else ""
            if not re.fullmatch(r"[0-9A-F]+\.cer", rest):
                continue
            try:
                cert = x509.load_der_x509_certificate(entry.data)
                cert.verify_directly_issued_by(self.certificate)
            except Exception:  # not a certificate of ours: IOS ignores it too
                continue
            self.issued[cert.serial_number] = cert

    # ---- files -------------------------------------------------------------------------
    def db_file(self, filename: str) -> str:
        """The URL of ``filename`` at the database URL."""
        return join_url(self.settings.database_url, filename)

    def _write(self, filename: str, data: bytes) -> None:
        # A write to a TFTP/FTP database URL leaves the event loop (DatabaseStore.write_soon).
        self.ctx.fs.write_soon(self.db_file(filename), data, self._write_failed)

    def _write_failed(self, exc: FileSystemError) -> None:
        self.ctx.log(f"%PKI-3-CS_DB_WRITE_FAIL: Certificate Server database write failed: {exc}")

    def _write_serial(self) -> None:
        text = f"serial = 0x{self.last_serial:X}\nrequest = {self.next_req_id}\ncrl = {self.crl_number}\n"
        self._write(f"{self.ctx.name}.ser", text.encode("ascii"))

    def _write_names(self, cert: x509.Certificate, subject: x509.Name | None = None) -> None:
        # ``subject``: the certificate's subject when the caller has it already (its request's).
        level = self.settings.database_level
        if level == "minimal":
            return
        text = (
            f"subjectname_str = {render_dn(subject or cert.subject)}\n"
            f"expiration = {self.ctx.format_date(cert.not_valid_after_utc)}\n"
        )
        self._write(f"{cert.serial_number:X}.cnm", text.encode("ascii"))
        if level == "complete":
            self._write(f"{cert.serial_number:X}.cer", cert.public_bytes(Encoding.DER))

    # ---- CRL ---------------------------------------------------------------------------
    def refresh_crl(self) -> x509.CertificateRevocationList:
        """Issue a fresh CRL now (valid ``lifetime crl`` hours) and write ``NAME.crl``."""
        now = self.ctx.now()
        self.crl_number += 1
        listed = [] if "revoked-serial-off-crl" in self.faults else self.revoked
        crl = build_crl(
            self.certificate,
            self.key,
            now,
            now + dt.timedelta(hours=self.settings.crl_hours),
            listed,
            crl_number=self.crl_number,
            hash_name=self.settings.signing_hash,
        )
        self.current_crl = crl
        self._write_serial()  # before the CRL: the seed's dir listing has NAME.ser first
        self._write(f"{self.ctx.name}.crl", crl.public_bytes(Encoding.DER))
        return crl

    def tick(self) -> None:
        """By the router's clock: reissue an expired CRL; drop requests pending too long.

        A request left pending past ``lifetime enrollment-request`` leaves the database; the
        client's next poll is refused and it enrolls again, as the seed's Q6 describes.
        """
        now = self.ctx.now()
        crl = self.current_crl
        if crl is not None and crl.next_update_utc is not None and now >= crl.next_update_utc:
            self.refresh_crl()
        limit = dt.timedelta(hours=self.settings.request_hours)
        for req_id in list(self.pending):
            record = self.records[req_id]
            if record.created is not None and now - record.created >= limit:
                self.pending.discard(req_id)
                del self.records[record.req_id]
                tid = record.transaction_id
                if tid is not None and self.by_transaction.get(tid) == record.req_id:
                    del self.by_transaction[tid]

    def revoke(self, serial: int) -> str | None:
        """Revoke ``serial`` and publish a fresh CRL; return IOS's complaint, or None."""
        if serial < 2 or serial > self.last_serial:
            return f"% Serial number 0x{serial:X} hasn't been issued by this Certificate Server."
        if any(r.serial == serial for r in self.revoked):
            return f"% Certificate 0x{serial:X} is already revoked."
        self.revoked.append(RevokedEntry(serial, self.ctx.now()))
        self.refresh_crl()
        return None

    # ---- requests ----------------------------------------------------------------------
    def add_request(
        self,
        csr: CsrInfo,
        source: str,
        transaction_id: str | None = None,
        pem: bool = False,
        url: str | None = None,
        save: bool = True,
        fingerprint: str | None = None,
    ) -> Record:
        """Put a request in the database as pending.

        ``save=False``: the caller writes NAME.ser; ``fingerprint``: the request's, when known.
        """
        record = Record(
            self.next_req_id,
            "pending",
            csr,
            fingerprint or request_fingerprint(csr.der),
            transaction_id,
            source,
            pem,
            url,
            created=self.ctx.now(),
        )
        self.records[record.req_id] = record
        self.pending.add(record.req_id)
        if transaction_id is not None:
            self.by_transaction[transaction_id] = record.req_id
        self.next_req_id = self.next_req_id % 999 + 1  # ReqIDs are <1-999> and wrap
        if save:
            self._write_serial()
        return record

    def grant(self, req_id: int) -> Record:
        """Issue the certificate of a pending request.

        Raises:
            PkiError: the CA certificate has expired or the request does not verify.
            KeyError: no pending request ``req_id``.
        """
        record = self.records[req_id]
        if record.state != "pending":
            raise KeyError(req_id)
        serial = self.last_serial + 1
        cert = issue_from_csr(
            self.certificate,
            self.key,
            record.csr,
            serial,
            self.ctx.now(),
            self.settings.cert_days,
            cdp_url=self.settings.cdp_url,
            hash_name=self.settings.signing_hash,
        )
        self.last_serial = serial
        self.issued[serial] = cert
        self._write_serial()
        self._write_names(cert, record.csr.subject)
        record = replace(record, state="granted", certificate=cert)
        self.records[req_id] = record
        self.pending.discard(req_id)
        return record

    def reject(self, req_id: int) -> Record:
        """Reject a pending request.

        Raises:
            KeyError: no pending request ``req_id``.
        """
        record = self.records[req_id]
        if record.state != "pending":
            raise KeyError(req_id)
        record = replace(record, state="rejected")
        self.records[req_id] = record
        self.pending.discard(req_id)
        return record

    # ---- one-time passwords ------------------------------------------------------------
    def generate_password(self, minutes: int) -> OneTimePassword:
        """A new one-time password; the previous one stops being valid."""
        if self.password is not None:
            self.spent_passwords.add(self.password.value)
        self.password = OneTimePassword(secrets.token_hex(8).upper(), self.ctx.now() + dt.timedelta(minutes=minutes))
        return self.password

    def _check_password(self, password: str | None) -> str:
        """``valid`` (and spend it), ``stale`` (reused, replaced or expired) or ``none``."""
        if not password:
            return "none"
        otp = self.password
        if otp is not None and secrets.compare_digest(password, otp.value):
            self.password = None
            self.spent_passwords.add(otp.value)
            return "valid" if self.ctx.now() < otp.expires else "stale"
        if password in self.spent_passwords:
            return "valid" if "reused-otp-accepted" in self.faults else "stale"
        return "none"

    # ---- ScepBackend -------------------------------------------------------------------
    def ca_certificate(self) -> x509.Certificate:
        """The CA certificate."""
        return self.certificate

    def ca_key(self) -> rsa.RSAPrivateKey:
        """The CA key pair."""
        return self.key

    def crl(self) -> x509.CertificateRevocationList | None:
        """The current CRL."""
        return self.current_crl

    def submit(self, request: EnrollmentRequest) -> Decision:
        """Decide on a SCEP enrollment as IOS does.

        The same request sent again under its transactionID answers with that request's state;
        a new request under a known transactionID (a re-enrollment with the same key pair) is a
        new request, as the seed says re-enrollments are. A one-time password that was
        replaced, used or has expired is refused; the valid one grants at once. Otherwise
        ``grant auto`` grants, ``grant none`` rejects and manual mode holds the request for
        ``grant``. Any other challenge password is the requester's revocation password and
        does not matter here.
        """
        known = self.records.get(self.by_transaction.get(request.transaction_id, 0))
        if known is not None and known.csr.der == request.csr.der:
            return self._decision(known)
        verdict = self._check_password(request.csr.challenge_password)
        if verdict == "stale":
            self.ctx.log("%PKI-6-CS_ENROLL_FAIL: Enrollment request rejected: invalid one-time password")
            return Rejected(FailInfo.BAD_REQUEST)
        granting = verdict == "valid" or self.settings.grant == "auto"
        record = self.add_request(
            request.csr, "scep", request.transaction_id, save=not granting, fingerprint=request.fingerprint
        )
        if granting:
            try:
                record = self.grant(record.req_id)  # writes NAME.ser
            except Exception:
                self._write_serial()  # the request stays, pending
                raise
        elif self.settings.grant == "none":
            record = self.reject(record.req_id)
        return self._decision(record)

    def poll(self, transaction_id: str, subject: x509.Name) -> Decision:
        """The state of an earlier SCEP request (GetCertInitial)."""
        req_id = self.by_transaction.get(transaction_id)
        record = self.records.get(req_id) if req_id is not None else None
        if record is None or record.csr.subject != subject:
            return Rejected(FailInfo.BAD_CERT_ID)
        return self._decision(record)

    @staticmethod
    def _decision(record: Record) -> Decision:
        if record.state == "granted" and record.certificate is not None:
            return Granted(record.certificate)
        if record.state == "rejected":
            return Rejected(FailInfo.BAD_REQUEST)
        return Pending()


def certificate_text(cert: x509.Certificate, pem: bool) -> str:
    """A granted certificate as ``grant`` prints it: base64 lines, or PEM with its armour."""
    if pem:
        return cert.public_bytes(Encoding.PEM).decode("ascii")
    text = base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")
    return "".join(text[i : i + 64] + "\n" for i in range(0, len(text), 64))


def check_issuer(text: str) -> str | None:
    """IOS's complaint about an ``issuer-name`` that is not a DN, or None."""
    try:
        parse_ios_dn(text)
    except PkiError:
        return "% Invalid issuer name"
    return None
