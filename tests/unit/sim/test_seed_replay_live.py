"""Every command the seed types, typed as the seed types it, into a live simulated lab of each image.

The seed's lab (``testbeds/sim.yaml``, ``sim-124.yaml``, ``sim-xe.yaml``) runs with the host's
file servers; ``seedreplay.SEED`` is typed line by line over SSH into the router the seed types it
on, in the mode the seed is in. A line is refused exactly when real IOS refuses it there
(``seedreplay.REJECTED``, each with its source); every other line is accepted on every image.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pkilab.fixtures import worker_offset
from pkilab.hostsrv import HostServers, spec_from_testbed
from pkilab.labs.sim import SimLabRunner
from pkilab.testbed import load
from unit.sim import seedreplay as sr

ROOT = Path(__file__).resolve().parents[3]
IMAGES = {"12.4T": ("sim-124.yaml", 7000), "15.2": ("sim.yaml", 7200), "IOS-XE": ("sim-xe.yaml", 7400)}


@pytest.fixture(scope="module", params=sorted(IMAGES))
def replayed(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[sr.Typed]]]:
    name, offset = IMAGES[request.param]
    testbed = load(ROOT / "testbeds" / name).shifted(offset + worker_offset())
    xe = testbed.device(sr.BR).os == "iosxe"
    spec = spec_from_testbed(testbed)
    assert spec is not None and spec.ftp_account is not None, f"{name}: the seed's lab serves FTP"
    names = {
        "LAN": "GigabitEthernet2" if xe else "Ethernet0/0",
        "lan": "g2" if xe else "e0/0",
        "OUT": "GigabitEthernet1" if xe else "FastEthernet0/0",
        "NTP": "10.59.138.13",  # the lab's NTP master stands for the seed's 172.26.176.10
        "FTP_USER": spec.ftp_account.username,
        "FTP_PASS": spec.ftp_account.password,
        "FTP_HOST": spec.address,
    }
    runner = SimLabRunner(testbed).start()
    servers = HostServers(spec, Path(tempfile.mkdtemp(prefix="seedreplay-"))).start()
    replay = sr.Replay(testbed, names)
    try:
        typed = replay.run()
        # The seed's FTP backup ("Backing Up Cisco IOS CA Server Files") reached the host's server.
        assert (servers.root / "ese-ios-ca.prv").read_bytes().startswith(b"-----BEGIN"), name
        yield request.param, typed
    finally:
        replay.close()
        servers.stop()
        runner.stop()


def test_only_what_real_ios_refuses_is_refused(replayed: tuple[str, list[sr.Typed]]) -> None:
    image, typed = replayed
    assert len(typed) == len([ln for ln in sr.SEED if not ln.text.startswith("{paste:")])
    refused = {
        (t.line.section, t.line.device, t.line.text): sr.refusal(t.output) for t in typed if sr.refusal(t.output)
    }
    unexpected = {k: v for k, v in refused.items() if k not in sr.REJECTED}
    assert not unexpected, f"{image}: refused where real IOS accepts: {unexpected}"
    missing = {k: r.message for k, r in sr.REJECTED.items() if refused.get(k) != r.message}
    assert not missing, f"{image}: accepted (or refused otherwise) where real IOS refuses: {missing}"


def _output(typed: list[sr.Typed], device: str, text: str) -> str:
    return next(t.output for t in typed if t.line.device == device and t.line.text == text)


def test_show_log_abbreviates_show_logging(replayed: tuple[str, list[sr.Typed]]) -> None:
    """The seed types ``show log`` (never ``show logging``); IOS has ``show login`` too."""
    image, typed = replayed
    shown = _output(typed, sr.BR, "show log")
    assert shown.startswith("Syslog logging: enabled"), f"{image}: {shown[:200]!r}"


def test_pasted_enrollment_installs_the_router_certificate(replayed: tuple[str, list[sr.Typed]]) -> None:
    """ "Copying Certificate Enrollments" steps 7-13: the pastes the seed makes all take."""
    image, typed = replayed
    quits = [t.output for t in typed if t.line.device == sr.BR and t.line.text == "quit"]
    assert len(quits) == 2 and "% Router Certificate successfully imported" in quits[1], (image, quits)
    assert "% Granted certificate:" in _output(typed, sr.CA, "crypto pki server ese-ios-ca grant 3"), image
