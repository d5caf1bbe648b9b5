"""The certificate server's show commands.

``show crypto pki server [NAME]``, ``… NAME requests`` (``crypto pki server NAME info
requests``), ``… NAME crl`` (``… info crl``) and ``… NAME certificates``. They read
:class:`~pkilab.sim.features.ca_server.CaServer`'s state and print it in the layout of the
router's image (the seed's 12.x layout, 15.x and IOS-XE captures of the shared corpus).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from pkilab import catalog
from pkilab.pki.fingerprints import md5_words
from pkilab.pki.names import render_dn, render_dn_lines
from pkilab.sim.features.ca_db import DB_LEVEL_TEXT, RunningCa
from pkilab.sim.features.ca_server import CaServer
from pkilab.sim.interp import Ctx
from pkilab.sim.router import Feature, handles


class CaServerShow(Feature):
    """The certificate server's show commands."""

    @property
    def server(self) -> CaServer:
        """The router's certificate server."""
        return self.router.feature(CaServer)

    @handles(catalog.SHOW_CRYPTO_PKI_SERVER)
    def show_server(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto pki server`` in the layout of the router's image."""
        if self.server.name is None or args.get("name", self.server.name) != self.server.name:
            return ""
        if self.router.personality.layouts.pki_server_v12:
            return self._server_v12()
        s, ca = self.server.settings, self.server.ca
        if ca is not None:
            status, state = "enabled", "enabled"
        elif self.server.shutdown:
            status, state = "disabled", "disabled"
        else:
            status = {"time": "disabled, Time has not been set", "http": "disabled, HTTP Server is disabled"}.get(
                self.server.problem or "", "disabled"
            )
            state = "check failed"
        lock = (
            'Server\'s configuration is locked  (enter "shut" to unlock it)'
            if ca is not None
            else 'Server\'s configuration is unlocked  (enter "no shut" to lock it)'
        )
        lines = [
            f"Certificate Server {self.server.name}:",
            f"    Status: {status}",
            f"    State: {state}",
            f"    {lock}",
            f"    Issuer name: {s.issuer_text(self.server.name)}",
        ]
        if ca is not None:
            lines += [
                f"    CA cert fingerprint: {md5_words(ca.certificate)}",
                f"    Granting mode is: {s.grant}",
                f"    Last certificate issued serial number (hex): {ca.last_serial:X}",
                *self._timer_lines(ca, "    "),
            ]
        else:
            lines += ["    CA cert fingerprint: -Not found-", f"    Granting mode is: {s.grant}"]
        lines += [
            f"    Current primary storage dir: {s.database_url}",
            f"    Database Level: {DB_LEVEL_TEXT[s.database_level]}",
        ]
        return "\n".join(lines) + "\n"

    def _server_v12(self) -> str:
        """The seed's 12.x layout: one status line, the serial as ``0x1``, no fingerprint."""
        s, ca = self.server.settings, self.server.ca
        lines = [f"Certificate Server status: {'enabled' if ca is not None else 'disabled'}, configured"]
        lines.append(f"Granting mode is: {s.grant}")
        if ca is not None:
            lines += [f"Last certificate issued serial number: 0x{ca.last_serial:X}", *self._timer_lines(ca, "")]
        lines += [f"Current storage dir: {s.database_url}", f"Database Level: {DB_LEVEL_TEXT[s.database_level]}"]
        return "\n".join(lines) + "\n"

    def _timer_lines(self, ca: RunningCa, indent: str) -> list[str]:
        clock = self.router.clock
        lines = [f"{indent}CA certificate expiration timer: {clock.format_date(ca.certificate.not_valid_after_utc)}"]
        crl = ca.current_crl
        if crl is not None and crl.next_update_utc is not None:
            lines.append(f"{indent}CRL NextUpdate timer: {clock.format_date(crl.next_update_utc)}")
        return lines

    @handles(catalog.SHOW_CRYPTO_PKI_SERVER_REQUESTS)
    def info_requests(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``crypto pki server NAME info requests`` in IOS 15's three-section layout."""
        ca = self.server.running_ca(args["name"])
        if isinstance(ca, str):
            return ca
        head = ["ReqID  State      Fingerprint                      SubjectName", "-" * 62]
        rows = [
            f"{r.req_id:<7}{r.state:<11}{r.fingerprint} {render_dn(r.csr.subject)}"
            for r in sorted(ca.records.values(), key=lambda r: r.req_id, reverse=True)
        ]
        lines = [
            "Enrollment Request Database:",
            "",
            "Subordinate CA certificate requests:",
            *head,
            "",
            "RA certificate requests:",
            *head,
            "",
            "Router certificates requests:",
            *head,
            *rows,
            "",
        ]
        return "\n".join(lines) + "\n"

    @handles(catalog.SHOW_CRYPTO_PKI_SERVER_CRL)
    def info_crl(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``crypto pki server NAME info crl``."""
        ca = self.server.running_ca(args["name"])
        if isinstance(ca, str):
            return ca
        crl = ca.current_crl
        if crl is None:
            return "% CRL not available."
        fmt = self.router.clock.format_date
        entries = list(crl)
        lines = [
            "Certificate Revocation List:",
            f"    Issuer: {render_dn(crl.issuer)}",
            f"    This Update: {fmt(crl.last_update_utc)}",
        ]
        if crl.next_update_utc is not None:
            lines.append(f"    Next Update: {fmt(crl.next_update_utc)}")
        lines += [
            f"    Number of CRL entries: {len(entries)}",
            f"    CRL size: {len(crl.public_bytes(Encoding.DER))} bytes",
        ]
        for entry in entries:
            lines += [
                f"    Serial Number (hex): {entry.serial_number:02X}",
                f"    Revocation Date: {fmt(entry.revocation_date_utc)}",
            ]
        return "\n".join(lines) + "\n"

    @handles(catalog.SHOW_CRYPTO_PKI_SERVER_CERTIFICATES)
    def show_certificates(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto pki server NAME certificates``: what the CA has issued (and knows of)."""
        ca = self.server.running_ca(args["name"])
        if isinstance(ca, str):
            return ca
        fmt = self.router.clock.format_date
        lines = ["Serial Issued date              Expire date               Subject Name"]
        for serial, cert in sorted(ca.issued.items()):
            subject = " ".join(render_dn_lines(cert.subject))
            lines.append(f"{serial:<8X}{fmt(cert.not_valid_before_utc)} {fmt(cert.not_valid_after_utc)}  {subject}")
        return "\n".join(lines) + "\n"
