"""A minimal in-memory :class:`~pkilab.protocols.scep.server.ScepBackend`.

It exists to exercise the SCEP core on its own (unit tests, third-party interop tests, the
benchmark). It is not the simulated IOS certificate server, which keeps its state in the
router's file system and follows every IOS rule; this one only knows grant-auto vs manual,
a one-time challenge password, serial numbers, revocation and the CRL.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab.pki.ca import RevokedEntry, build_crl, issue_from_csr
from pkilab.protocols.scep.message import FailInfo
from pkilab.protocols.scep.server import Decision, EnrollmentRequest, Granted, Pending, Rejected


@dataclass(frozen=True)
class MemoryRecord:
    """One enrollment request as the memory CA keeps it."""

    request: EnrollmentRequest
    state: str  # pending | granted | rejected
    certificate: x509.Certificate | None = None


class MemoryCa:
    """A thread-safe in-memory CA behind a :class:`~pkilab.protocols.scep.server.ScepServer`."""

    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        certificate: x509.Certificate,
        clock: Callable[[], dt.datetime],
        *,
        auto_grant: bool = True,
        lifetime_days: int = 365,
        crl_hours: int = 168,
        cdp_url: str | None = None,
    ):
        """Set up the CA.

        Args:
            key: the CA key.
            certificate: the CA certificate.
            clock: the CA's clock.
            auto_grant: grant every request at once (``grant auto``), else hold them pending.
            lifetime_days: certificate lifetime.
            crl_hours: CRL lifetime.
            cdp_url: CRL distribution point written in issued certificates.
        """
        self._key = key
        self._cert = certificate
        self._clock = clock
        self.auto_grant = auto_grant
        self.lifetime_days = lifetime_days
        self.crl_hours = crl_hours
        self.cdp_url = cdp_url
        self.challenge: str | None = None
        self.records: dict[str, MemoryRecord] = {}
        self.last_serial = 1
        self.revoked: list[RevokedEntry] = []
        self._crl: x509.CertificateRevocationList | None = None
        self._lock = threading.Lock()

    def ca_certificate(self) -> x509.Certificate:
        """The CA certificate."""
        return self._cert

    def ca_key(self) -> rsa.RSAPrivateKey:
        """The CA key."""
        return self._key

    def _issue(self, request: EnrollmentRequest) -> x509.Certificate:
        self.last_serial += 1
        return issue_from_csr(
            self._cert,
            self._key,
            request.csr,
            self.last_serial,
            self._clock(),
            self.lifetime_days,
            cdp_url=self.cdp_url,
        )

    def submit(self, request: EnrollmentRequest) -> Decision:
        """Grant at once (auto mode or the valid one-time challenge), else hold pending."""
        with self._lock:
            password = request.csr.challenge_password
            by_password = self.challenge is not None and password == self.challenge
            if by_password:
                self.challenge = None  # one-time
            if self.auto_grant or by_password:
                cert = self._issue(request)
                self.records[request.transaction_id] = MemoryRecord(request, "granted", cert)
                return Granted(cert)
            self.records[request.transaction_id] = MemoryRecord(request, "pending")
            return Pending()

    def poll(self, transaction_id: str, subject: x509.Name) -> Decision:
        """The state of an earlier request."""
        with self._lock:
            record = self.records.get(transaction_id)
            if record is None or record.request.csr.subject != subject:
                return Rejected(FailInfo.BAD_CERT_ID)
            if record.state == "granted" and record.certificate is not None:
                return Granted(record.certificate)
            if record.state == "rejected":
                return Rejected(FailInfo.BAD_REQUEST)
            return Pending()

    def grant(self, transaction_id: str) -> x509.Certificate:
        """Grant a pending request (``crypto pki server NAME grant``).

        Raises:
            KeyError: no pending request with that transactionID.
        """
        with self._lock:
            record = self.records[transaction_id]
            if record.state != "pending":
                raise KeyError(transaction_id)
            cert = self._issue(record.request)
            self.records[transaction_id] = MemoryRecord(record.request, "granted", cert)
            return cert

    def reject(self, transaction_id: str) -> None:
        """Reject a pending request."""
        with self._lock:
            record = self.records[transaction_id]
            self.records[transaction_id] = MemoryRecord(record.request, "rejected")

    def revoke(self, serial: int) -> None:
        """Revoke a serial and publish a fresh CRL."""
        with self._lock:
            self.revoked.append(RevokedEntry(serial, self._clock()))
            self._crl = None

    def crl(self) -> x509.CertificateRevocationList:
        """The current CRL (made on first use and after each revocation)."""
        with self._lock:
            if self._crl is None:
                now = self._clock()
                self._crl = build_crl(
                    self._cert, self._key, now, now + dt.timedelta(hours=self.crl_hours), self.revoked
                )
            return self._crl
