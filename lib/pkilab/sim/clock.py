"""Router clocks: an offset from the lab clock, a time zone, summer time, and authority.

The lab clock is the host's UTC time. A router's clock is the lab clock plus its own offset;
``clock set`` changes the offset, NTP brings it back to its server's. ``show clock`` marks a
clock that is not authoritative with ``*`` and one that is authoritative but not synchronized
by NTP with ``.``, as IOS does.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

UTC = dt.UTC
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def lab_now() -> dt.datetime:
    """The lab clock: the host's current UTC time."""
    return dt.datetime.now(UTC)


@lru_cache(maxsize=256)
def _nth_weekday(year: int, month: int, weekday: int, n: int) -> int:
    """Day of month of the ``n``-th ``weekday`` (0=Mon) of a month; n=-1 for the last."""
    days = [
        d for d in range(1, calendar.monthrange(year, month)[1] + 1) if dt.date(year, month, d).weekday() == weekday
    ]
    return days[n - 1] if n > 0 else days[-1]


@dataclass(frozen=True)
class SummerTime:
    """``clock summer-time NAME recurring [...]``; defaults are the US rules IOS uses."""

    name: str
    start: tuple[int, int, int, int, int] = (2, 6, 3, 2, 0)  # week, weekday(0=Mon), month, hh, mm
    end: tuple[int, int, int, int, int] = (1, 6, 11, 2, 0)
    offset_minutes: int = 60
    explicit: bool = False

    def active(self, standard: dt.datetime) -> bool:
        """Return True when summer time applies at ``standard`` local (standard-time) moment."""
        start, end = _summer_bounds(self, standard.year)
        naive = standard.replace(tzinfo=None)
        return start <= naive < end if start < end else not end <= naive < start


@lru_cache(maxsize=64)
def _summer_bounds(rules: SummerTime, year: int) -> tuple[dt.datetime, dt.datetime]:
    """Where summer time starts and ends in ``year``, both in standard local time (naive)."""

    def moment(rule: tuple[int, int, int, int, int]) -> dt.datetime:
        week, wd, month, hh, mm = rule
        return dt.datetime(year, month, _nth_weekday(year, month, wd, week if week <= 4 else -1), hh, mm)

    # The end rule is given in summer time; compare in standard time.
    return moment(rules.start), moment(rules.end) - dt.timedelta(minutes=rules.offset_minutes)


@dataclass
class Clock:
    """One router's clock."""

    offset: dt.timedelta = field(default_factory=dt.timedelta)
    tz_name: str = "UTC"
    tz_hours: int = 0
    tz_minutes: int = 0
    summer: SummerTime | None = None
    authoritative: bool = False
    ntp_synced: bool = False

    def now(self) -> dt.datetime:
        """This router's current UTC time."""
        return lab_now() + self.offset

    def zone_at(self, utc: dt.datetime) -> tuple[dt.datetime, str]:
        """Return (local time, zone abbreviation) for a UTC instant."""
        std_offset = dt.timedelta(
            hours=self.tz_hours, minutes=self.tz_minutes if self.tz_hours >= 0 else -self.tz_minutes
        )
        local = (utc + std_offset).replace(tzinfo=None)
        if self.summer is not None and self.summer.active(local.replace(tzinfo=UTC)):
            return local + dt.timedelta(minutes=self.summer.offset_minutes), self.summer.name
        return local, self.tz_name

    def local_to_utc(self, local: dt.datetime) -> dt.datetime:
        """Convert a naive local wall-clock time (as typed in ``clock set``) to UTC."""
        std_offset = dt.timedelta(
            hours=self.tz_hours, minutes=self.tz_minutes if self.tz_hours >= 0 else -self.tz_minutes
        )
        standard = local - std_offset
        if self.summer is not None:
            guess = local - dt.timedelta(minutes=self.summer.offset_minutes)
            if self.summer.active(guess.replace(tzinfo=UTC)):
                standard -= dt.timedelta(minutes=self.summer.offset_minutes)
        return standard.replace(tzinfo=UTC)

    def set_local(self, local: dt.datetime) -> None:
        """``clock set``: move this clock so that local time is now ``local``."""
        self.offset = self.local_to_utc(local) - lab_now()
        self.authoritative = True
        self.ntp_synced = False

    @property
    def marker(self) -> str:
        """``*`` not authoritative, ``.`` authoritative but not NTP-synchronized, else empty."""
        if not self.authoritative:
            return "*"
        return "" if self.ntp_synced else "."

    def format(self, utc: dt.datetime, msec: bool = True) -> str:
        """Render a UTC instant as IOS does: ``10:58:20.123 EDT Mon Jun 21 2005``."""
        local, zone = self.zone_at(utc)
        frac = f".{local.microsecond // 1000:03d}" if msec else ""
        return (
            f"{local:%H:%M:%S}{frac} {zone} {_DAYS[local.weekday()]} {_MONTHS[local.month - 1]} "
            f"{local.day} {local.year}"
        )

    def format_date(self, utc: dt.datetime) -> str:
        """Render as IOS prints certificate dates: ``10:58:20 EDT Jun 21 2005``."""
        local, zone = self.zone_at(utc)
        return (
            f"{local.hour:02d}:{local.minute:02d}:{local.second:02d} {zone} {_MONTHS[local.month - 1]} "
            f"{local.day} {local.year}"
        )

    def format_log(self, utc: dt.datetime) -> str:
        """Render a log timestamp as ``service timestamps log datetime msec``: ``Feb  2 20:56:49.844``."""
        local, _ = self.zone_at(utc)
        return f"{_MONTHS[local.month - 1]} {local.day:>2} {local:%H:%M:%S}.{local.microsecond // 1000:03d}"

    def show_clock(self) -> str:
        """The ``show clock`` line."""
        return self.marker + self.format(self.now())
