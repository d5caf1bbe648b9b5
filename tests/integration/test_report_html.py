"""The HTML certification matrix, opened in headless Chromium: it renders, with its coloured cells.

Three synthetic runs (two pods on one image, one of them flaky, and a shard on another
image with a failure) are merged with ``pkilab report merge``; Chromium takes a screenshot
of report.html and dumps its DOM. The screenshot must exist, not be blank, and show the
matrix's pass, fail and flaky colours; the DOM must hold the matrix with every test.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from pkilab.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package 'chromium')")

OLD, NEW = "12.4(24)T", "15.4(3)M2"
# The cell colours of report.html's stylesheet.
PASS_RGB, FAIL_RGB, FLAKY_RGB = (0x1A, 0x7F, 0x37), (0xCF, 0x22, 0x2E), (0x82, 0x50, 0xDF)
TESTS = ("test_ike_rsig", "test_crl_check", "test_clock_skew[+2h]", "test_grant_all")


def _junit(image: str, outcomes: dict[str, str]) -> str:
    props = "".join(
        f'<property name="device.{d}.image" value="{image}"/><property name="device.{d}.role" value="{r}"/>'
        for d, r in (("CA", "ca"), ("HE", "headend"))
    )
    cases = []
    for name, outcome in outcomes.items():
        body = f'<properties><property name="nodeid" value="suites/test_vpn.py::{name}"/>'
        body += '<property name="devices" value="CA,HE"/></properties>'
        if outcome == "failed":
            body += f'<failure message="{name} failed on {image}">trace</failure>'
            body += f"<system-out>HE#show crypto isakmp sa\n{name} transcript</system-out>"
        cases.append(f'<testcase classname="suites.test_vpn" name="{name}" time="0.250">{body}</testcase>')
    failures = sum(o == "failed" for o in outcomes.values())
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pkilab" errors="0" '
        f'failures="{failures}" skipped="0" tests="{len(cases)}" time="1.0"><properties>'
        f'<property name="testbed" value="pod"/>{props}</properties>{"".join(cases)}</testsuite></testsuites>'
    )


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    profile = tmp_path / "chromium-profile"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        # Paint everything before the capture (headless may otherwise shoot half-drawn tiles).
        "--run-all-compositor-stages-before-draw",
        f"--user-data-dir={profile}",
        *args,
    ]
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run(command, capture_output=True, timeout=120, check=False, env=env)


def _pixels(png: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Decode an 8-bit RGB or RGBA PNG (what Chromium writes) into (width, height, RGB pixels)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        header = data if kind == b"IHDR" else header
        idat += data if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unexpected PNG format {depth=} {colour=}"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        line_start = y * (stride + 1)
        kind, line = raw[line_start], bytearray(raw[line_start + 1 : line_start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        prev = line
    pixels = [(row[i], row[i + 1], row[i + 2]) for row in rows for i in range(0, stride, bpp)]
    return width, height, pixels


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("campaign")
    all_pass = dict.fromkeys(TESTS, "passed")
    runs = {
        "pod1.xml": _junit(NEW, all_pass),
        "pod2.xml": _junit(NEW, {**all_pass, "test_ike_rsig": "failed"}),  # flaky on NEW
        "shard.xml": _junit(OLD, {**all_pass, "test_crl_check": "failed"}),
    }
    for name, text in runs.items():
        (tmp / name).write_text(text)
    out = tmp / "out"
    assert main(["report", "merge", *(str(tmp / n) for n in runs), "-o", str(out)]) == 0
    return out / "report.html"


def test_matrix_screenshot_is_rendered(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "matrix.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", report.as_uri())
    assert shot.is_file(), proc.stderr.decode(errors="replace")[-2000:]
    width, height, pixels = _pixels(shot.read_bytes())
    assert (width, height) == (1280, 900)
    colours = Counter(pixels)
    white = colours[(255, 255, 255)]
    assert white < 0.97 * len(pixels), "the screenshot is (almost) blank"
    assert len(colours) > 50, "the screenshot has too few colours to hold rendered text"
    # Each matrix cell is about 110x25 px of its status colour.
    assert colours[PASS_RGB] > 2000, "no pass cell rendered"
    assert colours[FAIL_RGB] > 1000, "no fail cell rendered"
    assert colours[FLAKY_RGB] > 300, "no flaky cell rendered"
    shutil.copy(shot, report.with_name("matrix.png"))  # kept next to the report for a human look


def test_matrix_dom_holds_every_test_and_links(report: Path, tmp_path: Path) -> None:
    proc = _chromium(tmp_path, "--dump-dom", report.as_uri())
    dom = proc.stdout.decode(errors="replace")
    assert '<table id="matrix">' in dom, proc.stderr.decode(errors="replace")[-2000:]
    matrix = dom[dom.index('<table id="matrix">') :]
    matrix = matrix[: matrix.index("</table>")]
    header = matrix[: matrix.index("</thead>")]
    assert header.index(OLD) < header.index(NEW)
    for test in TESTS:
        assert f"suites/test_vpn.py::{test}" in matrix
    assert matrix.count('class="cell s-flaky"') == 1
    assert matrix.count('class="cell s-fail"') == 1
    assert matrix.count('class="cell s-pass"') == 6
    for anchor in re.findall(r'href="#(tr-[0-9a-f]+)"', matrix):
        assert f'id="{anchor}"' in dom
