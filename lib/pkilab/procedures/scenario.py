"""The seed's whole lab as one scenario: CA, headend and branches enrolled, hub-and-spoke up.

``seed_lab(plan, get)`` is a context manager that brings up the IOS CA, enrolls the headend
directly and each branch through the PSK prep tunnel (SCEP sourced from its LAN), and optionally
removes the pre-shared key so that the tunnels are authenticated by certificates. Every name,
address and interface comes from the lab plan. On exit everything is removed again, even when
the body failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pkilab.device.session import Session
from pkilab.parsers.certificates import Certificate
from pkilab.plan import LabPlan, Router
from pkilab.procedures import baseline, pki, vpn
from pkilab.wait import wait_until


@dataclass(frozen=True)
class Spoke:
    """A branch of the hub-and-spoke: its plan, session, VPN view and certificate."""

    router: Router
    session: Session
    vpn: vpn.VpnSettings
    cert: Certificate

    @property
    def lan_if(self) -> str:
        """The LAN interface the branch sources its traffic from."""
        assert self.router.inside_if is not None
        return self.router.inside_if


@dataclass(frozen=True)
class SeedLab:
    """Sessions and settings of the running scenario: the first branch, then the others as spokes."""

    plan: LabPlan
    ca: Session
    headend: Session
    headend_cert: Certificate
    branches: tuple[Spoke, ...]

    @property
    def main(self) -> Spoke:
        """The first branch (the seed's ``ese-branch``)."""
        return self.branches[0]

    @property
    def branch(self) -> Session:
        """The first branch's session."""
        return self.main.session

    @property
    def vpn(self) -> vpn.VpnSettings:
        """The first branch's VPN view (headend and branch addresses, PSK line)."""
        return self.main.vpn

    @property
    def branch_cert(self) -> Certificate:
        """The first branch's certificate."""
        return self.main.cert

    @property
    def spokes(self) -> tuple[Spoke, ...]:
        """The branches after the first."""
        return self.branches[1:]


def enroll_with_grant(plan: LabPlan, router: Session, ca: Session, tp: pki.TrustpointSettings) -> Certificate:
    """Authenticate, enroll, grant on the CA (manual mode), wait for the certificate."""
    pki.configure_trustpoint(router, tp)
    pki.authenticate(router, tp.name, timeout=plan.deadlines.transfer)
    pki.enroll(router, tp.name, "whatever", timeout=plan.deadlines.keygen)
    hostname = plan.fqdn(router.name)
    request = wait_until(
        lambda: [
            r
            for r in pki.server_requests(ca, plan.ca.server).requests
            if r.state == "pending" and hostname in r.subject
        ],
        plan.deadlines.request,
        0.3,
        f"{router.name}: request pending on the CA",
    )[0]
    pki.grant(ca, plan.ca.server, request.id)
    return pki.wait_for_certificate(router, tp.name, timeout=plan.deadlines.certificate)


@contextlib.contextmanager
def ca_running(
    plan: LabPlan, get: Callable[[str], Session], settings: pki.CaServerSettings | None = None
) -> Iterator[Session]:
    """The plan's CA up, in the plan's time zone, for the body; removed afterwards (seed steps 1-15)."""
    name = plan.ca.device
    with baseline.left_as_found(get, name) as keeper:
        keeper.undo(name, "no ip http server", *plan.timezone.undo())
        session = get(name)
        session.config(plan.timezone.lines())
        pki.bring_up_ca(session, settings or pki.CaServerSettings.from_plan(plan), timeout=plan.deadlines.keygen)
        yield get(name)


@contextlib.contextmanager
def seed_lab(
    plan: LabPlan,
    get: Callable[[str], Session],
    rsig: bool = True,
    branch_revocation: str = "crl none",
    all_branches: bool = False,
) -> Iterator[SeedLab]:
    """Build the seed's lab (the first branch, or every branch of the plan) for the body; remove it after."""
    routers = plan.branches if all_branches else plan.branches[:1]
    names = [plan.ca.device, plan.headend.name, *(r.name for r in routers)]
    with baseline.left_as_found(get, *names) as keeper:
        keeper.undo(plan.ca.device, "no ip http server")
        for name in names[1:]:
            keeper.undo(name, f"no ip host {plan.ca.url_host}")
        yield from _built(plan, get, routers, rsig, branch_revocation)


def _built(
    plan: LabPlan, get: Callable[[str], Session], routers: tuple[Router, ...], rsig: bool, revocation: str
) -> Iterator[SeedLab]:
    ca, headend = get(plan.ca.device), get(plan.headend.name)
    pki.bring_up_ca(ca, pki.CaServerSettings.from_plan(plan), timeout=plan.deadlines.keygen)
    branches = [get(r.name) for r in routers]
    for enrolling in (headend, *branches):
        enrolling.config([plan.ca.host_line])
        pki.generate_keys(enrolling, None, plan.crypto.modulus, exportable=False, timeout=plan.deadlines.keygen)
    he_cert = enroll_with_grant(plan, headend, ca, pki.TrustpointSettings.from_plan(plan))
    settings = [vpn.VpnSettings.for_branch(plan, r) for r in routers]
    more = tuple(zip(branches[1:], settings[1:], strict=True))
    with vpn.hub_and_spoke(headend, branches[0], settings[0], more):
        certs = []
        for router, session in zip(routers, branches, strict=True):
            assert router.inside_if is not None
            vpn.bring_up(session, plan.target, router.inside_if, plan.deadlines.tunnel)
            tp = pki.TrustpointSettings.from_plan(plan, revocation=revocation, source_interface=router.inside_if)
            certs.append(enroll_with_grant(plan, session, ca, tp))
        headend.run(f"crypto pki crl request {plan.ca.trustpoint}", timeout=plan.deadlines.transfer)
        if revocation == "crl":
            # The branch checks the headend's certificate against the CRL: fetch it while the
            # prep tunnel still carries traffic to the CA.
            for session in branches:
                session.run(f"crypto pki crl request {plan.ca.trustpoint}", timeout=plan.deadlines.transfer)
        if rsig:
            headend.config([f"no {settings[0].psk_line(s.branch_address)}" for s in settings])
            vpn.clear_sas(headend, *branches)
            for router, session in zip(routers, branches, strict=True):
                assert router.inside_if is not None
                vpn.bring_up(session, plan.target, router.inside_if, plan.deadlines.tunnel)
        spokes = tuple(Spoke(r, s, vs, c) for r, s, vs, c in zip(routers, branches, settings, certs, strict=True))
        yield SeedLab(plan, ca, headend, he_cert, spokes)
