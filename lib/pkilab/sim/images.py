"""IOS image personalities: what differs between the simulated images, as data.

There is one simulator. A testbed device picks the IOS it runs with ``custom.sim.image`` (and
says so with its ``os`` and ``platform``); :func:`personality_for` turns that into a
:class:`Personality`, and the features read the few switches it carries where IOS releases
word or lay out the same fact differently. Every value here comes from a real capture, the
seed or a cited public source; ``docs/sim-images.md`` names the source of each, and marks what
no source shows as invented. ``pkilab sim images`` lists the personalities.

``custom.sim.timing`` picks a :class:`Timing`: ``fast`` (the default: the lab's timers run in
seconds) or ``ios`` (every timer, retry and key-generation time as a real router has them).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from pkilab.errors import SimError
from pkilab.testbed import SIM_TIMINGS, DeviceSpec


@dataclass(frozen=True)
class Timing:
    """The simulator's timers, in seconds of the lab clock.

    Attributes:
        name: ``fast`` or ``ios`` (``custom.sim.timing``).
        ike_retransmit: between retransmissions of an unanswered IKE message.
        ike_retransmit_limit: retransmissions before a negotiation is given up.
        dpd_divisor: ``crypto isakmp keepalive`` interval and retry are divided by this.
        orphan_dpd_max: IPsec SAs left without an ISAKMP SA go after this much unanswered traffic
            (at most the keepalive interval).
        negotiation_holddown: after a failed negotiation, traffic starts no new one for this long.
        enroll_poll: a pending SCEP request is polled this long after it was sent, and again
            this long after each pending answer (``enrollment retry period``).
        renew_retry: a failed auto-enroll renewal is tried again after this long.
        ntp_poll: between NTP requests to each configured server.
        ntp_unsync_polls: unanswered polls after which the clock is no longer synchronized.
        keygen_2048: seconds to generate a 2048-bit RSA key pair (other sizes scale with the
            cube of the modulus); 0 generates at the host's speed.
    """

    name: str
    ike_retransmit: float
    ike_retransmit_limit: int
    dpd_divisor: float
    orphan_dpd_max: float
    negotiation_holddown: float
    enroll_poll: float
    renew_retry: float
    ntp_poll: float
    ntp_unsync_polls: int
    keygen_2048: float

    def keygen_seconds(self, bits: int) -> float:
        """How long generating a ``bits``-bit RSA key pair takes on this timing."""
        return self.keygen_2048 * (bits / 2048) ** 3


#: ``fast``: IOS's timers in the same order, run in seconds (the lab's default).
FAST = Timing(
    name="fast",
    ike_retransmit=2.0,
    ike_retransmit_limit=5,
    dpd_divisor=5.0,
    orphan_dpd_max=2.0,
    negotiation_holddown=5.0,
    enroll_poll=1.0,
    renew_retry=2.0,
    ntp_poll=1.0,
    ntp_unsync_polls=4,
    keygen_2048=0.0,
)

#: ``ios``: the values a real router has (docs/sim-images.md, "Timers", cites each).
IOS = Timing(
    name="ios",
    ike_retransmit=10.0,
    ike_retransmit_limit=5,
    dpd_divisor=1.0,
    orphan_dpd_max=30.0,
    negotiation_holddown=5.0,
    enroll_poll=60.0,
    renew_retry=60.0,
    ntp_poll=64.0,
    ntp_unsync_polls=4,
    keygen_2048=4.0,
)

TIMINGS: Mapping[str, Timing] = {t.name: t for t in (FAST, IOS)}


@dataclass(frozen=True)
class Keygen:
    """``crypto key generate rsa``: the modulus range and default, and what the router prints.

    ``done`` is formatted with ``bits``, ``kind`` (``exportable``/``non-exportable``) and
    ``seconds`` (the elapsed time).
    """

    low: int
    high: int
    default: int
    done: str

    def choose(self) -> str:
        """The modulus question's preamble."""
        return (
            f"Choose the size of the key modulus in the range of {self.low} to {self.high} for your\n"
            "  General Purpose Keys. Choosing a key modulus greater than 512 may take\n"
            "  a few minutes.\n\n"
        )


@dataclass(frozen=True)
class Dialogs:
    """The wording of the trustpoint dialogs (``authenticate``, ``enroll``).

    Attributes:
        fingerprints: the ``authenticate`` fingerprint lines (``MD5``/``SHA1`` or the single
            unlabelled one of 12.x), formatted with ``md5`` and ``sha1``.
        enroll_subject: what ``enroll`` says it will put in the certificate (``fqdn``).
        enroll_sent: the lines after the request went out (``tp``).
    """

    fingerprints: tuple[str, ...]
    enroll_subject: tuple[str, ...]
    enroll_sent: tuple[str, ...]


@dataclass(frozen=True)
class Layouts:
    """Where the images lay out the same show command differently (one switch per difference).

    Attributes:
        isakmp_slot: ``show crypto isakmp sa`` has the ``slot`` column (12.4T).
        isakmp_detail_v12: the 12.x ``detail`` table: legend without ``T - cTCP``, no Status
            column, ``Connection-id:Engine-id = N:1(software)`` under each SA.
        ipsec_sa_v12: the 12.4 ``show crypto ipsec sa``: no ``plaintext mtu``, no ``PFS`` line,
            ``Status: ACTIVE``.
        ipsec_conn: its ``conn id:`` line, formatted with ``conn``, ``flow``, ``map`` and
            ``initiator`` (``True``/``False``).
        ipsec_conn_base: what an IPsec SA's engine connection id adds to its flow number: 0 on
            IOS 12.4/15.x (``conn id: 1, flow_id: SW:1``, engine ``ID`` 1 and 2: corpus
            gh-id48985223506, gh-id26626760930, gh-id55495390231, gh-id36885225988; public
            12.4 captures index ids 48989335557, 63061101272), 2000 on IOS-XE (``conn id: 2075,
            flow_id: CSR:75``: genieparser iosxe ShowCryptoIpsecSaInterface).
        engine_v12: ``show crypto engine connections active`` with the 12.4 ``Interface`` column
            and no title.
        pki_server_v12: the seed's ``show crypto pki server`` (``Certificate Server status:``,
            serial as ``0x1``, ``Current storage dir:``, no fingerprint).
        certificates_v12: the seed's ``show crypto ca certificates`` (``Certificate Serial
            Number:`` without ``(hex)``, no ``Storage:`` line).
        cert_file_v12: certificate files named ``TRUSTPOINT#61SS[CA].cer`` (the seed) instead of
            ``ISSUERCN#S[CA].cer`` (15.x and XE).
        mypubkey_xe: ``Key type: RSA KEYS      2048 bits`` and ``Key is exportable. Redundancy
            enabled.`` (XE 17).
        if_brief_width: the ``Interface`` column of ``show ip interface brief``.
        isakmp_debug: the ``debug crypto isakmp`` prefix, formatted with ``conn``.
    """

    isakmp_slot: bool
    isakmp_detail_v12: bool
    ipsec_sa_v12: bool
    ipsec_conn: str
    ipsec_conn_base: int
    engine_v12: bool
    pki_server_v12: bool
    certificates_v12: bool
    cert_file_v12: bool
    mypubkey_xe: bool
    if_brief_width: int
    isakmp_debug: str


@dataclass(frozen=True)
class Personality:
    """One IOS image as the simulator plays it.

    Attributes:
        image: the image file name (``custom.sim.image``).
        os: the testbed ``os`` it needs (``ios``, ``iosxe``).
        platform: the testbed ``platform`` it models.
        version: the IOS version ``show version`` prints (``15.2(4)M11``).
        family: the corpus family its layouts follow (``12.4T``, ``15``, ``xe``).
        config_version: the ``version`` line of the running configuration.
        show_version: ``show version``, formatted with ``hostname``, ``uptime``, ``returned``,
            ``reason``, ``reset``, ``image``, ``board``, ``interfaces``.
        interface_names: the interface names the platform has (a regular expression).
        keygen: ``crypto key generate rsa``.
        dialogs: the trustpoint dialogs.
        layouts: the show layouts.
    """

    image: str
    os: str
    platform: str
    version: str
    family: str
    config_version: str
    show_version: tuple[str, ...]
    interface_names: str
    keygen: Keygen
    dialogs: Dialogs
    layouts: Layouts

    def board_id(self, device: str) -> str:
        """The processor board ID (the router serial number ``enroll`` offers), stable per device."""
        digest = hashlib.sha256(f"{self.image}/{device}".encode()).hexdigest()
        if self.os == "iosxe":
            return "9" + digest[:10].upper()
        return str(int(digest[:8], 16))

    def render_version(self, values: Mapping[str, str]) -> str:
        """``show version`` with this device's values."""
        return "\n".join(line.format_map(values) for line in self.show_version) + "\n"

    def interface_summary(self, names: list[str]) -> str:
        """The ``N FastEthernet interfaces`` lines of ``show version``."""
        counts: dict[str, int] = {}
        for name in names:
            kind = re.sub(r"[\d/.]+$", "", name)
            if kind in ("Loopback", "Tunnel", "Vlan"):
                continue
            label = "Gigabit Ethernet" if self.os == "iosxe" and kind == "GigabitEthernet" else kind
            counts[label] = counts.get(label, 0) + 1
        return "\n".join(f"{n} {kind} interface{'s' if n != 1 else ''}" for kind, n in counts.items())

    def cert_file(self, cert_serial: int, issuer_cn: str, trustpoint: str, ca: bool) -> str:
        """The NVRAM file a certificate is kept in (``Storage: nvram:…``)."""
        suffix = "CA" if ca else ""
        if self.layouts.cert_file_v12:
            return f"{trustpoint}#61{cert_serial:02X}{suffix}.cer"
        label = re.sub(r"[^A-Za-z0-9_-]", "", issuer_cn)[:12] or trustpoint[:12]
        return f"{label}#{cert_serial:X}{suffix}.cer"


_CRYPTO_NOTICE = (
    "",
    "This product contains cryptographic features and is subject to United",
    "States and local country laws governing import, export, transfer and",
    "use. Delivery of Cisco cryptographic products does not imply",
    "third-party authority to import, export, distribute or use encryption.",
    "Importers, exporters, distributors and users are responsible for",
    "compliance with U.S. and local country laws. By using this product you",
    "agree to comply with applicable laws and regulations. If you are unable",
    "to comply with U.S. and local laws, return this product immediately.",
    "",
    "A summary of U.S. laws governing Cisco cryptographic products may be found at:",
    "http://www.cisco.com/wwl/export/crypto/tool/stqrg.html",
    "",
    "If you require further assistance please contact us by sending email to",
    "export@cisco.com.",
    "",
)


def _c7200_version(version: str, fc: str, copyright_year: str, compiled: str, v12: bool) -> tuple[str, ...]:
    software = f"7200 Software (C7200-ADVENTERPRISEK9-M), Version {version}, RELEASE SOFTWARE ({fc})"
    # 12.4T prints the reset cause under the chassis lines; 15.x a reload reason under the image.
    reason = () if v12 else ("Last reload reason: {reason}",)
    reset = ("", "Last reset from {reset}") if v12 else ()
    return (
        f"Cisco IOS Software, {software}",
        "Technical Support: http://www.cisco.com/techsupport",
        f"Copyright (c) 1986-{copyright_year} by Cisco Systems, Inc.",
        f"Compiled {compiled} by prod_rel_team",
        "",
        "ROM: ROMMON Emulation Microcode",
        f"BOOTLDR: {software}",
        "",
        "{hostname} uptime is {uptime}",
        "System returned to ROM by {returned}",
        'System image file is "disk0:{image}"',
        *reason,
        *_CRYPTO_NOTICE,
        "Cisco 7206VXR (NPE400) processor (revision A) with 491520K/32768K bytes of memory.",
        "Processor board ID {board}",
        "R7000 CPU at 150MHz, Implementation 39, Rev 2.1, 256KB L2 Cache",
        "6 slot VXR midplane, Version 2.1",
        *reset,
        "",
        "{interfaces}",
        "509K bytes of NVRAM.",
        "",
        "8192K bytes of Flash internal SIMM (Sector size 256K).",
        "Configuration register is 0x2102",
    )


_XE_VERSION = (
    "Cisco IOS XE Software, Version 17.09.04a",
    "Cisco IOS Software [Cupertino], Virtual XE Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.9.4a, "
    "RELEASE SOFTWARE (fc3)",
    "Technical Support: http://www.cisco.com/techsupport",
    "Copyright (c) 1986-2023 by Cisco Systems, Inc.",
    "Compiled Fri 20-Oct-23 10:44 by mcpre",
    "",
    "",
    "Cisco IOS-XE software, Copyright (c) 2005-2023 by cisco Systems, Inc.",
    "All rights reserved.  Certain components of Cisco IOS-XE software are",
    'licensed under the GNU General Public License ("GPL") Version 2.0.  The',
    "software code licensed under GPL Version 2.0 is free software that comes",
    "with ABSOLUTELY NO WARRANTY.  You can redistribute and/or modify such",
    "GPL code under the terms of GPL Version 2.0.  For more details, see the",
    'documentation or "License Notice" file accompanying the IOS-XE software,',
    "or the applicable URL provided on the flyer accompanying the IOS-XE",
    "software.",
    "",
    "",
    "ROM: IOS-XE ROMMON",
    "",
    "{hostname} uptime is {uptime}",
    "Uptime for this control processor is {uptime}",
    "System returned to ROM by {returned}",
    'System image file is "bootflash:packages.conf"',
    "Last reload reason: {reason}",
    *_CRYPTO_NOTICE,
    "License Level: ",
    "License Type: Perpetual",
    "Next reload license Level: ",
    "",
    "The current throughput level is 10000 kbps ",
    "",
    "",
    "Smart Licensing Status: Registration Not Applicable/Not Applicable",
    "",
    "cisco C8000V (VXE) processor (revision VXE) with 2027875K/3075K bytes of memory.",
    "Processor board ID {board}",
    "Router operating mode: Autonomous",
    "{interfaces}",
    "32768K bytes of non-volatile configuration memory.",
    "3965316K bytes of physical memory.",
    "11526144K bytes of virtual hard disk at bootflash:.",
    "",
    "Configuration register is 0x2102",
)

_CLASSIC_IFS = r"(Ethernet|FastEthernet|GigabitEthernet|Serial)\d+/\d+|(Loopback|Tunnel)\d+"
_FP_15 = ("       Fingerprint MD5: {md5} ", "      Fingerprint SHA1: {sha1} ")
_SUBJECT_15 = ("% The subject name in the certificate will include: {fqdn}",)
_SENT_15 = (
    "% Certificate request sent to Certificate Authority",
    "% The 'show crypto pki certificate verbose {tp}' commandwill show the fingerprint.",
)
_DONE_15 = "% Generating {bits} bit RSA keys, keys will be {kind}...\n[OK] (elapsed time was {seconds} seconds)\n"

# 15.2(4)M11 is the reference; 12.4T and IOS-XE are it with their differences replaced.
IOS_152M = Personality(
    image="c7200-adventerprisek9-mz.152-4.M11.bin",
    os="ios",
    platform="c7200",
    version="15.2(4)M11",
    family="15",
    config_version="15.2",
    show_version=_c7200_version("15.2(4)M11", "fc2", "2016", "Sun 16-Oct-16 07:53", v12=False),
    interface_names=_CLASSIC_IFS,
    keygen=Keygen(360, 4096, 512, _DONE_15),
    dialogs=Dialogs(_FP_15, _SUBJECT_15, _SENT_15),
    layouts=Layouts(
        isakmp_slot=False,
        isakmp_detail_v12=False,
        ipsec_sa_v12=False,
        ipsec_conn="conn id: {conn}, flow_id: SW:{flow}, sibling_flags 80000040, crypto map: {map}",
        ipsec_conn_base=0,
        engine_v12=False,
        pki_server_v12=False,
        certificates_v12=False,
        cert_file_v12=False,
        mypubkey_xe=False,
        if_brief_width=27,
        isakmp_debug="ISAKMP:({conn}):",
    ),
)

IOS_124T = replace(
    IOS_152M,
    image="c7200-adventerprisek9-mz.124-24.T5.bin",
    version="12.4(24)T5",
    family="12.4T",
    config_version="12.4",
    show_version=_c7200_version("12.4(24)T5", "fc3", "2011", "Fri 04-Mar-11 06:49", v12=True),
    keygen=Keygen(360, 2048, 512, "% Generating {bits} bit RSA keys, keys will be {kind}...[OK]\n"),
    dialogs=Dialogs(
        fingerprints=("Fingerprint: {md5} ",),
        enroll_subject=(
            "% The fully-qualified domain name in the certificate will be: {fqdn}",
            "% The subject name in the certificate will be: {fqdn}",
        ),
        enroll_sent=(
            "% Certificate request sent to Certificate Authority",
            "% The certificate request fingerprint will be displayed.",
            "% The 'show crypto ca certificate' command will also show the fingerprint.",
        ),
    ),
    layouts=replace(
        IOS_152M.layouts,
        isakmp_slot=True,
        isakmp_detail_v12=True,
        ipsec_sa_v12=True,
        ipsec_conn="conn id: {conn}, flow_id: SW:{flow}, crypto map: {map}",
        engine_v12=True,
        pki_server_v12=True,
        certificates_v12=True,
        cert_file_v12=True,
    ),
)

XE_179 = replace(
    IOS_152M,
    image="c8000v-universalk9.17.09.04a.SPA.bin",
    os="iosxe",
    platform="c8000v",
    version="17.9.4a",
    family="xe",
    config_version="17.9",
    show_version=_XE_VERSION,
    interface_names=r"GigabitEthernet\d+|(Loopback|Tunnel)\d+",
    layouts=replace(
        IOS_152M.layouts,
        ipsec_conn=(
            "conn id: {conn}, flow_id: CSR:{flow}, sibling_flags FFFFFFFF80004048, crypto map: {map}, "
            "initiator : {initiator}"
        ),
        ipsec_conn_base=2000,
        mypubkey_xe=True,
        if_brief_width=23,
        isakmp_debug="ISAKMP: ({conn}):",
    ),
)

PERSONALITIES: Mapping[str, Personality] = {p.image: p for p in (IOS_124T, IOS_152M, XE_179)}
DEFAULT = IOS_152M


def personality_for(spec: DeviceSpec, where: str = "testbed") -> Personality:
    """The personality of a simulated device: its image, checked against its ``os`` and ``platform``.

    Raises:
        SimError: the image has no personality, or the device's ``os``/``platform`` or
            interface names are not that image's (one line naming file, device and field).
    """
    image = spec.sim.image if spec.sim is not None else DEFAULT.image
    p = PERSONALITIES.get(image)
    at = f"{where}: device {spec.name!r}"
    if p is None:
        raise SimError(f"{at}: custom.sim.image: no simulated image {image!r} (see `pkilab sim images`)")
    if spec.os != p.os:
        raise SimError(f"{at}: os: {image} is an {_OS_NAMES[p.os]} image; set os: {p.os} (got {spec.os!r})")
    if spec.platform and spec.platform.lower() != p.platform:
        raise SimError(f"{at}: platform: {image} runs on {p.platform} (got {spec.platform!r})")
    pattern = re.compile(p.interface_names)
    for intf in spec.interfaces:
        if not pattern.fullmatch(intf.name):
            raise SimError(f"{at}: topology.interfaces: {p.platform} has no interface {intf.name!r}")
    return p


def timing_for(spec: DeviceSpec) -> Timing:
    """The timers of a simulated device (``custom.sim.timing``, ``fast`` by default)."""
    return TIMINGS[spec.sim.timing if spec.sim is not None else "fast"]


_OS_NAMES = {"ios": "IOS", "iosxe": "IOS-XE"}
assert set(TIMINGS) == set(SIM_TIMINGS), "every timing the testbed accepts is defined here"
