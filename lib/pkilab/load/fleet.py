"""The virtual branches of a run on one event loop: packets, timers, the phases of the run.

A :class:`Fleet` owns the branches and a :class:`~pkilab.load.ports.Port`. It hands each
packet to the branch that owns its destination address, runs each branch's IKE timers when
they fall due, and carries the run through its phases as coroutines the driver awaits one after
the other (:mod:`pkilab.load.run`): bring-up (key pair, SCEP, main and quick mode, first echo,
at the requested rate), the revoked branches' second attempt, holding the tunnels with traffic.
What happens is counted as it happens (:class:`Counts`) for the live progress and sampled once a
second for the report.

The loop thread's CPU spent inside the branches' IKE work is added up as it happens
(:class:`IkeCpu`): each call into a branch that runs its IKE engine (starting main mode, an IKE
packet received, its IKE timers) is bracketed by two reads of ``time.thread_time()``; for a packet,
the branch says whether it went to its engine. ESP and the
echoes, enrollment, the fleet's own bookkeeping and whatever else shares the loop (a simulated
lab in the same process) are outside the brackets, so the sum is the branches' IKE work alone,
which the run sets against the OpenSSL ceiling (:mod:`pkilab.load.ceiling`).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

from pkilab.errors import PkilabError
from pkilab.load import INFLIGHT
from pkilab.load.branch import BranchProfile, VirtualBranch
from pkilab.load.enroll import Enroller
from pkilab.load.ports import Port
from pkilab.load.states import Phase
from pkilab.sim import packets as pk

KeyMaker = Callable[[], rsa.RSAPrivateKey]


def _timed(keys: KeyMaker) -> tuple[rsa.RSAPrivateKey, float]:
    """A key pair and the seconds its generation took (not the wait for a worker thread)."""
    start = time.perf_counter()
    key = keys()
    return key, time.perf_counter() - start


SAMPLE_EVERY = 0.5  # seconds between samples of the counts and the CPU
_cpu = time.thread_time  # the loop thread's CPU: a lab on the same loop runs outside the brackets


@dataclass
class IkeCpu:
    """The loop thread's CPU seconds inside the branches' IKE work, and the calls it was spent in."""

    seconds: float = 0.0
    calls: int = 0


@dataclass(frozen=True)
class Pacing:
    """How hard the fleet pushes and how long it waits.

    Attributes:
        rate: branches started per second (0: as fast as ``inflight`` allows).
        inflight: handshakes negotiating at once (a headend drowning in retransmissions measures nothing).
        tunnel: seconds a branch may take from its first main mode message to its tunnel.
        echo: seconds to wait for one echo reply; ``echo_tries`` echoes before traffic counts as failed.
        hold_interval: seconds between echoes while the tunnels are held (``--duration``).
    """

    rate: float = 0.0
    inflight: int = INFLIGHT
    tunnel: float = 60.0
    echo: float = 2.0
    echo_tries: int = 5
    hold_interval: float = 5.0


@dataclass
class Counts:
    """What the live progress shows, updated as branches move."""

    enrolled: int = 0
    up: int = 0
    passing: int = 0
    refused: int = 0
    failed: int = 0
    handshakes: int = 0


@dataclass
class Sample:
    """One second of the run, for the report's plots."""

    t: float
    enrolled: int
    up: int
    refused: int
    failed: int
    handshakes: int
    cpu_host: float
    cpu_process: float


@dataclass
class Fleet:
    """The branches of a run and the loop-side work on them."""

    branches: list[VirtualBranch]
    port: Port
    pacing: Pacing = field(default_factory=Pacing)
    counts: Counts = field(default_factory=Counts)
    samples: list[Sample] = field(default_factory=list)
    started: float = 0.0
    _by_address: dict[str, VirtualBranch] = field(default_factory=dict)
    _timers: dict[int, asyncio.TimerHandle] = field(default_factory=dict)
    _up: set[int] = field(default_factory=set)
    _phases: Counter[Phase] = field(default_factory=Counter)
    _sampler: asyncio.Task[None] | None = None
    _echo_gate: asyncio.Semaphore | None = None
    ike: IkeCpu = field(default_factory=IkeCpu)

    @classmethod
    def build(cls, addresses: Sequence[tuple[str, str]], profile: BranchProfile, port: Port, pacing: Pacing) -> Fleet:
        """Branches on (IKE address, LAN address) pairs, sending through ``port``."""
        branches = [VirtualBranch(i, a, lan, profile, port.send) for i, (a, lan) in enumerate(addresses)]
        fleet = cls(branches, port, pacing)
        fleet._phases[Phase.NEW] = len(branches)
        for b in branches:
            b.on_change = fleet._changed
            fleet._by_address[b.address] = b
        return fleet

    # ---- packets and timers -----------------------------------------------------------------------
    async def open(self, claims: Sequence[str]) -> None:
        """Claim the addresses on the port and start delivering packets and sampling."""
        self.started = time.monotonic()
        self._echo_gate = asyncio.Semaphore(self.pacing.inflight)
        await self.port.open(claims, self.deliver)
        self._sampler = asyncio.get_running_loop().create_task(self._sample())

    def deliver(self, packet: bytes) -> None:
        """A packet from the lab: to the branch that owns its destination."""
        if len(packet) < 20:
            return
        branch = self._by_address.get(pk.dotted(bytes(packet[16:20])))
        if branch is None:
            return
        start = _cpu()
        if branch.receive(packet, time.monotonic()):  # the branch tells IKE from ESP and the rest
            self._spent(start)
        self.schedule(branch)

    def _spent(self, start: float) -> None:
        """Add the loop thread's CPU since ``start`` to the branches' IKE work."""
        ike = self.ike
        ike.seconds += _cpu() - start
        ike.calls += 1

    def _initiate(self, branch: VirtualBranch) -> None:
        """Start (or restart) main mode, counted as IKE work."""
        start = _cpu()
        branch.initiate(time.monotonic())
        self._spent(start)
        self.schedule(branch)

    def schedule(self, branch: VirtualBranch) -> None:
        """Run ``branch``'s IKE timers when they fall due (after each interaction with it).

        A timer set for the same moment or an earlier one stays: if it fires before anything is
        due, :meth:`_tick` sets it again. Each answer pushes a branch's retransmission deadline
        later, so a handshake costs one timer instead of a cancelled and a new one per packet.
        """
        due = branch.next_deadline()
        if due is None:
            return  # a timer still set finds nothing due when it fires
        old = self._timers.get(branch.index)
        if old is not None:
            if old.when() <= due:
                return
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[branch.index] = loop.call_at(max(due, loop.time()), self._tick, branch)

    def _tick(self, branch: VirtualBranch) -> None:
        del self._timers[branch.index]
        now = time.monotonic()
        due = branch.next_deadline()
        if due is not None and due <= now:
            start = _cpu()
            branch.tick(now)
            self._spent(start)
        self.schedule(branch)

    def _changed(self, branch: VirtualBranch, event: str, before: Phase) -> None:
        c = self.counts
        if event == "enrolled":
            c.enrolled += 1
        elif event == "up":
            c.handshakes += 1
            self._up.add(branch.index)
        elif event == "down":
            self._up.discard(branch.index)
        if before is not branch.phase:
            self._phases[before] -= 1
            self._phases[branch.phase] += 1
        c.up = len(self._up)
        c.passing = self._phases[Phase.PASSING]
        c.refused = self._phases[Phase.REFUSED]
        c.failed = self._phases[Phase.FAILED] + self._phases[Phase.ADMITTED]

    async def _sample(self) -> None:
        import psutil

        proc = psutil.Process()
        psutil.cpu_percent(None)
        proc.cpu_percent(None)
        self.samples.append(Sample(0.0, 0, 0, 0, 0, 0, 0.0, 0.0))
        while True:
            await asyncio.sleep(SAMPLE_EVERY)
            self._record(psutil.cpu_percent(None), proc.cpu_percent(None))

    def _record(self, cpu_host: float, cpu_process: float) -> None:
        c = self.counts
        t = time.monotonic() - self.started
        self.samples.append(Sample(t, c.enrolled, c.up, c.refused, c.failed, c.handshakes, cpu_host, cpu_process))

    def close(self) -> None:
        """Stop the timers and the sampling (one last sample), give the addresses back."""
        if self._sampler is not None:
            self._sampler.cancel()
            last = self.samples[-1] if self.samples else None
            self._record(last.cpu_host if last else 0.0, last.cpu_process if last else 0.0)
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self.port.close()

    # ---- phase 1: bring-up --------------------------------------------------------------------------
    async def bring_up(self, enroller: Enroller | None, keys: KeyMaker, executor: Executor) -> None:
        """Every branch: key pair and certificate (rsig), tunnel, first echo; at the pacing's rate."""
        gate = asyncio.Semaphore(self.pacing.inflight)
        tasks = []
        loop = asyncio.get_running_loop()
        for i, branch in enumerate(self.branches):
            if self.pacing.rate > 0:
                delay = self.started + i / self.pacing.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(loop.create_task(self._bring_up(branch, enroller, keys, executor, gate)))
        await asyncio.gather(*tasks)

    async def _bring_up(
        self,
        branch: VirtualBranch,
        enroller: Enroller | None,
        keys: KeyMaker,
        executor: Executor,
        gate: asyncio.Semaphore,
    ) -> None:
        branch.at.started = time.monotonic()
        try:
            if enroller is not None:
                key, branch.at.keygen = await asyncio.get_running_loop().run_in_executor(executor, _timed, keys)
                branch.at.keys = time.monotonic()
                enrolled = await enroller.enroll(key, branch.name, branch.address)
                branch.at.enroll_sent, branch.at.enrolled = enrolled.sent, enrolled.done
                branch.credentials(key, enrolled.certificate)
                branch.event("enrolled", branch.at.enrolled)
            else:
                branch.credentials(None, None)
            async with gate:
                up = await self.tunnel(branch)
            if up:
                await self.traffic(branch)
        except PkilabError as exc:
            branch.fail(str(exc), time.monotonic())

    async def tunnel(self, branch: VirtualBranch) -> bool:
        """Start main and quick mode; True once the tunnel is up (else the branch has failed)."""
        waiter = branch.wait_up()
        self._initiate(branch)
        try:
            up = await asyncio.wait_for(waiter, self.pacing.tunnel)
        except TimeoutError:
            why = "; ".join(branch.refusals) or "no answer"
            branch.fail(f"no tunnel within {self.pacing.tunnel:g} s ({why})", time.monotonic())
            self.stop(branch)
            return False
        if not up:
            branch.fail(f"refused by the headend ({', '.join(branch.refusals)})", time.monotonic())
            self.stop(branch)
        return up

    async def traffic(self, branch: VirtualBranch) -> bool:
        """Echoes through the tunnel until one is answered; the branch fails after ``echo_tries``.

        At most ``inflight`` branches wait for an echo at once: a thousand at a time would time out
        in the headend's queue and measure the tool, not the headend.
        """
        assert self._echo_gate is not None, "open() first"
        async with self._echo_gate:
            return await self._echo(branch)

    async def _echo(self, branch: VirtualBranch) -> bool:
        for _ in range(self.pacing.echo_tries):
            fut = branch.ping(time.monotonic())
            self.schedule(branch)
            try:
                if await asyncio.wait_for(fut, self.pacing.echo):
                    branch.at.traffic = branch.at.traffic or time.monotonic()
                    branch.event("traffic", time.monotonic())
                    return True
            except TimeoutError:
                branch.forget_echo(fut)
            if not branch.tunnel_up:
                break
        branch.fail(f"no echo reply through the tunnel ({branch.echoes_sent} sent)", time.monotonic())
        return False

    def stop(self, branch: VirtualBranch) -> None:
        """Drop the branch's SAs (as ``clear crypto session`` on a router); no more retries."""
        branch.reset(time.monotonic())
        self.schedule(branch)

    # ---- phase 2: revocation ---------------------------------------------------------------------
    def snapshot(self) -> dict[int, frozenset[int]]:
        """Inbound SPIs of every branch's installed SAs (to prove the others were left alone)."""
        return {b.index: frozenset(b.inbound) for b in self.branches}

    async def mark_revoked(self, chosen: Sequence[VirtualBranch]) -> None:
        """Note the branches whose certificates are being revoked."""
        now = time.monotonic()
        for branch in chosen:
            branch.at.revoked = now
            branch.event("revoked", now)

    async def after_revocation(self, chosen: Sequence[VirtualBranch], before: dict[int, frozenset[int]]) -> None:
        """Revoked branches try again and must be refused; every other passing branch must be untouched."""
        revoked = {b.index for b in chosen}
        await asyncio.gather(*(self._retry_refused(b) for b in chosen))
        others = [b for b in self.branches if b.index not in revoked and b.phase is Phase.PASSING]
        await asyncio.gather(*(self._untouched(b, before.get(b.index, frozenset())) for b in others))

    async def _retry_refused(self, branch: VirtualBranch) -> None:
        self.stop(branch)  # whatever the headend's clear left on our side
        if branch.phase is not Phase.REVOKED:
            return
        waiter = branch.wait_up()
        self._initiate(branch)
        try:
            await asyncio.wait_for(waiter, self.pacing.tunnel)
        except TimeoutError:
            branch.fail(f"neither refused nor admitted within {self.pacing.tunnel:g} s", time.monotonic())
        self.stop(branch)

    async def _untouched(self, branch: VirtualBranch, spis: frozenset[int]) -> None:
        if not spis <= set(branch.inbound):
            branch.fail("its tunnel was renegotiated while others were revoked", time.monotonic())
            return
        await self.traffic(branch)

    # ---- phase 3: holding the tunnels ---------------------------------------------------------------
    async def hold(self, until: float) -> None:
        """Keep every passing branch's traffic going until ``until`` (monotonic); bring fallen tunnels back."""
        while time.monotonic() < until:
            live = [b for b in self.branches if b.phase is Phase.PASSING]
            await asyncio.gather(*(self._keep(b) for b in live))
            await asyncio.sleep(min(self.pacing.hold_interval, max(0.0, until - time.monotonic())))

    async def _keep(self, branch: VirtualBranch) -> None:
        if not branch.tunnel_up and not await self.tunnel(branch):
            return  # IOS brings a tunnel back when traffic needs it (after DPD or a lifetime)
        await self.traffic(branch)

    async def final_check(self) -> None:
        """One more echo from every branch that must still pass traffic."""
        live = [b for b in self.branches if b.phase is Phase.PASSING]
        await asyncio.gather(*(self._keep(b) for b in live))
