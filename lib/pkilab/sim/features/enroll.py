"""Trustpoint exec commands: authenticate, enroll, import, export, CRL request; auto-enroll.

SCEP goes over the virtual network (:mod:`pkilab.sim.vhttp`) to the enrollment URL's host, from
the ``source interface`` address when one is set — which is what lets a branch enroll through
the prep tunnel. Enrollment runs in the background like IOS's: the command returns once the
request is sent; a pending request is polled until granted or rejected, and the outcome is
logged (``%PKI-6-CERTRET`` …).
"""

from __future__ import annotations

import asyncio
import base64
import time
import urllib.parse
from collections.abc import Generator
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab import catalog
from pkilab.catalog.grammar import normalize_interface
from pkilab.errors import ScepError
from pkilab.hostsrv import spec_from_testbed
from pkilab.pki import fingerprints
from pkilab.pki.ca import http_cdp_url
from pkilab.pki.csr import build_csr
from pkilab.pki.der import unarmor
from pkilab.pki.keys import export_key_pem
from pkilab.pki.names import render_dn, router_subject
from pkilab.protocols.scep.client import (
    ClientOptions,
    ScepClient,
    get_ca_cert_request,
    get_crl_request,
    parse_ca_cert,
    parse_crl,
)
from pkilab.protocols.scep.message import PkiStatus
from pkilab.sim import vhttp
from pkilab.sim.features.admin import Admin
from pkilab.sim.features.ip import Ip
from pkilab.sim.features.keys import Keys
from pkilab.sim.features.system import System
from pkilab.sim.features.trustpoint import Pending, Trustpoint, Trustpoints
from pkilab.sim.interp import Ask, Await, Ctx
from pkilab.sim.router import Feature, handles


class EnrollError(Exception):
    """A SCEP exchange failed; the message is what IOS would say."""


# The reason line of %PKI-3-CRL_FETCH_FAIL, by what went wrong. "Enrollment URL not configured." is a
# real capture; the others are invented in its style (docs/sim-fidelity.md says so).
CRL_FETCH_REASONS = {
    "no-url": "Enrollment URL not configured.",
    "resolve": "Unable to resolve the CDP host name.",
    "connect": "Failed to connect to the CDP.",
    "http": "The CDP did not return the CRL.",
    "format": "Failed to parse the CRL.",
    "signature": "CRL signature verification failed.",
}


class CrlFetchError(Exception):
    """A CRL fetch failed; ``reason`` is the reason line IOS logs for it."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.reason = CRL_FETCH_REASONS[kind]


def _ask_yes(answer: str) -> bool:
    return answer.strip().lower() in ("y", "ye", "yes")


def _read_pasted(lines: list[str]) -> bytes | None:
    """The DER of a certificate pasted at the terminal (PEM or bare base64), None when it is neither."""
    try:
        der = unarmor("\n".join(lines).encode("ascii", "replace"))
    except ValueError:
        return None
    return der if der[:1] == b"\x30" else None


class Enrollment(Feature):
    """Authenticate, enroll, import, export, CRL request; auto-enroll and polling timers."""

    order = 510

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.busy: set[str] = set()
        self.sequence = int(time.time()) % 10000
        self.timers: dict[str, float] = {}
        self.next_poll: dict[str, float] = {}  # trustpoint -> when its pending request is polled

    @property
    def tps(self) -> Trustpoints:
        """The router's trustpoints."""
        return self.router.feature(Trustpoints)

    def _tp(self, name: str) -> Trustpoint | None:
        return self.tps.get(name)

    def _keys(self) -> Keys:
        return self.router.feature(Keys)

    # ---- SCEP transport ------------------------------------------------------------------
    def _endpoint(self, tp: Trustpoint) -> tuple[str, int, str, str]:
        """(address, port, path prefix, host) of the trustpoint's enrollment URL."""
        if not tp.enrollment_url:
            raise EnrollError("% Enrollment URL not configured")
        url = urllib.parse.urlsplit(tp.enrollment_url)
        host = url.hostname or ""
        address = self.router.feature(System).resolve(host)
        if address is None:
            raise EnrollError(f"% Unable to resolve host name {host}")
        return address, url.port or 80, url.path, host

    def _source(self, tp: Trustpoint) -> str | None:
        if not tp.source_interface:
            return None
        intf = self.router.feature(Ip).interfaces.get(normalize_interface(tp.source_interface) or "")
        return str(intf.address.ip) if intf is not None and intf.address is not None else None

    async def _http(
        self, tp: Trustpoint, method: str, target: str, body: bytes = b"", content_type: str = ""
    ) -> tuple[int, str, bytes]:
        address, port, prefix, host = self._endpoint(tp)
        try:
            resp = await vhttp.request(
                self.router.feature(Ip),
                address,
                port,
                method,
                prefix + target,
                host,
                body,
                content_type,
                self._source(tp),
            )
        except vhttp.HttpTransportError as exc:
            raise EnrollError(f"% Error in connecting to the CA: {exc}") from None
        return resp.status, resp.content_type, resp.body

    async def fetch_ca(self, tp: Trustpoint) -> list[x509.Certificate]:
        """SCEP GetCACert."""
        req = get_ca_cert_request(ClientOptions(ca_ident=tp.name))
        status, ctype, body = await self._http(tp, req.method, req.target)
        if status != 200:
            raise EnrollError("% Error in receiving Certificate Authority certificate: status = FAIL, cert length = 0")
        return parse_ca_cert(ctype, body)

    # ---- authenticate ------------------------------------------------------------------------
    @handles(catalog.CRYPTO_PKI_AUTHENTICATE)
    def authenticate(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, Any, str | None]:
        """``crypto pki authenticate NAME``: GetCACert (or paste), fingerprint, accept."""
        tp = self._tp(args["name"])
        if tp is None:
            return f"% Trustpoint {args['name']} not found"
        if tp.enrollment_terminal or not tp.enrollment_url:
            yield (
                'Enter the base 64 encoded CA certificate.\nEnd with a blank line or the word "quit" on a '
                "line by itself\n\n"
            )
            lines: list[str] = []
            while True:
                line = yield Ask("")
                if not line.strip() or line.strip().lower() == "quit":
                    break
                lines.append(line)
            der = _read_pasted(lines)
            try:
                certs = [x509.load_der_x509_certificate(der or b"")]
            except ValueError:
                return "% Error: failed to read the CA certificate"
        else:
            result = yield Await(self._guard(self.fetch_ca(tp)))
            if isinstance(result, EnrollError):
                return str(result)
            certs = result
        ca = next((c for c in certs if c.subject == c.issuer), certs[0] if certs else None)
        if ca is None:
            return "% Error in receiving Certificate Authority certificate: status = FAIL, cert length = 0"
        shown = fingerprints.md5_words(ca)
        if self.router.has_fault("wrong-ca-fingerprint"):
            shown = fingerprints.words(bytes(b ^ 0x5A for b in bytes.fromhex(shown.replace(" ", ""))))
        shown_lines = [
            line.format(md5=shown, sha1=fingerprints.sha1_words(ca))
            for line in self.router.personality.dialogs.fingerprints
        ]
        yield "Certificate has the following attributes:\n" + "\n".join(shown_lines) + "\n\n"
        answer = yield Ask("% Do you accept this certificate? [yes/no]: ")
        if not _ask_yes(answer):
            return "% Certificate not accepted."
        tp.hold(ca, True, self.router.clock.now())
        self.router.feature(System).touch()
        return "Trustpoint CA certificate accepted." + (
            "\n% Certificate successfully imported" if tp.enrollment_terminal else ""
        )

    async def _guard(self, coro: Any) -> Any:
        try:
            return await coro
        except EnrollError as exc:
            return exc

    # ---- enroll --------------------------------------------------------------------------
    def _subject(self, tp: Trustpoint, serial: bool, ip: str | None) -> tuple[str, x509.Name]:
        system = self.router.feature(System)
        fqdn = tp.fqdn or (f"{self.router.hostname}.{system.domain}" if system.domain else self.router.hostname)
        serial_no = self.router.personality.board_id(self.router.name) if serial else None
        return fqdn, router_subject(fqdn, serial_no, ip)

    def _key_for(self, tp: Trustpoint) -> tuple[str, Any, str]:
        """(label, private key, message) — generating a key, in the image's words, when none exists."""
        keys = self._keys()
        label = tp.rsakeypair or keys.default_label()
        pair = keys.get(label)
        message = ""
        if pair is None:
            pair = keys.generate(label, 1024, False)
            message = self.router.personality.keygen.done.format(bits=1024, kind="non-exportable", seconds=0)
        return label, pair.private_key, message

    @handles(catalog.CRYPTO_PKI_ENROLL)
    def enroll(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, Any, str | None]:
        """``crypto pki enroll NAME`` with the seed's dialog; SCEP or terminal."""
        tp = self._tp(args["name"])
        if tp is None:
            return f"% Trustpoint {args['name']} not found"
        if tp.ca_cert is None:
            return "% You must authenticate the Certificate Authority before you can enroll with it."
        if tp.cert is not None:
            again = yield Ask(
                "% You already have a certificate for this trustpoint.\n% Re-enroll and replace it? [yes/no]: "
            )
            if not _ask_yes(again):
                return None
        yield "%\n% Start certificate enrollment .. \n"
        password = None
        if not tp.enrollment_terminal:
            yield (
                "% Create a challenge password. You will need to verbally provide this\n"
                "   password to the CA Administrator in order to revoke your certificate.\n"
                "   For security reasons your password will not be saved in the configuration.\n"
                "   Please make a note of it.\n\n"
            )
            password = yield Ask("Password: ", echo=False)
            again = yield Ask("\nRe-enter password: ", echo=False)
            if again != password:
                return "\n% Password mismatch. Enrollment aborted."
            yield "\n"
        fqdn, _ = self._subject(tp, False, None)
        dialogs = self.router.personality.dialogs
        yield "".join(line.format(fqdn=fqdn) + "\n" for line in dialogs.enroll_subject)
        serial = yield Ask("% Include the router serial number in the subject name? [yes/no]: ")
        ip_answer = yield Ask("% Include an IP address in the subject name? [no]: ")
        ip = ip_answer.strip() if ip_answer.strip() not in ("", "no", "n") else None
        _, subject = self._subject(tp, _ask_yes(serial), ip)
        try:
            label, key, note = self._key_for(tp)
        except EnrollError as exc:
            return str(exc)
        yield note
        csr = build_csr(key, subject, password, hash_name="sha256")
        csr_der = csr.public_bytes(serialization.Encoding.DER)
        if tp.enrollment_terminal:
            return (yield from self._terminal_request(csr_der))
        go = yield Ask("Request certificate from CA? [yes/no]: ")
        if not _ask_yes(go):
            return None
        self.start_enrollment(tp, label, key, subject, csr, renewal=False)
        return "\n".join(line.format(tp=tp.name) for line in dialogs.enroll_sent)

    def _terminal_request(self, csr_der: bytes) -> Generator[Any, Any, str | None]:
        show = yield Ask("Display Certificate Request to terminal? [yes/no]: ")
        if not _ask_yes(show):
            return None
        b64 = base64.encodebytes(csr_der).decode().replace("\n", "")
        body = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
        while True:
            yield (
                f"Certificate Request follows:\n\n{body}\n\n---End - This line not part of the certificate request---\n"
            )
            again = yield Ask("Redisplay enrollment request? [yes/no]: ")
            if not _ask_yes(again):
                return None

    def start_enrollment(
        self,
        tp: Trustpoint,
        label: str,
        key: Any,
        subject: x509.Name,
        csr: x509.CertificateSigningRequest,
        renewal: bool,
    ) -> None:
        """Send the PKCSReq in the background and follow it to the end."""
        csr_der = csr.public_bytes(serialization.Encoding.DER)
        system = self.router.feature(System)
        system.logmsg(
            f"%PKI-6-CSR_FINGERPRINT: \n CSR Fingerprint MD5 : {fingerprints.md5_hex(csr_der)}"
            f"  \n CSR Fingerprint SHA1: {fingerprints.sha1_hex(csr_der)}"
        )
        signer = tp.cert if renewal else None
        client = ScepClient(
            key,
            subject,
            tp.ca_cert,  # type: ignore[arg-type]
            self.router.clock.now(),
            ClientOptions(cipher="3des", digest="sha1", ca_ident=tp.name),
            signer_cert=signer,
        )
        # One transaction per request: a re-enrollment with the same key is a new request, not a
        # retransmission of the old one (which the CA would answer with the old certificate).
        self.sequence += 1
        client.transaction_id = f"{client.transaction_id}{self.sequence:04d}"
        tp.pending = Pending(client.transaction_id, subject, csr_der, label, time.monotonic())
        self.busy.add(tp.name)
        self.router.lab.spawn(self._run_enrollment(tp, client, csr, renewal))

    async def _run_enrollment(self, tp: Trustpoint, client: ScepClient, csr: Any, renewal: bool) -> None:
        system = self.router.feature(System)
        try:
            req = client.pkcs_req(csr)
            while True:
                status, ctype, body = await self._http(tp, req.method, req.target, req.body, req.content_type or "")
                result = client.read_cert_rep(status, ctype, body)
                if result.status == PkiStatus.SUCCESS:
                    issued = client.issued_certificate(result)
                    if renewal and tp.cert is not None and issued.serial_number == tp.cert.serial_number:
                        raise EnrollError("the CA returned the certificate being renewed")
                    self._install(tp, issued)
                    system.logmsg("%PKI-6-CERTRET: Certificate received from Certificate Authority")
                    return
                if result.status == PkiStatus.FAILURE:
                    tp.pending = None
                    system.logmsg(
                        "%PKI-6-CERTREJECT: Certificate enrollment request was rejected by Certificate Authority"
                    )
                    return
                if tp.pending is None or self.router.features.get(Enrollment) is not self:
                    return  # trustpoint removed or router reloaded
                # IOS's enrollment retry period (custom.sim.timing), not a test wait.
                self.next_poll[tp.name] = time.monotonic() + self.router.timing.enroll_poll
                await asyncio.sleep(self.router.timing.enroll_poll)
                req = client.cert_poll()
        except Exception as exc:  # transport, SCEP or PKI errors all end the attempt
            tp.pending = None
            if renewal:
                tp.renew_failed_at = time.monotonic()
            system.logmsg(f"%PKI-3-CERTRETFAIL: Certificate enrollment failed. ({exc})")
        finally:
            self.busy.discard(tp.name)

    def _install(self, tp: Trustpoint, cert: x509.Certificate) -> None:
        admin = self.router.feature(Admin)
        unsaved = admin.modified()
        tp.hold(cert, False, self.router.clock.now())
        tp.pending = None
        tp.renew_failed_at = 0.0
        self.router.feature(System).touch()
        if not unsaved:
            admin.save()  # IOS writes the new certificate itself

    # ---- import / export ---------------------------------------------------------------------
    @handles(catalog.CRYPTO_PKI_IMPORT)
    def import_certificate(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, Any, str | None]:
        """``crypto pki import NAME certificate``: paste the granted certificate."""
        tp = self._tp(args["name"])
        if tp is None or tp.ca_cert is None:
            return f"% Trustpoint {args['name']} is not authenticated"
        fqdn, _ = self._subject(tp, False, None)
        yield (
            f"% The fully-qualified domain name in the certificate will be: {fqdn}\n\n"
            'Enter the base 64 encoded certificate.\nEnd with a blank line or the word "quit" on a line by '
            "itself\n"
        )
        lines: list[str] = []
        while True:
            line = yield Ask("")
            if not line.strip() or line.strip().lower() == "quit":
                break
            lines.append(line)
        try:
            cert = x509.load_der_x509_certificate(_read_pasted(lines) or b"")
        except ValueError:
            return "% Error: the certificate could not be read"
        keys = self._keys()
        pair = keys.get(tp.rsakeypair or keys.default_label())
        public = cert.public_key()
        if (
            pair is None
            or not isinstance(public, rsa.RSAPublicKey)
            or public.public_numbers() != pair.private_key.public_key().public_numbers()
        ):
            return "% Error: the certificate does not match this router's key pair"
        if cert.issuer != tp.ca_cert.subject:
            return "% Error: the certificate was not issued by the trustpoint's CA"
        self._install(tp, cert)
        return "% Router Certificate successfully imported"

    @handles(catalog.CRYPTO_PKI_EXPORT)
    def export(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``crypto pki export NAME pem terminal 3des PASS``."""
        tp = self._tp(args["name"])
        if tp is None or tp.ca_cert is None:
            return f"% Trustpoint {args['name']} has no CA certificate"
        out = ["% CA certificate:", tp.ca_cert.public_bytes(serialization.Encoding.PEM).decode().rstrip()]
        keys = self._keys()
        label = tp.rsakeypair or keys.default_label()
        pair = keys.get(label)
        if pair is not None and not pair.exportable:
            out.append(f"% RSA keypair '{label}' is not exportable.")
        elif pair is not None:
            _, prv = export_key_pem(pair.private_key, "3des" if args.get("3des") else "des", args["passphrase"])
            out += [f"% Key name: {label}", "   Usage: General Purpose Key", "% Key:", prv.rstrip()]
            if tp.cert is not None:
                out += ["% Certificate:", tp.cert.public_bytes(serialization.Encoding.PEM).decode().rstrip()]
        return "\n".join(out)

    # ---- CRL ---------------------------------------------------------------------------------
    async def fetch_crl(self, tp: Trustpoint, peer_cert: x509.Certificate | None = None) -> bool:
        """Fetch the CRL (the certificate's CDP over HTTP, else SCEP GetCRL); True on success.

        A failure is logged as ``%PKI-3-CRL_FETCH_FAIL`` with IOS's reason wording
        (:data:`CRL_FETCH_REASONS`), never the simulator's own error text.
        """
        try:
            crl, source = await self._download_crl(tp, peer_cert)
        except CrlFetchError as exc:
            self.router.feature(System).logmsg(
                f"%PKI-3-CRL_FETCH_FAIL: CRL fetch for trustpoint {tp.name} failed\n Reason : {exc.reason}"
            )
            return False
        tp.crl, tp.crl_fetched, tp.crl_source = crl, self.router.clock.now(), source
        return True

    async def _download_crl(
        self, tp: Trustpoint, peer_cert: x509.Certificate | None
    ) -> tuple[x509.CertificateRevocationList, str]:
        cdp = http_cdp_url(peer_cert if peer_cert is not None else tp.cert)
        if cdp:
            body = await self._fetch_cdp(cdp)
            source = cdp
        else:
            if not tp.enrollment_url:
                raise CrlFetchError("no-url")
            if self.router.feature(System).resolve(urllib.parse.urlsplit(tp.enrollment_url).hostname or "") is None:
                raise CrlFetchError("resolve")
            req = get_crl_request(ClientOptions(ca_ident=tp.name))
            try:
                status, _, body = await self._http(tp, req.method, req.target)
            except EnrollError:
                raise CrlFetchError("connect") from None
            if status != 200:
                raise CrlFetchError("http")
            source = "** CDP Not Published - Retrieved via SCEP"
        try:
            crl = parse_crl(200, body)
        except ScepError:
            raise CrlFetchError("format") from None
        if tp.ca_cert is not None and not crl.is_signature_valid(tp.ca_cert.public_key()):  # type: ignore[arg-type]
            raise CrlFetchError("signature")
        return crl, source

    async def _fetch_cdp(self, url: str) -> bytes:
        """The body a CDP URL answers with; :class:`CrlFetchError` when it cannot be had."""
        parts = urllib.parse.urlsplit(url)
        address = self.router.feature(System).resolve(parts.hostname or "")
        if address is None:
            raise CrlFetchError("resolve")
        spec = spec_from_testbed(self.router.lab.testbed)
        if spec is not None and address == spec.address:
            # The test host's HTTP server (pkilab.hostsrv), reachable from every simulated router.
            port = parts.port or 80
            target = f"http://{address}:{port}{parts.path}" + (f"?{parts.query}" if parts.query else "")
            return await asyncio.to_thread(_http_get, target)
        try:
            resp = await vhttp.request(
                self.router.feature(Ip),
                address,
                parts.port or 80,
                "GET",
                parts.path + (f"?{parts.query}" if parts.query else ""),
                parts.hostname or "",
            )
        except vhttp.HttpTransportError:
            raise CrlFetchError("connect") from None
        if resp.status != 200:
            raise CrlFetchError("http")
        return resp.body

    @handles(catalog.CRYPTO_PKI_CRL_REQUEST)
    def crl_request(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, Any, str | None]:
        """``crypto pki crl request NAME``: fetch the CRL now (the seed types it in config mode)."""
        tp = self._tp(args["name"])
        if tp is None:
            return f"% Trustpoint {args['name']} not found"
        yield Await(self.fetch_crl(tp))
        return None

    # ---- timers --------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Auto-enroll: re-enroll at the renew date by this router's clock, retrying until it works."""
        clock_now = self.router.clock.now()
        for tp in list(self.tps.points.values()):
            renew = tp.renew_at()
            if renew is None or tp.name in self.busy or tp.pending is not None or clock_now < renew:
                continue
            if tp.renew_failed_at and now - tp.renew_failed_at < self.router.timing.renew_retry:
                continue
            try:
                label, key, _ = self._key_for(tp)
                if tp.regenerate:
                    keys = self._keys()
                    label = f"{label}"
                    key = keys.generate(label, key.key_size, False).private_key
                _, subject = self._subject(tp, False, None)
                self.start_enrollment(
                    tp, label, key, subject, build_csr(key, subject, None, hash_name="sha256"), renewal=True
                )
            except Exception as exc:
                tp.renew_failed_at = now
                self.router.feature(System).logmsg(f"%PKI-3-CERTRETFAIL: Certificate enrollment failed. ({exc})")

    @handles(catalog.SHOW_CRYPTO_PKI_TIMERS)
    def show_timers(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto pki timers``."""
        now = self.router.clock.now()
        rows: list[tuple[float, str]] = []
        for tp in self.tps.points.values():
            renew = tp.renew_at()
            if renew is not None:
                rows.append(((renew - now).total_seconds(), f"RENEW {tp.name}"))
            if tp.pending is not None:
                left = self.next_poll.get(tp.name, time.monotonic()) - time.monotonic()
                rows.append((left, f"POLL {tp.name}"))
            if tp.crl is not None and tp.crl.next_update_utc is not None:
                rows.append(((tp.crl.next_update_utc - now).total_seconds(), f"CRL {render_dn(tp.crl.issuer)}"))
        lines = ["PKI Timers"]
        if rows:
            rows.sort()
            lines.append(f"|{_duration(rows[0][0]):>17}")
            lines += [f"|{_duration(s):>17}  {what}" for s, what in rows]
        return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{int(days)}d{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"
    if hours:
        return f"{int(hours)}:{int(minutes):02d}:{secs:06.3f}"
    return f"{int(minutes)}:{secs:06.3f}" if minutes else f"{secs:.3f}"


def _http_get(target: str) -> bytes:
    """GET ``target`` over the host's network; :class:`CrlFetchError` unless the answer is 200."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(target, timeout=5) as resp:
            return bytes(resp.read())
    except urllib.error.HTTPError:
        raise CrlFetchError("http") from None
    except OSError:
        raise CrlFetchError("connect") from None
