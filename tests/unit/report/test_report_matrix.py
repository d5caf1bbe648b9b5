"""The certification matrix and ``pkilab report merge`` over synthetic runs, shards and pods."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema

from pkilab.cli import main
from pkilab.report.matrix import build_matrix, cell_status, natural_key
from pkilab.report.model import TestResult
from unit.report.report_samples import SCHEMA, Case, Suite, write

OLD, NEW = "12.4(24)T", "15.4(3)M2"


def _result(outcome: str, image: str | None = OLD, run: str = "r", nodeid: str = "suites/t.py::test_a") -> TestResult:
    return TestResult(nodeid=nodeid, outcome=outcome, duration=0.1, image=image, testbed="podA", run=run)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        (["passed"], "pass"),
        (["passed", "passed"], "pass"),
        (["passed", "failed"], "flaky"),
        (["error", "passed", "passed"], "flaky"),
        (["failed", "error"], "fail"),
        (["error"], "error"),
        (["skipped", "passed"], "pass"),
        (["skipped", "failed"], "fail"),
        (["skipped", "skipped"], "skip"),
    ],
)
def test_cell_status(outcomes: list[str], status: str) -> None:
    assert cell_status([_result(o) for o in outcomes]) == status


def test_flaky_only_within_one_image() -> None:
    # Passed on one image and failed on another is a real difference between images, not flakiness.
    matrix = build_matrix([_result("passed", OLD, "pod1"), _result("failed", NEW, "pod2")])
    (row,) = matrix.rows
    assert {c: cell.status for c, cell in row.cells.items()} == {OLD: "pass", NEW: "fail"}
    matrix = build_matrix([_result("passed", NEW, "pod1"), _result("failed", NEW, "pod2")])
    (row,) = matrix.rows
    assert row.cells[NEW].status == "flaky"
    assert row.cells[NEW].label() == "flaky 1/2 passed"
    assert [r.run for r in row.cells[NEW].failing()] == ["pod2"]


def test_columns_fall_back_to_testbeds_and_sort_naturally() -> None:
    results = [
        _result("passed", "15.10(1)M"),
        _result("passed", "15.9(3)M7"),
        _result("passed", None),
        _result("passed", OLD),
    ]
    assert build_matrix(results).columns == (OLD, "15.9(3)M7", "15.10(1)M", "testbed podA")
    assert sorted(["a10", "a9", "a10b"], key=natural_key) == ["a9", "a10", "a10b"]


def _run(path: Path, image: str | None, outcomes: dict[str, str], testbed: str = "podA") -> Path:
    cases = tuple(
        Case.of(
            f"suites/test_vpn.py::{name}",
            outcome=outcome,
            seed_section="Verifying IKE" if name.startswith("test_ike") else None,
            message=f"{name} {outcome} on {image}" if outcome != "passed" else "",
            system_out=f"HE#show crypto isakmp sa\n{name} transcript on {image}\n" if outcome != "passed" else "",
        )
        for name, outcome in outcomes.items()
    )
    images = {"CA": image, "HE": image} if image else {}
    return write(path, Suite(cases=cases, testbed=testbed, images=images))


@pytest.fixture
def campaign(tmp_path: Path) -> list[str]:
    """Two pods on the new image (one flaky test), a shard on the old one, a pod of unknown image."""
    pod1 = _run(
        tmp_path / "pod1" / "junit.xml",
        NEW,
        {"test_ike_rsig": "passed", "test_crl": "passed", "test_skew[+2h]": "skipped"},
    )
    pod2 = _run(
        tmp_path / "pod2" / "junit.xml",
        NEW,
        {"test_ike_rsig": "failed", "test_crl": "passed", "test_skew[+2h]": "skipped"},
    )
    shard = _run(tmp_path / "ci" / "shard-1.xml", OLD, {"test_ike_rsig": "passed", "test_crl": "error"})
    blank = _run(tmp_path / "lab" / "junit.xml", None, {"test_ike_rsig": "passed"}, testbed="gns3")
    return [str(pod1.parent), f"pod2={pod2}", str(shard.parent), str(blank)]


def test_merge_renders_the_matrix(tmp_path: Path, campaign: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["report", "merge", *campaign, "-o", str(out)]) == 0
    assert "merged 4 run(s), 9 result(s) into 3 test(s) x 3 column(s)" in capsys.readouterr().out

    document = json.loads((out / "results.json").read_text())
    assert [r["label"] for r in document["runs"]] == ["pod1", "pod2", "shard-1", "lab"]
    records = document["results"]
    assert len(records) == 9
    assert set(records[0]) >= {
        "nodeid",
        "outcome",
        "duration",
        "devices",
        "image",
        "testbed",
        "seed_section",
        "message",
    }
    by_run = {(r["run"], r["nodeid"].split("::")[1]): r for r in records}
    assert by_run[("pod2", "test_ike_rsig")]["outcome"] == "failed"
    assert by_run[("pod2", "test_ike_rsig")]["image"] == NEW
    assert by_run[("shard-1", "test_crl")]["outcome"] == "error"
    assert by_run[("lab", "test_ike_rsig")]["image"] is None
    assert by_run[("lab", "test_ike_rsig")]["testbed"] == "gns3"
    assert by_run[("pod1", "test_ike_rsig")]["seed_section"] == "Verifying IKE"

    markdown = (out / "report.md").read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| Test |"))
    assert header == f"| Test | Seed section | {OLD} | {NEW} | testbed gns3 |"
    row = next(line for line in markdown.splitlines() if "test_ike_rsig" in line and line.startswith("|"))
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert cells[2] == "pass"
    assert cells[3].startswith("[**FLAKY** 1/2 passed](#tr-")
    assert cells[4] == "pass"
    crl = next(line for line in markdown.splitlines() if "test_crl" in line and line.startswith("|"))
    assert "[**ERROR**](#tr-" in crl
    assert "pass x2" in crl


def test_every_failing_cell_links_to_its_transcript(tmp_path: Path, campaign: list[str]) -> None:
    out = tmp_path / "out"
    assert main(["report", "merge", *campaign, "-o", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained
    matrix = html[html.index('<table id="matrix">') : html.index("</table>", html.index('<table id="matrix">'))]
    links = re.findall(r'href="#(tr-[0-9a-f]+)"', matrix)
    assert len(links) == 2  # the flaky cell (one failing run) and the error cell
    for anchor in links:
        section = html[html.index(f'<section class="failure" id="{anchor}">') :]
        section = section[: section.index("</section>")]
        assert "transcript on" in section
    markdown = (out / "report.md").read_text()
    for anchor in re.findall(r"\(#(tr-[0-9a-f]+)\)", markdown):
        assert f'<a id="{anchor}"></a>' in markdown


def test_merged_junit_is_valid_and_keeps_image_and_testbed_per_result(tmp_path: Path, campaign: list[str]) -> None:
    out = tmp_path / "out"
    assert main(["report", "merge", *campaign, "-o", str(out)]) == 0
    schema = xmlschema.XMLSchema(str(SCHEMA))
    schema.validate(str(out / "junit.xml"))
    # Parsed, not matched as text: lxml and the standard library serialise attributes differently.
    root = ElementTree.parse(out / "junit.xml").getroot()
    names = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert len(names) == 9 and len(set(names)) == 9
    props = [(p.get("name"), p.get("value")) for p in root.iter("property")]
    assert props.count(("image", NEW)) == 6
    # The gns3 run's suite and its one testcase both say where the result came from.
    assert props.count(("testbed", "gns3")) == 2


def test_strict_merge_fails_on_failures_and_flakiness(tmp_path: Path, campaign: list[str]) -> None:
    assert main(["report", "merge", *campaign, "-o", str(tmp_path / "a"), "--strict"]) == 1
    clean = _run(tmp_path / "clean.xml", NEW, {"test_ike_rsig": "passed"})
    assert main(["report", "merge", str(clean), "-o", str(tmp_path / "b"), "--strict"]) == 0


def test_merge_input_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "merge", str(tmp_path / "absent"), "-o", str(tmp_path / "out")]) == 2
    assert "absent: no such file or directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", "merge", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 2
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuites><testsuite")
    assert main(["report", "merge", str(broken), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no junit.xml and no *.xml file" in err
    assert "broken.xml: not a JUnit XML file" in err
    assert not (tmp_path / "out").exists()
