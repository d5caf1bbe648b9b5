"""pytest fixtures: the testbed, the lab, sessions by role, transcripts, ``wait_until``.

* ``testbed`` (session): the validated :class:`~pkilab.testbed.Testbed`.
* ``lab`` (session): starts the simulated lab when the testbed is simulated; nothing for real
  routers. Reports each device's role, platform and image as JUnit suite properties.
* ``sessions`` (session): a pool of connected :class:`~pkilab.device.session.Session`, one per
  device, reconnected when a device dropped them (after a reload).
* ``device`` (function): ``device("headend")`` or ``device("ese-cryagg")`` returns a session;
  the test's transcript is cut from it and the device is recorded as used by the test.
* ``plan`` (session): the :class:`~pkilab.plan.LabPlan` built from the testbed.
* ``wait_until``: :func:`pkilab.wait.wait_until`.
* ``hostsrv`` (module): the TFTP and HTTP file servers on the test host
  (:class:`pkilab.hostsrv.HostServers`) at the testbed's ``custom.hostsrv``; skips the module
  when the testbed has none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pkilab.device.session import Session
from pkilab.errors import SimError
from pkilab.junitprops import PROP_PLAN
from pkilab.plan import LabPlan
from pkilab.plugin import POOL_KEY, TRANSCRIPT_MARKS, load_plan, load_testbed
from pkilab.preflight import EXIT_PREFLIGHT, check_lab
from pkilab.secrets import Masker
from pkilab.testbed import DeviceSpec, Testbed, env_port_offset
from pkilab.wait import wait_until as _wait_until

DeviceGetter = Callable[[str], Session]
"""What the ``device`` fixture gives a test: a device name or role in, a connected session out."""


class SessionPool:
    """Connected sessions by device name, sharing one masker."""

    def __init__(self, testbed: Testbed) -> None:
        self.testbed = testbed
        self.masker = Masker(testbed.secrets())
        self.sessions: dict[str, Session] = {}

    def spec(self, key: str) -> DeviceSpec:
        """The device named ``key``, or the first device with role ``key``."""
        for d in self.testbed.devices:
            if d.name == key:
                return d
        role = self.testbed.by_role(key)
        if not role:
            raise LookupError(f"{self.testbed.path}: no device named or with role {key!r}")
        return role[0]

    def get(self, key: str) -> Session:
        """A connected session to the device ``key`` (name or role)."""
        spec = self.spec(key)
        s = self.sessions.get(spec.name)
        if s is None or not s.connected:
            if s is not None:
                s.close()
            s = Session(spec, self.masker)
            s.connect()
            self.sessions[spec.name] = s
        return s

    def alive(self, key: str) -> Session | None:
        """A session that answers a command now, or None (the device is rebooting or unreachable)."""
        try:
            s = self.get(key)
            s.run("show clock")
            return s
        except Exception:  # any failure means "not back yet" to the caller polling with a deadline
            return None

    def marks(self) -> dict[str, int]:
        """Current transcript positions of every open session."""
        return {name: s.transcript.mark() for name, s in self.sessions.items()}

    def transcripts_since(self, marks: dict[str, int]) -> str:
        """The transcripts of the used devices after ``marks``."""
        parts = []
        for name, mark in sorted(marks.items()):
            s = self.sessions.get(name)
            if s is not None:
                text = s.transcript.since(mark)
                if text:
                    parts.append(f"===== {name} =====\n{text}\n")
        return self.masker.mask("".join(parts))

    def close(self) -> None:
        """Disconnect every session."""
        for s in self.sessions.values():
            s.close()
        self.sessions.clear()


@pytest.fixture(scope="session")
def testbed(request: pytest.FixtureRequest) -> Testbed:
    """The validated testbed of this run."""
    return load_testbed(request.config)


def worker_offset() -> int:
    """Port offset of this run's simulated labs.

    ``PKILAB_PORT_OFFSET`` (default 0) moves every port of the run, so that two runs on one machine
    never share one; each xdist worker adds 100 * (worker + 1) so that its lab is its own.
    """
    return _worker_offset()


def _worker_offset() -> int:
    # Signed: `certify --port-base N` below the testbed's lowest port gives a negative offset.
    offset = env_port_offset()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return offset + (100 * (int(worker[2:]) + 1) if worker.startswith("gw") and worker[2:].isdigit() else 0)


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest, testbed: Testbed) -> Iterator[Testbed]:
    """Start the simulated lab (simulated testbeds only); yield the testbed the sessions use."""
    if not testbed.simulated:
        yield testbed
        return
    from pkilab.labs.sim import SimLabRunner

    shifted = testbed.shifted(_worker_offset())
    runner = SimLabRunner(shifted, request.config.getoption("--pcap-dir"))
    try:
        runner.start()
    except SimError as exc:
        pytest.exit(f"pkilab: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    try:
        yield shifted
    finally:
        runner.stop()


@pytest.fixture(scope="session")
def plan(request: pytest.FixtureRequest) -> LabPlan:
    """The lab plan of this run: every name, address, interface and setting the suites use."""
    return load_plan(request.config)


@pytest.fixture(scope="session")
def sessions(
    request: pytest.FixtureRequest,
    lab: Testbed,
    plan: LabPlan,
    record_testsuite_property: Callable[[str, object], None],
) -> Iterator[SessionPool]:
    """Sessions to the lab's devices; suite properties describe each device."""
    pool = SessionPool(lab)
    for secret in plan.secrets():
        pool.masker.add(secret)
    failure = check_lab(lab.devices, pool.get)
    if failure is not None:
        # Infrastructure, not a router that misbehaved: stop before any test, none reported FAILED.
        pool.close()
        pytest.exit(f"pkilab: {pool.masker.mask(failure.line())}", returncode=EXIT_PREFLIGHT)
    request.config.stash[POOL_KEY] = pool
    record_testsuite_property("testbed", lab.name)
    record_testsuite_property("testbed_file", str(lab.path))
    record_testsuite_property(PROP_PLAN, json.dumps(plan.to_dict()))
    for d in lab.devices:
        record_testsuite_property(f"device.{d.name}.role", d.role)
        record_testsuite_property(f"device.{d.name}.platform", d.platform)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def device(
    request: pytest.FixtureRequest, sessions: SessionPool, record_testsuite_property: Callable[[str, object], None]
) -> Iterator[DeviceGetter]:
    """``device(name_or_role)`` → a connected session; its transcript is kept for this test."""
    used: dict[str, int] = {}
    request.node.stash[TRANSCRIPT_MARKS] = used

    def get(key: str) -> Session:
        s = sessions.get(key)
        if s.name not in used:
            # Also as testcase properties: suite properties recorded on an xdist worker never
            # reach the JUnit file; the report layer lifts these to the suite.
            spec = sessions.spec(s.name)
            props = request.node.user_properties
            props.extend(
                [
                    ("testbed", sessions.testbed.name),
                    ("testbed_file", str(sessions.testbed.path)),
                    (f"device.{s.name}.role", spec.role),
                    (f"device.{s.name}.platform", spec.platform),
                    (f"device.{s.name}.image", _image_of(request.config, s)),
                ]
            )
        used.setdefault(s.name, s.transcript.mark())
        if s.name not in request.config.stash.get(_IMAGE_CACHE, {}):
            record_testsuite_property(f"device.{s.name}.image", _image_of(request.config, s))
        return s

    yield get


_IMAGE_CACHE = pytest.StashKey[dict[str, str]]()


def _image_of(config: pytest.Config, session: Session) -> str:
    cache = config.stash.setdefault(_IMAGE_CACHE, {})
    if session.name not in cache:
        cache[session.name] = device_image(session)
    return cache[session.name]


def device_image(session: Session) -> str:
    """The IOS version the device reports in ``show version`` (``15.2(4)M11``), else its image file."""
    from pkilab.parsers import parse

    version = parse("show version", session.run("show version"))
    return str(getattr(version, "version", "") or getattr(version, "system_image", "") or "unknown")


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """:func:`pkilab.wait.wait_until` as a fixture."""
    return _wait_until


@pytest.fixture(scope="module")
def hostsrv(lab: Testbed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The test host's TFTP/HTTP file servers for this module (``testbed.custom.hostsrv``)."""
    from pkilab.errors import PkilabError
    from pkilab.hostsrv import HostServers, spec_from_testbed

    spec = spec_from_testbed(lab)
    if spec is None:
        pytest.skip(f"{lab.path}: no custom.hostsrv (address, tftp_port, http_port) for the host's file servers")
    servers = HostServers(spec, spec.root or tmp_path_factory.mktemp("hostsrv"))
    try:
        servers.start()
    except PkilabError as exc:
        pytest.fail(f"{lab.path}: {exc}", pytrace=False)
    try:
        yield servers
    finally:
        servers.stop()
