"""Benchmark: the virtual branches' handshake rate on one core against the raw OpenSSL ceiling.

The simulated lab (``testbeds/sim-modern.yaml``: RSA-2048 keys, AES-256/SHA-256, DH group 14)
runs in its own process (``pkilab sim up --link-port``) pinned to one core; this process, pinned
to the other, prepares the CA and headend over SSH as ``pkilab load`` does, enrolls N branches
over SCEP (not measured), then times rounds of N handshakes (main mode with RSA signatures and
quick mode, no traffic) through the link port. The branch side's rate is handshakes per CPU-second
of this process, so the headend's speed and the machine's other tenants do not enter it.

The ceiling, timed in the same run on the same core in chunks alternating with the branches', is the public-key work one
handshake needs on the branch side, done with OpenSSL (cryptography) alone: one RSA-2048
signature (SIG, raw PKCS#1 v1.5), two RSA-2048 verifications (the headend's SIG and its
certificate's signature), one group-14 key generation and one group-14 exchange
(:class:`pkilab.load.ceiling.Ceiling`, the one ``pkilab load`` times in its runs too).

    .venv/bin/python bench/load_branches.py [--branches 200] [--rounds 5] [--inflight N]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import yaml

from pkilab.fixtures import SessionPool
from pkilab.load import INFLIGHT
from pkilab.load import lab as labmod
from pkilab.load.ceiling import Ceiling
from pkilab.load.enroll import Enroller, HttpPool, fetch_ca
from pkilab.load.fleet import Fleet, Pacing
from pkilab.load.ports import UdpLink
from pkilab.load.run import LoopThread, addresses, claims, engine_timers, profile
from pkilab.pki.keys import generate_rsa_key
from pkilab.plan import LabPlan
from pkilab.testbed import load, without_port_offset
from pkilab.wait import wait_until

ROOT = Path(__file__).resolve().parents[1]
OFFSET = 8700
T = TypeVar("T")


def start_lab(path: Path, link: str) -> tuple[subprocess.Popen[str], tuple[str, int]]:
    """``pkilab sim up --link-port`` on core 1; the link port it opened."""
    cmd = [
        sys.executable,
        "-m",
        "pkilab.cli",
        "sim",
        "up",
        "--testbed",
        str(path),
        "--link-port",
        f"{link}=127.0.0.1:0",
    ]
    # The testbed written for it already carries the moved ports: the lab must not move them again.
    env = without_port_offset(os.environ)
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: os.sched_setaffinity(0, {1}),
    )
    where: tuple[str, int] | None = None
    while (line := proc.stdout.readline() if proc.stdout else "").strip() != "ready":
        if not line:
            raise SystemExit(f"the lab did not start: {proc.stderr.read() if proc.stderr else ''}")
        if line.startswith(f"link {link}: udp "):
            host, _, port = line.split()[-1].rpartition(":")
            where = (host, int(port))
    assert where is not None
    return proc, where


async def enroll_all(fleet: Fleet, enroller: Enroller, modulus: int) -> None:
    """Key pairs and certificates for every branch (four at a time)."""
    gate = asyncio.Semaphore(4)
    loop = asyncio.get_running_loop()

    async def one(index: int) -> None:
        branch = fleet.branches[index]
        async with gate:
            key = await loop.run_in_executor(None, generate_rsa_key, modulus)
            enrolled = await enroller.enroll(key, branch.name, branch.address)
        branch.credentials(key, enrolled.certificate)

    await asyncio.gather(*(one(i) for i in range(len(fleet.branches))))


async def handshakes(fleet: Fleet, indices: range, inflight: int, profiler: cProfile.Profile | None = None) -> int:
    """These branches bring their tunnels up; the number that did (``profiler`` on the loop's thread meanwhile)."""
    gate = asyncio.Semaphore(inflight)

    async def one(index: int) -> bool:
        async with gate:
            return await fleet.tunnel(fleet.branches[index])

    if profiler is not None:
        profiler.enable()
    try:
        return sum(await asyncio.gather(*(one(i) for i in indices)))
    finally:
        if profiler is not None:
            profiler.disable()


async def reset_all(fleet: Fleet) -> None:
    """Every branch drops its SAs and tells the headend."""
    for branch in fleet.branches:
        branch.reset(time.monotonic())
        fleet.schedule(branch)


def main() -> None:
    # Stopped from outside (kill, a timeout): unwind, so that the lab started below is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    # As many handshakes in flight as ``pkilab load`` keeps by default: the bench measures the tool as it runs.
    parser.add_argument("--inflight", type=int, default=INFLIGHT)
    parser.add_argument("--chunk", type=int, default=50, help="handshakes between two ceiling measurements")
    parser.add_argument("--profile", type=Path, help="write cProfile statistics of the handshakes here (slows them)")
    args = parser.parse_args()
    data = yaml.safe_load((ROOT / "testbeds" / "sim-modern.yaml").read_text())
    offset = OFFSET + int(os.environ.get("PKILAB_PORT_OFFSET", "0") or 0)
    for dev in data["devices"].values():
        dev["connections"]["cli"]["port"] += offset
        dev["custom"]["sim"]["http_port"] += offset
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lab.yaml"
        path.write_text(yaml.safe_dump(data))
        testbed = load(path)
        plan = LabPlan.from_testbed(testbed)
        spec = testbed.device(plan.headend.name)
        link = next(i.link for i in spec.interfaces if i.name == plan.headend.outside_if)
        assert link is not None
        proc, where = start_lab(path, link)
        os.sched_setaffinity(0, {0})
        try:
            bench(plan, testbed, where, args)
        finally:
            proc.terminate()
            proc.wait(30)


def bench(plan: LabPlan, testbed: Any, where: tuple[str, int], args: argparse.Namespace) -> None:
    thread = LoopThread()

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, thread.loop).result()

    pool = SessionPool(testbed)
    assert plan.load is not None and plan.ca.device
    ca_spec = testbed.device(plan.ca.device)
    try:
        with labmod.prepared(plan, pool.get, psk=False, grant="auto") as lab:
            http = HttpPool("127.0.0.1", ca_spec.sim.http_port)
            ca = run(fetch_ca(http, lab.ca_fingerprint))
            pacing = Pacing(inflight=args.inflight, tunnel=plan.deadlines.tunnel)
            fleet = Fleet.build(
                addresses(plan.load, args.branches),
                profile(plan, False, ca, False, engine_timers(plan, testbed)),
                UdpLink(*where),
                pacing,
            )
            run(fleet.open(claims(plan.load, args.branches)))
            t0 = time.perf_counter()
            run(enroll_all(fleet, Enroller(http, ca, plan.domain), plan.crypto.modulus))
            print(f"{args.branches} branches enrolled (RSA-{plan.crypto.modulus}) in {time.perf_counter() - t0:.1f} s")
            # The process's CPU, as the branches' side is timed here (the lab runs in another process).
            ceiling = Ceiling.for_run(plan.crypto.modulus, plan.crypto.dh_group, psk=False, clock=time.process_time)
            profiler = cProfile.Profile(time.thread_time) if args.profile else None  # CPU, not waits
            rows = [one_round(fleet, lab, run, args, ceiling, profiler) for _ in range(args.rounds)]
            report(rows, plan, args)
            if profiler is not None:
                profiler.dump_stats(args.profile)
            run(_close(fleet, http))
    finally:
        pool.close()
        thread.stop()


def one_round(
    fleet: Fleet,
    lab: labmod.LoadLab,
    run: Any,
    args: argparse.Namespace,
    ceiling: Ceiling,
    profiler: cProfile.Profile | None = None,
) -> dict[str, float]:
    """All branches' handshakes in chunks, each followed by as many handshakes' worth of the ceiling."""
    done, cpu, wall, fresh, kept = 0, 0.0, 0.0, 0.0, 0.0
    count = len(fleet.branches)
    for start in range(0, count, args.chunk):
        chunk = range(start, min(count, start + args.chunk))
        c0, w0 = time.process_time(), time.perf_counter()
        done += run(handshakes(fleet, chunk, args.inflight, profiler))
        cpu, wall = cpu + time.process_time() - c0, wall + time.perf_counter() - w0
        fresh += ceiling.cpu(len(chunk))
        kept += ceiling.cpu(len(chunk), persistent=True)
    run(reset_all(fleet))
    lab.headend.run("clear crypto isakmp")
    lab.headend.run("clear crypto sa")
    wait_until(lambda: not [s for s in lab.isakmp() if s.state == "QM_IDLE"], 60, 0.5, "the headend's SAs cleared")
    rate = done / cpu
    row = {
        "done": done,
        "cpu": cpu,
        "wall": wall,
        "rate": rate,
        "ceiling": count / fresh,
        "share": 100 * rate * fresh / count,
        "strict": 100 * rate * kept / count,
    }
    print(
        f"round: {done}/{count} handshakes, {wall:.1f} s wall, {cpu:.2f} CPU-s -> {rate:.0f}/CPU-s; "
        f"ceiling {row['ceiling']:.0f}/s; share {row['share']:.1f} % (persistent-key ceiling {count / kept:.0f}/s: "
        f"{row['strict']:.1f} %); wall rate {done / wall:.0f}/s"
    )
    return row


def report(rows: list[dict[str, float]], plan: LabPlan, args: argparse.Namespace) -> None:
    shares = [r["share"] for r in rows]
    strict = [r["strict"] for r in rows]
    rates = [r["rate"] for r in rows]
    ceilings = [r["ceiling"] for r in rows]
    print(
        f"{plan.crypto.ike_encr}/{plan.crypto.ike_hash}/group {plan.crypto.dh_group}, RSA-{plan.crypto.modulus}, "
        f"{args.branches} branches x {len(rows)} rounds, {args.inflight} in flight"
    )
    print(
        f"branch side: median {statistics.median(rates):.0f} handshakes/CPU-s "
        f"(range {min(rates):.0f}-{max(rates):.0f}); "
        f"ceiling median {statistics.median(ceilings):.0f}/s ({min(ceilings):.0f}-{max(ceilings):.0f}); "
        f"share median {statistics.median(shares):.1f} % ({min(shares):.1f}-{max(shares):.1f} %); "
        f"against the persistent-key ceiling {statistics.median(strict):.1f} % ({min(strict):.1f}-{max(strict):.1f} %)"
    )


async def _close(fleet: Fleet, http: HttpPool) -> None:
    fleet.close()
    http.close()


if __name__ == "__main__":
    main()
