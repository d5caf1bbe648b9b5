"""Trustpoints: configuration, certificates held, CRL cache, show commands, peer validation.

``crypto pki trustpoint NAME`` (``crypto ca`` is a synonym) holds the CA certificate (after
``authenticate``), the router's own certificate (after ``enroll``/``import``), a pending
request, and the cached CRL. Certificates are written to NVRAM as ``TP#61SSCA.cer`` /
``TP#61SS.cer`` by ``write memory`` and referenced from ``crypto pki certificate chain``, which
is how a reload finds them again. The exec dialogs live in :mod:`.enroll`.

:meth:`Trustpoints.validate_peer` is what IKE calls for a peer's certificate: chain to the
trustpoint's CA, validity by this router's clock, and the CRL per ``revocation-check``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from pkilab import catalog
from pkilab.pki import fingerprints
from pkilab.pki.ca import http_cdp_url
from pkilab.pki.names import name_value, render_dn, render_dn_lines
from pkilab.sim.features.keys import KeyPair, Keys
from pkilab.sim.features.system import System
from pkilab.sim.images import Personality
from pkilab.sim.interp import Ask, Ctx
from pkilab.sim.router import Feature, handles

CRL_CACHE_BYTES = 65536  # "Parsed CRL cache maximum size is 65536 bytes" in every corpus capture
EPOCH_RENEW = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # printed as 19:00:00 EST Dec 31 1969
# A trustpoint certificate file (``NAME#6102.cer``, ``NAME#1CA.cer``); the CA database's ``N.cer`` has no ``#``.
_CERT_FILE = re.compile(r"#[0-9A-F]+(?:CA)?\.cer$")


@dataclass
class Pending:
    """An enrollment waiting for the CA."""

    transaction_id: str
    subject: x509.Name
    csr_der: bytes
    key_label: str
    started: float


@dataclass
class Trustpoint:
    """One trustpoint's configuration and state."""

    name: str
    enrollment_url: str | None = None
    enrollment_mode_ra: bool = False
    enrollment_terminal: bool = False
    revocation: str = "crl"  # "crl", "none" or "crl none"
    auto_enroll: int | None = None
    regenerate: bool = False
    source_interface: str | None = None
    rsakeypair: str | None = None
    fqdn: str | None = None
    subject_name: str | None = None
    serial_number: str | None = None
    ip_address: str | None = None
    ca_cert: x509.Certificate | None = None
    cert: x509.Certificate | None = None
    pending: Pending | None = None
    crl: x509.CertificateRevocationList | None = None
    crl_fetched: dt.datetime | None = None
    crl_source: str = ""
    renew_failed_at: float = 0.0
    renew_cleared: bool = False  # auto-enroll removed after enrolling: IOS shows the 1969 date
    extra: list[str] = field(default_factory=list)
    installed: dict[bytes, dt.datetime] = field(default_factory=dict)  # "Cert install time", by fingerprint

    def hold(self, cert: x509.Certificate, ca: bool, now: dt.datetime) -> None:
        """Keep ``cert`` as the CA (``ca``) or router certificate, installed at ``now`` (router clock)."""
        if ca:
            self.ca_cert = cert
        else:
            self.cert = cert
        self.installed.setdefault(cert.fingerprint(hashes.SHA256()), now)

    def installed_at(self, cert: x509.Certificate) -> dt.datetime | None:
        """When ``cert`` was installed on this trustpoint."""
        return self.installed.get(cert.fingerprint(hashes.SHA256()))

    def file_of(self, cert: x509.Certificate, ca: bool, personality: Personality) -> str:
        """The NVRAM file IOS keeps a certificate in (``TP#6101CA.cer`` on 12.x, ``ISSUER#1CA.cer`` later)."""
        issuer_cn = name_value(cert.issuer, NameOID.COMMON_NAME) or ""
        return personality.cert_file(cert.serial_number, issuer_cn, self.name, ca)

    def renew_at(self) -> dt.datetime | None:
        """When auto-enroll re-enrolls: the configured percentage of the lifetime."""
        if self.cert is None or self.auto_enroll is None:
            return None
        start, end = self.cert.not_valid_before_utc, self.cert.not_valid_after_utc
        return start + (end - start) * (self.auto_enroll / 100.0)


class Trustpoints(Feature):
    """Every trustpoint of the router."""

    order = 500

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.points: dict[str, Trustpoint] = {}
        router.feature(Keys).on_remove.append(self._key_removed)

    def _key_removed(self, pair: KeyPair) -> None:
        """Drop the certificates of a removed key pair.

        IOS: "All router certs issued using these keys will also be removed".
        """
        mine = pair.private_key.public_key().public_numbers()
        for tp in self.points.values():
            public = tp.cert.public_key() if tp.cert is not None else None
            if isinstance(public, rsa.RSAPublicKey) and public.public_numbers() == mine:
                tp.cert = None
            if tp.pending is not None and tp.pending.key_label == pair.label:
                tp.pending = None

    # ---- running configuration -----------------------------------------------------------
    def config_lines(self) -> list[str]:
        """Trustpoints, then their certificate chains (as NVRAM references)."""
        lines: list[str] = []
        for tp in self.points.values():
            lines.append(f"crypto pki trustpoint {tp.name}")
            if tp.enrollment_terminal:
                lines.append(" enrollment terminal")
            if tp.enrollment_mode_ra:
                lines.append(" enrollment mode ra")
            if tp.enrollment_url:
                lines.append(f" enrollment url {tp.enrollment_url}")
            if tp.serial_number:
                lines.append(f" serial-number {tp.serial_number}")
            if tp.ip_address:
                lines.append(f" ip-address {tp.ip_address}")
            if tp.fqdn:
                lines.append(f" fqdn {tp.fqdn}")
            if tp.subject_name:
                lines.append(f" subject-name {tp.subject_name}")
            if tp.source_interface:
                lines.append(f" source interface {tp.source_interface}")
            lines.append(f" revocation-check {tp.revocation}")
            if tp.rsakeypair:
                lines.append(f" rsakeypair {tp.rsakeypair}")
            if tp.auto_enroll is not None:
                lines.append(f" auto-enroll {tp.auto_enroll}{' regenerate' if tp.regenerate else ''}")
            lines.extend(f" {x}" for x in tp.extra)
            lines.append("!")
        p = self.router.personality
        for tp in self.points.values():
            if tp.ca_cert is None and tp.cert is None:
                continue
            lines.append(f"crypto pki certificate chain {tp.name}")
            if tp.cert is not None:
                lines.append(f" certificate {tp.cert.serial_number:02X} nvram:{tp.file_of(tp.cert, False, p)}")
            if tp.ca_cert is not None:
                lines.append(f" certificate ca {tp.ca_cert.serial_number:02X} nvram:{tp.file_of(tp.ca_cert, True, p)}")
            lines.append("!")
        return lines

    def save_private(self) -> None:
        """``write memory``: write the certificates to NVRAM, dropping replaced ones."""
        fs = self.router.fs
        wanted: dict[str, bytes] = {}
        for tp in self.points.values():
            for cert, ca in ((tp.ca_cert, True), (tp.cert, False)):
                if cert is not None:
                    wanted[tp.file_of(cert, ca, self.router.personality)] = cert.public_bytes(
                        serialization.Encoding.DER
                    )
        nvram = fs.by_name["nvram"]
        for path in list(nvram.files):
            if _CERT_FILE.search(path) and path not in wanted:
                nvram.delete(path)
        for path, data in wanted.items():
            fs.write(f"nvram:{path}", data)

    # ---- configuration -----------------------------------------------------------------
    def get(self, name: str) -> Trustpoint | None:
        """The trustpoint ``name``."""
        return self.points.get(name)

    def ensure(self, name: str) -> Trustpoint:
        """The trustpoint ``name``, created when missing."""
        return self.points.setdefault(name, Trustpoint(name))

    @handles(catalog.CRYPTO_PKI_TRUSTPOINT)
    def trustpoint(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``crypto pki trustpoint NAME`` → ``(ca-trustpoint)#``."""
        ctx.enter("ca-trustpoint", self.ensure(args["name"]))
        self.router.feature(System).touch()

    @handles(catalog.NO_CRYPTO_PKI_TRUSTPOINT)
    def no_trustpoint(self, ctx: Ctx, args: dict[str, Any]) -> Any:
        """``no crypto pki trustpoint NAME`` with the seed's dialog when it holds certificates."""
        tp = self.points.get(args["name"])
        if tp is None:
            return None
        if (tp.cert is not None or tp.ca_cert is not None) and ctx.interactive:
            return self._remove_dialog(tp)
        del self.points[tp.name]
        return None

    def _remove_dialog(self, tp: Trustpoint) -> Any:
        answer = yield Ask(
            "% Removing an enrolled trustpoint will destroy all certificates\n"
            "received from the related Certificate Authority.\n\n"
            "Are you sure you want to do this? [yes/no]: "
        )
        if answer.strip().lower() not in ("y", "yes"):
            return None
        self.points.pop(tp.name, None)
        return (
            "% Be sure to ask the CA administrator to revoke your certificates.\n\n"
            "No enrollment sessions are currently active."
        )

    @handles(catalog.TP_ENROLLMENT_URL)
    def enrollment_url(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``enrollment url URL``."""
        ctx.obj.enrollment_url = args["url"]
        ctx.obj.enrollment_terminal = False

    @handles(catalog.TP_ENROLLMENT_MODE_RA)
    def enrollment_ra(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``enrollment mode ra``."""
        ctx.obj.enrollment_mode_ra = True

    @handles(catalog.TP_ENROLLMENT_TERMINAL)
    def enrollment_terminal(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``enrollment terminal``."""
        ctx.obj.enrollment_terminal = True
        ctx.obj.enrollment_url = None

    @handles(catalog.TP_NO_ENROLLMENT)
    def no_enrollment(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no enrollment …``."""
        if args.get("url"):
            ctx.obj.enrollment_url = None
        elif args.get("terminal"):
            ctx.obj.enrollment_terminal = False
        else:
            ctx.obj.enrollment_mode_ra = False

    @handles(catalog.TP_REVOCATION_CHECK)
    def revocation_check(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``revocation-check crl | none | crl none``."""
        if args.get("crl"):
            ctx.obj.revocation = "crl none" if args.get("none") else "crl"
        else:
            ctx.obj.revocation = "none"

    @handles(catalog.TP_AUTO_ENROLL)
    def auto_enroll(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``auto-enroll [PERCENT] [regenerate]``."""
        ctx.obj.auto_enroll = args.get("percent", 100)
        ctx.obj.regenerate = bool(args.get("regenerate"))
        ctx.obj.renew_cleared = False

    @handles(catalog.TP_NO_AUTO_ENROLL)
    def no_auto_enroll(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no auto-enroll``: an enrolled certificate's renew timer is zeroed, as IOS shows."""
        if ctx.obj.auto_enroll is not None and ctx.obj.cert is not None:
            ctx.obj.renew_cleared = True
        ctx.obj.auto_enroll = None
        ctx.obj.regenerate = False

    @handles(catalog.TP_SOURCE_INTERFACE)
    def source_interface(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``source interface IF``: SCEP traffic leaves from this interface's address."""
        ctx.obj.source_interface = args["interface"]

    @handles(catalog.TP_RSAKEYPAIR)
    def rsakeypair(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``rsakeypair LABEL``."""
        ctx.obj.rsakeypair = args["label"]

    @handles(catalog.TP_FQDN)
    def fqdn(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``fqdn NAME``."""
        ctx.obj.fqdn = args["name"]

    @handles(catalog.TP_SUBJECT_NAME)
    def subject_name(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``subject-name DN``."""
        ctx.obj.subject_name = args["line"]

    @handles(catalog.TP_SERIAL_NUMBER)
    def serial_number(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``serial-number [none]``: whether enroll puts the router serial in the subject."""
        ctx.obj.serial_number = "none" if args.get("none") else ""

    @handles(catalog.TP_IP_ADDRESS)
    def ip_address(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``ip-address none|ADDR|IF``."""
        ctx.obj.ip_address = args.get("address") or args.get("interface") or "none"

    @handles(catalog.TP_KEPT)
    def kept(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """Options kept as typed."""
        key = next(k for k in ("crl", "usage", "password", "hash") if args.get(k))
        ctx.obj.extra = [x for x in ctx.obj.extra if not x.startswith(key + " ")] + [f"{key} {args['line']}"]

    @handles(catalog.CRYPTO_PKI_CERTIFICATE_CHAIN)
    def chain(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``crypto pki certificate chain NAME`` → ``(config-cert-chain)#``."""
        ctx.enter("config-cert-chain", self.ensure(args["name"]))

    @handles(catalog.CHAIN_CERTIFICATE)
    def chain_certificate(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``certificate [ca] SERIAL nvram:FILE``: load a certificate kept in a file."""
        try:
            cert = x509.load_der_x509_certificate(self.router.fs.read(args["path"]))
        except Exception:
            return f"% Error loading certificate from {args['path']}"
        if cert.serial_number != args["serial"]:
            return f"% Certificate serial number {cert.serial_number:02X} does not match {args['serial']:02X}"
        ctx.obj.hold(cert, bool(args.get("ca")), self.router.clock.now())
        return None

    # ---- identity for IKE ----------------------------------------------------------------
    def identity(self) -> tuple[Trustpoint, x509.Certificate] | None:
        """The first trustpoint holding a router certificate (IKE's RSA-signature identity)."""
        for tp in self.points.values():
            if tp.cert is not None and tp.ca_cert is not None:
                return tp, tp.cert
        return None

    def validate_peer(self, cert: x509.Certificate) -> tuple[str, Trustpoint | None]:
        """Check a peer's certificate as IOS does during IKE.

        Returns ``("ok", tp)``, ``("invalid", tp|None)`` (unknown CA, bad signature, not valid
        by this router's clock, revoked), or ``("need-crl", tp)`` when the CRL must be fetched
        first (missing or past NextUpdate with ``revocation-check crl``).
        """
        now = self.router.clock.now()
        for tp in self.points.values():
            ca = tp.ca_cert
            if ca is None or cert.issuer != ca.subject or not _signed_by(cert, ca):
                continue
            # The seed: "revocation-check crl none … never checks or fetches the CRL" (Q4), which is
            # why it is the outage workaround; only "crl" checks.
            checks_crl = tp.revocation == "crl" and not self.router.has_fault("ignore-crl")
            stale = tp.crl is None or (tp.crl.next_update_utc is not None and tp.crl.next_update_utc < now)
            # With a mandatory CRL check IOS first needs a current CRL: a router whose CRL has
            # expired (the seed's clock set to 2035) fails with "CA request failed!" when the CA
            # cannot be reached, before looking at the certificate's dates.
            if checks_crl and stale:
                return "need-crl", tp
            if (
                not self.router.has_fault("accept-expired-certificates")
                and not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
            ):
                return "invalid", tp
            if not checks_crl:
                return "ok", tp
            if tp.crl is not None and tp.crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                return "invalid", tp
            return "ok", tp
        return "invalid", None

    # ---- show commands -------------------------------------------------------------------
    def _cert_block(
        self, title: str, cert: x509.Certificate, tp: Trustpoint, ca: bool, verbose: bool = False
    ) -> list[str]:
        clock = self.router.clock
        v12 = self.router.personality.layouts.certificates_v12
        lines = [
            title,
            "  Status: Available",
            *(["  Version: 3"] if verbose else []),
            f"  Certificate Serial Number{'' if v12 else ' (hex)'}: {cert.serial_number:02X}",
            f"  Certificate Usage: {'Signature' if ca else 'General Purpose'}",
            "  Issuer: ",
        ]
        lines += [f"    {x}" for x in render_dn_lines(cert.issuer)]
        lines.append("  Subject:")
        if not ca:
            host = name_value(cert.subject, x509.ObjectIdentifier("1.2.840.113549.1.9.2"))
            if host:
                lines.append(f"    Name: {host}")
        lines += [f"    {x}" for x in render_dn_lines(cert.subject)]
        cdp = http_cdp_url(cert)
        if cdp:
            lines += ["  CRL Distribution Points: ", f"    {cdp}"]
        lines += [
            "  Validity Date: ",
            f"    start date: {clock.format_date(cert.not_valid_before_utc)}",
            f"    end   date: {clock.format_date(cert.not_valid_after_utc)}",
        ]
        if not ca and tp.cert is cert:
            renew = tp.renew_at()
            if renew is not None and not self.router.has_fault("no-renew-date"):
                lines.append(f"    renew date: {clock.format_date(renew)}")
            elif tp.renew_cleared:
                lines.append(f"    renew date: {clock.format_date(EPOCH_RENEW)}")
        if verbose:
            lines += verbose_lines(cert)
            installed = tp.installed_at(cert)
            if installed is not None:
                lines.append(f"  Cert install time: {clock.format_date(installed)} ")
        lines.append(f"  Associated Trustpoints: {tp.name} ")
        if verbose and not ca:
            lines.append(f"  Key Label: {tp.rsakeypair or self.router.feature(Keys).default_label()}")
        if not v12:  # the seed's 12.x output has no Storage line
            lines.append(f"  Storage: nvram:{tp.file_of(cert, ca, self.router.personality)}")
        lines.append("")
        return lines

    @handles(catalog.SHOW_CRYPTO_PKI_CERTIFICATES)
    def show_certificates(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto pki certificates [verbose]``: router certificates, pending requests, CA certificates."""
        out: list[str] = []
        verbose = bool(args.get("verbose"))
        for tp in self.points.values():
            if args.get("name") and args["name"] != tp.name:
                continue
            if tp.cert is not None:
                out += self._cert_block("Certificate", tp.cert, tp, ca=False, verbose=verbose)
            if tp.pending is not None:
                host = name_value(tp.pending.subject, x509.ObjectIdentifier("1.2.840.113549.1.9.2"))
                out += [
                    "Certificate",
                    "  Subject:",
                    f"    Name: {host or render_dn(tp.pending.subject)}",
                    "   Status: Pending",
                    "   Key Usage: General Purpose",
                    f"   Certificate Request Fingerprint MD5: {fingerprints.md5_words(tp.pending.csr_der)}",
                    f"   Certificate Request Fingerprint SHA1: {fingerprints.sha1_words(tp.pending.csr_der)}",
                    f"   Associated Trustpoint: {tp.name}",
                    "",
                ]
            if tp.ca_cert is not None:
                out += self._cert_block("CA Certificate", tp.ca_cert, tp, ca=True, verbose=verbose)
        return "\n".join(out)

    @handles(catalog.SHOW_CRYPTO_PKI_CRLS)
    def show_crls(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto pki crls``: each cached CRL, then the parsed-CRL cache sizes.

        The layout, blank lines included, is the corpus's (``show_crypto_pki_crls``: genieparser's
        golden output and two C8000v captures); the cache holds each CRL's DER bytes.
        """
        clock = self.router.clock
        out: list[str] = []
        cached = 0
        for tp in self.points.values():
            crl = tp.crl
            if crl is None:
                continue
            nxt = clock.format_date(crl.next_update_utc) if crl.next_update_utc else "none"
            size = len(crl.public_bytes(serialization.Encoding.DER))
            cached += size
            out += [
                "CRL Issuer Name:",
                f"    {render_dn(crl.issuer)}",
                f"    LastUpdate: {clock.format_date(crl.last_update_utc)}",
                f"    NextUpdate: {nxt}",
                "",
                f"    CRL downloaded at: {clock.format_date(tp.crl_fetched or clock.now())}",
                "",
                "    Retrieved from CRL Distribution Point:",
                f"      {tp.crl_source or '** CDP Not Published - Retrieved via SCEP'}",
                "",
                f" CRL DER is {size} bytes",
                " CRL is stored in parsed CRL cache",
                "",
                "",
            ]
        if out:
            out += [
                f"Parsed CRL cache current size is {cached} bytes",
                f"Parsed CRL cache maximum size is {CRL_CACHE_BYTES} bytes",
            ]
        return "\n".join(out)

    @handles(catalog.SHOW_CRYPTO_PKI_TRUSTPOINTS, catalog.SHOW_CRYPTO_PKI_TRUSTPOINTS_STATUS)
    def show_trustpoints(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto pki trustpoints [NAME] [status]``."""
        out: list[str] = []
        for tp in self.points.values():
            if args.get("name") and args["name"] != tp.name:
                continue
            out.append(f"Trustpoint {tp.name}:")
            if args.get("status"):
                out += self._status_lines(tp)
                continue
            if tp.ca_cert is not None:
                out += [
                    "    Subject Name: ",
                    f"    {render_dn(tp.ca_cert.subject)}",
                    f"          Serial Number (hex): {tp.ca_cert.serial_number:02X}",
                    "    Certificate configured.",
                ]
            # Every capture's lines under the name describe the CA certificate; none shows a
            # trustpoint without one, so nothing is printed for it (docs/sim-fidelity.md).
            if tp.enrollment_url:
                out.append(f"    SCEP URL: {tp.enrollment_url}/cgi-bin")
            out += ["", ""]
        return "\n".join(out)

    def _status_lines(self, tp: Trustpoint) -> list[str]:
        out: list[str] = []
        if tp.ca_cert is not None:
            out += [
                "  Issuing CA certificate configured:",
                "    Subject Name:",
                f"     {render_dn(tp.ca_cert.subject)}",
                f"    Fingerprint MD5: {fingerprints.md5_words(tp.ca_cert)} ",
                f"    Fingerprint SHA1: {fingerprints.sha1_words(tp.ca_cert)} ",
            ]
        if tp.cert is not None:
            out += [
                "  Router General Purpose certificate configured:",
                "    Subject Name:",
                f"     {render_dn(tp.cert.subject)}",
                f"    Fingerprint MD5: {fingerprints.md5_words(tp.cert)} ",
                f"    Fingerprint SHA1: {fingerprints.sha1_words(tp.cert)} ",
            ]
        keys = self.router.feature(Keys)
        pair = keys.get(tp.rsakeypair or keys.default_label())
        gen = f"Yes (General Purpose, {'exportable' if pair.exportable else 'non-exportable'})" if pair else "No"
        out += [
            "  State:",
            f"    Keys generated ............. {gen}",
            f"    Issuing CA authenticated ....... {'Yes' if tp.ca_cert is not None else 'No'}",
            f"    Certificate request(s) ..... {'Pending' if tp.pending else ('Yes' if tp.cert else 'None')}",
            "",
            "",
        ]
        return out


# X509v3 Key Usage: IOS prints the bit string as a 32-bit hex word, then one line per bit set
# (corpus show_crypto_pki_certificates_verbose: 86000000, A0000000, B0000000). The names of bits no
# capture shows are invented in the same style (docs/sim-fidelity.md).
_KEY_USAGE = (
    ("digital_signature", "Digital Signature"),
    ("content_commitment", "Non Repudiation"),
    ("key_encipherment", "Key Encipherment"),
    ("data_encipherment", "Data Encipherment"),
    ("key_agreement", "Key Agreement"),
    ("key_cert_sign", "Key Cert Sign"),
    ("crl_sign", "CRL Signature"),
    ("encipher_only", "Encipher Only"),
    ("decipher_only", "Decipher Only"),
)


def _signature_name(cert: x509.Certificate) -> str:
    """``SHA256 with RSA Encryption`` / ``MD5 with RSA Encryption`` (captures); others alike."""
    algorithm = cert.signature_hash_algorithm
    name = algorithm.name.upper().replace("-", "") if algorithm is not None else "UNKNOWN"
    return f"{name} with RSA Encryption"


def _key_usage_lines(usage: x509.KeyUsage) -> list[str]:
    word, names = 0, []
    for bit, (attr, name) in enumerate(_KEY_USAGE):
        try:
            on = bool(getattr(usage, attr))
        except ValueError:  # encipher/decipher only are defined only with key agreement
            on = False
        if on:
            word |= 1 << (31 - bit)
            names.append(name)
    return [f"    X509v3 Key Usage: {word:08X}", *[f"      {n}" for n in names]]


def verbose_lines(cert: x509.Certificate) -> list[str]:
    """The lines ``verbose`` adds after the validity dates, in the corpus captures' order."""
    public = cert.public_key()
    bits = public.key_size if isinstance(public, rsa.RSAPublicKey) else 0
    lines = [
        "  Subject Key Info:",
        "    Public Key Algorithm: rsaEncryption",
        f"    RSA Public Key: ({bits} bit)",
        f"  Signature Algorithm: {_signature_name(cert)}",
        f"  Fingerprint MD5: {fingerprints.md5_words(cert)} ",
        f"  Fingerprint SHA1: {fingerprints.sha1_words(cert)} ",
        "  X509v3 extensions:",
    ]
    # IOS's order, whatever the certificate's (captures: Key Usage, Subject Key ID, Basic
    # Constraints, Authority Key ID; the Subject Alternative Name before Authority Info Access).
    order = (x509.KeyUsage, x509.SubjectKeyIdentifier, x509.BasicConstraints, x509.AuthorityKeyIdentifier)
    values = sorted(
        (e.value for e in cert.extensions),
        key=lambda v: next((i for i, kind in enumerate(order) if isinstance(v, kind)), len(order)),
    )
    for value in values:
        if isinstance(value, x509.KeyUsage):
            lines += _key_usage_lines(value)
        elif isinstance(value, x509.SubjectKeyIdentifier):
            lines.append(f"    X509v3 Subject Key ID: {fingerprints.words(value.digest)} ")
        elif isinstance(value, x509.BasicConstraints):
            lines += ["    X509v3 Basic Constraints:", f"        CA: {'TRUE' if value.ca else 'FALSE'}"]
        elif isinstance(value, x509.AuthorityKeyIdentifier) and value.key_identifier is not None:
            lines.append(f"    X509v3 Authority Key ID: {fingerprints.words(value.key_identifier)} ")
        elif isinstance(value, x509.SubjectAlternativeName):
            lines += ["    X509v3 Subject Alternative Name:", ""]
            lines += [f"        IP Address : {ip}" for ip in value.get_values_for_type(x509.IPAddress)]
            lines += [f"        DNS Name : {name}" for name in value.get_values_for_type(x509.DNSName)]
            lines.append("        OtherNames :")
    lines.append("    Authority Info Access:")
    return lines


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    public = ca.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or cert.signature_hash_algorithm is None:
        return False
    try:
        public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
    except Exception:
        return False
    return True
