"""The IOS certificate server: ``crypto pki server NAME`` (``crypto ca server``), its exec and show commands, SCEP.

Configuration lives in :class:`~pkilab.sim.features.ca_db.ServerSettings`; ``no shutdown``
starts a :class:`~pkilab.sim.features.ca_db.RunningCa` once its conditions hold — the key pair
``NAME`` (generated, 1024 bits and exportable, when missing, as IOS 15 does), an authoritative
clock and ``ip http server``. A server left enabled in the startup configuration starts by
itself (:meth:`CaServer.tick`) once NTP or ``clock set`` makes the clock authoritative, which is
how the seed's restore procedure brings a CA back. Starting creates the trustpoint ``NAME``
(``rsakeypair NAME`` and the CA certificate) in :class:`~pkilab.sim.features.trustpoint.Trustpoints`,
and a restored CA reuses the CA certificate of that trustpoint (or its certificate file in NVRAM).

Other features use :meth:`CaServer.ca_certificate`, :meth:`CaServer.ca_key`,
:meth:`CaServer.crl` and :meth:`CaServer.running`. SCEP is served at
``/cgi-bin/pkiclient.exe`` (``http_apps``) by the sans-IO core of
:mod:`pkilab.protocols.scep.server` with the running CA as its backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Mapping
from dataclasses import replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from pkilab import catalog
from pkilab.errors import PkiError
from pkilab.pki.csr import load_csr
from pkilab.protocols.http import HttpApp, HttpRequest, HttpResponse
from pkilab.protocols.scep.server import CGI_PATH, ScepServer
from pkilab.sim.features.ca_db import (
    CaContext,
    CaLaunch,
    DatabaseFiles,
    Record,
    RunningCa,
    ServerSettings,
    certificate_text,
    check_issuer,
    join_url,
)
from pkilab.sim.features.keys import Keys
from pkilab.sim.features.system import System
from pkilab.sim.features.transfer import DatabaseStore, TftpReach, is_remote, off_loop
from pkilab.sim.features.trustpoint import Trustpoints
from pkilab.sim.filesys import FileSystemError
from pkilab.sim.interp import Ask, Ctx
from pkilab.sim.router import Feature, handles

CA_KEY_BITS = 1024
LOCKED = '% Server\'s configuration is locked  (enter "shut" to unlock it)'
TIME_NOT_SET = "% Time has not been set. Cannot start the Certificate server"
HTTP_OFF = "% Please enable the HTTP server (ip http server) to start the Certificate Server"
_SERVER = "crypto {pki | ca} server name:WORD"


def _confirm(prompt: str) -> Generator[Any, str, bool]:
    """Ask ``prompt`` until the answer is yes or no."""
    while True:
        answer = (yield Ask(prompt)).strip().lower()
        if answer in ("y", "ye", "yes"):
            return True
        if answer in ("n", "no"):
            return False
        yield "% Please answer 'yes' or 'no'.\n"


class CaServer(Feature):
    """The router's certificate server (IOS allows one)."""

    order = 450

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.name: str | None = None
        self.settings = ServerSettings()
        self.shutdown = True
        self.ca: RunningCa | None = None
        self.scep: ScepServer | None = None
        self.problem: str | None = None
        self.starting: CaLaunch | None = None  # the start reading its database files, if any

    # ---- API for other features ---------------------------------------------------------
    def running(self) -> RunningCa | None:
        """The running CA, or None."""
        return self.ca

    def ca_certificate(self) -> x509.Certificate | None:
        """The CA certificate of the running server."""
        return self.ca.certificate if self.ca else None

    def ca_key(self) -> rsa.RSAPrivateKey | None:
        """The CA key pair of the running server."""
        return self.ca.key if self.ca else None

    def crl(self) -> x509.CertificateRevocationList | None:
        """The running server's current CRL."""
        return self.ca.current_crl if self.ca else None

    def http_apps(self) -> Mapping[str, HttpApp]:
        """SCEP at IOS's CGI path."""
        return {CGI_PATH: self._http}

    def _http(self, request: HttpRequest) -> HttpResponse:
        if self.scep is None:
            return HttpResponse(404, "text/html", b"<html><body>404 Not Found</body></html>\n")
        resp = self.scep.handle(request.method, request.path, request.query, request.body)
        return HttpResponse(resp.status, resp.content_type, resp.body)

    # ---- running configuration -----------------------------------------------------------
    def config_lines(self) -> list[str]:
        """``crypto pki server NAME`` and its non-default settings."""
        if self.name is None:
            return []
        s = self.settings
        lines = [f"crypto pki server {self.name}"]
        if s.database_level != "minimal":
            lines.append(f" database level {s.database_level}")
        if s.database_url != "nvram:":
            lines.append(f" database url {s.database_url}")
        if s.issuer_name:
            lines.append(f" issuer-name {s.issuer_name}")
        if s.grant != "manual":
            lines.append(f" grant {s.grant}")
        if s.crl_hours != 168:
            lines.append(f" lifetime crl {s.crl_hours}")
        if s.cert_days != 365:
            lines.append(f" lifetime certificate {s.cert_days}")
        if s.ca_days != 1095:
            lines.append(f" lifetime ca-certificate {s.ca_days}")
        if s.request_hours != 168:
            lines.append(f" lifetime enrollment-request {s.request_hours}")
        if s.cdp_url:
            lines.append(f" cdp-url {s.cdp_url}")
        if s.hash:
            lines.append(f" hash {s.hash}")
        lines.extend(f" {x}" for x in s.extra)
        lines.append(" shutdown" if self.shutdown else " no shutdown")
        return lines + ["!"]

    def _set(self, locked: bool = False, **changes: Any) -> str | None:
        if locked and self.ca is not None:
            return LOCKED
        self.settings = replace(self.settings, **changes)
        self.starting = None  # a start under way used the old settings: the next tick starts again
        if self.problem in ("failed", "storage"):
            self.problem = None
        if self.ca is not None:
            self.ca.settings = self.settings
        self.router.feature(System).touch()
        return None

    # ---- configuration mode --------------------------------------------------------------
    @handles(catalog.CRYPTO_PKI_SERVER)
    def server(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``crypto pki server NAME`` → ``(cs-server)#``."""
        if self.name is not None and self.name != args["name"]:
            return f"% Certificate Server {self.name} is already configured; only one is allowed."
        if self.name is None:
            self.name = args["name"]
            self.router.feature(System).touch()
        ctx.enter("cs-server", self)
        return None

    @handles(catalog.CS_DATABASE_LEVEL)
    def database_level(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``database level``."""
        level = next(w for w in ("minimal", "names", "complete") if args.get(w))
        return self._set(locked=True, database_level=level)

    @handles(catalog.CS_NO_DATABASE_LEVEL)
    def no_database_level(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``no database level``: back to minimal."""
        return self._set(locked=True, database_level="minimal")

    @handles(catalog.CS_DATABASE_URL)
    def database_url(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``database url ROOT``."""
        url = args["url"]
        if ":" not in url:
            return "% Invalid URL"
        return self._set(locked=True, database_url=url)

    @handles(catalog.CS_NO_DATABASE_URL)
    def no_database_url(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``no database url``: back to nvram:."""
        return self._set(locked=True, database_url="nvram:")

    @handles(catalog.CS_ISSUER_NAME)
    def issuer_name(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``issuer-name DN``."""
        dn = " ".join(args["dn"].split())
        return check_issuer(dn) or self._set(locked=True, issuer_name=dn)

    @handles(catalog.CS_NO_ISSUER_NAME)
    def no_issuer_name(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``no issuer-name``."""
        return self._set(locked=True, issuer_name=None)

    @handles(catalog.CS_LIFETIME_CRL)
    def lifetime_crl(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``lifetime crl HOURS``."""
        return self._set(crl_hours=args["hours"])

    @handles(catalog.CS_LIFETIME_CERTIFICATE)
    def lifetime_cert(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``lifetime certificate DAYS``."""
        return self._set(cert_days=args["days"])

    @handles(catalog.CS_LIFETIME_CA_CERTIFICATE)
    def lifetime_ca(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``lifetime ca-certificate DAYS``."""
        return self._set(locked=True, ca_days=args["days"])

    @handles(catalog.CS_LIFETIME_ENROLLMENT_REQUEST)
    def lifetime_request(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``lifetime enrollment-request HOURS``: how long a request may stay pending."""
        return self._set(request_hours=args["hours"])

    @handles(catalog.CS_NO_LIFETIME)
    def no_lifetime(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``no lifetime …``: back to the default."""
        if args.get("crl"):
            return self._set(crl_hours=168)
        if args.get("certificate"):
            return self._set(cert_days=365)
        if args.get("enrollment-request"):
            return self._set(request_hours=168)
        return self._set(locked=True, ca_days=1095)

    @handles(catalog.CS_GRANT)
    def grant_mode(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``grant auto`` (confirmed, as the seed shows) or ``grant none``."""
        if args.get("auto"):
            if ctx.interactive:
                yield "% This will cause all certificate requests to be automatically granted.\n"
                if not (yield from _confirm("Are you sure you want to do this? [yes/no]: ")):
                    return None
            return self._set(grant="auto")
        return self._set(grant="none")

    @handles(catalog.CS_NO_GRANT)
    def no_grant(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``no grant …``: manual granting."""
        return self._set(grant="manual")

    @handles(catalog.CS_CDP_URL)
    def cdp_url(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``cdp-url URL``: written as the CRL distribution point of issued certificates."""
        return self._set(cdp_url=args["url"])

    @handles(catalog.CS_NO_CDP_URL)
    def no_cdp_url(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``no cdp-url``."""
        return self._set(cdp_url=None)

    @handles(catalog.CS_HASH)
    def hash_cmd(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``hash``: the signature hash of issued certificates and CRLs (see ``signing_hash``)."""
        name = next(h for h in ("md5", "sha1", "sha256", "sha384", "sha512") if args.get(h))
        return self._set(locked=True, hash=name)

    @handles(catalog.CS_NO_HASH)
    def no_hash(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``no hash``."""
        return self._set(locked=True, hash=None)

    # Accepted and kept: IOS 15 knobs with no behaviour in the simulator.
    @handles(catalog.CS_KEPT)
    def kept(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """Keep a server setting the simulator does not act on."""
        words = [w for w in ("no", "database", "archive", "auto-rollover") if args.get(w)]
        line = " ".join([*words, args.get("line", "")]).strip()
        others = tuple(x for x in self.settings.extra if _knob(x) != _knob(line))
        return self._set(extra=(*others, line))

    @handles(catalog.CS_SHUTDOWN)
    def shut(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``shutdown``: stop the server (its files and trustpoint stay)."""
        self.shutdown = True
        self.starting = None
        self.router.feature(System).touch()
        if self.ca is not None:
            self._stop()
            return "% Certificate Server disabled."
        return None

    @handles(catalog.CS_NO_SHUTDOWN)
    def no_shut(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``no shutdown`` with the seed's dialog; starts the server when it can."""
        if not self.shutdown and self.ca is not None:
            return None
        if ctx.interactive:
            yield "% Once you start the server, you can no longer change some of\n% the configuration.\n"
            if not (yield from _confirm("Are you sure you want to do this? [yes/no]: ")):
                return None
        self.shutdown = False
        self.router.feature(System).touch()
        problem = (yield from self._start()) if ctx.interactive else self._start_unattended()
        return "% Certificate Server enabled." if problem is None else problem or None

    # ---- start / stop --------------------------------------------------------------------
    # A start reads the database back (NAME.ser, NAME.crl): from a TFTP/FTP database URL in a
    # running lab that read runs in a worker thread, so that a slow or silent server stalls this
    # CA only. Until it ends the server is enabled but not running (``show`` as for any enabled
    # server that has not started), and ``self.starting`` names the attempt; ``shutdown``, a
    # setting, ``no crypto pki server`` or a reload drop it, and its result is then ignored.
    def _start(self) -> Generator[Any, Any, str | None]:
        """Start the server in a session; return why it could not start ("" superseded, None started)."""
        launch = yield from self._prepare()
        if isinstance(launch, str):
            return launch
        if not is_remote(launch.settings.database_url):
            return self._finish(launch, launch.read())
        try:
            files = yield from off_loop(self.router, launch.read)
        except BaseException:  # the session went away (or the read broke): the ticker starts it again
            if self.starting is launch:
                self.starting = None
            raise
        return self._finish(launch, files)

    def _start_unattended(self) -> str | None:
        """Start without a session (tick, boot, configuration applied): a remote read is left to a worker.

        Returns why it could not start, or None (started, or starting in a worker thread).
        """
        steps = self._prepare()
        while True:  # key-generation messages have no session to go to
            try:
                next(steps)
            except StopIteration as done:
                launch: CaLaunch | str = done.value
                break
        if isinstance(launch, str):
            return launch
        if self.router.lab.network.loop is None or not is_remote(launch.settings.database_url):
            return self._finish(launch, launch.read()) or None
        self.router.lab.spawn(self._read_in_worker(launch))
        return None

    async def _read_in_worker(self, launch: CaLaunch) -> None:
        try:
            files = await asyncio.to_thread(launch.read)
        except Exception as exc:  # kept as Router.tick keeps a feature's exception; the next tick retries
            if self.starting is launch:
                self.starting = None
                self.router.errors.append(f"{type(self).__name__}.tick: {exc!r}")
            return
        self._finish(launch, files)

    def _prepare(self) -> Generator[str, Any, CaLaunch | str]:
        """The checks and the key pair of a start; yield key-generation messages; return why not, or the start."""
        assert self.name is not None
        if not self.router.clock.authoritative and not self.router.has_fault("ca-starts-without-clock"):
            self.problem = "time"
            return TIME_NOT_SET
        if not self.router.feature(System).http_server:
            self.problem = "http"
            return HTTP_OFF
        reach = TftpReach.of(self.router.feature(System).resolve, self.router.lab.testbed)
        store = DatabaseStore(self.router.fs, reach, self.router.lab.network.loop)
        try:
            store.check(join_url(self.settings.database_url, f"{self.name}.ser"))
        except FileSystemError:
            self.problem = "storage"
            return f"% Failed to start the Certificate Server: cannot open {self.settings.database_url}"
        keys = self.router.feature(Keys)
        pair = keys.get(self.name)
        if pair is None:
            keygen = self.router.personality.keygen
            yield keygen.done.format(bits=CA_KEY_BITS, kind="exportable", seconds=0)
            pair = keys.generate(self.name, CA_KEY_BITS, exportable=True)
        self.starting = CaLaunch(self.name, store, self.settings, pair.private_key)
        return self.starting

    def _finish(self, launch: CaLaunch, files: DatabaseFiles) -> str | None:
        """Bring the CA up from the files read; return why it could not start ("" superseded, None started)."""
        if self.starting is not launch:
            return ""  # shut down, reconfigured or reloaded while the files were read
        self.starting = None
        system = self.router.feature(System)
        clock = self.router.clock
        ctx = CaContext(launch.name, launch.store, clock.now, clock.format_date, system.logmsg)
        try:
            self.ca = RunningCa.start(
                ctx, launch.settings, launch.key, self._existing_ca(launch.key), files, self.router.faults
            )
        except (PkiError, FileSystemError) as exc:
            self.problem = "failed"
            return f"% Failed to start the Certificate Server: {exc}"
        self.scep = ScepServer(self.ca)
        self.problem = None
        tp = self.router.feature(Trustpoints).ensure(launch.name)
        tp.rsakeypair = launch.name
        tp.hold(self.ca.certificate, True, self.router.clock.now())
        system.logmsg("%PKI-6-CS_ENABLED: Certificate server now enabled.")
        return None

    def _existing_ca(self, key: rsa.RSAPrivateKey) -> x509.Certificate | None:
        """The CA certificate to keep: the trustpoint's, or a CA certificate file in NVRAM, if it is ours.

        The file is ``NAME#6101CA.cer`` on 12.x and ``ISSUERCN#1CA.cer`` later
        (:meth:`pkilab.sim.images.Personality.cert_file`); the key decides which one is ours.
        """
        assert self.name is not None
        candidates: list[x509.Certificate] = []
        tp = self.router.feature(Trustpoints).get(self.name)
        if tp is not None and tp.ca_cert is not None:
            candidates.append(tp.ca_cert)
        for path in sorted(self.router.fs.by_name["nvram"].files):
            if "#" in path and path.endswith("CA.cer"):
                try:
                    candidates.append(x509.load_der_x509_certificate(self.router.fs.read(f"nvram:{path}")))
                except (FileSystemError, ValueError):
                    pass
        mine = key.public_key().public_numbers()
        for cert in candidates:
            public = cert.public_key()
            if isinstance(public, rsa.RSAPublicKey) and public.public_numbers() == mine:
                return cert
        return None

    def _stop(self) -> None:
        self.ca = None
        self.scep = None
        self.router.feature(System).logmsg("%PKI-6-CS_DISABLED: Certificate server now disabled.")

    def tick(self, now: float) -> None:
        """Start an enabled server once its conditions hold; keep the CRL fresh."""
        if self.name is None or self.shutdown:
            return
        if self.ca is None:
            if self.problem in ("failed", "storage") or self.starting is not None:
                return  # tried and failed (wait for a configuration change), or reading its files
            self._start_unattended()
            return
        self.ca.tick()

    def start(self) -> None:
        """After boot: an enabled server starts at once when the clock allows it."""
        self.tick(0.0)

    def stop(self) -> None:
        """Reload or lab stop: a start still reading its files is forgotten."""
        self.starting = None

    @handles(catalog.NO_CRYPTO_PKI_SERVER)
    def no_server(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``no crypto pki server NAME`` with the seed's two questions."""
        name = self.name
        if name is None or name != args["name"]:
            return None
        remove_tp = False
        if ctx.interactive:
            yield "% This will stop the Certificate Server process and delete the server configuration\n"
            if not (yield from _confirm("Are you sure you want to do this? [yes/no]: ")):
                return None
            remove_tp = yield from _confirm(
                "% Do you also want to remove the associated trustpoint and signing certificate and\nkey? [yes/no]: "
            )
        if self.ca is not None:
            self._stop()
        self.name, self.settings, self.shutdown, self.problem, self.starting = None, ServerSettings(), True, None, None
        self.router.feature(System).touch()
        if remove_tp:
            self.router.feature(Trustpoints).points.pop(name, None)
            self.router.feature(Keys).remove(name)
            yield "No enrollment sessions are currently active.\n"
        return "% Certificate Server Process stopped"

    def running_ca(self, name: str) -> RunningCa | str:
        """The running CA named ``name``, or the message IOS prints when there is none."""
        if self.name != name:
            return f"% Certificate server {name} does not exist."
        if self.ca is None:
            return "% Certificate server not enabled."
        return self.ca

    # ---- exec administration -------------------------------------------------------------
    @handles(catalog.CRYPTO_PKI_SERVER_GRANT)
    def grant(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``grant N|all``: issue pending requests; terminal requests print their certificate."""
        ca = self.running_ca(args["name"])
        if isinstance(ca, str):
            return ca
        out: list[str] = []
        for record in self._targets(ca, args):
            try:
                granted = ca.grant(record.req_id)
            except PkiError as exc:
                out.append(f"% Failed to grant request {record.req_id}: {exc}\n")
                continue
            out.append(self._deliver(granted))
        if not out and "id" in args:
            return f"% Request id {args['id']} not found."
        return "".join(out) or None

    @handles(catalog.CRYPTO_PKI_SERVER_REJECT)
    def reject(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``reject N|all``."""
        ca = self.running_ca(args["name"])
        if isinstance(ca, str):
            return ca
        targets = self._targets(ca, args)
        if not targets and "id" in args:
            return f"% Request id {args['id']} not found."
        for record in targets:
            ca.reject(record.req_id)
        return None

    @staticmethod
    def _targets(ca: RunningCa, args: dict[str, Any]) -> list[Record]:
        pending = [r for r in ca.records.values() if r.state == "pending"]
        return pending if args.get("all") else [r for r in pending if r.req_id == args["id"]]

    def _deliver(self, record: Record) -> str:
        """Print a terminal request's certificate; write a url request's next to it."""
        cert = record.certificate
        if cert is None or record.source == "scep":
            return ""
        text = certificate_text(cert, record.pem)
        if record.source == "terminal":
            return "% Granted certificate:\n" + text
        target = (record.url or "").rsplit(".", 1)[0] + ".crt"
        try:
            self.router.fs.write(target, text.encode("ascii") if record.pem else cert.public_bytes(Encoding.DER))
        except FileSystemError as exc:
            return f"{exc}\n"
        return f"% Granted certificate written to {target}\n"

    @handles(catalog.CRYPTO_PKI_SERVER_REVOKE)
    def revoke(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``revoke SERIAL`` (``0x`` for hex, as the seed notes); publishes a fresh CRL."""
        ca = self.running_ca(args["name"])
        if isinstance(ca, str):
            return ca
        try:
            serial = int(args["serial"], 0)
        except ValueError:
            return f"% Invalid serial number {args['serial']}"
        return ca.revoke(serial)

    @handles(catalog.CRYPTO_PKI_SERVER_PASSWORD_GENERATE)
    def password_generate(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``password generate [MINUTES]``: a one-time SCEP password (default 60 minutes)."""
        ca = self.running_ca(args["name"])
        if isinstance(ca, str):
            return ca
        minutes = args.get("minutes", 60)
        otp = ca.generate_password(minutes)
        return f"One-time enrollment password: {otp.value}\nValidity period: {minutes} minutes"

    @handles(catalog.CRYPTO_PKI_SERVER_REQUEST_PKCS10)
    def request_pkcs10(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``request pkcs10 {terminal | url URL} [pem]``: add a pasted or stored request."""
        ca = self.running_ca(args["name"])
        if isinstance(ca, str):
            return ca
        if args.get("terminal"):
            yield (
                "% Enter Base64 encoded or PEM formatted PKCS10 enrollment request.\n"
                '% End with a blank line or "quit" on a line by itself.\n'
            )
            pasted: list[str] = []
            while True:
                line = (yield Ask("")).strip()
                if not line or line.lower() == "quit":
                    break
                pasted.append(line)
            data = "\n".join(pasted).encode("ascii", "replace")
        else:
            try:
                data = self.router.fs.read(args["url"])
            except FileSystemError as exc:
                return str(exc)
        try:
            csr = load_csr(data)
        except PkiError:
            return "% Failed to decode the PKCS10 enrollment request."
        if not csr.signature_valid:
            return "% The PKCS10 enrollment request signature is invalid."
        source = "terminal" if args.get("terminal") else "url"
        record = ca.add_request(csr, source, pem=bool(args.get("pem")), url=args.get("url"))
        if self.settings.grant == "none":
            ca.reject(record.req_id)
            return f"% Enrollment request rejected, reqId={record.req_id}"
        if self.settings.grant == "auto":
            try:
                return self._deliver(ca.grant(record.req_id))
            except PkiError as exc:
                return f"% Failed to grant request {record.req_id}: {exc}"
        return f"% Enrollment request pending, reqId={record.req_id}"


def _knob(line: str) -> str:
    """The setting a kept line is about (``no database archive`` and ``database archive …`` match)."""
    words = line.removeprefix("no ").split()
    return " ".join(words[:2] if words[0] == "database" else words[:1])


__all__ = ["CaServer", "join_url"]
