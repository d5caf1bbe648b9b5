"""The certification matrix's columns are IOS versions, whether a run recorded the version or the image file."""

from __future__ import annotations

from pkilab.report.matrix import build_matrix, ios_version
from pkilab.report.model import TestResult


def _result(image: str | None, run: str, outcome: str = "passed") -> TestResult:
    return TestResult(nodeid="suites/t.py::test_a", outcome=outcome, duration=0.1, image=image, testbed="lab", run=run)  # type: ignore[arg-type]


def test_image_files_become_their_versions() -> None:
    assert ios_version("c7200-adventerprisek9-mz.152-4.M11.bin") == "15.2(4)M11"
    assert ios_version("disk0:c7200-adventerprisek9-mz.124-24.T5.bin") == "12.4(24)T5"
    assert ios_version("bootflash:/c8000v-universalk9.17.09.04a.SPA.bin") == "17.9.4a"
    assert ios_version("15.2(4)M11") == "15.2(4)M11"
    assert ios_version("c7200-adventerprisek9-mz.124-24.T5.bin + 15.2(4)M11") == "12.4(24)T5 + 15.2(4)M11"
    assert ios_version("bootflash:packages.conf") == "bootflash:packages.conf", "not an image name: kept"


def test_a_file_name_and_a_version_share_one_column() -> None:
    matrix = build_matrix(
        [
            _result("disk0:c7200-adventerprisek9-mz.152-4.M11.bin", "old"),
            _result("15.2(4)M11", "new", "failed"),
            _result("12.4(24)T5", "new"),
        ]
    )
    assert matrix.columns == ("12.4(24)T5", "15.2(4)M11")
    assert matrix.rows[0].cells["15.2(4)M11"].status == "flaky"
