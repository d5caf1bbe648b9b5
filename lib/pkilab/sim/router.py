"""The simulator's kernel: a router, its features, and what each may provide.

A simulated IOS router (:class:`Router`) has persistent parts (name, file systems) and booted
state: one :class:`Feature` object per area (system, interfaces, clock, PKI, crypto …). Each
feature declares its CLI commands with :func:`command` and renders its share of the running
configuration. Booting creates fresh features and replays ``nvram:startup-config`` through the
interpreter, so that what ``write memory`` saves is exactly what a reload restores.

The contract, declared here and nowhere else:

* What a feature may provide is a method of :class:`Feature` with a no-op default, which the
  kernel calls on every feature: ``config_lines``, ``start``, ``stop``, ``tick(now)`` (the lab's
  periodic work), ``http_apps()`` (path prefix -> :data:`~pkilab.protocols.http.HttpApp`, served
  by :mod:`pkilab.sim.http` and :mod:`pkilab.sim.vhttp`) and ``save_private()`` (``write
  memory``'s private NVRAM data). Nothing is probed with ``getattr``.
* What a router needs of its lab is :class:`LabServices` (the lab's network, its task spawner,
  reloads, the HTTP servers and the SSH channels), so that this module does not import the lab.
* Which features exist, and in which order they are built and started, is the one list
  :data:`pkilab.sim.features.FEATURES`, which the lab hands to :func:`install_features`. Running-config order
  is each feature's ``order``, independent of that list.
* A feature that needs another imports that feature's module at module level and asks its
  router for it by class: ``self.router.feature(Keys)``, typed. The feature modules thus form a
  DAG (Python refuses a circular ``from … import`` of a class at import time) and ``FEATURES``
  lists them in that dependency order (a unit test checks it), so a feature's ``__init__`` or
  ``start`` may reach any feature it imports. Where a lower feature must learn of something in a
  higher one, the lower one offers a callback list that the higher one joins (``Keys.on_remove``)
  or a :class:`typing.Protocol` of what it uses (``crypto_data.KeyExchange``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from types import MethodType
from typing import Any, ClassVar, Protocol, TypeVar

from pkilab import catalog
from pkilab.catalog import Command, Match, NoMatch
from pkilab.device.modes import MODES
from pkilab.protocols.http import HttpApp
from pkilab.sim.clock import Clock
from pkilab.sim.filesys import FileSystems
from pkilab.sim.images import personality_for, timing_for
from pkilab.sim.interp import CliSession
from pkilab.sim.network import Network
from pkilab.testbed import DeviceSpec, Testbed

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T", bound="Feature")


def handles(*commands: Command) -> Callable[[F], F]:
    """Declare a method of a :class:`Feature` as the simulator's handler of catalog ``commands``.

    The command's syntax, modes and privilege level are the catalog's (:mod:`pkilab.catalog`);
    the handler is called as ``handler(ctx, args)`` with ``ctx.command`` the one that matched.
    """

    def mark(func: F) -> F:
        func._pkilab_handles = (*getattr(func, "_pkilab_handles", ()), *commands)  # type: ignore[attr-defined]
        return func

    return mark


class LabServices(Protocol):
    """What a router and its features need of the lab that runs them (:class:`pkilab.sim.lab.Lab`)."""

    testbed: Testbed
    network: Network

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` as a task of the lab."""

    def reload(self, router: Router) -> None:
        """Reload ``router`` (``reload`` command)."""

    def http_changed(self, router: Router) -> None:
        """Start or stop ``router``'s HTTP server to match ``ip http server``."""

    def register_channel(self, router: Router, chan: Any) -> None:
        """Remember an open SSH channel of ``router`` (dropped on reload)."""

    def unregister_channel(self, router: Router, chan: Any) -> None:
        """Forget a closed SSH channel."""


class Feature:
    """One area of router behaviour: state, commands, running-config lines, and the kernel's hooks.

    Every hook has a no-op default; a feature overrides those it provides.
    """

    #: Position of this feature's lines in the running configuration (lower first).
    order: ClassVar[int] = 100
    #: The installed features in build order (:func:`install_features`; the grammars read it too).
    registry: ClassVar[tuple[type[Feature], ...]] = ()

    def __init__(self, router: Router) -> None:
        self.router = router

    def config_lines(self) -> list[str]:
        """Return this feature's running-configuration lines (``!`` separators included)."""
        return []

    def start(self) -> None:
        """Called once the startup configuration has been applied."""

    def stop(self) -> None:
        """Called when the router reloads or the lab stops."""

    def tick(self, now: float) -> None:
        """Periodic work, called by the lab every few hundred milliseconds while the router is up.

        Args:
            now: ``time.monotonic()`` of this round.
        """

    def http_apps(self) -> Mapping[str, HttpApp]:
        """The HTTP applications this feature serves when ``ip http server`` is on, by path prefix."""
        return {}

    def save_private(self) -> None:
        """``write memory``: write what the feature keeps outside the configuration text (keys, certificates)."""


def install_features(classes: Sequence[type[Feature]]) -> None:
    """Make ``classes`` the features every router is built with, in this order.

    Raises:
        ValueError: a class is listed twice.
    """
    if len(set(classes)) != len(classes):
        raise ValueError("a feature is listed twice")
    if Feature.registry != tuple(classes):
        Feature.registry = tuple(classes)
        GrammarSet.invalidate()


class GrammarSet:
    """The catalog's keyword trees, each command bound to the feature method that handles it."""

    _handlers: ClassVar[dict[Command, tuple[type[Feature], Callable[..., Any]]] | None] = None

    @classmethod
    def invalidate(cls) -> None:
        """Forget the handler table (a feature class was added)."""
        cls._handlers = None

    @classmethod
    def handlers(cls) -> dict[Command, tuple[type[Feature], Callable[..., Any]]]:
        """Every catalog command the simulator handles, with its feature class and method.

        Raises:
            ValueError: Two methods declare the same command.
        """
        if cls._handlers is None:
            table: dict[Command, tuple[type[Feature], Callable[..., Any]]] = {}
            for feature in Feature.registry:
                for func in vars(feature).values():
                    for cmd in getattr(func, "_pkilab_handles", ()):
                        if cmd in table:
                            raise ValueError(f"{cmd!r} handled by {table[cmd][1]} and {func}")
                        table[cmd] = (feature, func)
            cls._handlers = table
        return cls._handlers

    def __init__(self, router: Router) -> None:
        self.router = router

    def match(self, mode: str, line: str) -> tuple[Match, Callable[..., Any]] | NoMatch:
        """Match ``line`` in ``mode``; the match and this router's bound handler of its command."""
        if mode not in MODES:
            return NoMatch("invalid", 0)
        result = catalog.match(mode, line)
        if isinstance(result, NoMatch):
            return result
        bound = self.handlers().get(result.command)
        if bound is None:  # a catalog command the simulator does not play (the contract test lists none)
            return NoMatch("invalid", 0)
        feature_cls, func = bound
        return result, MethodType(func, self.router.feature(feature_cls))

    def help_at(self, mode: str, line: str) -> list[tuple[str, str]] | NoMatch:
        """``?`` help in ``mode``."""
        return catalog.tree(mode).help_at(line) if mode in MODES else []


class Router:
    """A simulated router. Its file systems outlive reloads; its features do not."""

    def __init__(self, lab: LabServices, spec: DeviceSpec) -> None:
        self.lab = lab
        self.spec = spec
        self.name = spec.name
        self.hostname = spec.name
        #: The IOS image this router plays and its timers (``custom.sim.image``, ``custom.sim.timing``).
        self.personality = personality_for(spec, str(lab.testbed.path))
        self.timing = timing_for(spec)
        self.fs = FileSystems(self.name)
        self.clock = Clock()
        self.grammars = GrammarSet(self)
        self.features: dict[type[Feature], Feature] = {}
        self.booted_at = time.monotonic()
        self.up = False
        self.reloads = 0
        self.faults: frozenset[str] = frozenset(spec.faults)
        self.errors: list[str] = []  # simulator bugs caught at run time, for diagnostics

    # ---- features ----------------------------------------------------------------------
    def feature(self, cls: type[T]) -> T:
        """Return this router's instance of feature ``cls``."""
        return self.features[cls]  # type: ignore[return-value]

    def has_fault(self, name: str) -> bool:
        """Return True when the testbed tells this router to misbehave in way ``name``."""
        return name in self.faults

    # ---- boot --------------------------------------------------------------------------
    def boot(self, startup: str | None = None) -> list[str]:
        """Create fresh features and apply the startup configuration; return rejected lines."""
        for f in self.features.values():
            f.stop()
        # The calendar keeps running across a reload, but nothing vouches for it until NTP or
        # `clock set` does.
        self.clock.authoritative = False
        self.clock.ntp_synced = False
        # One by one, in the installed order: a feature's __init__ may reach those built before it.
        self.features = {}
        for cls in Feature.registry:
            self.features[cls] = cls(self)
        self.hostname = "Router"
        self.booted_at = time.monotonic()
        text = startup if startup is not None else self.fs.read_text("nvram:startup-config") or ""
        rejected = self.apply_config(text)
        for f in self.features.values():
            f.start()
        self.up = True
        return rejected

    def apply_config(self, text: str) -> list[str]:
        """Apply configuration lines non-interactively; return the lines IOS would reject."""
        session = CliSession(self, privilege=15, interactive=False)
        session.push_mode("config")
        rejected: list[str] = []
        for raw in text.splitlines():
            line = raw.rstrip()
            if not line.strip() or line.lstrip().startswith("!"):
                continue
            if line.strip() == "end":
                break
            if line.lstrip().lower().startswith(("building configuration", "current configuration", "version ")):
                continue
            # Indentation tells which mode a line belongs to; a top-level line leaves sub-modes.
            if not raw[:1].isspace():
                session.to_mode("config")
            step = session.feed(line.strip())
            if "% " in step.output and ("Invalid" in step.output or "Incomplete" in step.output):
                rejected.append(line)
        return rejected

    def running_config(self) -> list[str]:
        """Render the running configuration from the features' state."""
        lines: list[str] = []
        for f in sorted(self.features.values(), key=lambda f: f.order):
            lines.extend(f.config_lines())
        return lines

    def tick(self, now: float) -> None:
        """Run every feature's periodic work; a feature's exception is kept in :attr:`errors`."""
        for f in self.features.values():
            try:
                f.tick(now)
            except Exception as exc:  # one feature's bug must not stop the router or the lab
                self.errors.append(f"{type(f).__name__}.tick: {exc!r}")

    def uptime_seconds(self) -> float:
        """Seconds since the last boot."""
        return time.monotonic() - self.booted_at

    def new_session(self, privilege: int) -> CliSession:
        """Open a CLI session at ``privilege``."""
        return CliSession(self, privilege=privilege)
