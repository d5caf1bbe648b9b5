"""Lab provider for simulated testbeds: runs :class:`pkilab.sim.lab.Lab` in a background thread.

pytest is synchronous; the simulated lab is asyncio. The lab gets its own event loop in a
daemon thread; the harness talks to it only over SSH, exactly as to real routers.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pkilab.errors import SimError
from pkilab.testbed import Testbed


class SimLabRunner:
    """Start and stop a simulated lab from synchronous code."""

    def __init__(self, testbed: Testbed, pcap_dir: Any = None) -> None:
        self.testbed = testbed
        self.pcap_dir = pcap_dir
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.lab: Any = None

    def start(self, timeout: float = 60.0) -> SimLabRunner:
        """Boot the lab; return once every device listens (raise :class:`SimError` otherwise)."""
        from pkilab.sim.lab import Lab

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pkilab-sim", daemon=True)
        self.thread.start()
        self.lab = Lab(self.testbed, self.pcap_dir)
        future = asyncio.run_coroutine_threadsafe(self.lab.start(), self.loop)
        try:
            future.result(timeout)
        except SimError:
            self._halt()
            raise
        except Exception as exc:
            self._halt()
            raise SimError(f"{self.testbed.path}: the simulated lab failed to start: {exc!r}") from exc
        return self

    def stop(self) -> None:
        """Stop the lab and its thread."""
        if self.loop is None:
            return
        if self.lab is not None:
            try:
                asyncio.run_coroutine_threadsafe(self.lab.stop(), self.loop).result(30)
            except Exception:  # stopping is best effort; the thread dies with the process anyway
                pass
        self._halt()

    def _halt(self) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            if self.thread is not None:
                self.thread.join(10)
            self.loop = None
