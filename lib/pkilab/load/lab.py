"""The lab side of a load run, over CLI sessions: CA and headend ready, revocation, the headend's view.

:func:`prepared` readies the lab for virtual branches and puts it back afterwards
(:func:`pkilab.procedures.baseline.left_as_found`): the certificate server running (brought up
as the seed does when it is not), the headend enrolled with the CA and configured as the seed's
dynamic-map headend (DPD, reverse-route injection) for any branch that authenticates, a route to
the branches' pool, a logging buffer large enough to keep a refusal per revoked branch, and the
CA's granting mode for the run (``grant auto``, or one-time passwords). Everything goes through
the project's procedures and parsers, so the same code drives real IOS and the simulated lab.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

from pkilab.config import values as v
from pkilab.device.session import Session
from pkilab.errors import PkilabError
from pkilab.parsers import parse_as
from pkilab.parsers.isakmp import IsakmpSa, IsakmpSaTable
from pkilab.parsers.server import PkiServer
from pkilab.parsers.session import CryptoSessions
from pkilab.parsers.syslog import Logging
from pkilab.plan import AddressPool, LabPlan
from pkilab.procedures import baseline, offsystem, pki, scenario
from pkilab.wait import wait_until

TAG = "pkilab-load"  # transform set, dynamic map and crypto map names
RSIG_PRIORITY, PSK_PRIORITY = 9901, 9902
LOG_BUFFER = 1_000_000
KEEPALIVE = 10  # crypto isakmp keepalive, as the seed's headend


class LabSetupError(PkilabError):
    """The lab cannot host the run as it is (one line saying why and where)."""


@dataclass(frozen=True)
class HeadendView:
    """What the headend says at the end of a run about the virtual branches."""

    isakmp_up: int  # QM_IDLE SAs with a branch address
    sessions_up: int  # show crypto session: UP-ACTIVE with a branch address
    refused_logged: frozenset[str]  # branch addresses named by an IKMP_INVAL_CERT line

    def to_dict(self) -> dict[str, object]:
        """JSON facts."""
        return {
            "isakmp_qm_idle": self.isakmp_up,
            "sessions_up_active": self.sessions_up,
            "refusals_logged": sorted(self.refused_logged),
        }


@dataclass
class LoadLab:
    """Sessions to the CA and headend of a prepared lab, and the steps a run takes on them."""

    plan: LabPlan
    ca: Session
    headend: Session
    ca_fingerprint: str | None = None
    notes: list[str] = field(default_factory=list)

    # ---- during the run -------------------------------------------------------------------
    def one_time_password(self) -> str:
        """``crypto pki server NAME password generate``: a fresh one-time enrollment password."""
        return pki.generate_password(self.ca, self.plan.ca.server)

    def revoke(self, serials: Collection[int]) -> None:
        """Revoke each serial on the CA, then make the headend fetch the new CRL.

        Raises:
            LabSetupError: the headend did not get a CRL that lists them.
        """
        for serial in serials:
            pki.revoke(self.ca, self.plan.ca.server, serial)
        crl = pki.server_crl(self.ca, self.plan.ca.server)
        listed = {int(e.serial, 16) for e in crl.revoked}
        missing = sorted(set(serials) - listed)
        if missing:
            self.notes.append(f"the CA's CRL does not list {len(missing)} revoked serial(s), e.g. {missing[0]:X}")

        def fetched() -> bool:
            offsystem.crl_request(self.headend, self.plan.ca.trustpoint)
            held = offsystem.crls(self.headend).crls
            return bool(held) and held[0].last_update == crl.this_update

        wait_until(fetched, self.plan.deadlines.request, 0.5, f"{self.headend.name}: the CA's new CRL fetched")

    def clear(self, addresses: Collection[str]) -> None:
        """Delete the headend's ISAKMP and IPsec SAs with each address (the seed clears both)."""
        wanted = set(addresses)
        for sa in self.isakmp():
            peer = sa.src if sa.dst == self.plan.headend.address else sa.dst
            if peer in wanted:
                self.headend.run(f"clear crypto isakmp {v.integer(sa.conn_id, 'conn-id', 1, 65535)}")
        for address in sorted(wanted):
            self.headend.run(f"clear crypto sa peer {v.ipv4(address, 'peer')}")

    def isakmp(self) -> tuple[IsakmpSa, ...]:
        """``show crypto isakmp sa``, parsed."""
        out = self.headend.run("show crypto isakmp sa", timeout=120)
        return tuple(parse_as(IsakmpSaTable, "show crypto isakmp sa", out).sas)

    def view(self, addresses: Collection[str]) -> HeadendView:
        """Count the headend's SAs and sessions with the branches; find their refusals in its log."""
        wanted = set(addresses)
        here = self.plan.headend.address
        idle = [s for s in self.isakmp() if s.state == "QM_IDLE" and (s.src if s.dst == here else s.dst) in wanted]
        out = self.headend.run("show crypto session", timeout=120)
        sessions = parse_as(CryptoSessions, "show crypto session", out).sessions
        active = [s for s in sessions if s.peer in wanted and s.status == "UP-ACTIVE"]
        log = parse_as(Logging, "show logging", self.headend.run("show logging", timeout=120)).messages
        pattern = re.compile(r"Certificate received from (\S+) is bad")
        named = {m.group(1) for msg in log if msg.mnemonic == "IKMP_INVAL_CERT" if (m := pattern.search(msg.text))}
        return HeadendView(len(idle), len(active), frozenset(named & wanted))


# ---- preparing the lab --------------------------------------------------------------------------


def routes(pool: AddressPool, gateway: str) -> list[str]:
    """``ip route`` lines sending the pool to ``gateway``."""
    return [f"ip route {n.network_address} {n.netmask} {v.ipv4(gateway, 'load.gateway')}" for n in pool.networks()]


def headend_lines(plan: LabPlan, psk: bool) -> list[str]:
    """The headend's configuration for virtual branches: the seed's dynamic-map headend."""
    assert plan.load is not None and plan.headend.outside_if is not None
    esp = " ".join(v.word(w, "crypto.esp") for w in plan.crypto.esp.split())
    lines = [
        *plan.crypto.isakmp_policy(RSIG_PRIORITY),
        *plan.crypto.isakmp_policy(PSK_PRIORITY, pre_share=True),
        f"crypto isakmp keepalive {KEEPALIVE}",
        f"crypto ipsec transform-set {TAG} {esp}",
        f"crypto dynamic-map {TAG} 10",
        f"set transform-set {TAG}",
        "reverse-route",
        f"crypto map {TAG} 10 ipsec-isakmp dynamic {TAG}",
        f"interface {v.word(plan.headend.outside_if, 'headend.outside_interface')}",
        f"crypto map {TAG}",
    ]
    if psk:
        lines.insert(0, f"crypto isakmp key {v.word(plan.psk, 'psk', secret=True)} address 0.0.0.0 0.0.0.0")
    if plan.load.pool is not None and plan.load.gateway is not None:
        lines += routes(plan.load.pool, plan.load.gateway)
    return [*lines, f"logging buffered {LOG_BUFFER}"]


def headend_undo(plan: LabPlan, psk: bool, before: list[str]) -> list[str]:
    """Lines that take :func:`headend_lines` away again and restore what they replaced (``before``)."""
    assert plan.load is not None and plan.headend.outside_if is not None
    lines = [
        f"interface {plan.headend.outside_if}",
        f"no crypto map {TAG}",
        f"no crypto map {TAG} 10",
        f"no crypto dynamic-map {TAG} 10",
        f"no crypto ipsec transform-set {TAG}",
        f"no crypto isakmp policy {RSIG_PRIORITY}",
        f"no crypto isakmp policy {PSK_PRIORITY}",
        "no crypto isakmp keepalive",
    ]
    if psk:
        lines.append(f"no crypto isakmp key {plan.psk} address 0.0.0.0 0.0.0.0")
    if plan.load.pool is not None and plan.load.gateway is not None:
        lines += [f"no {line}" for line in routes(plan.load.pool, plan.load.gateway)]
    return [*lines, *before]


def _global_lines(config: str, prefixes: tuple[str, ...]) -> list[str]:
    return [ln.strip() for ln in config.splitlines() if ln.startswith(prefixes)]


def _interface_map(config: str, interface: str) -> str | None:
    inside = False
    for line in config.splitlines():
        if line.startswith("interface "):
            inside = line.split(None, 1)[1].strip() == interface
        elif inside and line.strip().startswith("crypto map "):
            return line.strip().split()[2]
    return None


def _running_ca(plan: LabPlan, ca: Session) -> PkiServer | None:
    return next((s for s in pki.server_status(ca).servers if s.name in (None, plan.ca.server) and s.enabled), None)


def _enroll_headend(plan: LabPlan, headend: Session, ca: Session, granting: bool) -> None:
    """Enroll the headend with the plan's trustpoint (``revocation-check crl``) unless it holds a certificate."""
    held = plan.ca.trustpoint in _trustpoints(headend)
    existing = pki.router_certificate(headend, plan.ca.trustpoint) if held else None
    if existing is not None and existing.status == "Available":
        return
    headend.config([plan.ca.host_line])
    pki.generate_keys(headend, None, plan.crypto.modulus, exportable=False)
    tp = pki.TrustpointSettings.from_plan(plan, revocation="crl")
    if not granting:
        scenario.enroll_with_grant(plan, headend, ca, tp)
        return
    pki.configure_trustpoint(headend, tp)
    pki.authenticate(headend, tp.name)
    pki.enroll(headend, tp.name, "pkilab-load")
    pki.wait_for_certificate(headend, tp.name, timeout=plan.deadlines.certificate)


def _trustpoints(session: Session) -> set[str]:
    return set(re.findall(r"^Trustpoint (\S+?):", session.run("show crypto pki trustpoints", check=False), re.M))


@contextlib.contextmanager
def prepared(plan: LabPlan, get: Callable[[str], Session], psk: bool, grant: str) -> Iterator[LoadLab]:
    """The lab ready for virtual branches for the body; as it was found afterwards.

    Args:
        plan: the lab plan (its ``load`` block says where the branches live).
        get: a connected session for a device name.
        psk: the run authenticates with the plan's pre-shared key (no enrollment).
        grant: ``auto`` (the CA grants every request) or ``otp`` (one-time passwords).

    Raises:
        LabSetupError: the headend's outside interface already carries another crypto map.
    """
    ca_name, he_name = plan.ca.device, plan.headend.name
    with baseline.left_as_found(get, ca_name, he_name) as keeper:
        ca, headend = get(ca_name), get(he_name)
        outside = plan.headend.outside_if or ""
        config = headend.run("show running-config", timeout=60)
        other = _interface_map(config, outside)
        if other is not None and other != TAG:
            raise LabSetupError(f"{he_name}: {outside} already carries crypto map {other}; remove it for the load run")
        before = _global_lines(config, ("crypto isakmp keepalive", "logging buffered"))
        if f"ip host {plan.ca.url_host} " not in config:
            keeper.undo(he_name, f"no ip host {plan.ca.url_host}")
        keeper.undo(he_name, "do clear crypto isakmp", "do clear crypto sa", *headend_undo(plan, psk, before))
        server = _running_ca(plan, ca)
        if server is None:  # the seed's CA, removed again by left_as_found
            keeper.undo(ca_name, "no ip http server")
            server = pki.bring_up_ca(ca, pki.CaServerSettings.from_plan(plan))
        elif not psk and grant == "auto" and "auto" not in (server.granting_mode or "").lower():
            keeper.undo(ca_name, f"crypto pki server {plan.ca.server}", "no grant auto")
        if not psk:
            _enroll_headend(plan, headend, ca, "auto" in (server.granting_mode or "").lower())
            headend.run(f"crypto pki crl request {plan.ca.trustpoint}")
            if grant == "auto":
                pki.set_grant_mode(ca, plan.ca.server, True)
        headend.masker.add(plan.psk)
        headend.config(headend_lines(plan, psk))
        yield LoadLab(plan, ca, headend, server.fingerprint)
