"""Data tables for the families the seed does not print in full (synthetic, IOS 12.4/15.x layouts)."""

from __future__ import annotations

import pytest

from pkilab.errors import ParseError
from pkilab.parsers import parse

SHOW_VERSION = """\
Cisco IOS Software, 7200 Software (C7200-ADVENTERPRISEK9-M), Version 15.2(4)M11, RELEASE SOFTWARE (fc2)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2016 by Cisco Systems, Inc.

ROM: ROMMON Emulation Microcode
ese-branch uptime is 2 hours, 14 minutes
System returned to ROM by unknown reload cause
System image file is "disk0:c7200-adventerprisek9-mz.152-4.M11.bin"
Cisco 7206VXR (NPE400) processor (revision A) with 491520K/32768K bytes of memory.
Configuration register is 0x2102
"""

IP_INT_BRIEF = """\
Interface                  IP-Address      OK? Method Status                Protocol
Ethernet0/0                66.66.66.2      YES NVRAM  up                    up
Ethernet0/1                10.113.0.1      YES manual up                    up
Serial1/0                  unassigned      YES unset  administratively down down
"""

ELI_CLASSIC = """\
Hardware Encryption : ACTIVE
 Number of hardware crypto engines = 1

 CryptoEngine Onboard VPN details: state = Active
 Capability    : DES, 3DES, AES, RSA

 IKE-Session   :     1 active,   300 max, 0 failed
 DH            :     0 active,   300 max, 0 failed
 IPSec-Session :     2 active,   600 max, 0 failed

"""

IPSEC_124 = """\

interface: Ethernet0/0
    Crypto map tag: dynamic-map, local addr 66.66.66.1

   protected vrf: (none)
   local  ident (addr/mask/prot/port): (10.59.138.0/255.255.255.0/0/0)
   remote ident (addr/mask/prot/port): (10.113.0.0/255.255.255.0/0/0)
   current_peer 66.66.66.2 port 500
     PERMIT, flags={}
    #pkts encaps: 104, #pkts encrypt: 104, #pkts digest: 104
    #pkts decaps: 104, #pkts decrypt: 104, #pkts verify: 104
    #pkts compressed: 0, #pkts decompressed: 0
    #pkts not compressed: 0, #pkts compr. failed: 0
    #pkts not decompressed: 0, #pkts decompress failed: 0
    #send errors 0, #recv errors 0

     local crypto endpt.: 66.66.66.1, remote crypto endpt.: 66.66.66.2
     path mtu 1500, ip mtu 1500, ip mtu idb Ethernet0/0
     current outbound spi: 0x2C4A6E0B(743075339)

     inbound esp sas:
      spi: 0x91C3E0A5(2445533349)
        transform: esp-3des esp-sha-hmac ,
        in use settings ={Tunnel, }
        conn id: 5141, flow_id: SW:1, crypto map: dynamic-map
        sa timing: remaining key lifetime (k/sec): (4531010/3420)
        IV size: 8 bytes
        replay detection support: Y
        Status: ACTIVE

     inbound ah sas:

     inbound pcp sas:

     outbound esp sas:
      spi: 0x2C4A6E0B(743075339)
        transform: esp-3des esp-sha-hmac ,
        in use settings ={Tunnel, }
        conn id: 5142, flow_id: SW:2, crypto map: dynamic-map
        sa timing: remaining key lifetime (k/sec): (4531010/3420)
        IV size: 8 bytes
        replay detection support: Y
        Status: ACTIVE

     outbound ah sas:

     outbound pcp sas:
"""

SESSION_124 = """\
Crypto session current status

Code: C - IKE Configuration mode, D - Dead Peer Detection
K - Keepalives, N - NAT-traversal, X - IKE Extended Authentication

Interface: Ethernet0/0
Session status: UP-ACTIVE
Peer: 66.66.66.2 port 500 fvrf: (none) ivrf: (none)
      Phase1_id: ese-branch.ese.cisco.com
      Desc: (none)
  IKE SA: local 66.66.66.1/500 remote 66.66.66.2/500 Active
          Capabilities:D connid:5 lifetime:23:56:35
  IPSEC FLOW: permit ip 10.59.138.0/255.255.255.0 10.113.0.0/255.255.255.0
        Active SAs: 2, origin: dynamic crypto map
        Inbound:  #pkts dec'ed 104 drop 0 life (KB/Sec) 4531010/3420
        Outbound: #pkts enc'ed 104 drop 0 life (KB/Sec) 4531010/3420
"""

NTP_UNSYNCED = """\
Clock is unsynchronized, stratum 16, no reference clock
nominal freq is 250.0000 Hz, actual freq is 250.0000 Hz, precision is 2**24
reference time is 00000000.00000000 (00:00:00.000 UTC Mon Jan 1 1900)
clock offset is 0.0000 msec, root delay is 0.00 msec
root dispersion is 0.00 msec, peer dispersion is 0.00 msec
"""


def test_show_version() -> None:
    v = parse("show version", SHOW_VERSION)
    assert (v.version, v.image, v.hostname, v.uptime) == (
        "15.2(4)M11", "C7200-ADVENTERPRISEK9-M", "ese-branch", "2 hours, 14 minutes")  # fmt: skip
    assert (v.system_image, v.platform, v.config_register) == (
        "disk0:c7200-adventerprisek9-mz.152-4.M11.bin", "7206VXR", "0x2102")  # fmt: skip
    assert "ROM: ROMMON Emulation Microcode" in v.other  # kept, not dropped


def test_ip_interface_brief() -> None:
    t = parse("sh ip int br", IP_INT_BRIEF)
    assert [(i.interface, i.ip_address, i.status, i.protocol) for i in t.interfaces] == [
        ("Ethernet0/0", "66.66.66.2", "up", "up"),
        ("Ethernet0/1", "10.113.0.1", "up", "up"),
        ("Serial1/0", "unassigned", "administratively down", "down"),
    ]
    with pytest.raises(ParseError):
        parse("sh ip int br", IP_INT_BRIEF + "Tunnel0   1.1.1.1  YES\n")


def test_eli_classic_isr() -> None:
    eli = parse("show crypto eli", ELI_CLASSIC)
    (engine,) = eli.engines
    assert (eli.hardware_encryption, eli.engine_count, engine.name, engine.state) == (
        "ACTIVE", 1, "Onboard VPN", "Active")  # fmt: skip
    assert [(s.name, s.active, s.max, s.failed, s.created) for s in engine.sessions] == [
        ("IKE-Session", 1, 300, 0, None), ("DH", 0, 300, 0, None), ("IPSec-Session", 2, 600, 0, None)]  # fmt: skip


def test_ipsec_sa_124() -> None:
    (flow,) = parse("show crypto ipsec sa peer 66.66.66.2", IPSEC_124).flows
    assert (flow.interface, flow.local_ident, flow.remote_ident, flow.peer) == (
        "Ethernet0/0", "10.59.138.0/255.255.255.0/0/0", "10.113.0.0/255.255.255.0/0/0", "66.66.66.2")  # fmt: skip
    assert (flow.pkts_encaps, flow.pkts_decaps, flow.plaintext_mtu, flow.path_mtu) == (104, 104, None, 1500)
    assert (flow.inbound_esp_spis, flow.outbound_esp_spis) == (("0x91C3E0A5",), ("0x2C4A6E0B",))
    sa = flow.inbound_esp[0]
    assert (sa.conn_id, sa.flow_id, sa.crypto_map, sa.status, sa.lifetime_kb, sa.lifetime_sec, sa.iv_size) == (
        5141, "SW:1", "dynamic-map", "ACTIVE", 4531010, 3420, 8)  # fmt: skip
    assert flow.to_dict()["inbound_esp_spis"] == ["0x91C3E0A5"]


def test_crypto_session_124() -> None:
    (s,) = parse("show crypto session detail", SESSION_124).sessions
    assert (s.interface, s.status, s.peer, s.peer_port, s.phase1_id) == (
        "Ethernet0/0", "UP-ACTIVE", "66.66.66.2", 500, "ese-branch.ese.cisco.com")  # fmt: skip
    (ike,) = s.ike_sas
    assert (ike.version, ike.state, ike.capabilities, ike.conn_id, ike.lifetime) == (
        "IKE",
        "Active",
        "D",
        5,
        "23:56:35",
    )
    (flow,) = s.flows
    assert (flow.active_sas, flow.origin, flow.pkts_decrypted, flow.pkts_encrypted) == (
        2, "dynamic crypto map", 104, 104)  # fmt: skip


def test_ntp_unsynchronized() -> None:
    ntp = parse("show ntp status", NTP_UNSYNCED)
    assert (ntp.synchronized, ntp.stratum, ntp.reference, ntp.precision) == (False, 16, None, "2**24")
    with pytest.raises(ParseError):
        parse("show ntp status", NTP_UNSYNCED + "leap indicator is 3\n")


def test_pki_server_124_named() -> None:
    text = """\
Certificate Server ese-ios-ca:
    Status: enabled
    Server's configuration is locked  (enter "shut" to unlock it)
    Issuer name: CN=ese-ios-ca,OU=ESE,O=Cisco Systems Inc,L=Raleigh,ST=NC
    CA cert fingerprint: 9D8D787D 574D2955 CA666B2B 22F3C31A
    Granting mode is: manual
    Last certificate issued serial number: 0x6
    CA certificate expiration timer: 10:58:20 EDT Jun 21 2005
    CRL NextUpdate timer: 17:31:05 EST Feb 9 2004
    Current storage dir: nvram:
    Database Level: Names - subject name data written as <serialnum>.cnm
"""
    (srv,) = parse("show crypto ca server", text).servers
    facts = srv.to_dict()
    assert {k: facts[k] for k in ("name", "status", "granting_mode", "last_serial", "fingerprint", "storage")} == {
        "name": "ese-ios-ca", "status": "enabled", "granting_mode": "manual", "last_serial": "0x6",
        "fingerprint": "9D8D787D 574D2955 CA666B2B 22F3C31A", "storage": "nvram:",
    }  # fmt: skip
    assert srv.locked is True
