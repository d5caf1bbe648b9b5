"""The seed's whole lab as one scenario: CA, headend and branch enrolled, hub-and-spoke up.

``seed_lab(ca, headend, branch)`` is a context manager that brings up the IOS CA, enrolls the
headend directly and the branch through the PSK prep tunnel (SCEP sourced from its LAN), and
optionally removes the pre-shared key so that the tunnel is authenticated by certificates. On
exit everything is removed again, even when the body failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from pkilab.device.session import Session
from pkilab.procedures import baseline, pki, vpn

CA = pki.CaServerSettings()
HQ_HOST = "10.59.138.13"
BRANCH_LAN_IF = "Ethernet0/0"
PREP = ["ip host ese-ios-ca 10.59.138.12"]


@dataclass
class Spoke:
    """A further branch of the hub-and-spoke: its session, VPN view, LAN source and certificate."""

    session: Session
    vpn: vpn.VpnSettings
    lan_if: str
    cert: object = None


@dataclass
class SeedLab:
    """Sessions and settings of the running scenario."""

    ca: Session
    headend: Session
    branch: Session
    vpn: vpn.VpnSettings
    headend_cert: object
    branch_cert: object
    spokes: tuple[Spoke, ...] = ()


def enroll_with_grant(router: Session, ca: Session, tp: pki.TrustpointSettings, hostname: str) -> object:
    """Authenticate, enroll, grant on the CA (manual mode), wait for the certificate."""
    from pkilab.wait import wait_until

    pki.configure_trustpoint(router, tp)
    pki.authenticate(router, tp.name)
    pki.enroll(router, tp.name, "whatever")
    request = wait_until(
        lambda: [
            r for r in pki.server_requests(ca, CA.name).requests if r.state == "pending" and hostname in r.subject
        ],
        30,
        0.3,
        f"{router.name}: request pending on the CA",
    )[0]
    pki.grant(ca, CA.name, request.id)
    return pki.wait_for_certificate(router, tp.name, timeout=30)


@contextlib.contextmanager
def seed_lab(
    ca: Session,
    headend: Session,
    branch: Session,
    rsig: bool = True,
    branch_revocation: str = "crl none",
    spokes: tuple[Spoke, ...] = (),
) -> Iterator[SeedLab]:
    """Build the seed's lab (and further branches) for the body and remove it afterwards."""
    branches = (branch, *(sp.session for sp in spokes))
    saved = {s.name: baseline.snapshot(s) for s in (ca, headend, *branches)}
    settings = vpn.VpnSettings()
    try:
        pki.bring_up_ca(ca, CA)
        for router in (headend, *branches):
            router.config(PREP)
            pki.generate_keys(router, None, 1024, exportable=False)
        he_cert = enroll_with_grant(headend, ca, pki.TrustpointSettings(), "ese-cryagg")
        with vpn.hub_and_spoke(headend, branch, settings, tuple((sp.session, sp.vpn) for sp in spokes)):
            vpn.bring_up(branch, HQ_HOST, BRANCH_LAN_IF)
            br_cert = enroll_with_grant(
                branch,
                ca,
                pki.TrustpointSettings(revocation=branch_revocation, source_interface=BRANCH_LAN_IF),
                "ese-branch",
            )
            for sp in spokes:
                vpn.bring_up(sp.session, HQ_HOST, sp.lan_if)
                sp.cert = enroll_with_grant(
                    sp.session,
                    ca,
                    pki.TrustpointSettings(revocation=branch_revocation, source_interface=sp.lan_if),
                    sp.session.name,
                )
            headend.run("crypto pki crl request ese-ios-ca")
            if branch_revocation == "crl":
                # The branch checks the headend's certificate against the CRL: fetch it while the
                # prep tunnel still carries traffic to the CA.
                branch.run("crypto pki crl request ese-ios-ca")
            if rsig:
                headend.config(
                    [
                        f"no {settings.psk_line(a)}"
                        for a in (settings.branch_address, *(sp.vpn.branch_address for sp in spokes))
                    ]
                )
                vpn.clear_sas(headend, *branches)
                vpn.bring_up(branch, HQ_HOST, BRANCH_LAN_IF)
                for sp in spokes:
                    vpn.bring_up(sp.session, HQ_HOST, sp.lan_if)
            yield SeedLab(ca, headend, branch, settings, he_cert, br_cert, spokes)
    finally:
        problems: list[str] = []
        cleanup = [(b, ["no ip host ese-ios-ca"]) for b in branches]
        for s, undo in (*cleanup, (headend, ["no ip host ese-ios-ca"]), (ca, ["no ip http server"])):
            if not s.connected:
                s.connect()
            problems += baseline.restore(s, saved[s.name], undo)
        if problems:
            raise baseline.RestoreError("; ".join(problems))


def spoke_from_testbed(session: Session, outside_if: str = "FastEthernet0/0", lan_if: str = BRANCH_LAN_IF) -> Spoke:
    """A further branch described by its testbed interfaces (outside address, LAN network)."""
    import ipaddress

    by_name = {i.name: i for i in session.spec.interfaces}
    outside, lan = by_name.get(outside_if), by_name.get(lan_if)
    if outside is None or lan is None or outside.ipv4 is None or lan.ipv4 is None:
        raise baseline.RestoreError(f"{session.name}: testbed gives no {outside_if}/{lan_if} addresses")
    net = lan.ipv4.network
    wildcard = ipaddress.IPv4Address(int(net.hostmask))
    settings = vpn.VpnSettings().for_branch(str(outside.ipv4.ip), f"{net.network_address} {wildcard}")
    return Spoke(session, settings, lan_if)
