"""Parser throughput: pkilab vs Genie (IOS-XE parsers) vs ntc-templates/TextFSM, same input, one run.

Inputs (generated, deterministic):
  * ``show crypto isakmp sa detail`` with 10,000 SAs in the 15.x/IOS-XE layout Genie accepts
    (every row has a ``Cap.`` value: Genie fails on a blank one);
  * ``show crypto pki certificates`` with 1,000 certificates (15.x layout, DN lines, renew dates).

Each round runs every parser once on the same text (interleaved, so that load from other
processes hits all of them alike); the best and median wall-clock times and the best CPU time
(``time.process_time``, the figure least disturbed by a busy machine) are reported, with the
ratio to Genie for both. Each parser's record count is checked so that a parser that silently
returned less is visible. Genie and ntc-templates are optional (bench-only dependencies); a
missing one is reported as such.

Run: ``.venv/bin/python bench/parsers.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from pkilab.parsers.certificates import parse_certificates
from pkilab.parsers.isakmp import parse_isakmp_sa_detail

N_SAS = 10_000
N_CERTS = 1_000


def isakmp_detail_text(n: int, seed: int = 7) -> str:
    """Return a ``show crypto isakmp sa detail`` output with ``n`` SAs (IOS-XE layout)."""
    rnd = random.Random(seed)
    out = [
        "Codes: C - IKE configuration mode, D - Dead Peer Detection",
        "       K - Keepalives, N - NAT-traversal",
        "       T - cTCP encapsulation, X - IKE Extended Authentication",
        "       psk - Preshared key, rsig - RSA signature",
        "       renc - RSA encryption",
        "IPv4 Crypto ISAKMP SA",
        "",
        "C-id  Local           Remote          I-VRF  Status Encr Hash   Auth DH Lifetime Cap.",
        "",
    ]
    for i in range(n):
        remote = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
        auth = rnd.choice(("psk", "rsig"))
        hsh = rnd.choice(("sha", "sha256", "sha384"))
        life = f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}"
        cap = rnd.choice(("D", "N", "DN"))
        out.append(
            f"{1001 + i:<5} 192.0.2.1       {remote:<15}        ACTIVE aes  {hsh:<6} {auth:<4} 14 {life} {cap}  "
        )
        out.append(f"       Engine-id:Conn-id =  SW:{i + 1}")
        out.append("")
    out += ["IPv6 Crypto ISAKMP SA", ""]
    return "\n".join(out) + "\n"


def certificates_text(n: int, seed: int = 11) -> str:
    """Return a ``show crypto pki certificates`` output with ``n`` certificates (15.x layout)."""
    rnd = random.Random(seed)
    zones = ("UTC", "EST", "EDT", "MSK", "GMT")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

    def stamp() -> str:
        return (f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:{rnd.randrange(60):02d} {rnd.choice(zones)} "
                f"{rnd.choice(months)} {rnd.randrange(1, 29)} {rnd.randrange(2004, 2040)}")  # fmt: skip

    blocks = []
    for i in range(n):
        host = f"branch{i}.example.com"
        ca = i % 10 == 0
        lines = [
            "CA Certificate" if ca else "Certificate",
            "  Status: Available",
            f"  Certificate Serial Number (hex): {i + 2:04X}",
            f"  Certificate Usage: {'Signature' if ca else 'General Purpose'}",
            "  Issuer: ",
            "    cn=ese-ios-ca",
            "    ou=ESE",
            "    o=Cisco Systems Inc",
            "    l=Raleigh",
            "    st=NC",
            "  Subject:",
        ]
        if not ca:
            lines += [f"    Name: {host}", f"    hostname={host}"]
        lines += [
            f"    cn={'ese-ios-ca' if ca else host}",
            "  Validity Date: ",
            f"    start date: {stamp()}",
            f"    end   date: {stamp()}",
        ]
        if not ca:
            lines.append(f"    renew date: {stamp()}")
        lines += ["  Associated Trustpoints: ese-ios-ca ", f"  Storage: nvram:ese-ios-ca#{i + 2:X}.cer", ""]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _time_ms(func: Callable[[], Any]) -> tuple[float, float, Any]:
    """Run ``func`` once; return its wall and CPU milliseconds and its result."""
    gc.collect()  # start every run from the same heap state
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, result


def _genie(kind: str) -> Callable[[str], Any] | str:
    try:
        from unittest.mock import Mock

        from genie.libs.parser.iosxe.show_crypto import ShowCryptoIsakmpSaDetail, ShowCryptoPkiCertificates
    except ImportError as exc:  # bench-only dependency
        return f"not installed ({exc.name})"
    cls = ShowCryptoIsakmpSaDetail if kind == "isakmp" else ShowCryptoPkiCertificates
    return lambda text: cls(device=Mock()).cli(output=text)


def _textfsm(kind: str) -> Callable[[str], Any] | str:
    if kind == "isakmp":
        return "no template"
    try:
        import os

        import ntc_templates
        import textfsm
    except ImportError as exc:
        return f"not installed ({exc.name})"
    path = os.path.join(
        os.path.dirname(ntc_templates.__file__), "templates", "cisco_ios_show_crypto_pki_certificates.textfsm"
    )
    with open(path) as fh:
        template = fh.read()

    def run(text: str) -> Any:
        import io

        return textfsm.TextFSM(io.StringIO(template)).ParseTextToDicts(text)

    return run


def _count(kind: str, who: str, result: Any) -> int:
    if who == "pkilab":
        return len(result.sas) if kind == "isakmp" else len(result.certificates)
    if who == "genie":
        if kind == "isakmp":
            return sum(len(v) for v in result["isakmp_stats"].values())
        return sum(len(tp["associated_trustpoints"]) for tp in result["trustpoints"].values())
    return len(result)


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeat", type=int, default=9, help="rounds; each round runs every parser once")
    args = ap.parse_args()
    inputs = {
        "isakmp": (f"show crypto isakmp sa detail, {N_SAS:,} SAs", isakmp_detail_text(N_SAS), N_SAS),
        "certs": (f"show crypto pki certificates, {N_CERTS:,} certs", certificates_text(N_CERTS), N_CERTS),
    }
    pk: dict[str, Callable[[str], Any]] = {"isakmp": parse_isakmp_sa_detail, "certs": parse_certificates}
    print(f"{'input':<42} {'parser':<14} {'wall best':>9} {'wall med':>9} {'cpu best':>9} {'records/s':>10} "
          f"{'records':>8} {'x Genie cpu':>11} {'x Genie wall':>12}")  # fmt: skip
    for kind, (label, text, n) in inputs.items():
        funcs: dict[str, Callable[[str], Any]] = {}
        notes: dict[str, str] = {}
        for who, make in (("pkilab", pk[kind]), ("genie", _genie(kind)), ("ntc-templates", _textfsm(kind))):
            if isinstance(make, str):
                notes[who] = make
            else:
                funcs[who] = make
        walls: dict[str, list[float]] = {who: [] for who in funcs}
        cpus: dict[str, list[float]] = {who: [] for who in funcs}
        counts: dict[str, int] = {}
        for _ in range(args.repeat):  # interleaved, so that machine load hits every parser alike
            for who, func in funcs.items():
                wall, cpu, result = _time_ms(lambda func=func, text=text: func(text))
                walls[who].append(wall)
                cpus[who].append(cpu)
                counts[who] = _count(kind, who, result)
        g_wall = min(walls["genie"]) if "genie" in walls else None
        g_cpu = min(cpus["genie"]) if "genie" in cpus else None
        for who in ("pkilab", "genie", "ntc-templates"):
            if who in notes:
                print(f"{label:<42} {who:<14} {'-':>9} {'-':>9} {'-':>9} {'-':>10} {'-':>8} {'-':>11} {'-':>12}"
                      f"  {notes[who]}")  # fmt: skip
                continue
            best, med, cpu = min(walls[who]), statistics.median(walls[who]), min(cpus[who])
            r_cpu = f"{g_cpu / cpu:.1f}" if g_cpu else "-"
            r_wall = f"{g_wall / best:.1f}" if g_wall else "-"
            flag = "" if counts[who] == n else f"  (returned {counts[who]} of {n} records)"
            print(f"{label:<42} {who:<14} {best:>9.1f} {med:>9.1f} {cpu:>9.1f} {n / cpu * 1000:>10,.0f} "
                  f"{counts[who]:>8} {r_cpu:>11} {r_wall:>12}{flag}")  # fmt: skip


if __name__ == "__main__":
    main()
