"""The seed's hub-and-spoke VPN as steps over sessions: configs, prep tunnel, traffic, SAs, logs.

The headend uses a dynamic crypto map with DPD and reverse-route injection; the branch a static
crypto map to the headend whose ACL protects its LAN towards the networks behind the headend (the
lab plan's ``protected``; the seed's 10.0.0.0/8). ISAKMP policy 10 is RSA signatures (the default),
policy 20 the pre-shared-key prep tunnel; algorithms and groups are the plan's crypto profile.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field

from pkilab.config import values as v
from pkilab.device.session import Session
from pkilab.parsers import parse_as
from pkilab.parsers.exec_dialogs import PingResult
from pkilab.parsers.isakmp import IsakmpSa, IsakmpSaDetail, IsakmpSaDetailTable, IsakmpSaTable
from pkilab.parsers.syslog import Logging, LogMessage
from pkilab.plan import CryptoProfile, Deadlines, LabPlan, Router, wildcard
from pkilab.wait import wait_until

# Without a deadline from the caller's lab plan: a real router's IKE, retransmissions included.
_TUNNEL = Deadlines.real().tunnel
# IOS's ping waits 2 s for each echo reply (``ping ... timeout``, default 2); a few more for ARP.
_ECHO_TIMEOUT = 2


@dataclass(frozen=True)
class VpnSettings:
    """The hub-and-spoke between the headend and one branch, from the lab plan."""

    psk: str = field(repr=False)
    crypto: CryptoProfile
    headend_outside_if: str
    branch_outside_if: str
    headend_address: str
    branch_address: str
    branch_lan: ipaddress.IPv4Network
    protected: tuple[ipaddress.IPv4Network, ...]
    transform_set: str = "vpn-test"
    keepalive: int = 10

    @classmethod
    def for_branch(cls, plan: LabPlan, branch: Router) -> VpnSettings:
        """The VPN as ``branch`` and the plan's headend see it."""
        he = plan.headend
        if he.outside_if is None or branch.outside_if is None:
            raise LookupError(f"{branch.name}: the plan names no outside interface")
        return cls(
            psk=plan.psk,
            crypto=plan.crypto,
            headend_outside_if=he.outside_if,
            branch_outside_if=branch.outside_if,
            headend_address=he.address,
            branch_address=branch.address,
            branch_lan=branch.lan,
            protected=plan.protected,
        )

    def common(self) -> list[str]:
        """ISAKMP policies, DPD, transform set (both ends): 10 is RSA signatures, 20 the pre-shared key."""
        ts = v.word(self.transform_set, "vpn.transform_set")
        esp = " ".join(v.word(w, "vpn.esp") for w in self.crypto.esp.split())
        return [
            *self.crypto.isakmp_policy(10),
            *self.crypto.isakmp_policy(20, pre_share=True),
            f"crypto isakmp keepalive {v.integer(self.keepalive, 'vpn.keepalive', 10, 3600)}",
            f"crypto ipsec transform-set {ts} {esp}",
            "no crypto ipsec nat-transparency udp-encaps",
        ]

    def headend(self, more_branches: tuple[str, ...] = ()) -> list[str]:
        """The seed's "IPSec Headend Hub-and-Spoke Configuration Using dmaps (DPD/RRI)"."""
        return [
            *self.common(),
            self.psk_line(self.branch_address),
            *(self.psk_line(a) for a in more_branches),
            "crypto dynamic-map dmap 10",
            f"set transform-set {self.transform_set}",
            "reverse-route",
            "crypto map dynamic-map 10 ipsec-isakmp dynamic dmap",
            f"interface {v.word(self.headend_outside_if, 'vpn.headend_outside_if')}",
            "crypto map dynamic-map",
        ]

    def branch(self) -> list[str]:
        """The seed's "Branch End Hub-and-Spoke Configuration"."""
        return [
            *self.common(),
            self.psk_line(self.headend_address),
            "ip access-list extended CryptoMapACL",
            *(f"permit ip {wildcard(self.branch_lan)} {wildcard(net)}" for net in self.protected),
            "deny ip any any",
            "crypto map test 10 ipsec-isakmp",
            f"set peer {v.ipv4(self.headend_address, 'peer')}",
            f"set transform-set {self.transform_set}",
            "match address CryptoMapACL",
            f"interface {v.word(self.branch_outside_if, 'vpn.branch_outside_if')}",
            "crypto map test",
        ]

    def psk_line(self, peer: str) -> str:
        """``crypto isakmp key KEY address PEER``."""
        return f"crypto isakmp key {v.word(self.psk, 'vpn.psk', secret=True)} address {v.ipv4(peer, 'peer')}"

    def headend_undo(self, more_branches: tuple[str, ...] = ()) -> list[str]:
        """Lines that remove the headend's VPN configuration."""
        return [
            f"interface {self.headend_outside_if}",
            "no crypto map dynamic-map",
            "no crypto map dynamic-map 10",
            "no crypto dynamic-map dmap 10",
            f"no {self.psk_line(self.branch_address)}",
            *(f"no {self.psk_line(a)}" for a in more_branches),
            *self._common_undo(),
        ]

    def branch_undo(self) -> list[str]:
        """Lines that remove the branch's VPN configuration."""
        return [
            f"interface {self.branch_outside_if}",
            "no crypto map test",
            "no crypto map test 10",
            "no ip access-list extended CryptoMapACL",
            f"no {self.psk_line(self.headend_address)}",
            *self._common_undo(),
        ]

    def _common_undo(self) -> list[str]:
        return [
            "no crypto isakmp policy 10",
            "no crypto isakmp policy 20",
            "no crypto isakmp keepalive",
            f"no crypto ipsec transform-set {self.transform_set}",
            "crypto ipsec nat-transparency udp-encaps",
        ]


def clear_sas(*sessions: Session) -> None:
    """``clear crypto isakmp`` and ``clear crypto sa`` (the seed clears both)."""
    for s in sessions:
        s.run("clear crypto isakmp")
        s.run("clear crypto sa")


def ping(session: Session, target: str, source: str, repeat: int = 10) -> PingResult:
    """``ping ip TARGET source IF repeat N``, parsed."""
    cmd = (
        f"ping ip {v.ipv4(target, 'ping target')} source {v.word(source, 'ping source')} "
        f"repeat {v.integer(repeat, 'repeat', 1, 1000)}"
    )
    # The prompt comes back after the last echo: each unanswered one takes IOS's echo timeout.
    return parse_as(PingResult, cmd, session.run(cmd, timeout=repeat * (_ECHO_TIMEOUT + 1) + 10))


def bring_up(session: Session, target: str, source: str, timeout: float = _TUNNEL) -> PingResult:
    """Ping from the branch LAN until echoes come back ("you may have to enter more than one ping")."""

    def answered() -> PingResult | None:
        result = ping(session, target, source, 10)
        return result if result.received > 0 else None

    return wait_until(answered, timeout, 0.2, f"{session.name}: echoes to {target} through the tunnel")


def isakmp_sas(session: Session) -> tuple[IsakmpSa, ...]:
    """``show crypto isakmp sa``, parsed."""
    return tuple(parse_as(IsakmpSaTable, "show crypto isakmp sa", session.run("show crypto isakmp sa")).sas)


def isakmp_detail(session: Session) -> tuple[IsakmpSaDetail, ...]:
    """``show crypto isakmp sa detail``, parsed."""
    out = session.run("show crypto isakmp sa detail")
    return tuple(parse_as(IsakmpSaDetailTable, "show crypto isakmp sa detail", out).sas)


def logged(session: Session, mnemonic: str) -> list[LogMessage]:
    """Messages of the logging buffer with ``mnemonic`` (``IKMP_INVAL_CERT`` …)."""
    messages = parse_as(Logging, "show logging", session.run("show logging")).messages
    return [m for m in messages if m.mnemonic == mnemonic]


def clear_log(session: Session) -> None:
    """``clear logging`` (confirmed)."""
    from pkilab.device.session import Answer

    session.dialog("clear logging", [Answer(r"\[confirm\]", "")], check=False)


@contextlib.contextmanager
def hub_and_spoke(
    headend: Session, branch: Session, s: VpnSettings, more: tuple[tuple[Session, VpnSettings], ...] = ()
) -> Iterator[VpnSettings]:
    """Configure the seed's headend and branch (and more branches) for the body; remove it all after."""
    extra = tuple(b.branch_address for _, b in more)
    for session in (headend, branch, *(x for x, _ in more)):
        session.masker.add(s.psk)
    try:
        headend.config(s.headend(extra))
        branch.config(s.branch())
        for session, settings in more:
            session.config(settings.branch())
        yield s
    finally:
        undos = [(headend, s.headend_undo(extra)), (branch, s.branch_undo()), *((x, b.branch_undo()) for x, b in more)]
        for session, undo in undos:
            if not session.connected:
                session.connect()
            session.config(undo, check=False)
            clear_sas(session)


def set_revocation(session: Session, trustpoint: str, mode: str) -> None:
    """``revocation-check crl|none|crl none`` on a trustpoint."""
    check = v.choice(mode, "revocation-check", ("crl", "none", "crl none"))
    session.config([f"crypto pki trustpoint {v.word(trustpoint, 'trustpoint')}", f"revocation-check {check}"])


@contextlib.contextmanager
def interface_down(session: Session, interface: str) -> Iterator[None]:
    """``shutdown`` an interface for the body (a CA cut off its LAN); ``no shutdown`` afterwards."""
    name = v.word(interface, "interface")
    session.config([f"interface {name}", "shutdown"])
    try:
        yield
    finally:
        if not session.connected:
            session.connect()
        session.config([f"interface {name}", "no shutdown"])


def wait_logged(session: Session, mnemonic: str, text: str = "", timeout: float = _TUNNEL) -> list[LogMessage]:
    """Poll the logging buffer until a ``mnemonic`` message containing ``text`` is there.

    The messages waited for follow an IKE negotiation: ``timeout`` is the plan's
    ``Deadlines.tunnel`` (IKE's retransmissions included).
    """
    return wait_until(
        lambda: [m for m in logged(session, mnemonic) if text in m.text],
        timeout,
        0.3,
        f"{session.name}: %{mnemonic} {text!r} logged",
    )
