"""Typed records the report layer reads from JUnit and writes to ``results.json``.

Reporters read only these records (the result store), never raw pytest objects, so the same
renderers serve a single ``pkilab certify`` run and a merge of many runs, shards and pods.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["passed", "failed", "error", "skipped", "notrun"]

OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "error", "skipped", "notrun")
# How an outcome is written for people (tables, summaries).
OUTCOME_LABELS: dict[Outcome, str] = {
    "passed": "passed",
    "failed": "failed",
    "error": "errors",
    "skipped": "skipped",
    "notrun": "not run",
}


# pytest-xdist's --dist loadgroup appends "@<group>" to node ids; it names a worker
# placement, not a different test, so rows of a matrix must not depend on it.
_XDIST_GROUP_RE = re.compile(r"@([^\[\]@/:]*)$")


def split_xdist_group(text: str) -> tuple[str, str | None]:
    """Split a node id or testcase name into (id without the xdist group, group or None)."""
    match = _XDIST_GROUP_RE.search(text)
    if match is None or match.start() == 0:
        return text, None
    return text[: match.start()], match.group(1)


@dataclass(frozen=True)
class DeviceInfo:
    """One device of a testbed as recorded in the JUnit suite properties."""

    name: str
    role: str | None = None
    platform: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class SuiteInfo:
    """What a run's ``<testsuite>`` properties say about the testbed it ran on."""

    testbed: str | None = None
    testbed_file: str | None = None
    devices: tuple[DeviceInfo, ...] = ()
    plan: Mapping[str, Any] | None = None

    def plan_summary(self) -> str:
        """One line naming the certified lab plan: roles, devices and crypto profile."""
        plan = self.plan
        if not plan:
            return ""
        ca, he = plan.get("ca") or {}, plan.get("headend") or {}
        branches = ", ".join(str(b.get("name")) for b in plan.get("branches") or ())
        crypto = plan.get("crypto") or {}
        return (
            f"CA {ca.get('device', '—')} (server {ca.get('server', '—')}), headend {he.get('name', '—')}, "
            f"branches {branches or '—'}; domain {plan.get('domain') or '—'}; crypto {crypto.get('profile', '?')} "
            f"({crypto.get('modulus', '?')}-bit keys, IKE {crypto.get('ike', '?')}, ESP {crypto.get('esp', '?')})"
        )

    def device(self, name: str) -> DeviceInfo | None:
        """Return the device called ``name``, or None."""
        return next((d for d in self.devices if d.name == name), None)

    def images(self) -> tuple[str, ...]:
        """Return the distinct known IOS images of the testbed, sorted."""
        return tuple(sorted({d.image for d in self.devices if d.image}))


@dataclass(frozen=True)
class TestResult:
    """One test of one run: the record written to ``results.json``.

    ``transcript`` is the (masked) device transcript of a failed test and ``details`` the
    (masked) failure text; both are rendered in the HTML report but kept out of
    ``results.json``, which stays small enough to diff between campaigns.
    """

    __test__ = False  # not a pytest test class despite the name

    nodeid: str
    outcome: Outcome
    duration: float
    devices: tuple[str, ...] = ()
    image: str | None = None
    testbed: str | None = None
    seed_section: str | None = None
    message: str | None = None
    run: str = ""
    name: str = ""
    classname: str = ""
    transcript: str = ""
    details: str = ""

    def column(self) -> str:
        """Return the matrix column of this result: its IOS image, else its testbed."""
        if self.image:
            return self.image
        if self.testbed:
            return f"testbed {self.testbed}"
        return "unknown image"

    def record(self) -> dict[str, object]:
        """Return the ``results.json`` record of this result."""
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "duration": round(self.duration, 3),
            "devices": list(self.devices),
            "image": self.image,
            "testbed": self.testbed,
            "seed_section": self.seed_section,
            "message": self.message,
            "run": self.run,
        }


@dataclass(frozen=True)
class RunMetadata:
    """Properties to inject into a JUnit file when pytest could not record them itself.

    Under pytest-xdist, ``record_testsuite_property`` called on a worker never reaches the
    controller's JUnit file; whoever knows the testbed (the plugin, ``pkilab certify``)
    can supply the suite properties here, and per-test properties keyed by node id.
    Values already present in the JUnit file win: the store only fills gaps.
    """

    suite: Mapping[str, str] = field(default_factory=dict)
    tests: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
