"""A raw SSH shell to a simulated router (paramiko, no netmiko): bytes as typed, output as sent.

Shared by the SSH front-end tests and bench/sim_abuse.py: they need to send what no driver would
(a megabyte on one line, thousands of lines in one write) and to time single round trips.
"""

from __future__ import annotations

import re
import time

import paramiko

from pkilab.testbed import DeviceSpec

PROMPT = re.compile(r"[\w.\-]+(?:\([\w.\-]+\))?[#>]$")


class RawShell:
    """One interactive SSH channel (PTY) to a device."""

    def __init__(self, spec: DeviceSpec, timeout: float = 30.0) -> None:
        self.spec = spec
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect(
            spec.host,
            spec.port,
            spec.username,
            spec.password,
            timeout=timeout,
            allow_agent=False,
            look_for_keys=False,
        )
        self.chan = self.client.invoke_shell(width=511, height=1000)
        self.chan.settimeout(timeout)
        self.read_until(PROMPT, timeout)

    def read_until(self, pattern: re.Pattern[str] | str, timeout: float) -> str:
        """Read until ``pattern`` matches the end of what arrived; raise TimeoutError after ``timeout``."""
        rx = re.compile(re.escape(pattern) + "$") if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        got: list[str] = []
        tail = ""
        while not rx.search(tail):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.spec.name}: no {rx.pattern!r} within {timeout} s; got {tail[-200:]!r}")
            if self.chan.recv_ready():
                text = self.chan.recv(65536).decode("utf-8", "replace")
                if not text:
                    raise EOFError(f"{self.spec.name}: the channel closed")
                got.append(text)
                tail = (tail + text)[-256:]  # a prompt is short; a long tail makes the search slow
            elif self.chan.closed or self.chan.exit_status_ready():
                raise EOFError(f"{self.spec.name}: the channel closed")
            else:
                time.sleep(0.001)
        return "".join(got)

    def command(self, line: str, expect: re.Pattern[str] | str = PROMPT, timeout: float = 30.0) -> str:
        """Send ``line`` and Enter; return everything up to ``expect`` (a prompt by default)."""
        self.chan.sendall((line + "\n").encode())
        return self.read_until(expect, timeout)

    def close(self) -> None:
        """Close the connection."""
        self.client.close()
