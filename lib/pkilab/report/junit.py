"""Reading, enriching and merging pytest JUnit files (xunit2 family) with junitparser.

Enrichment turns what pytest's ``--junitxml`` wrote into the file CI and certification
campaigns consume:

* one ``<testcase>`` per test: pytest writes a second testcase with the same name when a
  test fails and its teardown errors too; the two are folded into one, the teardown error
  kept in ``system-err``;
* no nameless ``<testcase>``: pytest writes one, with no result (a pass to any reader), for a
  test interrupted after its setup; it is dropped and the suite marked ``interrupted`` (the
  test is listed as not run when the run log names it, see :mod:`pkilab.report.incomplete`);
* ``classname`` + ``name`` unique within the file (parametrized ids kept; a repeated name
  gets a ``#N`` suffix, or the run label in a merged file);
* properties filled from a :class:`~pkilab.report.model.RunMetadata` store where pytest
  could not record them (xdist workers), plus ``image`` and ``testbed`` on every testcase so
  a merged file still says where each result came from;
* every text, attribute and property passed through the :class:`~pkilab.secrets.Masker`;
* timings kept (the folded testcases' times are added).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import junitparser
from junitparser import Error, Failure, JUnitXml, Property, Skipped, TestCase, TestSuite, xunit2

from pkilab.errors import UserError
from pkilab.junitprops import (
    NOT_RUN_TYPE,
    PROP_DEVICE_PREFIX,
    PROP_DEVICES,
    PROP_IMAGE,
    PROP_INTERRUPTED,
    PROP_NODEID,
    PROP_PLAN,
    PROP_RUN,
    PROP_SEED_SECTION,
    PROP_TESTBED,
    PROP_TESTBED_FILE,
    PROP_XDIST_GROUP,
)
from pkilab.report.model import DeviceInfo, Outcome, RunMetadata, SuiteInfo, TestResult, split_xdist_group
from pkilab.secrets import Masker

# Characters XML 1.0 cannot carry; a device transcript may contain them (BEL, ESC…).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEARDOWN_MESSAGE = re.compile(r"^failed on teardown", re.IGNORECASE)
# The `interrupted` value of a run known to be cut short only by the nameless testcase pytest left.
UNKNOWN_INTERRUPT = "unknown signal"


def xml_safe(text: str) -> str:
    r"""Return ``text`` with the characters XML cannot carry shown as ``\xNN``."""
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def load_junit(path: Path) -> JUnitXml:
    """Parse the JUnit file at ``path``.

    Raises:
        UserError: the file is missing or is not JUnit XML.
    """
    if not path.is_file():
        raise UserError(f"{path}: no such JUnit file")
    try:
        return xunit2.JUnitXml.fromfile(str(path))
    except Exception as exc:  # lxml and junitparser raise several unrelated types
        raise UserError(f"{path}: not a JUnit XML file: {str(exc).splitlines()[0]}") from None


def write_junit(xml: JUnitXml, path: Path) -> None:
    """Write ``xml`` to ``path`` (UTF-8, with an XML declaration)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(path), pretty=False)


def suites(xml: JUnitXml) -> Iterator[TestSuite]:
    """Iterate over the test suites of a file (pytest writes one)."""
    yield from xml


def properties(element: Any) -> dict[str, str]:
    """Return the properties of a testsuite or testcase; a repeated name keeps its last value.

    ``devices`` is the exception: repeated values are united, in order of appearance, since
    the plugin may record the devices of the setup and of the call separately.
    """
    result: dict[str, str] = {}
    for prop in element.properties() or ():
        name, value = str(prop.name), str(prop.value or "")
        if name == PROP_DEVICES and result.get(name):
            value = ",".join(_unique([*result[name].split(","), *value.split(",")]))
        result[name] = value
    return result


def set_properties(element: Any, props: Mapping[str, str]) -> None:
    """Replace the properties of a testsuite or testcase by ``props``, written first."""
    for old in element._elem.findall("properties"):
        element._elem.remove(old)
    if not props:
        return
    node = _new_properties()
    for name, value in props.items():
        node.add_property(Property(name, value))
    element._elem.insert(0, node._elem)


def _new_properties() -> Any:
    factory: Any = junitparser.Properties  # untyped constructor
    return factory()


def update_statistics(element: Any) -> None:
    """Recount tests, failures, errors, skips and time of a file or suite."""
    element.update_statistics()


def suite_info(suite: TestSuite) -> SuiteInfo:
    """Return what the suite properties say about the testbed."""
    props = properties(suite)
    fields: dict[str, dict[str, str]] = {}
    for name, value in props.items():
        if name.startswith(PROP_DEVICE_PREFIX):
            device, _, attr = name[len(PROP_DEVICE_PREFIX) :].rpartition(".")
            if device:
                fields.setdefault(device, {})[attr] = value
    devices = tuple(
        DeviceInfo(name, f.get("role") or None, f.get("platform") or None, _known(f.get("image")))
        for name, f in fields.items()
    )
    return SuiteInfo(
        props.get(PROP_TESTBED) or None, props.get(PROP_TESTBED_FILE) or None, devices, _plan(props.get(PROP_PLAN))
    )


def _plan(text: str | None) -> dict[str, Any] | None:
    """The lab plan property (JSON), or None when absent or unreadable."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _known(image: str | None) -> str | None:
    # The plugin writes "unknown" when `show version` names no image.
    return image if image and image.strip().lower() not in ("unknown", "none", "?") else None


def case_outcome(case: TestCase) -> Outcome:
    """Return the outcome of a testcase: error, failed, notrun, skipped or passed."""
    results = case.result
    if any(isinstance(r, Error) for r in results):
        return "error"
    if any(isinstance(r, Failure) for r in results):
        return "failed"
    if any(isinstance(r, Skipped) and r.type == NOT_RUN_TYPE for r in results):
        return "notrun"
    if any(isinstance(r, Skipped) for r in results):
        return "skipped"
    return "passed"


def image_of(devices: Sequence[str], info: SuiteInfo) -> str | None:
    """Return the IOS image a test ran on, from the devices it used.

    A test on devices of different images is labelled with all of them (``A + B``); a test
    that did not say which devices it used is credited to the testbed's image when the
    testbed has only one.
    """
    if devices:
        images = sorted({d.image for name in devices if (d := info.device(name)) and d.image})
        return " + ".join(images) if images else None
    known = info.images()
    return known[0] if len(known) == 1 else None


def enrich_junit(
    xml: JUnitXml,
    masker: Masker,
    metadata: RunMetadata | None = None,
    run: str | None = None,
) -> JUnitXml:
    """Enrich ``xml`` in place (see the module docstring) and return it."""
    meta = metadata or RunMetadata()
    for suite in suites(xml):
        suite_props = {**meta.suite, **_lifted(suite), **properties(suite)}
        if _drop_nameless(suite):
            suite_props.setdefault(PROP_INTERRUPTED, UNKNOWN_INTERRUPT)
        set_properties(suite, _mask_mapping(suite_props, masker))
        info = suite_info(suite)
        _fold_duplicates(suite)
        for case in list(suite):
            _enrich_case(case, info, meta, run)
            _mask_case(case, masker)
        for attr in ("system_out", "system_err"):
            text = getattr(suite, attr)
            if text:
                setattr(suite, attr, xml_safe(masker.mask(text)))
    unique_names(xml)
    update_statistics(xml)
    return xml


def _drop_nameless(suite: TestSuite) -> int:
    """Remove the testcases without name or classname; return how many there were."""
    nameless = [case for case in suite if not case.name and not case.classname]
    for case in nameless:
        suite._elem.remove(case._elem)
    return len(nameless)


def _lifted(suite: TestSuite) -> dict[str, str]:
    """Return the suite-level properties some testcase recorded.

    Under pytest-xdist, ``record_testsuite_property`` on a worker never reaches the JUnit
    file; a plugin can record ``testbed``, ``testbed_file`` and ``device.<name>.<field>`` as
    testcase properties instead, and they are lifted to the suite here.
    """
    lifted: dict[str, str] = {}
    for case in suite:
        for name, value in properties(case).items():
            if value and (name in (PROP_TESTBED, PROP_TESTBED_FILE, PROP_PLAN) or name.startswith(PROP_DEVICE_PREFIX)):
                lifted.setdefault(name, value)
    return lifted


def _enrich_case(case: TestCase, info: SuiteInfo, meta: RunMetadata, run: str | None) -> None:
    props = properties(case)
    name, group = split_xdist_group(str(case.name or ""))
    nodeid = props.get(PROP_NODEID)
    if nodeid:
        nodeid, node_group = split_xdist_group(nodeid)
        group = group or node_group
        props[PROP_NODEID] = nodeid
    case.name = name
    if group:
        props.setdefault(PROP_XDIST_GROUP, group)
    stored = meta.tests.get(nodeid or "", {})
    props = {**stored, **props}
    devices = _split(props.get(PROP_DEVICES, ""))
    if PROP_IMAGE not in props:
        image = image_of(devices, info)
        if image:
            props[PROP_IMAGE] = image
    if PROP_TESTBED not in props and info.testbed:
        props[PROP_TESTBED] = info.testbed
    if run and PROP_RUN not in props:
        props[PROP_RUN] = run
    set_properties(case, props)


def _fold_duplicates(suite: TestSuite) -> None:
    """Fold the extra testcase pytest writes for a teardown error into its test's testcase."""
    by_nodeid: dict[str, TestCase] = {}
    by_name: dict[tuple[str, str], TestCase] = {}
    for case in list(suite):
        nodeid = properties(case).get(PROP_NODEID)
        key = (str(case.classname or ""), str(case.name or ""))
        first = by_nodeid.get(nodeid) if nodeid else None
        if first is None and key in by_name and _is_teardown_error(case):
            first = by_name[key]
        if first is None:
            if nodeid:
                by_nodeid[nodeid] = case
            by_name.setdefault(key, case)
            continue
        _fold(first, case)
        suite._elem.remove(case._elem)


def _is_teardown_error(case: TestCase) -> bool:
    return any(isinstance(r, Error) and _TEARDOWN_MESSAGE.match(str(r.message or "")) for r in case.result)


def _fold(first: TestCase, extra: TestCase) -> None:
    # Written as pytest does (%.3f): str(float) could give "1e-05", which the schema refuses.
    first._elem.set("time", f"{float(first.time or 0.0) + float(extra.time or 0.0):.3f}")
    merged = properties(first)
    for name, value in properties(extra).items():
        if name == PROP_DEVICES and merged.get(name):
            value = ",".join(_unique([*_split(merged[name]), *_split(value)]))
        merged[name] = value
    set_properties(first, merged)
    if not first.result:
        first.result = [copy.deepcopy(r) for r in extra.result]
    else:
        # Keep one final result so the testcase also validates against the Ant schema; the
        # later one (a teardown error after a failure) is kept, whole, in system-err.
        notes = [f"{r._tag} {r.message or ''}\n{r.text or ''}".rstrip() for r in extra.result]
        _append_text(first, "system_err", "\n".join(notes))
    for attr in ("system_out", "system_err"):
        text = getattr(extra, attr)
        if text and text != getattr(first, attr):
            _append_text(first, attr, text)


def _append_text(case: TestCase, attr: str, text: str) -> None:
    old = getattr(case, attr)
    setattr(case, attr, f"{old}\n{text}" if old else text)


def _mask_case(case: TestCase, masker: Masker) -> None:
    case.name = masker.mask(str(case.name or ""))
    if case.classname:
        case.classname = masker.mask(str(case.classname))
    set_properties(case, _mask_mapping(properties(case), masker))
    for result in case.result:
        if result.message:
            result.message = xml_safe(masker.mask(str(result.message)))
        if result.text:
            result.text = xml_safe(masker.mask(str(result.text)))
    for attr in ("system_out", "system_err"):
        text = getattr(case, attr)
        if text:
            setattr(case, attr, xml_safe(masker.mask(text)))


def _mask_mapping(props: Mapping[str, str], masker: Masker) -> dict[str, str]:
    return {name: xml_safe(masker.mask(value)) for name, value in props.items()}


def unique_names(xml: JUnitXml) -> None:
    """Make ``classname`` + ``name`` unique within the file.

    A repeated name gets the run label of its testcase (merged files), else ``#N``.
    """
    seen: set[tuple[str, str]] = set()
    for suite in suites(xml):
        for case in suite:
            classname, name = str(case.classname or ""), str(case.name or "")
            if (classname, name) in seen:
                run = properties(case).get(PROP_RUN)
                candidates = ([f"{name} ({run})"] if run else []) + [f"{name} #{n}" for n in range(2, 10_000)]
                name = next(c for c in candidates if (classname, c) not in seen)
                case.name = name
            seen.add((classname, name))


def merge_junit(runs: Iterable[tuple[str, JUnitXml]]) -> JUnitXml:
    """Merge enriched runs into one file, one ``<testsuite>`` per suite of each run.

    Each suite keeps its own properties (testbed, device images); its name gets the run
    label so that suites of different runs are never folded together.
    """
    merged: JUnitXml = xunit2.JUnitXml()
    for label, xml in runs:
        for suite in suites(xml):
            copied = copy.deepcopy(suite)
            copied.name = f"{suite.name or 'pytest'} [{label}]"
            merged._elem.append(copied._elem)
    unique_names(merged)
    update_statistics(merged)
    return merged


def read_results(xml: JUnitXml, run: str = "") -> list[TestResult]:
    """Return one :class:`TestResult` per testcase of an enriched file."""
    results: list[TestResult] = []
    for suite in suites(xml):
        info = suite_info(suite)
        for case in suite:
            results.append(_result_of(case, info, run))
    return results


def _result_of(case: TestCase, info: SuiteInfo, run: str) -> TestResult:
    props = properties(case)
    devices = _split(props.get(PROP_DEVICES, ""))
    classname, name = str(case.classname or ""), str(case.name or "")
    nodeid = props.get(PROP_NODEID) or (f"{classname}::{name}" if classname else name)
    final = case.result
    message = next((str(r.message) for r in final if r.message), None)
    details = "\n".join(str(r.text) for r in final if r.text)
    if case.system_err:
        details = f"{details}\n{case.system_err}".strip()
    return TestResult(
        nodeid=split_xdist_group(nodeid)[0],
        outcome=case_outcome(case),
        duration=float(case.time or 0.0),
        devices=devices,
        image=props.get(PROP_IMAGE) or image_of(devices, info),
        testbed=props.get(PROP_TESTBED) or info.testbed,
        seed_section=props.get(PROP_SEED_SECTION) or None,
        message=message,
        run=props.get(PROP_RUN) or run,
        name=name,
        classname=classname,
        transcript=str(case.system_out or ""),
        details=details,
    )


def _split(devices: str) -> tuple[str, ...]:
    return tuple(_unique(d.strip() for d in devices.split(",") if d.strip()))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))
