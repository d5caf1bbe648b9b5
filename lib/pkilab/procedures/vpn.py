"""The seed's hub-and-spoke VPN as steps over sessions: configs, prep tunnel, traffic, SAs, logs.

The headend uses a dynamic crypto map with DPD and reverse-route injection; the branch a static
crypto map to the headend whose ACL protects its LAN towards 10.0.0.0/8. ISAKMP policy 10 is
RSA signatures (the default), policy 20 the pre-shared-key prep tunnel.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pkilab.config import values as v
from pkilab.device.session import Session
from pkilab.parsers import parse
from pkilab.wait import wait_until


@dataclass(frozen=True)
class VpnSettings:
    """Addresses and names of the seed's hub-and-spoke."""

    psk: str = "bigsecret"
    headend_outside_if: str = "FastEthernet0/0"
    branch_outside_if: str = "FastEthernet0/0"
    headend_address: str = "66.66.66.1"
    branch_address: str = "66.66.66.2"
    branch_lan: str = "10.113.0.0 0.0.0.255"
    protected: str = "10.0.0.0 0.255.255.255"
    transform_set: str = "vpn-test"
    keepalive: int = 10

    def common(self) -> list[str]:
        """ISAKMP policies, DPD, transform set (both ends)."""
        ts = v.word(self.transform_set, "vpn.transform_set")
        return [
            "crypto isakmp policy 10",
            "encr 3des",
            "group 2",
            "crypto isakmp policy 20",
            "encr 3des",
            "authentication pre-share",
            "group 2",
            f"crypto isakmp keepalive {v.integer(self.keepalive, 'vpn.keepalive', 10, 3600)}",
            f"crypto ipsec transform-set {ts} esp-3des esp-sha-hmac",
            "no crypto ipsec nat-transparency udp-encaps",
        ]

    def for_branch(self, address: str, lan: str) -> VpnSettings:
        """The same VPN seen from another branch (its outside address and LAN)."""
        return dataclasses.replace(self, branch_address=v.ipv4(address, "branch address"), branch_lan=lan)

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
            f"permit ip {self.branch_lan} {self.protected}",
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


def ping(session: Session, target: str, source: str, repeat: int = 10) -> object:
    """``ping ip TARGET source IF repeat N``, parsed."""
    cmd = (
        f"ping ip {v.ipv4(target, 'ping target')} source {v.word(source, 'ping source')} "
        f"repeat {v.integer(repeat, 'repeat', 1, 1000)}"
    )
    return parse("ping", session.run(cmd, timeout=repeat * 3 + 10))


def bring_up(session: Session, target: str, source: str, timeout: float = 60) -> object:
    """Ping from the branch LAN until echoes come back ("you may have to enter more than one ping")."""

    def answered() -> object | None:
        result = ping(session, target, source, 10)
        return result if result.received > 0 else None  # type: ignore[attr-defined]

    return wait_until(answered, timeout, 0.2, f"{session.name}: echoes to {target} through the tunnel")


def isakmp_sas(session: Session) -> tuple[object, ...]:
    """``show crypto isakmp sa``, parsed."""
    return tuple(parse("show crypto isakmp sa", session.run("show crypto isakmp sa")).sas)


def isakmp_detail(session: Session) -> tuple[object, ...]:
    """``show crypto isakmp sa detail``, parsed."""
    return tuple(parse("show crypto isakmp sa detail", session.run("show crypto isakmp sa detail")).sas)


def logged(session: Session, mnemonic: str) -> list[Any]:
    """Messages of the logging buffer with ``mnemonic`` (``IKMP_INVAL_CERT`` …)."""
    return [m for m in parse("show logging", session.run("show logging")).messages if m.mnemonic == mnemonic]


def clear_log(session: Session) -> None:
    """``clear logging`` (confirmed)."""
    from pkilab.device.session import Answer

    session.dialog("clear logging", [Answer(r"\[confirm\]", "")], check=False)


@contextlib.contextmanager
def hub_and_spoke(
    headend: Session, branch: Session, s: VpnSettings | None = None, more: tuple[tuple[Session, VpnSettings], ...] = ()
) -> Iterator[VpnSettings]:
    """Configure the seed's headend and branch (and more branches) for the body; remove it all after."""
    s = s or VpnSettings()
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


def wait_logged(session: Session, mnemonic: str, text: str = "", timeout: float = 30) -> list[object]:
    """Poll the logging buffer until a ``mnemonic`` message containing ``text`` is there."""
    return wait_until(
        lambda: [m for m in logged(session, mnemonic) if text in m.text],
        timeout,
        0.3,
        f"{session.name}: %{mnemonic} {text!r} logged",
    )
