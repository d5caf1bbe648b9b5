"""Benchmark: the simulated lab's access paths with raw clients (no session layer).

Measures the round trip of ``show clock`` on a telnet console, through the CML-style terminal
server and through an SSH jump host (asyncssh ``tunnel=``), the time to open each path, and the
time from confirming ``reload`` on a console to ``Press RETURN to get started!``.
Run: .venv/bin/python bench/sim_access.py [--count N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from pkilab.sim._asyncssh import asyncssh

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from accesskit import SshShell, TelnetClient, load_access_testbed, running  # noqa: E402

OFFSET = 3700


def summary(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    return (
        f"{name}: median {statistics.median(samples):.2f} ms, p95 {samples[int(len(samples) * 0.95)]:.2f} ms "
        f"over {len(samples)}"
    )


def console(count: int) -> list[str]:
    testbed = load_access_testbed(ROOT / "testbeds" / "sim-console.yaml").shifted(OFFSET)
    with running(testbed):
        t0 = time.perf_counter()
        client = TelnetClient("127.0.0.1", testbed.device("ese-cryagg").sim.console)
        client.line("")
        client.expect(r"ese-cryagg>$")
        opened = (time.perf_counter() - t0) * 1000
        samples = []
        for _ in range(count):
            t = time.perf_counter()
            client.line("show clock")
            client.expect(r"UTC .*\r\nese-cryagg>$")
            samples.append((time.perf_counter() - t) * 1000)
        client.line("enable")
        client.expect("Password: ")
        client.line("pkilab-enable")
        client.expect(r"#$")
        client.line("reload")
        client.expect(r"\[yes/no\]: $|\[confirm\]$")
        if client.text.endswith("[yes/no]: "):
            client.line("no")
            client.expect(r"\[confirm\]$")
        t = time.perf_counter()
        client.line("")
        client.expect(r"Press RETURN to get started!", timeout=30)
        reload_ms = (time.perf_counter() - t) * 1000
        client.close()
    return [
        f"telnet console: connect to prompt {opened:.0f} ms",
        summary("telnet console show clock", samples),
        f"console reload to 'Press RETURN to get started!': {reload_ms:.0f} ms (lab boot pause 500 ms)",
    ]


async def termserver(count: int) -> list[str]:
    testbed = load_access_testbed(ROOT / "testbeds" / "sim-termserver.yaml").shifted(OFFSET)
    server = testbed.device("terminal_server")
    with running(testbed):
        t0 = time.perf_counter()
        async with asyncssh.connect(
            "127.0.0.1", server.sim.ssh_port, username=server.username, password=server.password, known_hosts=None
        ) as conn:
            shell = await SshShell.open(conn, f"open /{testbed.name}/ese-cryagg/0")
            await shell.expect(r"Escape character")
            shell.send("\r")
            await shell.expect(r"ese-cryagg>$")
            opened = (time.perf_counter() - t0) * 1000
            samples = []
            for _ in range(count):
                t = time.perf_counter()
                shell.send("show clock\r")
                await shell.expect(r"UTC .*\r\nese-cryagg>$")
                samples.append((time.perf_counter() - t) * 1000)
    return [f"terminal server: login + open to prompt {opened:.0f} ms", summary("terminal server show clock", samples)]


async def jumphost(count: int) -> list[str]:
    testbed = load_access_testbed(ROOT / "testbeds" / "sim-jumphost.yaml").shifted(OFFSET)
    jump, router = testbed.device("jump"), testbed.device("ese-cryagg")
    with running(testbed):
        t0 = time.perf_counter()
        async with (
            asyncssh.connect(
                "127.0.0.1", jump.sim.ssh_port, username=jump.username, password=jump.password, known_hosts=None
            ) as tunnel,
            asyncssh.connect(
                "127.0.0.1",
                router.sim.ssh_port,
                username=router.username,
                password=router.password,
                known_hosts=None,
                tunnel=tunnel,
            ) as conn,
        ):
            shell = await SshShell.open(conn)
            await shell.expect(r"ese-cryagg>$")
            opened = (time.perf_counter() - t0) * 1000
            samples = []
            for _ in range(count):
                t = time.perf_counter()
                shell.send("show clock\r")
                await shell.expect(r"UTC .*\r\nese-cryagg>$")
                samples.append((time.perf_counter() - t) * 1000)
    return [f"jump host: two logins to prompt {opened:.0f} ms", summary("jump host show clock", samples)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    lines = console(args.count) + asyncio.run(termserver(args.count)) + asyncio.run(jumphost(args.count))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
