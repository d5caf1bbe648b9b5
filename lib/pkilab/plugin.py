"""The pkilab pytest plugin: options, markers, testbed validation, JUnit defaults, transcripts.

Registered by entry point (``pytest11``) and by the root ``conftest.py``. Fixtures live in
:mod:`pkilab.fixtures`. State is kept in ``config.stash``, not in globals.

* ``--testbed FILE`` (default ``$PKILAB_TESTBED``, else pkilab's simulated lab: the ``sim.yaml``
  shipped with pkilab, wherever pytest runs from). The testbed is loaded and validated
  before any test that needs a device runs; an invalid one stops the run with one line and
  pytest's usage-error exit code (4), before any connection.
* A simulated testbed starts its lab in-process once per session (per xdist worker, on ports
  shifted by the worker number so that workers never share a router).
* JUnit goes to ``reports/junit.xml`` unless ``--junitxml`` says otherwise; a failed test's
  device transcript (masked) goes into its ``system-out``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pkilab.errors import TestbedError, UserError
from pkilab.junitprops import PROP_PLAN, PROP_TESTBED, PROP_TESTBED_FILE
from pkilab.plan import LabPlan
from pkilab.resources import sim_testbed
from pkilab.testbed import Testbed, env_port_offset

# interrupts: a Ctrl-C during a test wins over errors its restores raise while unwinding.
# report.redact: failure reports masked with the run's secrets before pytest shows or writes them.
pytest_plugins = ["pkilab.fixtures", "pkilab.interrupts", "pkilab.report.redact"]

DEFAULT_TESTBED = str(sim_testbed())
TESTBED_KEY = pytest.StashKey[Testbed]()
TESTBED_ERROR_KEY = pytest.StashKey[TestbedError]()
PLAN_KEY = pytest.StashKey[LabPlan]()
MARKERS = (
    "roles(*roles): the device roles the test drives (ca, headend, branch, host)",
    "seed(section): the seed section the test certifies, recorded in the report",
    "destructive: the test changes router state that a finalizer must restore",
    "slow: a long test (scale); deselected unless -m names slow, e.g. -m slow",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--testbed``, ``--via``, ``--backend`` and ``--pcap-dir``."""
    group = parser.getgroup("pkilab")
    group.addoption(
        "--testbed", default=None, help=f"pyATS testbed file (default: $PKILAB_TESTBED, else {DEFAULT_TESTBED})"
    )
    group.addoption(
        "--via", default=None, metavar="NAME", help="connection every device is reached by (default: defaults.via)"
    )
    group.addoption(
        "--backend",
        default=None,
        choices=("netmiko", "unicon"),
        help="session library (default: unicon where a connection says class: unicon.Unicon, else netmiko)",
    )
    group.addoption("--pcap-dir", default=None, help="simulated lab: write one pcap per virtual link here")
    group.addoption(
        "--plan", default=None, help="lab plan settings (YAML, the keys of custom.pkilab) overriding the testbed's"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register markers; default the JUnit path (before pytest's junitxml plugin reads it)."""
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    try:
        env_port_offset()
    except UserError as exc:  # before any device is touched: one line, pytest's usage-error exit code
        pytest.exit(f"pkilab: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    if (
        hasattr(config.option, "xmlpath")
        and not config.option.xmlpath
        and os.environ.get("PYTEST_XDIST_WORKER") is None
    ):
        Path("reports").mkdir(exist_ok=True)
        config.option.xmlpath = "reports/junit.xml"


def testbed_path(config: pytest.Config) -> str:
    """The testbed file this run uses."""
    return str(config.getoption("--testbed") or os.environ.get("PKILAB_TESTBED") or DEFAULT_TESTBED)


def load_testbed(config: pytest.Config) -> Testbed:
    """Load and validate the testbed once per run (cached in ``config.stash``)."""
    if TESTBED_KEY not in config.stash:
        from pkilab.sim.faults import FAULTS
        from pkilab.testbed import load

        try:
            config.stash[TESTBED_KEY] = load(
                testbed_path(config),
                known_faults=FAULTS,
                via=config.getoption("--via"),
                backend=config.getoption("--backend"),
            )
        except TestbedError as exc:
            # Before any device is touched: one line, pytest's usage-error exit code.
            config.stash[TESTBED_ERROR_KEY] = exc
            pytest.exit(f"pkilab: testbed error: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    return config.stash[TESTBED_KEY]


def load_plan(config: pytest.Config) -> LabPlan:
    """Build the lab plan once per run from the testbed (and ``--plan FILE``), cached in ``config.stash``."""
    if PLAN_KEY not in config.stash:
        from pkilab.plan import load_plan_file

        testbed = load_testbed(config)
        try:
            path = config.getoption("--plan")
            overrides = load_plan_file(path) if path else None
            config.stash[PLAN_KEY] = LabPlan.from_testbed(testbed, overrides)
        except TestbedError as exc:
            config.stash[TESTBED_ERROR_KEY] = exc
            pytest.exit(f"pkilab: testbed error: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    return config.stash[PLAN_KEY]


def suite_facts(config: pytest.Config, load: bool = False) -> dict[str, str]:
    """The run's suite properties for the reports: testbed name and file, the lab plan as JSON.

    From what this run already loaded, or (``load``) loaded now: the pytest-xdist controller
    loads nothing otherwise. Empty when there is nothing (no test needed the testbed) or the
    testbed is invalid (the run stops with its one line anyway). ``pkilab certify`` reads them
    from the run log rather than loading the testbed a second time.
    """
    if PLAN_KEY not in config.stash and (not load or TESTBED_ERROR_KEY in config.stash):
        return {}
    try:
        testbed, plan = load_testbed(config), load_plan(config)
    except pytest.exit.Exception:
        return {}
    return {PROP_TESTBED: testbed.name, PROP_TESTBED_FILE: str(testbed.path), PROP_PLAN: json.dumps(plan.to_dict())}


def collection_testbed(config: pytest.Config) -> Testbed | None:
    """The testbed, for ``pytest_generate_tests``; None when invalid.

    The run then stops with the error once collection is over, instead of a collection error
    per module.
    """
    try:
        return load_testbed(config)
    except pytest.exit.Exception:
        return None


_DEVICE_FIXTURES = {"testbed", "lab", "device", "devices", "sessions", "plan"}


def _group_by_module(items: list[Any]) -> None:
    """Give every test without an ``xdist_group`` its module's group (``--dist loadgroup``).

    Tests of one module share module fixtures (a scenario built step by step, a lab started by the
    module), so they must run on one worker in file order; modules still spread over workers.
    """
    for it in items:
        module = getattr(it, "module", None)
        if module is not None and it.get_closest_marker("xdist_group") is None:
            it.add_marker(pytest.mark.xdist_group(module.__name__))


@pytest.hookimpl(tryfirst=True)  # before xdist's worker hook reads the xdist_group markers
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[Any]) -> None:
    """Validate the testbed before anything runs; leave slow tests out unless asked; group tests for xdist."""
    if "slow" not in (config.getoption("markexpr", "") or ""):
        slow = [it for it in items if it.get_closest_marker("slow") is not None]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [it for it in items if it.get_closest_marker("slow") is None]
    error = config.stash.get(TESTBED_ERROR_KEY, None)
    if error is not None:
        pytest.exit(f"pkilab: testbed error: {error}", returncode=pytest.ExitCode.USAGE_ERROR)
    users = [it for it in items if _DEVICE_FIXTURES & set(getattr(it, "fixturenames", ()))]
    if not users:
        _group_by_module(items)
        return
    tb = load_testbed(config)
    load_plan(config)  # an invalid plan stops the run here, before any device is touched
    from pkilab.testbed import ROLES

    present = {d.role for d in tb.devices}
    for it in items:
        for mark in it.iter_markers("roles"):
            unknown = [r for r in mark.args if r not in ROLES]
            if unknown or mark.kwargs:
                raise pytest.UsageError(
                    f"{it.nodeid}: roles() takes role names among {', '.join(ROLES)}; "
                    f"got {mark.args!r} {mark.kwargs or ''}".rstrip()
                )
            missing = [r for r in mark.args if r not in present]
            if missing:
                it.add_marker(
                    pytest.mark.skip(reason=f"testbed {tb.name} has no device with role {', '.join(missing)}")
                )
    for it in users:
        if it.get_closest_marker("xdist_group") is None:
            # Real routers are shared by every test: one group. Each xdist worker gets its own
            # simulated lab, so simulated tests may spread by module.
            group = it.module.__name__ if tb.simulated else tb.name
            it.add_marker(pytest.mark.xdist_group(group))
        seed = it.get_closest_marker("seed")
        if seed and seed.args:
            it.user_properties.append(("seed_section", str(seed.args[0])))
        it.user_properties.append(("nodeid", it.nodeid))
    _group_by_module(items)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Attach the devices used and, for a failure, their masked transcripts."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and call.excinfo is not None and _infrastructure(call.excinfo.value):
        # The lab went away under the test (connection lost and not recovered): an error of the
        # run, never a failure, which would say the router misbehaved.
        report.when = "setup"
        report.longrepr = f"infrastructure error (not a router failure): {call.excinfo.value}"
    used: dict[str, int] = item.stash.get(TRANSCRIPT_MARKS, {})
    if report.when == "teardown" and used:
        report.user_properties.append(("devices", ",".join(sorted(used))))
    if report.failed and used:
        pool = item.config.stash.get(POOL_KEY, None)
        if pool is not None:
            text = pool.transcripts_since(used)
            if text:
                report.sections.append(("Captured stdout device transcript", text))


def _infrastructure(exc: BaseException) -> bool:
    """A lost, refused or silent connection: trouble with the lab, not with what the router did."""
    from pkilab.errors import DeviceAuthenticationError, DeviceConnectionError, DeviceTimeoutError

    return isinstance(exc, DeviceConnectionError | DeviceAuthenticationError | DeviceTimeoutError | EOFError)


# Keys shared with pkilab.fixtures.
TRANSCRIPT_MARKS = pytest.StashKey[dict[str, int]]()
POOL_KEY = pytest.StashKey[Any]()
