"""ESP tunnel mode, cross-checked with scapy's SecurityAssociation in both directions."""

from __future__ import annotations

import random

import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.ipsec import ESP, SecurityAssociation

from pkilab.protocols.esp import EspError, EspSa, ReplayWindow, decapsulate, encapsulate, parse_outer

SRC, DST = "66.66.66.2", "66.66.66.1"
ALGOS = [
    ("des", 8, "DES"),
    ("3des", 24, "3DES"),
    ("aes", 16, "AES-CBC"),
    ("aes", 24, "AES-CBC"),
    ("aes", 32, "AES-CBC"),
]
AUTHS = [("sha1", 20, "HMAC-SHA1-96"), ("md5", 16, "HMAC-MD5-96")]


def inner_packet(n: int = 0) -> bytes:
    return bytes(IP(src="10.2.2.10", dst="10.1.1.10") / ICMP(seq=n) / (b"x" * (n % 37)))


def make(cipher: str, klen: int, auth: str, alen: int, udp: bool = False, spi: int = 0x1234, seed: int = 0) -> EspSa:
    rnd = random.Random(seed)
    return EspSa(spi, cipher, rnd.randbytes(klen), auth, rnd.randbytes(alen), SRC, DST, (4500, 4500) if udp else None)


def scapy_sa(sa: EspSa, scapy_cipher: str, scapy_auth: str) -> SecurityAssociation:
    return SecurityAssociation(  # type: ignore[no-untyped-call]  # scapy leaves it unannotated
        ESP,
        spi=sa.spi,
        crypt_algo=scapy_cipher,
        crypt_key=sa.enc_key,
        auth_algo=scapy_auth,
        auth_key=sa.auth_key,
        tunnel_header=IP(src=sa.src, dst=sa.dst),
        nat_t_header=UDP(sport=4500, dport=4500) if sa.udp_ports else None,
    )


@pytest.mark.parametrize("udp", [False, True])
@pytest.mark.parametrize(("auth", "alen", "scapy_auth"), AUTHS)
@pytest.mark.parametrize(("cipher", "klen", "scapy_cipher"), ALGOS)
def test_scapy_decrypts_ours_and_we_decrypt_scapys(
    cipher: str, klen: int, scapy_cipher: str, auth: str, alen: int, scapy_auth: str, udp: bool
) -> None:
    mine = make(cipher, klen, auth, alen, udp)
    theirs = scapy_sa(mine, scapy_cipher, scapy_auth)
    for n in range(3):
        inner = inner_packet(n)
        wire = encapsulate(mine, inner)
        pkt = IP(wire)
        assert (UDP in pkt) == udp and pkt[IP].proto == (17 if udp else 50)
        assert bytes(theirs.decrypt(pkt)) == inner  # type: ignore[no-untyped-call]  # scapy: unannotated
    receiver = make(cipher, klen, auth, alen, udp)
    for n in range(3):
        inner = inner_packet(n)
        out = theirs.encrypt(IP(inner))  # type: ignore[no-untyped-call]  # scapy: unannotated
        assert decapsulate(receiver, bytes(out)) == inner
    assert receiver.counters.packets == 3 and receiver.counters.last_seq == 3


def test_replay_and_tamper_are_counted() -> None:
    tx, rx = make("aes", 16, "sha1", 20), make("aes", 16, "sha1", 20)
    first = encapsulate(tx, inner_packet(1))
    assert decapsulate(rx, first) == inner_packet(1)
    with pytest.raises(EspError) as err:
        decapsulate(rx, first)
    assert err.value.reason == "replay failed" and rx.counters.replay_failures == 1
    second = bytearray(encapsulate(tx, inner_packet(2)))
    second[40] ^= 1
    with pytest.raises(EspError) as err:
        decapsulate(rx, bytes(second))
    assert err.value.reason == "verify failed" and rx.counters.auth_failures == 1
    assert rx.counters.packets == 1


def test_wrong_spi_and_garbage() -> None:
    rx = make("3des", 24, "md5", 16)
    other = make("3des", 24, "md5", 16, spi=99)
    with pytest.raises(EspError):
        decapsulate(rx, encapsulate(other, inner_packet()))
    for junk in (b"", b"\x45" + bytes(30), bytes(IP(src=SRC, dst=DST) / ICMP())):
        with pytest.raises(EspError):
            decapsulate(rx, junk)


def test_replay_window_out_of_order() -> None:
    win = ReplayWindow()
    for seq in (5, 3, 70, 10, 69):
        assert win.check(seq)
        win.update(seq)
    assert not win.check(3)  # 70 - 3 >= 64: fell out of the window
    assert not win.check(10) and not win.check(70) and not win.check(0)
    assert win.check(7) and win.check(71)


def test_parse_outer_rejects_ike_on_4500() -> None:
    ike = bytes(IP(src=SRC, dst=DST) / UDP(sport=4500, dport=4500) / (b"\x00\x00\x00\x00" + bytes(28)))
    with pytest.raises(EspError):
        parse_outer(ike)
