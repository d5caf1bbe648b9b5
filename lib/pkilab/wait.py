"""Waiting by polling a condition with a deadline, never by a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from pkilab.errors import WaitTimeoutError

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None], timeout: float, interval: float = 0.2, message: str = "condition"
) -> T:
    """Call ``condition`` until it returns a truthy value; return that value.

    Raises :class:`WaitTimeoutError` (a ``TimeoutError``) after ``timeout`` seconds, naming
    ``message`` and the last value seen. ``timeout`` is in device-meaningful seconds: on the
    simulated lab conditions become true quickly, on hardware the same budget still holds.
    """
    deadline = time.monotonic() + timeout
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise WaitTimeoutError(f"{message}: not true after {timeout:g} s (last value: {last!r})")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
