"""JUnit enrichment: validity (junitparser and the common JUnit XSD), unique names, properties, timings."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import junitparser
import pytest
import xmlschema
from junitparser import xunit2

from pkilab.errors import UserError
from pkilab.report.junit import (
    enrich_junit,
    load_junit,
    merge_junit,
    properties,
    read_results,
    suites,
    write_junit,
    xml_safe,
)
from pkilab.report.model import RunMetadata
from pkilab.secrets import Masker
from unit.report.report_samples import SCHEMA, Case, Suite, write


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def _cases(path: Path) -> list[junitparser.TestCase]:
    return [case for suite in xunit2.JUnitXml.fromfile(str(path)) for case in suite]


def _enrich_to(tmp_path: Path, *suites_: Suite, metadata: RunMetadata | None = None) -> Path:
    xml = enrich_junit(load_junit(write(tmp_path / "raw.xml", *suites_)), Masker(), metadata)
    out = tmp_path / "junit.xml"
    write_junit(xml, out)
    return out


def test_schema_rejects_what_the_common_format_forbids(tmp_path: Path, schema: xmlschema.XMLSchema) -> None:
    # The schema is only worth checking against if it can fail.
    bad_attr = '<testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t" colour="red"/></testsuite>'
    no_name = '<testsuite name="s" tests="1" failures="0" errors="0"><testcase classname="c"/></testsuite>'
    no_counts = '<testsuite name="s"><testcase name="t"/></testsuite>'
    good = '<testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t" time="0.100"/></testsuite>'
    for text in (bad_attr, no_name, no_counts):
        assert not schema.is_valid(text), text
    assert schema.is_valid(good)


def test_enriched_pytest_output_is_valid_and_unique(tmp_path: Path, schema: xmlschema.XMLSchema) -> None:
    """Real pytest output (teardown duplicates, parametrized ids, xdist groups) comes out valid."""
    suite_dir = tmp_path / "suite"
    suite_dir.mkdir()
    (suite_dir / "test_shape.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.fixture(autouse=True)
            def _props(request):
                request.node.user_properties.append(("nodeid", request.node.nodeid))
                request.node.user_properties.append(("seed_section", "Enrolling the branch"))
                yield
                request.node.user_properties.append(("devices", "CA,HE"))

            @pytest.fixture
            def broken_teardown():
                yield
                raise RuntimeError("teardown failed")

            @pytest.mark.parametrize("mode", ["rsig", "psk"])
            def test_ike(mode):
                assert mode == "rsig", "IKE came up with " + mode

            def test_failure_and_teardown_error(broken_teardown):
                assert False, "SA not up"

            def test_pass_then_teardown_error(broken_teardown):
                pass
            """
        )
    )
    raw = tmp_path / "raw.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:pkilab", "-p", "no:cacheprovider", "-o",
         "junit_family=xunit2", f"--junitxml={raw}", str(suite_dir)],
        cwd=tmp_path, capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    raw_names = [(c.classname, c.name) for c in _cases(raw)]
    assert len(raw_names) != len(set(raw_names)), "pytest no longer writes a duplicate testcase"

    xml = enrich_junit(load_junit(raw), Masker())
    out = tmp_path / "junit.xml"
    write_junit(xml, out)

    schema.validate(str(out))
    cases = _cases(out)
    names = [(c.classname, c.name) for c in cases]
    assert len(names) == len(set(names))
    assert sorted(c.name for c in cases) == [
        "test_failure_and_teardown_error",
        "test_ike[psk]",
        "test_ike[rsig]",
        "test_pass_then_teardown_error",
    ]
    folded = next(c for c in cases if c.name == "test_failure_and_teardown_error")
    assert [type(r).__name__ for r in folded.result] == ["Failure"]
    assert "teardown failed" in (folded.system_err or "")
    assert properties(folded)["devices"] == "CA,HE"
    suite = next(iter(xml))
    assert (suite.tests, suite.failures, suite.errors) == (4, 2, 1)


def test_repeated_names_get_a_suffix_and_xdist_groups_are_dropped(tmp_path: Path, schema: xmlschema.XMLSchema) -> None:
    cases = (
        Case(name="test_grant[HE]@HE", props=(("nodeid", "suites/test_enroll.py::test_grant[HE]@HE"),)),
        Case(name="test_grant[HE]"),  # same name, no node id: a different test the plugin did not tag
        Case(name="test_grant[HE]", outcome="failed", message="boom"),
    )
    out = _enrich_to(tmp_path, Suite(cases=cases))
    schema.validate(str(out))
    result = _cases(out)
    assert [c.name for c in result] == ["test_grant[HE]", "test_grant[HE] #2", "test_grant[HE] #3"]
    first = properties(result[0])
    assert first["nodeid"] == "suites/test_enroll.py::test_grant[HE]"
    assert first["xdist_group"] == "HE"


def test_properties_are_filled_from_the_store_without_overriding(tmp_path: Path) -> None:
    nodeid = "suites/test_enroll.py::test_branch_enrolls"
    suite = Suite(cases=(Case.of(nodeid, seed_section="Enrolling"),), testbed=None, images={})
    metadata = RunMetadata(
        suite={"testbed": "podB", "device.BR.image": "12.4(24)T", "device.BR.role": "branch"},
        tests={nodeid: {"devices": "BR", "seed_section": "from store", "extra": "kept"}},
    )
    out = _enrich_to(tmp_path, suite, metadata=metadata)
    xml = load_junit(out)
    suite_props = properties(next(iter(xml)))
    assert suite_props["testbed"] == "podB"
    assert suite_props["device.BR.image"] == "12.4(24)T"
    case_props = properties(next(iter(next(iter(xml)))))
    assert case_props["seed_section"] == "Enrolling"  # JUnit wins over the store
    assert case_props["devices"] == "CA,HE"
    assert case_props["extra"] == "kept"
    assert case_props["testbed"] == "podB"


def test_image_comes_from_the_devices_the_test_used(tmp_path: Path) -> None:
    suite = Suite(
        cases=(
            Case.of("suites/t.py::test_ca_only", devices="CA"),
            Case.of("suites/t.py::test_both", devices="CA,BR"),
            Case.of("suites/t.py::test_untagged", devices=""),
        ),
        images={"CA": "15.4(3)M2", "BR": "12.4(24)T"},
    )
    results = {r.nodeid: r for r in read_results(load_junit(_enrich_to(tmp_path, suite)))}
    assert results["suites/t.py::test_ca_only"].image == "15.4(3)M2"
    assert results["suites/t.py::test_both"].image == "12.4(24)T + 15.4(3)M2"
    # Two images on the testbed and no devices recorded: the image is unknown, the testbed known.
    assert results["suites/t.py::test_untagged"].image is None
    assert results["suites/t.py::test_untagged"].column() == "testbed podA"


def test_timings_are_kept(tmp_path: Path) -> None:
    suite = Suite(cases=(Case.of("suites/t.py::test_a", time=1.25), Case.of("suites/t.py::test_b", time=0.004)))
    out = _enrich_to(tmp_path, suite)
    assert [c.time for c in _cases(out)] == [1.25, 0.004]
    assert next(iter(load_junit(out))).time == pytest.approx(1.254)


def test_merge_keeps_each_runs_testbed_and_images(tmp_path: Path, schema: xmlschema.XMLSchema) -> None:
    runs = []
    for label, image in (("pod1", "15.4(3)M2"), ("pod2", "15.9(3)M7")):
        suite = Suite(cases=(Case.of("suites/t.py::test_a"),), testbed=label, images={"CA": image, "HE": image})
        runs.append((label, enrich_junit(load_junit(write(tmp_path / f"{label}.xml", suite)), Masker(), run=label)))
    merged = merge_junit(runs)
    out = tmp_path / "merged.xml"
    write_junit(merged, out)
    schema.validate(str(out))
    cases = _cases(out)
    assert [c.name for c in cases] == ["test_a", "test_a (pod2)"]
    assert [properties(c)["image"] for c in cases] == ["15.4(3)M2", "15.9(3)M7"]
    assert [properties(s)["testbed"] for s in suites(load_junit(out))] == ["pod1", "pod2"]


def test_load_errors_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such JUnit file"):
        load_junit(tmp_path / "absent.xml")
    garbage = tmp_path / "garbage.xml"
    garbage.write_text("this is not < xml")
    with pytest.raises(UserError, match="not a JUnit XML file"):
        load_junit(garbage)


def test_xml_safe_escapes_what_xml_cannot_carry() -> None:
    assert xml_safe("a\x1b[0mb\x07c\td\n") == "a\\x1b[0mb\\x07c\td\n"


def test_suite_properties_recorded_on_testcases_are_lifted(tmp_path: Path) -> None:
    # What a plugin can do under xdist, where record_testsuite_property is lost on workers.
    case = Case(
        name="test_a",
        props=(
            ("nodeid", "suites/t.py::test_a"),
            ("devices", "BR"),
            ("testbed", "podC"),
            ("device.BR.image", "15.1(4)M12a"),
            ("device.BR.role", "branch"),
        ),
    )
    out = _enrich_to(tmp_path, Suite(cases=(case,), testbed=None, images={}))
    xml = load_junit(out)
    suite_props = properties(next(iter(xml)))
    assert suite_props["testbed"] == "podC"
    assert suite_props["device.BR.image"] == "15.1(4)M12a"
    (result,) = read_results(xml)
    assert result.image == "15.1(4)M12a"
