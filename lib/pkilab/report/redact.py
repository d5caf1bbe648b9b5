"""Failure reports masked where the test ran: a pytest plugin (registered by :mod:`pkilab.plugin`).

A traceback shows the suite's source lines and the arguments of the calls in it: a literal
passphrase given to a procedure (a deliberately wrong one, say) is printed as is, and pytest
writes it to the terminal and to JUnit. Only the process that ran the test knows every secret
its procedures registered (PSKs, passphrases, one-time and challenge passwords), so each report
is masked there — before pytest shows it, writes it, or sends it from an xdist worker to the
controller — with the run's :class:`~pkilab.secrets.Masker`: the session pool's when devices
were used (it holds what the procedures registered), plus every secret field of the testbed file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pkilab.errors import TestbedError
from pkilab.report.masking import secrets_in_testbed
from pkilab.secrets import Masker

_MASKER_KEY = pytest.StashKey[Masker]()
_MAX_DEPTH = 12  # pytest's report objects nest a few levels; a deeper object is not a report part


def run_masker(config: pytest.Config) -> Masker:
    """Return the masker of this run: the session pool's, knowing the testbed file's secrets too."""
    from pkilab.plugin import POOL_KEY, TESTBED_KEY, testbed_path

    pool = config.stash.get(POOL_KEY, None)
    masker: Masker = pool.masker if pool is not None else config.stash.get(_MASKER_KEY, None) or Masker()
    if config.stash.get(_MASKER_KEY, None) is not masker:
        config.stash[_MASKER_KEY] = masker
        testbed = config.stash.get(TESTBED_KEY, None)
        for secret in testbed.secrets() if testbed is not None else ():
            masker.add(secret)
        path = Path(testbed_path(config))
        try:
            for secret in secrets_in_testbed(path) if path.is_file() else ():
                masker.add(secret)
        except TestbedError:
            pass  # the plugin reports a bad testbed itself
    return masker


def mask_report(report: pytest.TestReport | pytest.CollectReport, masker: Masker) -> None:
    """Mask, in place, every text of ``report``: its traceback, captured output and properties."""
    report.longrepr = _masked(report.longrepr, masker, 0)
    report.sections = [(title, masker.mask(text)) for title, text in report.sections]
    if isinstance(report, pytest.TestReport):
        report.user_properties = [
            (name, masker.mask(value) if isinstance(value, str) else value) for name, value in report.user_properties
        ]


def _masked(value: Any, masker: Masker, depth: int) -> Any:
    if isinstance(value, str):
        return masker.mask(value)
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, list):
        value[:] = [_masked(v, masker, depth + 1) for v in value]
    elif isinstance(value, tuple):
        return type(value)(_masked(v, masker, depth + 1) for v in value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        # pytest's traceback representations (ReprTraceback, ReprEntry, ReprFileLocation…)
        for f in dataclasses.fields(value):
            object.__setattr__(value, f.name, _masked(getattr(value, f.name), masker, depth + 1))
    return value


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Mask each test report once every other plugin has added to it (transcripts, properties)."""
    report = yield
    if report.longrepr is not None or report.sections or report.user_properties:
        mask_report(report, run_masker(item.config))
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    """Mask collection errors too (a module that fails to import shows its source)."""
    report = yield
    if report.longrepr is not None:
        mask_report(report, run_masker(collector.config))
    return report
