"""Login block and login delay (``login …`` commands, ``show login``, the ``%SEC_LOGIN`` messages).

Commands: ``login block-for``, ``login delay``, ``login quiet-mode access-class``,
``login on-failure|on-success log [every N]``.

What IOS does (Cisco IOS Login Enhancements, 12.3(4)T; sources and the parts this simulator had to
choose are listed in docs/sim-ssh.md):

* Nothing happens until ``login block-for`` is configured; the other ``login`` commands are kept
  but act only with it.
* With it, logins are paced: one every ``login delay`` seconds (1 by default), failed or not.
* ``attempts`` failures within a ``within``-second watch window start a quiet period of
  ``block-for`` seconds in which virtual-terminal logins are refused, except from the sources the
  ``login quiet-mode access-class`` list permits.

Time is the router's own clock (``clock set`` moves the windows with it). The SSH adapter asks
:meth:`Login.admits` when a connection arrives, :meth:`Login.pace` before it checks a password and
tells :meth:`Login.record` the outcome; the lab's tick ends quiet periods.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from pkilab import catalog
from pkilab.sim import packets as pk
from pkilab.sim.features.acl import Acl
from pkilab.sim.features.system import System
from pkilab.sim.interp import Ctx
from pkilab.sim.router import Feature, handles

#: ``login delay`` when ``login block-for`` is on and no delay is configured (seconds).
DEFAULT_DELAY = 1
#: The port IOS reports in ``[localport: …]`` for an SSH login (the lab's listening port differs).
SSH_PORT = 22
#: The access list IOS names in QUIET_MODE_ON when no quiet-mode access class is configured.
DEFAULT_QUIET_ACL = "sl_def_acl"
_REASON = "Login Authentication Failed"


@dataclass(frozen=True)
class BlockFor:
    """``login block-for SECONDS attempts N within SECONDS``."""

    seconds: int
    attempts: int
    within: int


@dataclass(frozen=True)
class LogEvery:
    """``login on-failure|on-success log [every N]``."""

    every: int = 1

    def render(self, kind: str) -> str:
        """The running-configuration line."""
        return f"login {kind} log" + (f" every {self.every}" if self.every != 1 else "")


class Login(Feature):
    """Login block, login delay and login logging (global configuration)."""

    order = 20  # after the system block, before keys and crypto (where IOS prints it)

    def __init__(self, router: Any) -> None:
        super().__init__(router)
        self.block: BlockFor | None = None
        self.delay: int | None = None
        self.quiet_acl: str | None = None
        self.on_failure: LogEvery | None = None
        self.on_success: LogEvery | None = None
        self.window_end: dt.datetime | None = None
        self.failures = 0
        self.quiet_until: dt.datetime | None = None
        self.next_slot: dt.datetime | None = None
        self.failures_seen = 0
        self.successes_seen = 0

    # ---- configuration -----------------------------------------------------------------
    def config_lines(self) -> list[str]:
        """``login …`` lines in IOS's order."""
        lines = []
        if self.block is not None:
            b = self.block
            lines.append(f"login block-for {b.seconds} attempts {b.attempts} within {b.within}")
        if self.delay is not None:
            lines.append(f"login delay {self.delay}")
        if self.quiet_acl is not None:
            lines.append(f"login quiet-mode access-class {self.quiet_acl}")
        if self.on_failure is not None:
            lines.append(self.on_failure.render("on-failure"))
        if self.on_success is not None:
            lines.append(self.on_success.render("on-success"))
        return [*lines, "!"] if lines else []

    def _changed(self) -> None:
        self.router.feature(System).touch()

    @handles(catalog.LOGIN_BLOCK_FOR)
    def block_for(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``login block-for``: start watching (a new policy starts a fresh watch window)."""
        self.block = BlockFor(args["seconds"], args["tries"], args["window"])
        self.window_end, self.failures = None, 0
        self._changed()

    @handles(catalog.NO_LOGIN_BLOCK_FOR)
    def no_block_for(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no login block-for``: stop watching; a quiet period in progress ends now."""
        if self.quiet_until is not None:
            self._quiet_off()
        self.block, self.window_end, self.failures = None, None, 0
        self._changed()

    @handles(catalog.LOGIN_DELAY)
    def login_delay(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``login delay``."""
        self.delay = args["seconds"]
        self._changed()

    @handles(catalog.NO_LOGIN_DELAY)
    def no_login_delay(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no login delay``."""
        self.delay = None
        self._changed()

    @handles(catalog.LOGIN_QUIET_MODE_ACCESS_CLASS)
    def quiet_mode_acl(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``login quiet-mode access-class``: sources still admitted during a quiet period."""
        self.quiet_acl = args["acl"]
        self._changed()

    @handles(catalog.NO_LOGIN_QUIET_MODE_ACCESS_CLASS)
    def no_quiet_mode_acl(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no login quiet-mode access-class``."""
        self.quiet_acl = None
        self._changed()

    @handles(catalog.LOGIN_LOG)
    def login_log(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``login on-failure|on-success log [every N]``."""
        setting = LogEvery(args.get("count", 1))
        if args.get("on-failure"):
            self.on_failure = setting
        else:
            self.on_success = setting
        self._changed()

    @handles(catalog.NO_LOGIN_LOG)
    def no_login_log(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """``no login on-failure|on-success``."""
        if args.get("on-failure"):
            self.on_failure = None
        else:
            self.on_success = None
        self._changed()

    # ---- state -------------------------------------------------------------------------
    def _now(self) -> dt.datetime:
        return self.router.clock.now()

    def quiet(self) -> bool:
        """True while a quiet period lasts."""
        return self.quiet_until is not None and self._now() < self.quiet_until

    def effective_delay(self) -> int:
        """Seconds between two logins (0 while ``login block-for`` is off)."""
        if self.block is None:
            return 0
        return self.delay if self.delay is not None else DEFAULT_DELAY

    def admits(self, source: str) -> bool:
        """True when a login from ``source`` may proceed (no quiet period, or the access class permits it)."""
        if not self.quiet():
            return True
        if self.quiet_acl is None:
            return False
        acl = self.router.feature(Acl).lists.get(self.quiet_acl)
        if acl is None:
            return False
        probe = pk.IPv4(src=source, dst="0.0.0.0", proto=pk.PROTO_TCP, ttl=64, ident=0, payload=b"")
        entry = acl.evaluate(probe, count=False)
        return entry is not None and entry.action == "permit"

    def pace(self) -> float:
        """Reserve the next login slot; return how long (seconds) this attempt must wait for it."""
        delay = self.effective_delay()
        if not delay:
            return 0.0
        now = self._now()
        slot = max(now, self.next_slot or now)
        self.next_slot = slot + dt.timedelta(seconds=delay)
        return (slot - now).total_seconds()

    def record(self, ok: bool, user: str, source: str, port: int = SSH_PORT) -> None:
        """Account for one login attempt: log it and, on failure, watch for an attack."""
        if self.block is None:
            return
        who = f"[user: {user}] [Source: {source}] [localport: {port}]"
        if ok:
            self.successes_seen += 1
            if self.on_success is not None and self.successes_seen % self.on_success.every == 0:
                self._log(f"%SEC_LOGIN-5-LOGIN_SUCCESS: Login Success {who}")
            return
        self.failures_seen += 1
        if self.on_failure is not None and self.failures_seen % self.on_failure.every == 0:
            self._log(f"%SEC_LOGIN-4-LOGIN_FAILED: Login failed {who} [Reason: {_REASON}]")
        if self.quiet():
            return
        now = self._now()
        if self.window_end is None or now >= self.window_end:
            self.window_end, self.failures = now + dt.timedelta(seconds=self.block.within), 0
        self.failures += 1
        if self.failures >= self.block.attempts:
            left = math.ceil((self.window_end - now).total_seconds())
            self.quiet_until = now + dt.timedelta(seconds=self.block.seconds)
            self.window_end, self.failures = None, 0
            acl = self.quiet_acl or DEFAULT_QUIET_ACL
            self._log(
                f"%SEC_LOGIN-1-QUIET_MODE_ON: Still timeleft for watching failures is {left} secs, "
                f"{who} [Reason: {_REASON}] [ACL: {acl}]"
            )

    def tick(self, now: float) -> None:
        """End a quiet period whose time is up (the lab calls this a few times a second)."""
        if self.quiet_until is not None and self._now() >= self.quiet_until:
            self._quiet_off()

    def _quiet_off(self) -> None:
        self.quiet_until = None
        self._log("%SEC_LOGIN-5-QUIET_MODE_OFF: Quiet Mode is OFF, because block period timed out")

    def _log(self, text: str) -> None:
        """Log with IOS's trailing ``at HH:MM:SS ZONE Day Mon D YYYY`` (the router's clock)."""
        clock = self.router.clock
        self.router.feature(System).logmsg(f"{text} at {clock.format(clock.now(), msec=False)}")

    # ---- show --------------------------------------------------------------------------
    @handles(catalog.SHOW_LOGIN)
    def show_login(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show login``."""
        if self.block is None:
            return _indent(
                [
                    "No login delay has been applied.",
                    "No Quiet-Mode access list has been configured.",
                    "",
                    "Router NOT enabled to watch for login Attacks",
                ]
            )
        b = self.block
        lines = [
            f"A login delay of {self.delay} seconds is applied."
            if self.delay is not None
            else f"A default login delay of {DEFAULT_DELAY} seconds is applied.",
            f"Quiet-Mode access list {self.quiet_acl} is applied."
            if self.quiet_acl is not None
            else "No Quiet-Mode access list has been configured.",
        ]
        kinds = (("successful", self.on_success), ("failed", self.on_failure))
        lines += [f"All {kind} login is logged." for kind, setting in kinds if setting is not None]
        lines += [
            "",
            "Router enabled to watch for login Attacks.",
            f"If more than {b.attempts - 1} login failures occur in {b.within} seconds or less, "
            f"logins will be disabled for {b.seconds} seconds.",
            "",
            *self._mode_lines(),
        ]
        return _indent(lines)

    def _mode_lines(self) -> list[str]:
        now = self._now()
        if self.quiet() and self.quiet_until is not None:
            left = math.ceil((self.quiet_until - now).total_seconds())
            whom = (
                "Denying logins from all sources."
                if self.quiet_acl is None
                else f"Denying logins from all sources but those permitted by access list {self.quiet_acl}."
            )
            return [f"Router presently in Quiet-Mode, will remain in Quiet-Mode for {left} seconds.", whom]
        if self.window_end is not None and now < self.window_end and self.failures:
            left = math.ceil((self.window_end - now).total_seconds())
            return [
                f"Router presently in Watch-Mode, will remain in Watch-Mode for {left} seconds.",
                f"Present login failure count {self.failures}.",
            ]
        return ["Router presently in Normal-Mode."]


def _indent(lines: list[str]) -> str:
    """``show login`` indents every line by five spaces (blank lines stay empty)."""
    return "\n".join("     " + line if line else "" for line in lines)
