"""A whole load run: the lab, the branches, the phases, the verdict.

The virtual branches live on an event loop in a background thread: the simulated lab's own loop
when ``pkilab load`` started the lab (the branches then join its outside link in-process), or a
loop of their own with sockets on the host's addresses for real routers. This thread drives the
phases one after the other and does the CLI work between them (revocation, the headend's view),
printing progress while it waits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import threading
import time
import warnings
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.utils import CryptographyDeprecationWarning

from pkilab.errors import PkilabError, SimError, UserError
from pkilab.load import INFLIGHT
from pkilab.load import lab as labmod
from pkilab.load.branch import BranchProfile, VirtualBranch
from pkilab.load.ceiling import Ceiling, CeilingTiming, time_ceiling
from pkilab.load.enroll import CaView, Enroller, EnrollError, HttpPool, fetch_ca
from pkilab.load.fleet import Fleet, Pacing
from pkilab.load.ports import HostLink, Port, PortError, SegmentLink, UdpLink
from pkilab.load.results import Outcome, branch_rows, outcome
from pkilab.load.states import Phase
from pkilab.pki.keys import generate_rsa_key
from pkilab.plan import LabPlan, LoadPlan
from pkilab.protocols.ike import DpdConfig, EngineOptions, IsakmpPolicy, Phase2Policy, Selector, TransformSet
from pkilab.testbed import Testbed, env_port_offset

T = TypeVar("T")
EXIT_OK, EXIT_FAILED, EXIT_PREFLIGHT = 0, 1, 3


class PreflightError(PkilabError):
    """The lab could not be reached or identified (exit code 3)."""


@dataclass(frozen=True)
class LoadOptions:
    """What ``pkilab load`` was asked to do."""

    branches: int
    rate: float = 0.0
    auth: str = "rsig"
    grant: str = "auto"
    revoke: float = 0.0
    duration: float = 0.0
    inflight: int = INFLIGHT

    def check(self, plan: LabPlan) -> LoadPlan:
        """The plan's load block, once the options fit the lab.

        Raises:
            UserError: one line naming the option or the testbed field at fault.
        """
        where = str(plan.path)
        if self.auth == "psk" and self.revoke:
            raise UserError("--revoke needs --auth rsig (pre-shared keys cannot be revoked)")
        for role, present in (("ca", plan.ca_plan), ("headend", plan.headend_plan), ("ping target", plan.ping_target)):
            if not present:
                raise UserError(f"{where}: the lab plan has no {role}; pkilab load needs a CA, a headend and a target")
        load = plan.load
        if load is None or load.pool is None:
            raise UserError(f"{where}: custom.pkilab.load.pool: required for real routers (the branches' addresses)")
        for name, pool in (("pool", load.pool), ("lan_pool", load.lan_pool)):
            if pool.size < self.branches:
                raise UserError(
                    f"{where}: custom.pkilab.load.{name}: {pool} has {pool.size} addresses for {self.branches} branches"
                )
        return load


@dataclass
class Run:
    """A finished run: what was measured, the verdict, and the raw material of the report."""

    options: LoadOptions
    plan: LabPlan
    fleet: Fleet
    revoked: list[VirtualBranch]
    view: labmod.HeadendView | None
    result: Outcome
    started: dt.datetime
    elapsed: float
    phases: list[tuple[str, float, float]] = field(default_factory=list)
    ceiling: CeilingTiming | None = None

    def document(self) -> dict[str, Any]:
        """``results.json``: counts and timings at the top, then the detail."""
        chosen = {b.index for b in self.revoked}
        return {
            **self.result.counts,
            **self.result.timings,
            "ok": self.result.ok,
            "problems": self.result.problems,
            "started": self.started.isoformat(timespec="seconds"),
            "elapsed_s": round(self.elapsed, 2),
            "options": {
                "auth": self.options.auth,
                "grant": self.options.grant,
                "rate": self.options.rate,
                "revoke_pct": self.options.revoke,
                "duration_s": self.options.duration,
                "inflight": self.options.inflight,
            },
            "phases": [{"name": n, "start_s": round(a, 2), "end_s": round(b, 2)} for n, a, b in self.phases],
            "ceiling": self._ceiling_detail(),
            "headend_view": self.view.to_dict() if self.view else None,
            "plan": self.plan.to_dict(),
            "timeline": [vars(s) for s in self.fleet.samples],
            "branch_details": branch_rows(self.fleet.branches, chosen),
        }

    def _ceiling_detail(self) -> dict[str, Any]:
        """How the branch side and the ceiling were measured (the figures are at the top)."""
        ike, timing = self.fleet.ike, self.ceiling
        return {
            "handshakes": self.fleet.counts.handshakes,
            "headend": self.fleet.port.where,
            "branch_ike_cpu_s": round(ike.seconds, 4),
            "branch_ike_calls": ike.calls,
            "work": timing.work if timing else None,
            "reps": timing.reps if timing else 0,
        }


Timers = tuple[EngineOptions, DpdConfig]


def engine_timers(plan: LabPlan, testbed: Testbed) -> Timers:
    """IOS's IKE timers (retransmission, DPD), or the simulated headend's own, which may run faster."""
    keepalive, retry = float(labmod.KEEPALIVE), 2.0
    if not plan.simulated:
        return EngineOptions(), DpdConfig(keepalive, retry)
    interval, limit, divisor = _sim_timers(testbed.device(plan.headend.name))
    return EngineOptions(retransmit_interval=interval, retransmit_limit=limit), DpdConfig(
        keepalive / divisor, retry / divisor
    )


def _sim_timers(spec: Any) -> tuple[float, int, float]:
    """A simulated router's IKE retransmission interval and limit, and what divides its DPD timers."""
    from pkilab.sim.images import timing_for

    timing = timing_for(spec)
    return timing.ike_retransmit, timing.ike_retransmit_limit, timing.dpd_divisor


def profile(plan: LabPlan, psk: bool, ca: CaView | None, host_sockets: bool, timers: Timers) -> BranchProfile:
    """What every branch shares, from the lab plan."""
    crypto = plan.crypto
    policy = IsakmpPolicy.from_ios(
        10, crypto.ike_encr, crypto.ike_hash, "pre-share" if psk else "rsa-sig", crypto.dh_group
    )
    transform = TransformSet.from_ios(labmod.TAG, crypto.esp.split())
    target = ipaddress.IPv4Address(plan.target)
    remote = next((n for n in plan.protected if target in n), ipaddress.IPv4Network(f"{target}/32"))
    options, dpd = timers
    return BranchProfile(
        headend=plan.headend.address,
        target=plan.target,
        remote=Selector(remote),
        policies=(policy,),
        phase2=Phase2Policy((transform,)),
        psk=plan.psk.encode() if psk else None,
        ca_cert=ca.certificate if ca else None,
        options=options,
        dpd=dpd,
        nat_t=host_sockets,
    )


def addresses(load: LoadPlan, count: int) -> list[tuple[str, str]]:
    """(IKE address, LAN address) of each branch."""
    assert load.pool is not None
    return [(load.pool.address(i), load.lan_pool.address(i)) for i in range(count)]


def claims(load: LoadPlan, count: int) -> list[str]:
    """The addresses the branches take on the link: their range, and the gateway the headend routes to."""
    assert load.pool is not None
    out = [f"{load.pool.address(0)}-{load.pool.address(count - 1)}"]
    return [*out, load.gateway] if load.gateway else out


def pick_revoked(branches: list[VirtualBranch], percent: float) -> list[VirtualBranch]:
    """``percent`` of the branches passing traffic, spread evenly over the fleet."""
    passing = [b for b in branches if b.phase is Phase.PASSING]
    count = round(len(branches) * percent / 100.0)
    if count <= 0 or not passing:
        return []
    count = min(count, len(passing))
    return [passing[int(i * len(passing) / count)] for i in range(count)]


class LoopThread:
    """An event loop in a daemon thread (the branches' own, for real routers)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pkilab-load", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Driver:
    """Runs coroutines on the branches' loop from this thread, reporting progress while it waits."""

    loop: asyncio.AbstractEventLoop
    on_wait: Callable[[], None] = lambda: None
    phases: list[tuple[str, float, float]] = field(default_factory=list)
    origin: float = field(default_factory=time.monotonic)

    def call(self, name: str, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to its end; ``name`` goes into the report's phase list."""
        start = time.monotonic() - self.origin
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        while True:
            try:
                value = future.result(timeout=0.5)
                break
            except TimeoutError:
                self.on_wait()
        self.on_wait()
        self.phases.append((name, start, time.monotonic() - self.origin))
        return value

    def step(self, name: str, fn: Callable[[], T]) -> T:
        """A CLI step between phases, timed like one."""
        start = time.monotonic() - self.origin
        value = fn()
        self.phases.append((name, start, time.monotonic() - self.origin))
        return value


Side = tuple[asyncio.AbstractEventLoop, Port, tuple[str, int], Testbed]


@contextmanager
def branch_side(
    plan: LabPlan, testbed: Testbed, attach: tuple[str, int] | None = None, offset: int | None = None
) -> Iterator[Side]:
    """The branches' loop and port, the CA's HTTP address, and the testbed sessions use.

    A simulated testbed's lab is started here, on ports moved by ``offset`` (default
    ``PKILAB_PORT_OFFSET``), unless ``attach`` names the link port of one running elsewhere
    (``pkilab sim up --link-port``; its ports are the testbed's as written).
    """
    if not testbed.simulated or attach is not None:
        assert plan.load is not None
        thread = LoopThread()
        ca = testbed.device(plan.ca.device)
        if attach is not None and ca.sim is not None:
            port: Port = UdpLink(*attach)
            http = ("127.0.0.1", ca.sim.http_port)
        else:
            port, http = HostLink(plan.load.interface), (plan.ca.address, 80)
        try:
            yield thread.loop, port, http, testbed
        finally:
            thread.stop()
        return
    with warnings.catch_warnings():  # asyncssh names DSA classes that cryptography deprecates
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        from pkilab.labs.sim import SimLabRunner
        from pkilab.sim import lab as _lab  # noqa: F401

    if offset is None:
        offset = env_port_offset()
    shifted = testbed.shifted(offset)
    try:
        runner = SimLabRunner(shifted).start()
    except SimError as exc:
        raise UserError(str(exc)) from None
    try:
        spec = shifted.device(plan.headend.name)
        link = next(i.link for i in spec.interfaces if i.name == plan.headend.outside_if)
        ca = shifted.device(plan.ca.device)
        assert runner.loop is not None and link is not None and ca.sim is not None
        yield runner.loop, SegmentLink(runner.lab, link), ("127.0.0.1", ca.sim.http_port), shifted
    finally:
        runner.stop()


def execute(
    plan: LabPlan,
    testbed: Testbed,
    options: LoadOptions,
    on_wait: Callable[[Fleet | None], None],
    attach: tuple[str, int] | None = None,
    offset: int | None = None,
) -> Run:
    """Run the whole load test; the caller writes the results and the report.

    Raises:
        UserError: the options do not fit the lab, or the lab cannot host the run as it is.
        PreflightError: a device cannot be reached or identified.
    """
    options.check(plan)
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    psk = options.auth == "psk"
    if attach is not None and not testbed.simulated:
        raise UserError("--attach reaches a simulated lab's link port; this testbed is real routers")
    with branch_side(plan, testbed, attach, offset) as (loop, port, http, used):
        from pkilab.fixtures import SessionPool
        from pkilab.preflight import check_lab

        pool = SessionPool(used)
        for secret in plan.secrets():
            pool.masker.add(secret)
        try:
            failure = check_lab(
                tuple(d for d in used.devices if d.name in (plan.ca.device, plan.headend.name)), pool.get
            )
            if failure is not None:
                raise PreflightError(pool.masker.mask(failure.line()))
            holder: dict[str, Fleet] = {}
            driver = Driver(loop, lambda: on_wait(holder.get("fleet")))
            try:
                with labmod.prepared(plan, pool.get, psk, options.grant) as lab:
                    timers = engine_timers(plan, used)
                    return _phases(plan, options, timers, lab, driver, port, http, holder, started, t0)
            except labmod.LabSetupError as exc:
                raise UserError(str(exc)) from None
        finally:
            pool.close()


def _phases(
    plan: LabPlan,
    options: LoadOptions,
    timers: Timers,
    lab: labmod.LoadLab,
    driver: Driver,
    port: Port,
    http: tuple[str, int],
    holder: dict[str, Fleet],
    started: dt.datetime,
    t0: float,
) -> Run:
    psk = options.auth == "psk"
    load = plan.load
    assert load is not None  # LoadOptions.check
    cli = ThreadPoolExecutor(1, thread_name_prefix="pkilab-load-cli")
    keygen = ThreadPoolExecutor(2, thread_name_prefix="pkilab-load-keygen")
    http_pool = HttpPool(*http)
    try:
        try:
            ca = None if psk else driver.call("CA certificate", fetch_ca(http_pool, lab.ca_fingerprint))
        except EnrollError as exc:
            raise PreflightError(f"the CA over SCEP ({http[0]}:{http[1]}): {exc}") from None
        pacing = Pacing(options.rate, options.inflight, plan.deadlines.tunnel, 2.0 if plan.simulated else 5.0)
        fleet = Fleet.build(
            addresses(load, options.branches), profile(plan, psk, ca, isinstance(port, HostLink), timers), port, pacing
        )
        holder["fleet"] = fleet
        try:
            driver.call("attach", fleet.open(claims(load, options.branches)))
        except PortError as exc:
            raise UserError(str(exc)) from None
        enroller = None
        if ca is not None:
            otp = None
            if options.grant == "otp":
                otp = lambda: asyncio.get_running_loop().run_in_executor(cli, lab.one_time_password)  # noqa: E731
            enroller = Enroller(http_pool, ca, plan.domain, otp)
        modulus = plan.crypto.modulus
        driver.call("bring-up", fleet.bring_up(enroller, lambda: generate_rsa_key(modulus), keygen))
        revoked = _revocation(fleet, lab, driver, options.revoke)
        if options.duration > 0:
            driver.call("hold", fleet.hold(t0 + options.duration))
        driver.call("final traffic check", fleet.final_check())
        view = driver.step("headend view", lambda: lab.view([b.address for b in fleet.branches]))
        driver.call("detach", _close(fleet, http_pool))
        ceiling = driver.step("OpenSSL ceiling", lambda: _ceiling(plan, psk, fleet.counts.handshakes))
        notes = list(lab.notes)
        result = outcome(fleet, revoked, view, notes, ceiling)
        elapsed = time.monotonic() - t0
        return Run(options, plan, fleet, revoked, view, result, started, elapsed, driver.phases, ceiling)
    finally:
        cli.shutdown(wait=False)
        keygen.shutdown(wait=False, cancel_futures=True)
        driver.loop.call_soon_threadsafe(http_pool.close)  # idle connections belong to the loop


def _ceiling(plan: LabPlan, psk: bool, handshakes: int) -> CeilingTiming | None:
    """The run's crypto timed with OpenSSL alone in this thread, as many handshakes' worth as were done (capped)."""
    if handshakes <= 0:
        return None
    crypto = plan.crypto
    return time_ceiling(Ceiling.for_run(crypto.modulus, crypto.dh_group, psk), handshakes)


def _revocation(fleet: Fleet, lab: labmod.LoadLab, driver: Driver, percent: float) -> list[VirtualBranch]:
    """Revoke ``percent`` of the branches on the CA, clear them on the headend, watch them being refused."""
    revoked = pick_revoked(fleet.branches, percent)
    if revoked:
        before = fleet.snapshot()
        driver.call("revoke", fleet.mark_revoked(revoked))
        serials = [b.cert.serial_number for b in revoked if b.cert is not None]
        driver.step("revoke on the CA, CRL to the headend", lambda: lab.revoke(serials))
        driver.step("clear the revoked branches' SAs", lambda: lab.clear([b.address for b in revoked]))
        driver.call("revoked branches refused", fleet.after_revocation(revoked, before))
    return revoked


async def _close(fleet: Fleet, http: HttpPool) -> None:
    fleet.close()
    http.close()


def report_paths(out: Path) -> tuple[Path, Path]:
    """Where ``results.json`` and ``report.html`` go."""
    return out / "results.json", out / "report.html"
