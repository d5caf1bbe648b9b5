"""Benchmark: certificates issued per second by the *simulated IOS CA* over SCEP from the host.

`pkilab sim up` runs the lab in its own process; the CA (ese-ios-ca) is configured over SSH as
the seed does (RSA-1024 CA key, `grant auto`), then this process sends SCEP PKCSReq messages for
RSA-2048 router keys to the CA's HTTP server on 127.0.0.1:<http_port> over concurrent keep-alive
connections (4 by default) and checks every answer. The figure is set beside this machine's ceiling, RSA-2048
signatures per second with cryptography, measured in alternation with the CA's chunks.

    .venv/bin/python bench/sim_ca_scep.py [--count N] [--connections N] [--cipher 3des|aes128|aes256] [--adapter N]

``--adapter N`` also times N GetCACaps requests on one keep-alive connection first: the answer is a
constant, so the lab's CPU per request is the HTTP path's own cost (loopback TCP, event loop, h11).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pkilab.device.session import Session
from pkilab.pki.csr import build_csr
from pkilab.pki.names import router_subject
from pkilab.plan import LabPlan
from pkilab.procedures import pki
from pkilab.protocols.scep.client import (
    ClientOptions,
    ScepClient,
    get_ca_caps_request,
    get_ca_cert_request,
    parse_ca_cert,
)
from pkilab.protocols.scep.message import PkiStatus
from pkilab.testbed import Testbed, env_port_offset, load, without_port_offset

ROOT = Path(__file__).resolve().parents[1]

# PKILAB_PORT_OFFSET moves the lab's ports as it does for test runs (two benchmarks on one machine).
OFFSET = env_port_offset() or 8500
CGI = "/cgi-bin/pkiclient.exe"


_local = threading.local()


def _post(port: int, body: bytes) -> tuple[int, str, bytes]:
    """POST a PKIOperation on this thread's persistent (keep-alive) connection."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", f"{CGI}?operation=PKIOperation", body, {"Content-Type": "application/x-pki-message"})
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type", ""), response.read()


def _ceiling(signer: rsa.RSAPrivateKey, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        signer.sign(b"ceiling %d" % i, padding.PKCS1v15(), hashes.SHA256())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--chunk", type=int, default=30)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--cipher",
        choices=("3des", "aes128", "aes256"),
        default="3des",
        help="the routers' envelope cipher (IOS sends 3DES)",
    )
    parser.add_argument("--adapter", type=int, default=0, help="first time N GetCACaps requests (HTTP path cost)")
    parser.add_argument("--profile-lab", action="store_true", help="profile the lab process (/tmp/lab.prof)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
        for dev in data["devices"].values():
            dev["connections"]["cli"]["port"] += OFFSET
            dev["custom"]["sim"]["http_port"] += OFFSET
        path = Path(tmp) / "sim.yaml"
        path.write_text(yaml.safe_dump(data))
        prefix = ["-m", "cProfile", "-o", "/tmp/lab.prof"] if "--profile-lab" in sys.argv else []
        lab = subprocess.Popen(
            [sys.executable, *prefix, "-m", "pkilab.cli", "sim", "up", "--testbed", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # The testbed's ports are already moved: the lab must not move them again.
            env=without_port_offset(os.environ),
        )
        try:
            while (line := lab.stdout.readline() if lab.stdout else "").strip() != "ready":
                if not line:
                    raise SystemExit(f"the lab did not start: {lab.stderr.read() if lab.stderr else ''}")
            run(load(path), args.count, args.chunk, args.connections, lab.pid, args.cipher, args.adapter)
        finally:
            lab.terminate()
            lab.wait(30)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _adapter_cost(port: int, lab_pid: int, count: int) -> None:
    """Lab CPU per GetCACaps request (a constant answer) on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    target = get_ca_caps_request(ClientOptions()).target
    for _ in range(100):  # warm up
        conn.request("GET", target)
        conn.getresponse().read()
    c0, t0 = _cpu_seconds(lab_pid), time.perf_counter()
    for _ in range(count):
        conn.request("GET", target)
        conn.getresponse().read()
    wall, cpu = time.perf_counter() - t0, _cpu_seconds(lab_pid) - c0
    conn.close()
    print(f"GetCACaps on one connection: {count / wall:.0f} requests/s, lab CPU {1e6 * cpu / count:.0f} µs per request")


def run(
    testbed: Testbed, count: int, chunk: int, connections: int, lab_pid: int, cipher: str = "3des", adapter: int = 0
) -> None:
    plan = LabPlan.from_testbed(testbed)
    spec = testbed.device(plan.ca.device)
    ca = Session(spec).connect()
    pki.bring_up_ca(ca, pki.CaServerSettings.from_plan(plan))
    pki.set_grant_mode(ca, plan.ca.server, auto=True)
    port = spec.sim.http_port
    if adapter:
        _adapter_cost(port, lab_pid, adapter)
    req = get_ca_cert_request(ClientOptions())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", req.target)
    answer = conn.getresponse()
    ca_cert = parse_ca_cert(answer.getheader("Content-Type", ""), answer.read())[0]
    now = dt.datetime.now(dt.UTC)
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(8)]
    options = ClientOptions(cipher=cipher, digest="sha256", post=True)  # type: ignore[arg-type]
    clients = []
    for i in range(count):
        client = ScepClient(keys[i % len(keys)], router_subject(f"r{i}.bench.example"), ca_cert, now, options)
        client.transaction_id = f"{client.transaction_id}{i:05d}"  # one transaction per request
        clients.append(client)
    bodies = [c.pkcs_req(build_csr(c.key, c.subject, "bench")).body for c in clients]
    signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    replies: list[tuple[int, str, bytes]] = []
    ca_time = ceiling_time = ca_cpu = 0.0
    with ThreadPoolExecutor(connections) as pool:
        for start in range(0, count, chunk):
            todo = bodies[start : start + chunk]
            c0, t0 = _cpu_seconds(lab_pid), time.perf_counter()
            replies.extend(pool.map(lambda b: _post(port, b), todo))
            ca_time += time.perf_counter() - t0
            ca_cpu += _cpu_seconds(lab_pid) - c0
            ceiling_time += _ceiling(signer, len(todo))
    for client, (status, ctype, body) in zip(clients, replies, strict=True):
        result = client.read_cert_rep(status, ctype, body)
        if result.status is not PkiStatus.SUCCESS:
            raise SystemExit(f"not granted: {result}")
        client.issued_certificate(result)
    issued, ceiling = count / ca_time, count / ceiling_time
    server = pki.server_requests(ca, "ese-ios-ca")
    granted = sum(1 for r in server.requests if r.state == "granted")  # the last 999: ReqIDs wrap
    print(
        f"simulated IOS CA (RSA-1024 CA key, grant auto), SCEP over HTTP from the host, {connections} connections, "
        f"RSA-2048 router keys, {cipher.upper()}/SHA-256: {count} certificates verified, "
        f"the CA's request list shows {granted} granted (ReqIDs wrap at 999)"
    )
    print(
        f"issued per second: {issued:.1f}; RSA-2048 signatures per second (ceiling): {ceiling:.1f}; "
        f"share {100 * issued / ceiling:.1f} %"
    )
    per_cpu = count / ca_cpu if ca_cpu else float("nan")
    print(
        f"issued per CPU-second of the lab process: {per_cpu:.1f}; share {100 * per_cpu / ceiling:.1f} % "
        "(the CA's own cost; the wall figure shares 2 cores with this client)"
    )
    ca.close()


if __name__ == "__main__":
    main()
