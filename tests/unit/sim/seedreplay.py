"""The seed's procedures as the seed types them, and a driver that types them into a live simulated lab.

``SEED`` is every command line the seed (``shared/seed/digital-certificates-pki-for-ipsec-vpns.txt``)
shows typed, in its order, on the router it is typed on and in the mode the seed is in at that
point (the seed's own ``conf t``/``end``/``exit`` lines are typed too, so a command the seed types
inside configuration mode arrives there). Answers to dialogs are the seed's (``<return>`` is an
empty line). Placeholders the seed leaves to the reader (``FTPservername``, ``TFTP_server_address``,
``username:password``) and its NTP server's address are the lab's; ``{LAN}``/``{lan}``/``{OUT}``
are the image's interface names (Ethernet0/0 / e0/0 / FastEthernet0/0 on the c7200 images,
GigabitEthernet2 / g2 / GigabitEthernet1 on the c8000v); ``{paste:NAME}`` pastes text an earlier
output printed (the CA certificate, the request, the granted certificate), as the seed does.

``REJECTED`` lists the lines real IOS refuses where the seed types them, each with the source that
says so; the replay requires exactly those to be refused and every other line to be accepted.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator

import paramiko

from pkilab.testbed import Testbed

# Where the seed types a command in a mode IOS does not run it in, the seed's own next lines
# show it meant the exec command: "do" is how IOS runs an exec command from configuration mode
# (Cisco IOS Configuration Fundamentals Command Reference, "do": "Use the do command to execute
# user EXEC or privileged EXEC commands in global configuration mode or any configuration
# submode"; without it, "% Invalid input detected at '^' marker.").
_EXEC_IN_CONFIG = (
    "IOS runs exec commands in configuration mode only through `do` (Cisco IOS Configuration Fundamentals "
    "Command Reference, `do`); the seed omits it"
)


@dataclasses.dataclass(frozen=True)
class Line:
    """One line the seed types: on which router, in which seed section."""

    device: str
    text: str
    section: str


def _section(section: str, device: str, lines: str) -> list[Line]:
    return [Line(device, ln.rstrip(), section) for ln in lines.strip("\n").splitlines()]


CA, HE, BR = "ese-ios-ca", "ese-cryagg", "ese-branch"

_HEADEND_CRYPTO = """\
conf t
crypto isakmp policy 10
encr 3des
group 2
crypto isakmp policy 20
encr 3des
authentication pre-share
group 2
crypto isakmp key bigsecret address 66.66.66.2
crypto isakmp keepalive 10
crypto ipsec transform-set vpn-test esp-3des esp-sha-hmac
no crypto ipsec nat-transparency udp-encaps
crypto dynamic-map dmap 10
set transform-set vpn-test
reverse-route
crypto map dynamic-map 10 ipsec-isakmp dynamic dmap
interface {OUT}
description OUTSIDE (toward Internet)
ip address 66.66.66.1 255.255.255.0
crypto map dynamic-map
end
"""
_BRANCH_CRYPTO = """\
conf t
crypto isakmp policy 10
encr 3des
group 2
crypto isakmp policy 20
encr 3des
authentication pre-share
group 2
crypto isakmp key bigsecret address 66.66.66.1
crypto isakmp keepalive 10
crypto ipsec transform-set vpn-test esp-3des esp-sha-hmac
no crypto ipsec nat-transparency udp-encaps
crypto map test 10 ipsec-isakmp
description Calls the dynamic map on the crypto HE box(es)
set peer 66.66.66.1
set transform-set vpn-test
match address CryptoMapACL
qos pre-classify
interface {OUT}
description OUTSIDE (toward Internet)
ip address 66.66.66.2 255.255.255.0
crypto map test
ip access-list extended CryptoMapACL
permit ip 10.113.0.0 0.0.0.255 10.0.0.0 0.255.255.255
deny ip any any
remark This ACL is a filter of which traffic is for the crypto ipsec tunnel
end
"""
_ENROLL_SCEP = """\
crypto ca authenticate ese-ios-ca
yes
crypto ca enroll ese-ios-ca
whatever
whatever
no
no
yes
end
copy run start
<return>
"""

SEED: list[Line] = [
    *_section(
        "Configuring the Cisco IOS CA Server",
        CA,
        """\
conf t
ip http server
clock timezone EST -5
clock summer-time EDT recurring
ntp peer {NTP}
crypto key generate rsa general-keys label ese-ios-ca modulus 1024 exportable
crypto key export rsa ese-ios-ca pem url nvram: 3des cisco123
<return>
<return>
dir nvram:
crypto pki server ese-ios-ca
database level names
database url nvram:
issuer-name CN = ese-ios-ca, OU = ESE, O = Cisco Systems Inc, L = Raleigh, ST = NC, C = US, EA = ese-vpn-team
lifetime crl 24
lifetime certificate 254
lifetime ca-certificate 508
no shutdown
yes
end
show crypto pki server
show crypto ca certificate
copy run start
<return>
dir nvram
more nvram:1.cnm
""",
    ),
    *_section("Enrollment with a Cisco IOS Software CA Over SCEP", HE, _HEADEND_CRYPTO),
    *_section("Enrollment with a Cisco IOS Software CA Over SCEP", BR, _BRANCH_CRYPTO),
    *_section(
        "Enrolling a VPN Headend Router with the Cisco IOS CA Using SCEP",
        HE,
        """\
ping 10.59.138.12
terminal monitor
conf t
ip hostname ese-cryagg
clock timezone EST -5
clock summer-time EDT recurring
ip domain name ese.cisco.com
ip host ese-ios-ca 10.59.138.12
ntp server {NTP}
crypto key generate rsa general-keys modulus 1024
crypto ca trustpoint ese-ios-ca
enrollment mode ra
enrollment url http://ese-ios-ca:80
revocation-check crl
auto-enroll 70
exit
"""
        + _ENROLL_SCEP,
    ),
    *_section(
        "Approving an Enrollment for the VPN Headend Router on the Cisco IOS CA",
        CA,
        """\
crypto pki server ese-ios-ca info requests
crypto pki server ese-ios-ca grant ?
crypto pki server ese-ios-ca grant 1
crypto pki server ese-ios-ca info requests
dir nvram:
more nvram:2.cnm
""",
    ),
    *_section(
        "Enrolling a VPN Headend Router with the Cisco IOS CA Using SCEP",
        HE,
        """\
show crypto ca certificates
dir nvram:
""",
    ),
    *_section(
        "Enrolling a Branch Router with a Cisco IOS CA Using SCEP",
        BR,
        """\
ping ip 10.59.138.12 source 10.113.0.1 repeat 15
show crypto isa sa detail
terminal monitor
conf t
ip hostname ese-branch
clock timezone EST -5
clock summer-time EDT recurring
ip domain name ese.cisco.com
ip host ese-ios-ca 10.59.138.12
ntp server {NTP}
crypto key generate rsa general-keys modulus 1024
crypto ca trustpoint ese-ios-ca
enrollment mode ra
enrollment url http://ese-ios-ca:80
revocation-check crl
source interface {LAN}
auto-enroll 70
exit
"""
        + _ENROLL_SCEP,
    ),
    *_section(
        "Approving an Enrollment for a Branch Router with a Cisco IOS CA",
        CA,
        """\
crypto pki server ese-ios-ca info requests
crypto pki server ese-ios-ca grant 2
crypto pki server ese-ios-ca info requests
dir nvram:
more nvram:3.cnm
""",
    ),
    *_section(
        "Enrolling a Branch Router with a Cisco IOS CA Using SCEP",
        BR,
        """\
show crypto ca certificates
dir nvram:
""",
    ),
    *_section(
        "Removing the Pre-Shared Key",
        HE,
        """\
conf
<return>
no crypto isakmp key bigsecret address 66.66.66.2
end
copy run start
<return>
clear crypto isa
clear crypto sa
""",
    ),
    *_section(
        "Removing the Pre-Shared Key",
        BR,
        """\
show crypto isa sa detail
ping ip 10.59.138.13 source {lan} repeat 30
show crypto isa sa detail
""",
    ),
    *_section(
        "Distributing the CRL over SCEP",
        CA,
        """\
crypto pki server ese-ios-ca info crl
""",
    ),
    *_section(
        "Distributing the CRL over SCEP",
        HE,
        """\
show crypto ca crls
""",
    ),
    *_section(
        "Revoking a Digital Certificate for a Branch VPN Router",
        CA,
        """\
dir nvram:
more nvram:3.cnm
crypto pki server ese-ios-ca info crl
crypto pki server ese-ios-ca revoke 0x3
crypto pki server ese-ios-ca info crl
""",
    ),
    *_section(
        "Revoking a Digital Certificate for a Branch VPN Router",
        HE,
        """\
conf t
crypto ca crl request ese-ios-ca
end
show crypto ca crls
show crypto isa sa
clear crypto isa {conn_id}
show crypto engine connection active
clear crypto sa peer 66.66.66.2
""",
    ),
    *_section(
        "Examples of Revoked Certificate Logs",
        BR,
        """\
ping ip 10.59.138.13 source {lan} repeat 45
show log
""",
    ),
    *_section(
        "Examples of Revoked Certificate Logs",
        HE,
        """\
show log
crypto ca export ese-ios-ca pem terminal 3des cisco123
""",
    ),
    *_section(
        "Copying Certificate Enrollments to a Cisco IOS CA",
        BR,
        """\
conf t
no crypto ca trustpoint ese-ios-ca
yes
crypto key zeroize rsa
yes
ip hostname ese-branch
clock timezone EST -5
clock summer-time EDT recurring
ip domain name ese.cisco.com
ip host ese-ios-ca 10.59.138.12
ntp server {NTP}
crypto key generate rsa general-keys modulus 1024
crypto ca trustpoint ese-ios-ca
enrollment terminal
revocation-check crl none
source interface {LAN}
auto-enroll 70
crypto ca authenticate ese-ios-ca
{paste:ca_certificate}
quit
yes
crypto ca enroll ese-ios-ca
no
no
yes
no
""",
    ),
    *_section(
        "Copying Certificate Enrollments to a Cisco IOS CA",
        CA,
        """\
crypto pki server ese-ios-ca request pkcs10 terminal
{paste:request}
quit
crypto pki server ese-ios-ca info requests
crypto pki server ese-ios-ca grant 3
dir nvram:
more nvram:4.cnm
""",
    ),
    *_section(
        "Copying Certificate Enrollments to a Cisco IOS CA",
        BR,
        """\
crypto ca import ese-ios-ca certificate
{paste:granted}
quit
show crypto ca certificates
crypto ca trustpoint ese-ios-ca
enrollment mode ra
enrollment url http://ese-ios-ca:80
end
copy run start
<return>
dir nvram:
clear crypto isa
clear crypto sa
ping ip 10.59.138.13 source {lan} repeat 45
show crypto isa sa detail
""",
    ),
    *_section(
        "Automatically Re-enrolling Expired Certificates Before Expiration",
        BR,
        """\
show crypto ca certificates
show clock
config t
no ntp server {NTP}
no ntp clock-period 17179910
crypto ca trustpoint ese-ios-ca
no auto-enroll 70
end
show crypto ca certificates
end
clock set 02:49:00 Feb 5 2035
show clock
ping ip 10.59.138.13 source {lan} repeat 45
show log
""",
    ),
    *_section(
        "Automatically Re-enrolling Expired Certificates Before Expiration",
        HE,
        """\
show log
show crypto ca timers
""",
    ),
    *_section(
        "Backing Up and Restoring the Cisco IOS CA Server",
        CA,
        """\
copy nvram:ese-ios-ca.prv ftp://{FTP_USER}:{FTP_PASS}@{FTP_HOST}/ese-ios-ca.prv
<return>
<return>
""",
    ),
    *_section(
        "Recovering From Server Failure",
        HE,
        """\
show log
conf t
crypto ca trustpoint ese-ios-ca
revocation-check crl none
end
copy run start
<return>
show crypto isakmp sa detail
show crypto engine connections active
""",
    ),
]


@dataclasses.dataclass(frozen=True)
class Rejection:
    """A line real IOS refuses where the seed types it: what IOS prints, and the source."""

    message: str
    source: str


# (section, device, line as typed) -> the real rejection.
_INVALID = "% Invalid input detected at '^' marker."
_NO_IP_HOSTNAME = (
    "IOS names the router with `hostname NAME` in global configuration (Cisco IOS command reference, `hostname`); "
    "`ip` has no `hostname` keyword, so the seed's `ip hostname NAME` is refused at `hostname`"
)
REJECTED: dict[tuple[str, str, str], Rejection] = {
    ("Configuring the Cisco IOS CA Server", CA, "dir nvram:"): Rejection(_INVALID, _EXEC_IN_CONFIG),
    ("Enrolling a VPN Headend Router with the Cisco IOS CA Using SCEP", HE, "ip hostname ese-cryagg"): Rejection(
        _INVALID, _NO_IP_HOSTNAME
    ),
    ("Enrolling a Branch Router with a Cisco IOS CA Using SCEP", BR, "ip hostname ese-branch"): Rejection(
        _INVALID, _NO_IP_HOSTNAME
    ),
    ("Copying Certificate Enrollments to a Cisco IOS CA", BR, "ip hostname ese-branch"): Rejection(
        _INVALID, _NO_IP_HOSTNAME
    ),
    # Step 14 follows step 13's paste with no `end`: the session is still in configuration mode.
    ("Copying Certificate Enrollments to a Cisco IOS CA", BR, "show crypto ca certificates"): Rejection(
        _INVALID, _EXEC_IN_CONFIG
    ),
    # Q3 step 5 types `end` again at the exec prompt: IOS takes an unknown exec word for a host to
    # connect to (Cisco IOS command reference, `connect`/`telnet`: "the host name alone" at the exec
    # prompt opens a connection) and, finding none, prints this.
    ("Automatically Re-enrolling Expired Certificates Before Expiration", BR, "end"): Rejection(
        "% Unknown command or computer name, or unable to find computer address",
        "an exec word that is no command is taken for a host name (Cisco IOS command reference, `telnet`)",
    ),
}


# ---- the driver -----------------------------------------------------------------------------------

# The end of what a command prints before IOS waits: a prompt, a question, or a paste request.
_END = re.compile(r"(?:[#>]|\]:?|\?|:|\[confirm\]|by itself\.?\n+)\s?$")


class Shell:
    """A raw interactive SSH shell on one simulated router: type a line, read what it printed."""

    def __init__(self, host: str, port: int, username: str, password: str, enable: str) -> None:
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect(host, port, username, password, look_for_keys=False, allow_agent=False, timeout=10)
        self.chan = self.client.invoke_shell(width=511, height=1000)
        self.read()
        self.type("terminal length 0")
        self.type("enable")
        self.type(enable)

    def read(self, deadline: float = 60.0, end: re.Pattern[str] = _END) -> str:
        """Read until the output ends like a prompt or a question and nothing more arrives at once."""
        out = ""
        stop = time.monotonic() + deadline
        while time.monotonic() < stop:
            if self.chan.recv_ready():
                out += self.chan.recv(65536).decode(errors="replace")
                continue
            if end.search(_without_logs(out.replace("\r", ""))) and not self.chan.recv_ready():
                # A prompt is the last thing a command prints; give an immediate follow-up a moment.
                if not _more_within(self.chan, 0.15):
                    return out.replace("\r", "")
            else:
                _more_within(self.chan, 0.05)
        raise TimeoutError(f"no prompt after {deadline} s; got {out[-300:]!r}")

    def type(self, line: str, deadline: float = 60.0) -> str:
        """Send one line; return what the router printed after the echo, up to its next prompt or question."""
        self.chan.send(line + "\n")
        out = self.read(deadline)
        first, _, rest = out.partition("\n")
        return rest if line and first.strip().endswith(line.strip()) else out

    def help(self, text: str) -> str:
        """Type a line ending in ``?`` (no Return): IOS lists the choices and redisplays the line, which is erased."""
        self.chan.send(text)
        out = self.read(end=re.compile(re.escape(text[:-1]) + r"$"))
        self.chan.send("\x7f" * len(text[:-1]))
        self.read(end=re.compile(f"(?:\x08 \x08){{{len(text[:-1])}}}$"))
        return out.partition("\n")[2] if out.startswith(text) else out

    def paste(self, lines: list[str]) -> None:
        """Paste lines the router reads without prompting (a certificate in terminal mode)."""
        for ln in lines:
            self.chan.send(ln + "\n")

    def close(self) -> None:
        self.client.close()


_LOG_TAIL = re.compile(r"(?:\n[*.]?[A-Z][a-z]{2} [ \d]\d [\d:.]+: %[^\n]*(?:\n [^\n]*)*)+\n?$")


def _without_logs(text: str) -> str:
    """The text without the log messages a monitor printed after the last prompt."""
    return _LOG_TAIL.sub("", text)


def _more_within(chan: paramiko.Channel, seconds: float) -> bool:
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        if chan.recv_ready():
            return True
        time.sleep(0.01)
    return False


_REFUSAL = re.compile(
    r"^(% ?(Invalid input|Incomplete command|Ambiguous command|Unknown command).*|%Error.*|% Error.*)$", re.M
)


def refusal(output: str) -> str | None:
    """The line with which IOS refused a command, if it did."""
    m = _REFUSAL.search(output)
    return m.group(0) if m else None


@dataclasses.dataclass(frozen=True)
class Typed:
    """One seed line as typed into the live lab, and what the router printed."""

    line: Line
    text: str
    output: str


class Replay:
    """Type ``SEED`` into a running lab, one line at a time, as the seed does."""

    def __init__(self, testbed: Testbed, names: dict[str, str]) -> None:
        self.testbed = testbed
        self.names = dict(names)
        self.shells: dict[str, Shell] = {}
        self.outputs: dict[tuple[str, str], str] = {}  # (device, text) -> latest output

    def shell(self, device: str) -> Shell:
        if device not in self.shells:
            d = self.testbed.device(device)
            self.shells[device] = Shell(d.host, d.port, d.username, d.password, d.enable_password)
        return self.shells[device]

    def run(self, lines: list[Line] = SEED) -> list[Typed]:
        return list(self.steps(lines))

    def steps(self, lines: list[Line] = SEED) -> Iterator[Typed]:
        """Type each line; yield it with its output."""
        for line in lines:
            shell = self.shell(line.device)
            if line.text.startswith("{paste:"):
                shell.paste(self._pasted(line.text[7:-1]))
                continue
            text = "" if line.text == "<return>" else line.text.format(**self._values())
            output = shell.help(text) if text.endswith("?") else shell.type(text, deadline=90.0)
            self.outputs[(line.device, line.text)] = output
            yield Typed(line, text, output)

    def close(self) -> None:
        for shell in self.shells.values():
            shell.close()

    def _values(self) -> dict[str, str]:
        values = dict(self.names)
        isa = self.outputs.get((HE, "show crypto isa sa"), "")
        m = re.search(r"^\S+\s+\S+\s+QM_IDLE\s+(\d+)", isa, re.M)
        values["conn_id"] = m.group(1) if m else "1"  # no SA: clear one that is not there
        return values

    def _pasted(self, name: str) -> list[str]:
        if name == "ca_certificate":
            text = self.outputs[(HE, "crypto ca export ese-ios-ca pem terminal 3des cisco123")]
            block = text[text.index("-----BEGIN CERTIFICATE-----") :]
            return block[: block.index("-----END CERTIFICATE-----") + 25].splitlines()
        if name == "request":
            text = self.outputs.get((BR, "yes"), "")
            body = text.split("Certificate Request follows:", 1)[1].split("---End", 1)[0]
            return [ln for ln in body.splitlines() if ln.strip()]
        if name == "granted":
            text = self.outputs[(CA, "crypto pki server ese-ios-ca grant 3")]
            body = text.split("Granted certificate:", 1)[1]
            return [ln for ln in body.splitlines() if re.fullmatch(r"[A-Za-z0-9+/=]+", ln.strip())]
        raise KeyError(name)
