"""strongSwan (charon, swanctl, pki) in a network namespace, for the interop tests.

Shared by the IKE engine's interop tests (tests/unit/ike) and the simulated lab's
(tests/integration): the skip reason, charon's configuration, starting and stopping charon with
its own /run, and a ping from inside a namespace that needs no ping binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

CHARON = Path("/usr/lib/ipsec/charon")
SWANCTL = shutil.which("swanctl")
PKI = shutil.which("pki")
KERNEL_LIBIPSEC = Path("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so")

STRONGSWAN_CONF = """charon {{
  load = random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey gmp hmac sha1 sha2 md5 des aes \
kernel-libipsec kernel-netlink socket-default vici
  filelog {{ log {{ path = {dir}/charon.log
                  default = 1
                  ike = 2
                  append = no }} }}
  plugins {{ vici {{ socket = unix://{dir}/charon.vici }} }}
}}
swanctl {{ socket = unix://{dir}/charon.vici }}
"""


def skip_reason(need_pki: bool = False) -> str | None:
    """Why the strongSwan tests cannot run here, or None."""
    if not CHARON.exists() or SWANCTL is None or (need_pki and PKI is None):
        return "strongSwan not installed (strongswan-charon, strongswan-swanctl, strongswan-pki)"
    if not KERNEL_LIBIPSEC.exists():
        return "strongSwan kernel-libipsec plugin missing (libcharon-extra-plugins)"
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return "network namespaces need root and iproute2"
    return None


def run(*cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a command, its output captured as text."""
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)


def write_strongswan_conf(directory: Path) -> None:
    """charon's configuration (log file and vici socket in ``directory``) and an empty swanctl dir."""
    (directory / "strongswan.conf").write_text(STRONGSWAN_CONF.format(dir=directory))
    for sub in ("", "x509", "x509ca", "private"):
        (directory / "swanctl" / sub).mkdir(parents=True, exist_ok=True)


def swanctl_env(directory: Path) -> list[str]:
    """The environment that points strongSwan's tools at ``directory``."""
    return [f"STRONGSWAN_CONF={directory}/strongswan.conf", f"SWANCTL_DIR={directory}/swanctl"]


def start_charon(ns: str, directory: Path, loaded: Callable[[], bool], timeout: float = 15) -> subprocess.Popen[bytes]:
    """charon in namespace ``ns`` with its own /run (its pid file path is fixed); returns once ``loaded()``.

    Raises:
        RuntimeError: charon did not come up within ``timeout`` seconds.
    """
    script = f"mount -t tmpfs tmpfs /run && {' '.join(swanctl_env(directory))} exec {CHARON}"
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, "sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (directory / "charon.vici").exists() and loaded():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop_charon(proc)
    raise RuntimeError(f"charon did not start in {ns} (log: {directory}/charon.log)")


def stop_charon(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop charon (killed if it does not stop within 10 s)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def ns_ping(ns: str, src: str, dst: str, count: int) -> int:
    """Echo requests from ``src`` inside ``ns`` (a raw socket: no ping binary needed); replies from ``dst``."""
    code = (
        "import socket,struct\n"
        "def cs(b):\n s=sum(struct.unpack('!%dH'%(len(b)//2),b));s=(s&0xffff)+(s>>16);s+=s>>16;return ~s&0xffff\n"
        f"s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP);s.bind(('{src}',0))\n"
        "s.settimeout(2);ok=0\n"
        f"for q in range(1,{count}+1):\n"
        " b=struct.pack('!BBHHH',8,0,0,77,q)+b'pkilab-strongswan!';b=b[:2]+struct.pack('!H',cs(b))+b[4:]\n"
        f" s.sendto(b,('{dst}',0))\n"
        " try:\n  d=s.recv(2000);ok+=d[20]==0 and d[12:16]==socket.inet_aton('" + dst + "')\n"
        " except OSError: pass\n"
        "print(ok)\n"
    )
    done = run("ip", "netns", "exec", ns, sys.executable, "-c", code, timeout=count * 3 + 10, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ping from {src} in {ns} failed: {done.stderr.strip()}")
    return int(done.stdout.strip())
