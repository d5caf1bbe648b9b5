"""pkilab load against the simulated lab: enrollment, tunnels, traffic, revocation, and its faults caught."""

from __future__ import annotations

import asyncio
import html
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from junitparser import JUnitXml

from pkilab.cli import main
from pkilab.fixtures import worker_offset
from pkilab.labs.sim import SimLabRunner
from pkilab.load.ports import SegmentLink, UdpLink
from pkilab.testbed import load

ROOT = Path(__file__).resolve().parents[2]
OFFSET = 3000  # away from the other integration tests' labs


@pytest.fixture
def offset(monkeypatch: pytest.MonkeyPatch) -> int:
    value = OFFSET + worker_offset()
    monkeypatch.setenv("PKILAB_PORT_OFFSET", str(value))
    return value


def _run(tmp_path: Path, *args: str, testbed: Path | None = None) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "out"
    code = main(["load", "--testbed", str(testbed or ROOT / "testbeds" / "sim.yaml"), "--out", str(out), *args])
    doc = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else {}
    return code, doc


def test_twenty_branches_enroll_tunnel_pass_traffic_and_the_revoked_are_refused(tmp_path: Path, offset: int) -> None:
    code, doc = _run(tmp_path, "--branches", "20", "--revoke", "10")
    assert code == 0, doc.get("problems")
    counts = {k: doc[k] for k in ("branches", "enrolled", "up", "traffic_ok", "revoked", "refused", "failed")}
    assert counts == {
        "branches": 20,
        "enrolled": 20,
        "up": 20,
        "traffic_ok": 20,
        "revoked": 2,
        "refused": 2,
        "failed": 0,
    }
    for key in ("handshakes_per_s", "enroll_p50_ms", "handshake_p50_ms", "handshake_p99_ms"):
        assert isinstance(doc[key], float) and doc[key] > 0, key
    rows = doc["branch_details"]
    revoked = [r for r in rows if r["revoked"]]
    others = [r for r in rows if not r["revoked"]]
    assert all(r["phase"] == "refused" and r["refusals"] for r in revoked)
    # the others were left alone: one handshake each, and every echo came back
    assert all(r["phase"] == "passing traffic" and r["handshakes"] == 1 for r in others)
    assert all(r["echoes"][0] == r["echoes"][1] >= 2 for r in others)
    assert len({r["serial"] for r in rows}) == 20
    view = doc["headend_view"]
    assert view["isakmp_qm_idle"] == view["sessions_up_active"] == 18
    assert sorted(view["refusals_logged"]) == sorted(r["address"] for r in revoked)
    _check_ceiling(doc, handshakes=20, rsa=True)  # the 2 refused attempts are in the CPU, not in the count
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("<svg") == 5 and "PASS" in page
    assert f"branch side {doc['branch_cpu_ms_per_handshake']} ms of CPU per handshake vs OpenSSL ceiling" in page
    assert f"Headend: {html.escape(SegmentLink.where)}." in page


def _check_ceiling(doc: dict[str, Any], handshakes: int, rsa: bool) -> None:
    """The branch side against the raw ceiling: present, positive, consistent, of the run's crypto."""
    branch, ceiling = doc["branch_cpu_ms_per_handshake"], doc["ceiling_ms_per_handshake"]
    kept, share = doc["ceiling_kept_ms_per_handshake"], doc["ceiling_share_pct"]
    assert all(isinstance(v, float) and v > 0 for v in (branch, ceiling, kept, share)), (branch, ceiling, kept, share)
    assert share == pytest.approx(100 * ceiling / branch, abs=0.1)
    detail = doc["ceiling"]
    assert detail["handshakes"] == handshakes and 0 < detail["reps"] <= handshakes
    assert branch == pytest.approx(1000 * detail["branch_ike_cpu_s"] / handshakes, rel=0.01)
    assert detail["branch_ike_calls"] >= 4 * handshakes  # main mode started, then three answers and quick mode's
    assert ("RSA-1024" in detail["work"]) is rsa and "DH group 2" in detail["work"]
    assert detail["headend"] == SegmentLink.where  # the lab the run started, in its own process


def test_pre_shared_keys_and_one_time_passwords(tmp_path: Path, offset: int) -> None:
    code, doc = _run(tmp_path, "--branches", "4", "--auth", "psk", "--duration", "8")
    assert code == 0, doc.get("problems")
    assert (doc["enrolled"], doc["up"], doc["traffic_ok"], doc["failed"]) == (0, 4, 4, 0)
    assert "hold" in [p["name"] for p in doc["phases"]]
    _check_ceiling(doc, handshakes=doc["ceiling"]["handshakes"], rsa=False)
    # bring-up, at least one echo while the tunnels are held, the final check: all answered
    assert all(r["echoes"][0] == r["echoes"][1] >= 3 for r in doc["branch_details"])
    code, doc = _run(tmp_path, "--branches", "4", "--grant", "otp", "--revoke", "25")
    assert code == 0, doc.get("problems")
    assert (doc["enrolled"], doc["up"], doc["refused"], doc["failed"]) == (4, 4, 1, 0)


def _faulted(tmp_path: Path, fault: str) -> Path:
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    data["devices"]["ese-cryagg"]["custom"]["sim"]["faults"] = [fault]
    path = tmp_path / f"faulted-{fault}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_headend_that_ignores_the_crl_fails_the_run(tmp_path: Path, offset: int) -> None:
    code, doc = _run(tmp_path, "--branches", "10", "--revoke", "20", testbed=_faulted(tmp_path, "ignore-crl"))
    assert code == 1
    assert (doc["revoked"], doc["refused"], doc["failed"]) == (2, 0, 2)
    admitted = [r for r in doc["branch_details"] if r["phase"] == "admitted although revoked"]
    assert len(admitted) == 2 and all(r["revoked"] for r in admitted)
    assert any("admitted although revoked, not refused" in p for p in doc["problems"])
    assert any("no IKMP_INVAL_CERT logged" in p for p in doc["problems"])
    assert "FAIL" in (tmp_path / "out" / "report.html").read_text()


def test_a_lab_running_elsewhere_through_its_link_port(tmp_path: Path, offset: int) -> None:
    from pkilab.load.ports import PortError
    from pkilab.sim.linkport import BURST_BUFFER, LinkPortServer

    testbed = load(ROOT / "testbeds" / "sim.yaml").shifted(offset + 50)
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    for name, dev in data["devices"].items():
        dev["connections"]["cli"]["port"] = testbed.device(name).port
        dev["custom"]["sim"]["http_port"] = testbed.device(name).sim.http_port  # type: ignore[union-attr]
    written = tmp_path / "running.yaml"
    written.write_text(yaml.safe_dump(data))
    runner = SimLabRunner(testbed).start()
    assert runner.loop is not None
    server = LinkPortServer(runner.lab, "outside")
    host, port = asyncio.run_coroutine_threadsafe(server.start(), runner.loop).result(10)
    try:
        assert server.transport is not None
        kept = server.transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        assert kept >= min(BURST_BUFFER, int(Path("/proc/sys/net/core/rmem_max").read_text()))

        async def claim_a_device_address() -> None:
            link = UdpLink(host, port)
            await link.open(["66.66.66.2"], lambda _p: None)

        with pytest.raises(PortError, match=r"66\.66\.66\.2 belongs to a device on outside"):
            asyncio.run(claim_a_device_address())
        code, doc = _run(tmp_path, "--branches", "3", "--auth", "psk", "--attach", f"{host}:{port}", testbed=written)
        assert code == 0, doc.get("problems")
        assert (doc["up"], doc["traffic_ok"]) == (3, 3)
        assert doc["ceiling"]["headend"] == UdpLink.where
    finally:
        runner.loop.call_soon_threadsafe(server.close)
        runner.stop()


def test_the_scale_suite_fails_on_a_headend_that_ignores_the_crl(tmp_path: Path, offset: int) -> None:
    testbed = _faulted(tmp_path, "ignore-crl")
    data = yaml.safe_load(testbed.read_text())
    data["testbed"]["custom"]["pkilab"]["load"] = {"branches": 10}
    testbed.write_text(yaml.safe_dump(data))
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_scale.py", "-m", "slow", "--testbed", str(testbed)]
        + [f"--junitxml={junit}", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    failed = {c.name for s in JUnitXml.fromfile(str(junit)) for c in s if c.result and c.result[0]._tag == "failure"}
    assert "test_revoked_branches_are_refused_and_the_others_stay_up" in failed
    assert "test_the_headends_own_view_agrees" in failed
    assert "test_every_branch_enrolls" not in failed
