"""Crypto show commands of a simulated router, in the layout of its image (:mod:`pkilab.sim.images`).

``show crypto isakmp sa [detail]``, ``show crypto ipsec sa [detail] [peer A]``, ``show crypto
engine connections active``, ``show crypto session [detail]``, ``show crypto isakmp policy`` and
``show crypto map``, all rendered from the engine's SAs, the data plane's counters and the
configuration.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from pkilab import catalog
from pkilab.protocols.ike import IpsecSaInfo, IsakmpSaInfo, Selector
from pkilab.sim.features.acl import Acl
from pkilab.sim.features.crypto_config import CryptoConfig, MapEntry
from pkilab.sim.features.crypto_data import TunnelSa, selector_of
from pkilab.sim.features.crypto_ike import Crypto
from pkilab.sim.features.ip import Interface, Ip
from pkilab.sim.interp import Ctx
from pkilab.sim.router import Feature, handles

LEGEND = [
    "Codes: C - IKE configuration mode, D - Dead Peer Detection",
    "       K - Keepalives, N - NAT-traversal",
    "       T - cTCP encapsulation, X - IKE Extended Authentication",
    "       psk - Preshared key, rsig - RSA signature",
    "       renc - RSA encryption",
]
# 12.x: no cTCP line (the seed's "show crypto isa sa detail").
LEGEND_V12 = [
    "Codes: C - IKE configuration mode, D - Dead Peer Detection",
    "       K - Keepalives, N - NAT-traversal",
    "       X - IKE Extended Authentication",
    "       psk - Preshared key, rsig - RSA signature",
    "       renc - RSA encryption",
]
SESSION_LEGEND = [
    "Code: C - IKE Configuration mode, D - Dead Peer Detection",
    "K - Keepalives, N - NAT-traversal, T - cTCP encapsulation",
    "X - IKE Extended Authentication, F - IKE Fragmentation",
    "R - IKE Auto Reconnect",
]
_ENCR_TEXT = {
    "des": "DES - Data Encryption Standard (56 bit keys).",
    "3des": "Three key triple DES",
    "aes": "AES - Advanced Encryption Standard (128 bit keys).",
}
_HASH_TEXT = {"sha": "Secure Hash Standard", "md5": "Message Digest 5", "sha256": "Secure Hash Standard 2 (256 bit)"}
_AUTH_TEXT = {"rsa-sig": "Rivest-Shamir-Adleman Signature", "pre-share": "Pre-Shared Key"}
_GROUP_BITS = {1: 768, 2: 1024, 5: 1536, 14: 2048}


def hms(seconds: float | None) -> str:
    """``hh:mm:ss`` as IOS prints remaining lifetimes."""
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _flow_text(sel: Selector) -> str:
    net = sel.network
    if net.prefixlen == 32:
        return f"host {net.network_address}"
    return f"{net.network_address}/{net.netmask}"


def _engine_alg(transform: str) -> str:
    """``esp-3des esp-sha-hmac`` → ``3DES+SHA`` (engine connection table)."""
    enc, _, auth = transform.partition(" ")
    name = {
        "esp-des": "DES",
        "esp-3des": "3DES",
        "esp-aes": "AES",
        "esp-192-aes": "AES192",
        "esp-256-aes": "AES256",
    }.get(enc, enc.upper())
    return f"{name}+{'SHA' if 'sha' in auth else 'MD5'}"


def _short_if(name: str) -> str:
    """``FastEthernet0/0`` → ``Fa0/0`` (the two-letter form IOS tables use)."""
    m = re.match(r"^([A-Za-z]+)(.*)$", name)
    return f"{m.group(1)[:2]}{m.group(2)}" if m else name


class CryptoShow(Feature):
    """Read-only crypto show commands."""

    order = 540

    @property
    def crypto(self) -> Crypto:
        """The router's IKE/IPsec state."""
        return self.router.feature(Crypto)

    def _isakmp(self) -> list[IsakmpSaInfo]:
        eng = self.crypto.engine
        return eng.isakmp_sas(time.monotonic()) if eng is not None else []

    def _ipsec(self) -> dict[int, IpsecSaInfo]:
        eng = self.crypto.engine
        return {i.inbound_spi: i for i in eng.ipsec_sas(time.monotonic())} if eng is not None else {}

    # ---- show crypto isakmp sa -----------------------------------------------------------------
    @handles(catalog.SHOW_CRYPTO_ISAKMP_SA, catalog.SHOW_CRYPTO_ISAKMP_SA_DETAIL)
    def show_isakmp_sa(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto isakmp sa [detail]``."""
        sas = self._isakmp()
        if args.get("standby"):
            sas = []
        if args.get("detail"):
            return self._isakmp_detail(sas)
        slot = self.router.personality.layouts.isakmp_slot  # 12.4T: a slot column before status
        head = "dst             src             state          conn-id" + (" slot" if slot else "") + " status"
        lines = ["IPv4 Crypto ISAKMP SA", head]
        for sa in sas:
            dst, src = (sa.remote, sa.local) if sa.role == "initiator" else (sa.local, sa.remote)
            state = "QM idle" if self.router.has_fault("isakmp-sa-misprinted") else sa.state
            row = f"{dst.addr:<16}{src.addr:<16}{state:<15}{sa.conn_id:>7}" + ("    0" if slot else "")
            lines.append(f"{row} {sa.status}")
        return "\n".join([*lines, "", "IPv6 Crypto ISAKMP SA", ""])

    def _isakmp_detail(self, sas: Sequence[IsakmpSaInfo]) -> str:
        # 12.x has no Status column and names the engine connection the other way round.
        v12 = self.router.personality.layouts.isakmp_detail_v12
        status_head = "" if v12 else "Status "
        lines = [
            *(LEGEND_V12 if v12 else LEGEND),
            "IPv4 Crypto ISAKMP SA",
            "",
            f"C-id  Local           Remote          I-VRF  {status_head}Encr Hash   Auth DH Lifetime Cap.",
            "",
        ]
        for sa in sas:
            if not sa.encr:
                continue  # no policy chosen yet (MM_NO_STATE): nothing to show in these columns
            life = hms(sa.lifetime_remaining) or "00:00:00"
            status = "" if v12 else f"{sa.status.split()[0]:<7}"
            row = (
                f"{sa.conn_id:<6}{sa.local.addr:<16}{sa.remote.addr:<16}{'':<7}{status}"
                f"{sa.encr:<4} {sa.hash:<6} {sa.auth:<4} {sa.group or '':<2} {life:<9}"
                f"{sa.capabilities}"
            )
            engine = (
                f"       Connection-id:Engine-id = {sa.conn_id}:1(software)"
                if v12
                else f"       Engine-id:Conn-id =  SW:{sa.conn_id - 1000}"
            )
            lines += [row.rstrip(), engine, ""]
        return "\n".join([*lines, "IPv6 Crypto ISAKMP SA", ""])

    # ---- show crypto ipsec sa ---------------------------------------------------------------------
    @handles(catalog.SHOW_CRYPTO_IPSEC_SA)
    def show_ipsec_sa(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto ipsec sa [peer ADDR | interface IF | map TAG] [detail]``."""
        infos = self._ipsec()
        peer = args.get("address")
        out: list[str] = []
        for intf in sorted(self.router.feature(Ip).interfaces.values(), key=lambda i: i.name):
            if intf.crypto_map is None or intf.address is None:
                continue
            if args.get("interface") not in (None, intf.name) or args.get("tag") not in (None, intf.crypto_map):
                continue
            flows = self._flows(intf, peer)
            if peer is not None and not flows:
                continue
            out += [
                "",
                f"interface: {intf.name}",
                f"    Crypto map tag: {intf.crypto_map}, local addr {intf.address.ip}",
            ]
            for (local, remote, fpeer), tuns in flows.items():
                out += self._flow_block(intf, local, remote, fpeer, tuns, infos, bool(args.get("detail")))
        return "\n".join(out)

    def _flows(self, intf: Interface, peer: str | None) -> dict[tuple[Selector, Selector, str], list[TunnelSa]]:
        flows: dict[tuple[Selector, Selector, str], list[TunnelSa]] = {}
        cfg = self.router.feature(CryptoConfig)
        for entry in cfg.map_entries(intf.crypto_map or ""):
            key = self._static_flow(entry)
            if key is not None and (peer is None or key[2] == peer):
                flows.setdefault(key, [])
        for tun in self.crypto.data.tunnels:
            if tun.up.crypto_map == intf.crypto_map and (peer is None or tun.peer == peer):
                flows.setdefault((tun.up.local_selector, tun.up.remote_selector, tun.peer), []).append(tun)
        return flows

    def _static_flow(self, entry: MapEntry) -> tuple[Selector, Selector, str] | None:
        if entry.dynamic_template or not entry.peers or not entry.acl:
            return None
        acl = self.router.feature(Acl).lists.get(entry.acl)
        hit = next((e for e in acl.entries if e.action == "permit"), None) if acl else None
        if hit is None:
            return None
        return selector_of(hit, True), selector_of(hit, False), entry.peers[0]

    def _flow_block(
        self,
        intf: Interface,
        local: Selector,
        remote: Selector,
        peer: str,
        tuns: list[TunnelSa],
        infos: dict[int, IpsecSaInfo],
        detail: bool,
    ) -> list[str]:
        enc = sum(t.outbound.counters.packets for t in tuns)
        dec = sum(t.inbound.counters.packets for t in tuns)
        send_err = sum(t.send_errors for t in tuns)
        recv_err = sum(t.recv_errors for t in tuns)
        port = tuns[-1].up.remote.port if tuns else 500
        lines = [
            "",
            "   protected vrf: (none)",
            f"   local  ident (addr/mask/prot/port): ({local})",
            f"   remote ident (addr/mask/prot/port): ({remote})",
            f"   current_peer {peer} port {port}",
            "     PERMIT, flags={origin_is_acl,}",
            f"    #pkts encaps: {enc}, #pkts encrypt: {enc}, #pkts digest: {enc}",
            f"    #pkts decaps: {dec}, #pkts decrypt: {dec}, #pkts verify: {dec}",
            "    #pkts compressed: 0, #pkts decompressed: 0",
            "    #pkts not compressed: 0, #pkts compr. failed: 0",
            "    #pkts not decompressed: 0, #pkts decompress failed: 0",
        ]
        if detail:

            def count(reason: str) -> int:
                return sum(t.dropped_in.get(reason, 0) for t in tuns)

            lines += [
                f"    #pkts no sa (send) {self.crypto.data.no_sa_drops}, #pkts invalid sa (rcv) 0",
                f"    #pkts encaps failed (send) {send_err}, #pkts decaps failed (rcv) {recv_err}",
                f"    #pkts invalid prot (recv) 0, #pkts verify failed: {count('verify failed')}",
                f"    #pkts invalid identity (recv) 0, #pkts invalid len (rcv) {count('invalid len')}",
                "    #pkts replay rollover (send): 0, #pkts replay rollover (rcv) 0",
                f"    ##pkts replay failed (rcv): {count('replay failed')}",
                "    #pkts internal err (send): 0, #pkts internal err (recv) 0",
            ]
        else:
            lines.append(f"    #send errors {send_err}, #recv errors {recv_err}")
        cur = tuns[-1] if tuns else None
        out_spi = cur.outbound.spi if cur else 0
        pfs = cur.up.pfs_group if cur else None
        v12 = self.router.personality.layouts.ipsec_sa_v12  # 12.4: no plaintext mtu, no PFS line
        mtu = "" if v12 else f"plaintext mtu {1446 if cur is None or cur.outbound.block_size == 8 else 1438}, "
        lines += [
            "",
            f"     local crypto endpt.: {intf.address.ip if intf.address else ''}, remote crypto endpt.: {peer}",
            f"     {mtu}path mtu 1500, ip mtu 1500, ip mtu idb {intf.name}",
            f"     current outbound spi: 0x{out_spi:X}({out_spi})",
        ]
        if not v12:
            lines.append(f"     PFS (Y/N): {'Y' if pfs else 'N'}, DH group: {f'group{pfs}' if pfs else 'none'}")
        lines.append("")
        for direction in ("inbound", "outbound"):
            lines.append(f"     {direction} esp sas:")
            for t in tuns:
                lines += self._sa_lines(t, infos.get(t.up.inbound.spi), direction)
            lines += ["", f"     {direction} ah sas:", "", f"     {direction} pcp sas:", ""]
        return lines

    def _sa_lines(self, t: TunnelSa, info: IpsecSaInfo | None, direction: str) -> list[str]:
        sa = t.inbound if direction == "inbound" else t.outbound
        conn = (info.conn_ids[0] if direction == "inbound" else info.conn_ids[1]) if info else 0
        left = info.lifetime_remaining if info else 0.0
        kb_left = max(0, t.up.lifetime_kilobytes - sa.counters.bytes // 1024)
        settings = "Tunnel UDP-Encaps, " if t.up.udp_encapsulation else "Tunnel, "
        layouts = self.router.personality.layouts
        # XE says which side started quick mode: the side that started phase 1 with this peer.
        initiator = any(s.role == "initiator" and s.remote.addr == t.peer for s in self._isakmp())
        return [
            f"      spi: 0x{sa.spi:X}({sa.spi})",
            f"        transform: {t.up.transform} ,",
            f"        in use settings ={{{settings}}}",
            "        "
            + layouts.ipsec_conn.format(
                conn=conn - 2000 + layouts.ipsec_conn_base, flow=conn - 2000, map=t.up.crypto_map, initiator=initiator
            ),
            f"        sa timing: remaining key lifetime (k/sec): ({kb_left}/{int(left)})",
            f"        IV size: {sa.block_size} bytes",
            "        replay detection support: Y",
            f"        Status: {'ACTIVE' if layouts.ipsec_sa_v12 else 'ACTIVE(ACTIVE)'}",
        ]

    # ---- engine connections -----------------------------------------------------------------------
    @handles(catalog.SHOW_CRYPTO_ENGINE_CONNECTIONS)
    def show_engine(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto engine connections active`` (12.4: an Interface column, no title, no LastSeqN)."""
        v12 = self.router.personality.layouts.engine_v12
        if v12:
            lines = [" ID  Interface  Type   Algorithm   Encrypt Decrypt IP-Address"]
        else:
            head = "   ID  Type    Algorithm      Encrypt  Decrypt LastSeqN IP-Address"
            lines = ["Crypto Engine Connections", "", head]
        rows: list[tuple[int, str, str, str, int, int, int, str]] = []
        infos = self._ipsec()
        for t in self.crypto.data.tunnels:
            info = infos.get(t.up.inbound.spi)
            if info is None:
                continue
            alg, addr = _engine_alg(t.up.transform), t.up.local.addr
            i, o = t.inbound.counters, t.outbound.counters
            # The engine's IPsec ids are the flow numbers on 12.4/15.x, 2000 + flow on IOS-XE.
            base = self.router.personality.layouts.ipsec_conn_base - 2000
            rows.append((info.conn_ids[0] + base, t.interface, "IPsec", alg, 0, i.packets, i.last_seq, addr))
            rows.append((info.conn_ids[1] + base, t.interface, "IPsec", alg, o.packets, 0, 0, addr))
        for sa in self._isakmp():
            if sa.state != "QM_IDLE":
                continue
            alg = f"{sa.hash.upper()}+{sa.encr.upper().replace(':', '')}"
            intf = self._interface_of(sa.local.addr)
            rows.append((sa.conn_id, intf, "IKE", alg, 0, 0, 0, sa.local.addr))
        for conn, intf, kind, alg, enc, dec, seq, addr in rows:
            if v12:
                ident = f"{conn:>3}".ljust(4)  # 1001 pushes into the blank after the ID column
                lines.append(f"{ident} {_short_if(intf):<11}{kind:<7}{alg:<12}{enc:>4}{dec:>8}    {addr}")
            else:
                lines.append(f"{conn:>5}  {kind:<8}{alg:<15}{enc:>7}{dec:>9}{seq:>9} {addr}")
        return "\n".join(lines)

    def _interface_of(self, address: str) -> str:
        """The interface owning ``address`` (the IKE rows' Interface column)."""
        for intf in self.router.feature(Ip).interfaces.values():
            if intf.address is not None and str(intf.address.ip) == address:
                return intf.name
        return ""

    @handles(catalog.SHOW_CRYPTO_ELI)
    def show_eli(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto eli``: the software engine's session counters (a c7200 without accelerator)."""
        ike = [s for s in self._isakmp() if s.state == "QM_IDLE"]
        ipsec = 2 * len(self.crypto.data.tunnels)
        failed = self.crypto.failed_negotiations
        return "\n".join(
            [
                "Hardware Encryption : INACTIVE",
                " Number of hardware crypto engines = 0",
                "",
                " CryptoEngine Software Crypto Engine details: state = Active",
                " Capability    : DES, 3DES, AES, RSA",
                "",
                f" IKE-Session   : {len(ike):>5} active,  5000 max, {failed} failed",
                f" DH            : {0:>5} active,  5000 max, 0 failed",
                f" IPSec-Session : {ipsec:>5} active, 10000 max, 0 failed",
                "",
            ]
        )

    # ---- crypto session ------------------------------------------------------------------------------
    @handles(catalog.SHOW_CRYPTO_SESSION)
    def show_session(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto session [remote ADDRESS] [detail]``: one block per interface and peer."""
        detail = bool(args.get("detail"))
        lines = ["Crypto session current status", ""]
        if detail:
            lines += [*SESSION_LEGEND, ""]
        peers: dict[tuple[str, str], tuple[list[IsakmpSaInfo], list[TunnelSa]]] = {}
        for intf in self.router.feature(Ip).interfaces.values():
            if intf.crypto_map is None or intf.address is None:
                continue
            for key in self._flows(intf, None):
                peers.setdefault((intf.name, key[2]), ([], []))
        for t in self.crypto.data.tunnels:
            peers.setdefault((t.interface, t.peer), ([], []))[1].append(t)
        for sa in self._isakmp():
            name = next((n for (n, p) in peers if p == sa.remote.addr), None)
            if name is not None:
                peers[(name, sa.remote.addr)][0].append(sa)
        for (name, peer), (ikes, tuns) in peers.items():
            if args.get("remote") in (None, peer):
                lines += self._session_block(name, peer, ikes, tuns, detail)
        return "\n".join(lines)

    def _session_block(
        self, name: str, peer: str, ikes: list[IsakmpSaInfo], tuns: list[TunnelSa], detail: bool
    ) -> list[str]:
        up_ike = [s for s in ikes if s.state == "QM_IDLE"]
        if tuns:
            status = "UP-ACTIVE" if up_ike else "UP-NO-IKE"
        elif up_ike:
            status = "UP-IDLE"
        else:
            status = "DOWN-NEGOTIATING" if ikes else "DOWN"
        port = tuns[-1].up.remote.port if tuns else (ikes[-1].remote.port if ikes else 500)
        lines = [f"Interface: {name}"]
        if detail and tuns:
            lines.append(f"Uptime: {hms(time.monotonic() - min(t.created for t in tuns))}")
        lines.append(f"Session status: {status}")
        lines.append(f"Peer: {peer} port {port}" + (" fvrf: (none) ivrf: (none)" if detail else ""))
        if detail:
            ident = next((s.peer_identity for s in up_ike if s.peer_identity), peer)
            lines += [f"      Phase1_id: {ident}", "      Desc: (none)"]
        for sa in ikes:
            if detail:
                lines.append("  Session ID: 0")
            state = "Active" if sa.state == "QM_IDLE" else "Inactive"
            lines.append(
                f"  IKEv1 SA: local {sa.local.addr}/{sa.local.port} remote {sa.remote.addr}/{sa.remote.port} {state}"
            )
            if detail:
                lines.append(
                    f"          Capabilities:{sa.capabilities or '(none)'} connid:{sa.conn_id} "
                    f"lifetime:{hms(sa.lifetime_remaining) or '0'}"
                )
        flows: dict[tuple[Selector, Selector], list[TunnelSa]] = {}
        for t in tuns:
            flows.setdefault((t.up.local_selector, t.up.remote_selector), []).append(t)
        for (local, remote), group in flows.items():
            proto = "ip" if local.protocol == 0 else str(local.protocol)
            lines += [
                f"  IPSEC FLOW: permit {proto} {_flow_text(local)} {_flow_text(remote)}",
                f"        Active SAs: {2 * len(group)}, origin: crypto map",
            ]
            if detail:
                infos = self._ipsec()
                left = min(
                    (infos[t.up.inbound.spi].lifetime_remaining for t in group if t.up.inbound.spi in infos),
                    default=0.0,
                )
                kb = group[-1].up.lifetime_kilobytes
                dec = sum(t.inbound.counters.packets for t in group)
                enc = sum(t.outbound.counters.packets for t in group)
                drops = sum(t.recv_errors for t in group)
                lines += [
                    f"        Inbound:  #pkts dec'ed {dec} drop {drops} life (KB/Sec) {kb}/{int(left)}",
                    f"        Outbound: #pkts enc'ed {enc} drop 0 life (KB/Sec) {kb}/{int(left)}",
                ]
        return [*lines, ""]

    # ---- configuration views --------------------------------------------------------------------------
    @handles(catalog.SHOW_CRYPTO_ISAKMP_POLICY)
    def show_policy(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto isakmp policy``."""
        cfg = self.router.feature(CryptoConfig)
        lines = ["", "Global IKE policy"]
        for prio in sorted(cfg.policies):
            p = cfg.policies[prio]
            alg = p.encr.split()
            encr = _ENCR_TEXT[alg[0]] if len(alg) == 1 else f"AES - Advanced Encryption Standard ({alg[1]} bit keys)."
            lines += [
                f"Protection suite of priority {prio}",
                f"\tencryption algorithm:\t{encr}",
                f"\thash algorithm:\t\t{_HASH_TEXT[p.hash]}",
                f"\tauthentication method:\t{_AUTH_TEXT[p.auth]}",
                f"\tDiffie-Hellman group:\t#{p.group} ({_GROUP_BITS[p.group]} bit)",
                f"\tlifetime:\t\t{p.lifetime} seconds, no volume limit",
            ]
        if not cfg.policies:
            lines += [
                "Default protection suite",
                "\tencryption algorithm:\tDES - Data Encryption Standard (56 bit keys).",
                "\thash algorithm:\t\tSecure Hash Standard",
                "\tauthentication method:\tRivest-Shamir-Adleman Signature",
                "\tDiffie-Hellman group:\t#1 (768 bit)",
                "\tlifetime:\t\t86400 seconds, no volume limit",
            ]
        return "\n".join(lines)

    @handles(catalog.SHOW_CRYPTO_MAP)
    def show_map(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto map [tag TAG]``."""
        cfg = self.router.feature(CryptoConfig)
        lines: list[str] = []
        for tag, entries in cfg.maps.items():
            if args.get("tag") and args["tag"] != tag:
                continue
            users = [i.name for i in self.router.feature(Ip).interfaces.values() if i.crypto_map == tag]
            for seq in sorted(entries):
                lines += self._map_entry(cfg, entries[seq], tag, seq)
                lines += [f"\tInterfaces using crypto map {tag}:", *[f"\t\t{u}" for u in users], ""]
        return "\n".join(lines)

    @handles(catalog.SHOW_CRYPTO_DYNAMIC_MAP)
    def show_dynamic_map(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto dynamic-map [tag NAME]``: the templates dynamic entries are made from."""
        cfg = self.router.feature(CryptoConfig)
        lines: list[str] = []
        for name, entries in cfg.dynamic_maps.items():
            if args.get("tag") and args["tag"] != name:
                continue
            for seq in sorted(entries):
                body = self._map_entry(cfg, entries[seq], name, seq)[1:]
                lines += [f'Crypto Map Template"{name}" {seq}', *body, ""]
        return "\n".join(lines)

    @handles(catalog.SHOW_CRYPTO_IPSEC_TRANSFORM_SET)
    def show_transform_sets(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto ipsec transform-set [NAME]``."""
        lines: list[str] = []
        for ts in self.router.feature(CryptoConfig).transform_sets.values():
            if args.get("name") not in (None, ts.name):
                continue
            lines += [
                f"Transform set {ts.name}: {{ {' '.join(ts.words)}  }} ",
                f"   will negotiate = {{ {ts.mode.capitalize()},  }}, ",
                "",
            ]
        return "\n".join(lines)

    @handles(catalog.SHOW_CRYPTO_IPSEC_SA_LIFETIME)
    def show_sa_lifetime(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto ipsec security-association lifetime``."""
        cfg = self.router.feature(CryptoConfig)
        return f"Security association lifetime: {cfg.sa_kilobytes} kilobytes/{cfg.sa_seconds} seconds"

    @handles(catalog.SHOW_CRYPTO_ISAKMP_KEY)
    def show_keys(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show crypto isakmp key``."""
        lines = [f"{'Keyring':<13}{'Hostname/Address':<44}Preshared Key", ""]
        for k in self.router.feature(CryptoConfig).keys:
            net = k.network
            where = str(net.network_address) if net.prefixlen == 32 else f"{net.network_address} [{net.netmask}]"
            lines.append(f"{'default':<13}{where:<44}{k.key}")
        return "\n".join(lines)

    def _map_entry(self, cfg: CryptoConfig, e: MapEntry, tag: str, seq: int) -> list[str]:
        head = [f'Crypto Map IPv4 "{tag}" {seq} ipsec-isakmp']
        if e.dynamic_template:
            return [*head, f"\tDynamic map template tag: {e.dynamic_template}"]
        if e.description:
            head.append(f"\tDescription: {e.description}")
        head += [f"\tPeer = {p}" for p in e.peers]
        if e.acl:
            head.append(f"\tExtended IP access list {e.acl}")
            acl = self.router.feature(Acl).lists.get(e.acl)
            for a in acl.entries if acl else []:
                if a.action != "remark":
                    head.append(f"\t    access-list {e.acl} {a.render()}")
        current = next((t.peer for t in self.crypto.data.tunnels if t.up.crypto_map == tag), None)
        if current or e.peers:
            head.append(f"\tCurrent peer: {current or e.peers[0]}")
        head += [
            f"\tSecurity association lifetime: {e.lifetime_kilobytes or cfg.sa_kilobytes} kilobytes/"
            f"{e.lifetime_seconds or cfg.sa_seconds} seconds",
            "\tResponder-Only (Y/N): N",
            f"\tPFS (Y/N): {'Y' if e.pfs else 'N'}",
            "\tMixed-mode : Disabled",
            "\tTransform sets={ ",
        ]
        for name in e.transform_sets:
            ts = cfg.transform_sets.get(name)
            words = " ".join(ts.words) if ts else ""
            head.append(f"\t\t{name}:  {{ {words}  }} , ")
        head.append("\t}")
        if e.reverse_route:
            head.append("\tReverse Route Injection Enabled")
        if e.qos_preclassify:
            head.append("\tQOS pre-classification")
        return head
