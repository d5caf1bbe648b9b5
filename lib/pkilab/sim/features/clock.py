"""Clock and NTP: ``clock set|timezone|summer-time``, ``ntp server|peer|master``, show commands.

NTP is real: mode-3 requests and mode-4 answers (RFC 5905 header, 48 bytes) on UDP 123 over
the virtual network, so a branch reaches its server only where routing (or a tunnel) lets it.
A router answers as a server when it is ``ntp master`` or synchronized itself. How often a
router polls comes from its ``custom.sim.timing`` (:class:`pkilab.sim.images.Timing`): every
second by default, so clocks converge in seconds, or every 64 s as IOS does.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass
from typing import Any

from pkilab import catalog
from pkilab.sim import packets as pk
from pkilab.sim.clock import SummerTime, lab_now
from pkilab.sim.features.ip import Ip
from pkilab.sim.features.system import System, configured_by
from pkilab.sim.interp import Ctx
from pkilab.sim.router import Feature, handles

NTP_EPOCH = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def ntp_timestamp(t: dt.datetime) -> bytes:
    """64-bit NTP timestamp of a UTC instant."""
    seconds = (t - NTP_EPOCH).total_seconds()
    whole = int(seconds)
    return struct.pack("!II", whole & 0xFFFFFFFF, int((seconds - whole) * 2**32) & 0xFFFFFFFF)


def ntp_time(data: bytes) -> dt.datetime:
    """UTC instant of a 64-bit NTP timestamp."""
    whole, frac = struct.unpack("!II", data)
    return NTP_EPOCH + dt.timedelta(seconds=whole + frac / 2**32)


@dataclass
class Association:
    """One configured NTP server or peer."""

    address: str
    peer: bool = False
    last_answer: float = 0.0
    stratum: int = 16
    polls_unanswered: int = 0


def ntp_hex(t: dt.datetime) -> str:
    """An NTP timestamp as IOS prints it (``show ntp status``, ``… associations detail``): ``E0B1C2D3.8000A1B2``."""
    raw = ntp_timestamp(t).hex().upper()
    return f"{raw[:8]}.{raw[8:]}"


class Ntp(Feature):
    """Clock configuration and NTP client/server."""

    order = 300

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        clock = router.clock
        clock.tz_name, clock.tz_hours, clock.tz_minutes, clock.summer = "UTC", 0, 0, None
        clock.ntp_synced = False
        self.associations: dict[str, Association] = {}
        self.master_stratum: int | None = None
        self.stratum = 16
        self.reference: str | None = None
        self.last_update: float | None = None
        self.next_poll = 0.0
        self.source = "none"
        self.extra: list[str] = []

    def start(self) -> None:
        """Serve NTP on UDP 123."""
        self.router.feature(Ip).udp_services[123] = self._serve

    def config_lines(self) -> list[str]:
        """Clock and NTP configuration."""
        c = self.router.clock
        lines = []
        if (c.tz_name, c.tz_hours, c.tz_minutes) != ("UTC", 0, 0):
            minutes = f" {c.tz_minutes}" if c.tz_minutes else ""
            lines.append(f"clock timezone {c.tz_name} {c.tz_hours}{minutes}")
        if c.summer is not None:
            lines.append(f"clock summer-time {c.summer.name} recurring")
        lines.extend(self.extra)
        if self.master_stratum is not None:
            lines.append(f"ntp master {self.master_stratum}" if self.master_stratum != 8 else "ntp master")
        for a in self.associations.values():
            lines.append(f"ntp {'peer' if a.peer else 'server'} {a.address}")
        return lines + ["!"] if lines else []

    # ---- clock configuration -----------------------------------------------------------
    @handles(catalog.CLOCK_TIMEZONE)
    def timezone(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``clock timezone NAME HOURS [MINUTES]``."""
        try:
            hours = int(args["hours"])
        except ValueError:
            return "% Invalid input detected at '^' marker."
        if not -23 <= hours <= 23:
            return "% Invalid input detected at '^' marker."
        c = self.router.clock
        c.tz_name, c.tz_hours, c.tz_minutes = args["name"], hours, args.get("minutes", 0)
        self.router.feature(System).touch()
        return None

    @handles(catalog.NO_CLOCK_TIMEZONE)
    def no_timezone(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no clock timezone``."""
        c = self.router.clock
        c.tz_name, c.tz_hours, c.tz_minutes = "UTC", 0, 0

    @handles(catalog.CLOCK_SUMMER_TIME)
    def summer_time(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``clock summer-time NAME recurring`` (US rules, as IOS defaults)."""
        self.router.clock.summer = SummerTime(args["name"])
        self.router.feature(System).touch()

    @handles(catalog.NO_CLOCK_SUMMER_TIME)
    def no_summer_time(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no clock summer-time``."""
        self.router.clock.summer = None

    @handles(catalog.CLOCK_SET)
    def clock_set(self, ctx: Ctx, args: dict[str, Any]) -> str | None:
        """``clock set hh:mm:ss DAY MONTH YEAR`` (either order), in local time."""
        h, m, s = args["time"]
        try:
            local = dt.datetime(args["year"], args["month"], args["day"], h, m, s)
        except ValueError:
            return "% Invalid input detected at '^' marker."
        clock = self.router.clock
        before, marker = clock.format(clock.now(), msec=False), clock.marker
        clock.set_local(local)
        self.source = "user configuration"
        # Real captures: "*Jun  2 14:22:00.000: %SYS-6-CLOCKUPDATE: System clock has been updated from
        # 14:23:40 UTC Thu Jun 2 2022 to 14:22:00 UTC Thu Jun 2 2022, configured from console by
        # console." — stamped with the new time but the mark the clock had before.
        self.router.feature(System).logmsg(
            f"%SYS-6-CLOCKUPDATE: System clock has been updated from {before} to "
            f"{clock.format(clock.now(), msec=False)}, configured from console by {configured_by(ctx)}.",
            marker=marker,
        )
        return None

    @handles(catalog.SHOW_CLOCK)
    def show_clock(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show clock [detail]``."""
        line = self.router.clock.show_clock()
        if not args.get("detail"):
            return line
        source = {"ntp": "Time source is NTP", "user configuration": "Time source is user configuration"}.get(
            self.source, "No time source"
        )
        return f"{line}\n{source}"

    # ---- NTP configuration ---------------------------------------------------------------
    @handles(catalog.NTP_SERVER)
    def ntp_server(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``ntp server A`` / ``ntp peer A``."""
        self.associations[args["address"]] = Association(args["address"], peer=bool(args.get("peer")))
        self.next_poll = 0.0
        self.router.feature(System).touch()

    @handles(catalog.NO_NTP_SERVER)
    def no_ntp_server(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no ntp server A``: the clock keeps its time but is no longer synchronized by it."""
        self.associations.pop(args["address"], None)
        if self.reference == args["address"] or not self.associations:
            self._unsync()
        self.router.feature(System).touch()

    @handles(catalog.NTP_MASTER)
    def ntp_master(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``ntp master [STRATUM]``: the local clock is a reference (stratum 8 by default)."""
        self.master_stratum = args.get("stratum", 8)
        c = self.router.clock
        c.authoritative = True
        c.ntp_synced = True
        self.stratum = self.master_stratum
        self.reference = "127.127.1.1"
        self.source = "ntp"

    @handles(catalog.NO_NTP_MASTER)
    def no_ntp_master(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no ntp master``."""
        self.master_stratum = None
        self._unsync()

    @handles(catalog.NTP_CLOCK_PERIOD)
    def clock_period(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``ntp clock-period``: IOS writes it itself; accepted, not acted on."""

    def _unsync(self) -> None:
        c = self.router.clock
        c.ntp_synced = False
        self.stratum = 16
        self.reference = None
        if self.source == "ntp":
            self.source = "none"

    # ---- protocol ----------------------------------------------------------------------
    def serving(self) -> bool:
        """True when this router answers NTP requests as a time source."""
        return self.master_stratum is not None or self.router.clock.ntp_synced

    def _serve(self, ip: pk.IPv4, datagram: pk.Udp, if_name: str) -> None:
        data = datagram.data
        if len(data) < 48:
            return
        mode = data[0] & 0x07
        if mode == 4:
            self._answer(ip.src, data)
            return
        if mode not in (1, 3) or not self.serving():
            return
        now = self.router.clock.now()
        reply = (
            bytes([0x24, self.stratum, 6, 0xEC])
            + b"\x00" * 8
            + b"LOCL"
            + ntp_timestamp(now)
            + data[40:48]
            + ntp_timestamp(now)
            + ntp_timestamp(now)
        )
        self.router.feature(Ip).send_udp(ip.dst, ip.src, 123, datagram.sport, reply)

    def _answer(self, server: str, data: bytes) -> None:
        assoc = self.associations.get(server)
        stratum = data[1]
        if assoc is None or data[0] >> 6 == 3 or not 1 <= stratum < 16:
            return
        if self.router.has_fault("clock-ignores-ntp"):
            return
        import time

        assoc.last_answer = time.monotonic()
        assoc.polls_unanswered = 0
        assoc.stratum = stratum
        c = self.router.clock
        c.offset = ntp_time(data[40:48]) - lab_now()
        c.authoritative = True
        c.ntp_synced = True
        self.stratum = stratum + 1
        self.reference = server
        self.last_update = time.monotonic()
        self.source = "ntp"

    def tick(self, now: float) -> None:
        """Poll configured servers (called by the lab's timer)."""
        if not self.associations or now < self.next_poll:
            return
        self.next_poll = now + self.router.timing.ntp_poll
        request = bytes([0x23, 0, 6, 0xEC]) + b"\x00" * 36 + ntp_timestamp(lab_now())
        for assoc in self.associations.values():
            assoc.polls_unanswered += 1
            self.router.feature(Ip).send_udp(None, assoc.address, 123, 123, request)
        if (
            self.reference in self.associations
            and self.associations[self.reference].polls_unanswered > self.router.timing.ntp_unsync_polls
        ):
            self._unsync()

    # ---- show --------------------------------------------------------------------------
    @handles(catalog.SHOW_NTP_STATUS)
    def show_ntp_status(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show ntp status`` (IOS 15 layout)."""
        import time

        c = self.router.clock
        if not c.ntp_synced:
            head = "Clock is unsynchronized, stratum 16, no reference clock"
            ref = "reference time is 00000000.00000000 (00:00:00.000 UTC Mon Jan 1 1900)"
            loop_state = "loopfilter state is 'NSET' (Never set), drift is 0.000000000 s/s"
            update = "system poll interval is 64, never updated."
        else:
            head = f"Clock is synchronized, stratum {self.stratum}, reference is {self.reference}"
            now = c.now()
            ref = f"reference time is {ntp_hex(now)} ({c.format(now)})"
            loop_state = "loopfilter state is 'CTRL' (Normal Controlled Loop), drift is 0.000000000 s/s"
            ago = int(time.monotonic() - self.last_update) if self.last_update else 0
            update = f"system poll interval is 64, last update was {ago} sec ago."
        return "\n".join(
            [
                head,
                "nominal freq is 250.0000 Hz, actual freq is 250.0000 Hz, precision is 2**10",
                f"ntp uptime is {int(self.router.uptime_seconds() * 100)} (1/100 of seconds), resolution is 4000",
                ref,
                "clock offset is 0.0000 msec, root delay is 1.00 msec",
                "root dispersion is 3.00 msec, peer dispersion is 0.00 msec",
                loop_state,
                update,
            ]
        )

    @handles(catalog.SHOW_NTP_ASSOCIATIONS, catalog.SHOW_NTP_ASSOCIATIONS_DETAIL)
    def show_ntp_associations(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show ntp associations [detail]``."""
        if args.get("detail"):
            return self._associations_detail()
        lines = ["  address         ref clock       st   when   poll reach  delay  offset   disp"]
        if self.master_stratum is not None:
            lines.append(
                f"*~127.127.1.1     .LOCL.{self.master_stratum - 1:>12}     10     16   377  0.000   0.000  0.232"
            )
        for a in self.associations.values():
            flag = "*~" if a.address == self.reference else " ~"
            lines.append(
                f"{flag}{a.address:<16}{'.INIT.' if a.stratum == 16 else '127.127.1.1':<16}"
                f"{a.stratum:>2}      1     64     1  1.000   0.000  1.000"
            )
        lines.append(" * sys.peer, # selected, + candidate, - outlyer, x falseticker, ~ configured")
        return "\n".join(lines)

    def _associations_detail(self) -> str:
        """``show ntp associations detail``: a block per server, in IOS's layout.

        The layout is genieparser's IOS and IOS-XE golden outputs (the shared corpus).

        Address, selection, stratum, reach and times are the simulator's; the delays, offsets,
        dispersions, precision and packet counts are invented constants (docs/sim-fidelity.md).
        """
        now = self.router.clock.now()
        stamp = f"{ntp_hex(now)} ({self.router.clock.format(now)})"
        blocks: list[str] = []
        for n, a in enumerate(self.associations.values(), start=1):
            chosen = "our_master, sane, valid" if a.address == self.reference else "insane, invalid"
            mode = "active" if a.peer else "client"
            blocks += [
                f"{a.address} configured, {chosen}, stratum {a.stratum}",
                f"ref ID {'.INIT.' if a.stratum == 16 else '127.127.1.1'}, time {stamp}",
                f"our mode {mode}, peer mode {'active' if a.peer else 'server'}, our poll intvl 64, peer poll intvl 64",
                f"root delay 0.00 msec, root disp 0.00, reach {1 if a.stratum < 16 else 0}, sync dist 1.000",
                "delay 1.00 msec, offset 0.000 msec, dispersion 1.00",
                "precision 2**24, version 4",
                f"assoc ID {n}, assoc name {a.address}",
                "assoc in packets 0, assoc out packets 0, assoc error packets 0",
                f"org time {stamp}",
                f"rcv time {stamp}",
                f"xmt time {stamp}",
                "filtdelay =     1.00    0.00    0.00    0.00    0.00    0.00    0.00    0.00",
                "filtoffset =    0.00    0.00    0.00    0.00    0.00    0.00    0.00    0.00",
                "filterror =     0.00    0.00    0.00    0.00    0.00    0.00    0.00    0.00",
                "",
            ]
        return "\n".join(blocks)
