"""Live progress of a certification run, as a pytest plugin: one line per test.

Loaded by ``pkilab certify`` with ``-p pkilab.report.progress``. Each finished test prints its
outcome, its node id and the devices it used: the ``devices`` user property the pkilab plugin
records, or failing that the roles of its ``roles`` marker. pytest's own per-test letters
are suppressed (the outcome categories, and so pytest's counts, are left alone).

Under pytest-xdist the lines are printed by the controller; workers only attach the roles of
each test to its report, where xdist carries them to the controller.

With ``--pkilab-run-log FILE`` (``pkilab certify`` gives it) the controller also keeps the run
log (:mod:`pkilab.report.runlog`), and every process of the run turns SIGTERM into the same
interrupt as Ctrl-C, so that a terminated run unwinds its restores and writes its JUnit file.
Warnings are printed, masked, one line each, at the end of the run (``--no-summary`` would hide
pytest's own warnings summary).
"""

from __future__ import annotations

import signal
import warnings
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pkilab.errors import TestbedError
from pkilab.interrupts import received_signal, terminate_as_interrupt
from pkilab.report.masking import build_masker
from pkilab.report.runlog import RUN_LOG_OPTION, RunLogWriter, node_id
from pkilab.secrets import Masker

_ROLES_ATTR = "pkilab_roles"
_WIDTH = 8  # "SKIPPED " — outcome column width
_PLUGIN_NAME = "pkilab-progress"


@dataclass
class _Test:
    outcome: str = ""
    duration: float = 0.0
    devices: str = ""
    roles: str = ""
    message: str = ""


class _Progress:
    """The controller-side display; registered as a plugin object so it holds its config."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.masker = _masker_for(config)
        self.total: int | None = None
        self.done = 0
        self.tests: dict[str, _Test] = {}
        self.warnings: Counter[str] = Counter()
        path = config.getoption(RUN_LOG_OPTION, default=None)
        self.log = RunLogWriter(Path(path)) if path else None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Remember how many tests will run (without xdist)."""
        if session.items:
            self.total = len(session.items)
            self._collected([item.nodeid for item in session.items], load=False)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Remember how many tests will run (with xdist, every worker collects them all)."""
        if self.total is None:
            self._collected(ids, load=True)
        self.total = len(ids)

    def _collected(self, ids: list[str], load: bool) -> None:
        """Log the collected tests, after the suite's facts (the controller of xdist workers loads them)."""
        if self.log is None:
            return
        facts: dict[str, str] = {}
        if self.config.pluginmanager.has_plugin("pkilab.plugin"):  # not with -p no:pkilab.plugin
            from pkilab.plugin import suite_facts

            facts = suite_facts(self.config, load)
        if facts:
            self.log.write(suite=facts)
        self.log.write(collected=[node_id(i) for i in ids])

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        """Log that a test started: an interrupt from here on leaves it without a verdict."""
        if self.log is not None:
            self.log.write(started=node_id(nodeid))

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Log the interrupt and the signal that caused it (pytest.exit() comes here too: not an interrupt)."""
        if self.log is not None and isinstance(excinfo.value, KeyboardInterrupt):
            signum = received_signal() or signal.SIGINT
            self.log.write(interrupted=signal.Signals(signum).name)

    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage, nodeid: str) -> None:
        """Keep each warning (on the controller, xdist workers' ones too) for the end of the run."""
        category = getattr(warning_message.category, "__name__", "Warning")
        text = str(warning_message.message).strip().splitlines()
        where = f"{Path(warning_message.filename).name}:{warning_message.lineno}"
        self.warnings[f"{category}: {text[0] if text else ''} ({where})"] += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Print the warnings; close the run log."""
        for text, count in self.warnings.items():
            times = f" [{count} times]" if count > 1 else ""
            self._write(self.masker.mask(f"WARNING  {text}{times}"))
        if self.log is not None:
            self.log.write(exitstatus=int(exitstatus))
            self.log.close()

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: Any) -> Generator[None, Any, Any]:
        """Keep pytest's outcome category but drop its letter and word: our line replaces them."""
        result = yield
        if result:
            return result[0], "", ""
        return result

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Accumulate the phases of a test; print its line when its teardown is reported."""
        test = self.tests.setdefault(report.nodeid, _Test())
        test.duration += report.duration
        test.outcome = _outcome(test.outcome, report)
        devices = [str(v) for k, v in report.user_properties if k == "devices" and v]
        if devices:
            test.devices = devices[-1]
        test.roles = getattr(report, _ROLES_ATTR, "") or test.roles
        if report.failed and not test.message:
            test.message = _first_line(report)
        if report.when == "teardown":
            self.done += 1
            test = self.tests.pop(report.nodeid)
            self._print_test(node_id(report.nodeid), test)
            if self.log is not None:
                self.log.write(
                    finished=node_id(report.nodeid),
                    outcome=test.outcome or "PASSED",
                    duration=round(test.duration, 3),
                    message=self.masker.mask(test.message),
                )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Print collection errors, which no test line would show."""
        if report.failed:
            text = self.masker.mask(_first_line(report))
            self._write(f"{'ERROR':<{_WIDTH}} collecting {report.nodeid or '.'}: {text}")

    def _print_test(self, nodeid: str, test: _Test) -> None:
        total = self.total
        count = f"[{self.done:>{len(str(total))}}/{total}]" if total else f"[{self.done}]"
        where = f"on {test.devices}" if test.devices else (f"roles {test.roles}" if test.roles else "")
        parts = [count, f"{test.outcome or 'PASSED':<{_WIDTH}}", nodeid, where, f"({test.duration:.2f}s)"]
        line = " ".join(p for p in parts if p)
        self._write(self.masker.mask(line))
        if test.message and test.outcome in ("FAILED", "ERROR", "XPASS"):
            self._write(" " * (len(count) + 1) + self.masker.mask(test.message))

    def _write(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)
        else:
            print(line, flush=True)


def _masker_for(config: pytest.Config) -> Masker:
    testbed = config.getoption("testbed", default=None)
    try:
        from pkilab.plugin import testbed_path

        testbed = testbed_path(config)  # the plugin's default applies when --testbed is absent
    except (ImportError, ValueError):
        pass
    if testbed and Path(str(testbed)).is_file():
        try:
            return build_masker([Path(str(testbed))])
        except TestbedError:
            pass  # the pkilab plugin reports a bad testbed itself; mask by IOS patterns only
    return Masker()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--pkilab-run-log``."""
    parser.getgroup("pkilab").addoption(
        RUN_LOG_OPTION, default=None, metavar="FILE", help="pkilab certify: append the run log (JSON lines) here"
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the display on the controller (xdist workers print nothing); SIGTERM interrupts."""
    if config.getoption(RUN_LOG_OPTION, default=None):
        terminate_as_interrupt()
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Progress(config), _PLUGIN_NAME)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Attach the roles of the test's ``roles`` marker to its report (xdist carries it over)."""
    report = yield
    roles = [str(arg) for marker in item.iter_markers("roles") for arg in marker.args]
    if roles:
        setattr(report, _ROLES_ATTR, ",".join(dict.fromkeys(roles)))
    return report


def _outcome(previous: str, report: pytest.TestReport) -> str:
    if report.failed:
        if report.when == "call":
            return "XPASS" if hasattr(report, "wasxfail") else "FAILED"
        return previous if previous == "FAILED" else "ERROR"
    if report.skipped:
        return "XFAIL" if hasattr(report, "wasxfail") else (previous or "SKIPPED")
    if report.when == "call":
        return "XPASS" if hasattr(report, "wasxfail") else (previous or "PASSED")
    return previous


def _first_line(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or report.longreprtext or ""
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")
