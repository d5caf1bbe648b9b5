"""Run one IKE engine on real UDP sockets (ports 500 and 4500) for the strongSwan interop tests.

Usage: ``python ike_udp_peer.py SETTINGS.json``. Prints one JSON object per line: engine events,
ESP packets decrypted, and a final ``done`` line with the SA snapshots, written when the
duration is over or stdin is closed. Answers ICMP echo requests
that arrive through the tunnel, and with ``"ping"`` sends echo requests through it itself.
"""

from __future__ import annotations

import dataclasses
import json
import select
import socket
import sys
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from scapy.layers.inet import ICMP, IP

from pkilab.protocols.esp import EspError, decapsulate_esp, encapsulate, sa_pair
from pkilab.protocols.ike import (
    CertificateCheck,
    CertVerdict,
    DpdConfig,
    Endpoint,
    IkeConfig,
    IkeEngine,
    IsakmpPolicy,
    Phase2Policy,
    Phase2Up,
    RsaCredentials,
    Selector,
    SendDatagram,
    TransformSet,
    TunnelRequest,
    classify_4500,
)
from pkilab.protocols.ike.constants import AuthMethod, P1Encr, P1Hash


def emit(what: str, **fields: Any) -> None:
    print(json.dumps({"what": what, **fields}, default=str), flush=True)


def build_config(s: dict[str, Any]) -> tuple[IkeConfig, Phase2Policy, Selector, Selector]:
    local_sel, remote_sel = Selector.parse(s["local_ts"]), Selector.parse(s["remote_ts"])
    p2 = Phase2Policy((TransformSet.from_ios("T", s["transform"]),), pfs_group=s.get("pfs"), name="vpn")
    encr = {"3des": P1Encr.TRIPLE_DES, "aes": P1Encr.AES}[s["encr"]]
    auth = AuthMethod.PSK if s["auth"] == "psk" else AuthMethod.RSA_SIG
    hash_alg = {"sha": P1Hash.SHA, "sha256": P1Hash.SHA256, "md5": P1Hash.MD5}[s.get("hash", "sha")]
    bits = s.get("key_bits", 128) if encr == P1Encr.AES else None
    pol = (IsakmpPolicy(10, encr, bits, hash_alg, auth, s["group"], 28800),)
    cfg = IkeConfig(
        policies=pol,
        dpd=DpdConfig(s.get("dpd", 10), 2, 5),
        phase2_lookup=lambda _p, loc, rem: p2 if (loc, rem) == (local_sel, remote_sel) else None,
    )
    if auth == AuthMethod.PSK:
        return dataclasses.replace(cfg, psk_lookup={s["peer"]: s["psk"].encode()}.get), p2, local_sel, remote_sel
    ca = x509.load_pem_x509_certificate(Path(s["ca"]).read_bytes())
    cert = x509.load_pem_x509_certificate(Path(s["cert"]).read_bytes())
    key = serialization.load_pem_private_key(Path(s["key"]).read_bytes(), None)
    revoked = set(s.get("revoked", []))

    def validator(req: CertificateCheck) -> CertVerdict:
        peer = x509.load_der_x509_certificate(req.certificate)
        try:
            peer.verify_directly_issued_by(ca)
        except Exception:
            return CertVerdict.bad("certificate invalid")
        return CertVerdict.bad("certificate invalid") if peer.serial_number in revoked else CertVerdict.good()

    creds = RsaCredentials(
        cert.public_bytes(serialization.Encoding.DER),
        key,  # type: ignore[arg-type]
        (ca.subject.public_bytes(),),
    )
    return dataclasses.replace(cfg, rsa=creds, validator=validator), p2, local_sel, remote_sel


class Peer:
    def __init__(self, s: dict[str, Any]):
        self.s = s
        cfg, self.p2, self.local_sel, self.remote_sel = build_config(s)
        self.engine = IkeEngine(cfg)
        self.socks = {}
        for port in (500, 4500):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((s["local"], port))
            self.socks[port] = sock
        self.t0 = time.monotonic()
        self.inbound: dict[int, Any] = {}
        self.outbound: tuple[Any, Phase2Up] | None = None
        self.replies = 0  # echo replies that came back through the tunnel

    def now(self) -> float:
        return time.monotonic() - self.t0

    def handle(self, events: list[Any]) -> None:
        for ev in events:
            if isinstance(ev, SendDatagram):
                self.socks[ev.local.port].sendto(ev.data, (ev.remote.addr, ev.remote.port))
                continue
            keys = [f.name for f in dataclasses.fields(ev) if f.name not in ("inbound", "outbound")]
            fields = {k: getattr(ev, k) for k in keys}
            if isinstance(ev, Phase2Up):
                fields.update(inbound_spi=ev.inbound.spi, outbound_spi=ev.outbound.spi)
            emit("event", type=type(ev).__name__, **fields)
            if isinstance(ev, Phase2Up):
                i, o = sa_pair(ev)
                self.inbound[i.spi] = (i, o, ev)
                self.outbound = (o, ev)

    def esp(self, sock: socket.socket, data: bytes, addr: str, port: int) -> None:
        spi = int.from_bytes(data[:4], "big")
        if spi not in self.inbound:
            emit("esp_unknown_spi", spi=spi)
            return
        i, o, _up = self.inbound[spi]
        try:
            pkt = IP(decapsulate_esp(i, data))
        except EspError as exc:
            emit("esp_error", reason=exc.reason)
            return
        emit("esp_in", src=pkt.src, dst=pkt.dst, icmp_type=pkt[ICMP].type if ICMP in pkt else None)
        if ICMP in pkt and pkt[ICMP].type == 0:
            self.replies += 1
        self.engine.traffic_received(addr, self.now())
        if ICMP in pkt and pkt[ICMP].type == 8:
            reply = IP(src=pkt.dst, dst=pkt.src) / ICMP(type=0, id=pkt[ICMP].id, seq=pkt[ICMP].seq)
            reply = reply / pkt[ICMP].payload
            wire = encapsulate(o, bytes(reply))
            sock.sendto(wire[28:], (addr, port))  # strip outer IP and UDP: the socket adds them

    def ping(self, seq: int) -> None:
        assert self.outbound is not None
        o, up = self.outbound
        ping = IP(src=self.s["ping"]["src"], dst=self.s["ping"]["dst"]) / ICMP(seq=seq) / b"pkilab"
        wire = encapsulate(o, bytes(ping))
        if o.udp_ports is None:
            emit("esp_error", reason="peer did not negotiate UDP encapsulation")
            return
        self.socks[4500].sendto(wire[28:], (up.remote.addr, up.remote.port))

    def run(self) -> None:
        s = self.s
        if s["role"] == "initiate":
            req = TunnelRequest(s["peer"], s["local"], self.local_sel, self.remote_sel, self.p2)
            self.handle(self.engine.initiate(req, self.now()))
        end, pings, next_ping = self.now() + s["duration"], 0, 0.0
        emit("ready")
        while self.now() < end:
            deadline = self.engine.next_deadline()
            wait = 0.2 if deadline is None else max(0.0, min(0.2, deadline - self.now()))
            ready, _, _ = select.select([*self.socks.values(), sys.stdin], [], [], wait)
            if sys.stdin in ready and not sys.stdin.readline():
                break  # the test closed our stdin: it has seen enough
            for sock in ready:
                if sock is sys.stdin:
                    continue
                assert isinstance(sock, socket.socket)  # the rest of what select watches
                data, (addr, port) = sock.recvfrom(65535)
                lport = sock.getsockname()[1]
                if lport == 4500 and classify_4500(data) == "esp":
                    self.esp(sock, data, addr, port)
                else:
                    self.handle(
                        self.engine.receive(data, Endpoint(s["local"], lport), Endpoint(addr, port), self.now())
                    )
            self.handle(self.engine.tick(self.now()))
            # Like an IOS ping through a fresh tunnel, the first echo may be lost: the responder
            # installs its SAs only once it has processed the last Quick Mode message. Keep sending
            # (a few more than asked at most) until ``count`` replies came back.
            wanted = s["ping"]["count"] if "ping" in s else 0
            if self.outbound and self.replies < wanted and pings < wanted + 5 and self.now() >= next_ping:
                pings += 1
                self.ping(pings)
                next_ping = self.now() + 0.3
        emit(
            "done",
            isakmp=[dataclasses.asdict(x) for x in self.engine.isakmp_sas(self.now())],
            ipsec=len(self.engine.ipsec_sas(self.now())),
        )


if __name__ == "__main__":
    Peer(json.loads(Path(sys.argv[1]).read_text())).run()
