"""Router clocks: NTP configuration, skewing a clock by hand and putting it back.

:func:`skewed` is the seed's "set the clock into the future" step as a context manager: it
removes the router's NTP servers, sets the clock, and afterwards restores the NTP servers and
waits until the router is synchronized again — also when the body failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from pkilab.config import values as v
from pkilab.device.session import Session
from pkilab.parsers import parse_as
from pkilab.parsers.system import Clock, NtpStatus
from pkilab.plan import Deadlines
from pkilab.wait import wait_until

# Without a deadline from the caller's lab plan: a real router's NTP synchronization (64 s polls).
_SYNC = Deadlines.real().clock_sync

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def ntp_servers(session: Session) -> list[str]:
    """The ``ntp server`` / ``ntp peer`` lines of the running configuration."""
    out = session.run("show running-config | include ^ntp (server|peer)")
    return [ln.strip() for ln in out.splitlines() if ln.startswith(("ntp server ", "ntp peer "))]


def wait_synchronized(session: Session, timeout: float = _SYNC) -> Clock:
    """Poll until the clock is authoritative (no ``*``) and, when NTP is configured, NTP-synchronized.

    ``clock set`` alone makes a clock authoritative (``.``), so after a skew the restore must wait
    for NTP to bring the time back, not merely for the marker to change.
    """
    needs_ntp = bool(ntp_servers(session))

    def ready() -> Clock | None:
        shown = _authoritative(session)
        if shown is None or not needs_ntp:
            return shown
        status = parse_as(NtpStatus, "show ntp status", session.run("show ntp status"))
        return shown if status.synchronized and shown.marker == "" else None

    return wait_until(ready, timeout, 0.5, f"{session.name}: clock synchronized")


def show_clock(session: Session) -> Clock:
    """``show clock``, parsed."""
    return parse_as(Clock, "show clock", session.run("show clock"))


def _authoritative(session: Session) -> Clock | None:
    clock = show_clock(session)
    return clock if clock.marker != "*" else None


def set_clock(session: Session, local: dt.datetime) -> None:
    """``clock set hh:mm:ss Mon D YYYY`` in the router's local time."""
    v.integer(local.year, "clock year", 1993, 2035)
    session.run(f"clock set {local:%H:%M:%S} {_MONTHS[local.month - 1]} {local.day} {local.year}")


@contextlib.contextmanager
def ntp_removed(session: Session, timeout: float = _SYNC) -> Iterator[list[str]]:
    """Remove the NTP servers for the body; restore them and wait for synchronization after."""
    servers = ntp_servers(session)
    if servers:
        session.config([f"no {line}" for line in servers])
    try:
        yield servers
    finally:
        if not session.connected:
            session.connect()
        if servers:
            session.config(servers)
            wait_synchronized(session, timeout)


@contextlib.contextmanager
def skewed(session: Session, local: dt.datetime, timeout: float = _SYNC) -> Iterator[None]:
    """The seed's clock skew: no NTP, ``clock set`` to ``local``; always restored afterwards."""
    with ntp_removed(session, timeout):
        set_clock(session, local)
        yield
