"""A failing suite test on the simulated lab: no secret of its source, procedures or transcript leaks.

The test gives a procedure a deliberately wrong passphrase as a literal and configures a PSK by
hand; pytest's traceback shows both (source lines, call arguments). Terminal output and JUnit must
carry neither, and the assertion message keeps its words.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from pkilab.fixtures import worker_offset

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
import pytest
from pkilab.procedures import pki


@pytest.mark.roles("ca", "headend")
def test_wrong_passphrase(device):
    ca, he = device("ca"), device("headend")
    passphrase = "Wrong-Guess-77"
    he.config(["crypto isakmp key Psk-Lit-88 address 66.66.66.9"])
    try:
        assert pki.import_keys(ca, "ese-ios-ca", passphrase), "the import was not granted"
    finally:
        he.config(["no crypto isakmp key Psk-Lit-88 address 66.66.66.9"])
"""
SECRETS = ("Wrong-Guess-77", "Psk-Lit-88", "pkilab-login", "pkilab-enable")


def test_a_failing_test_leaks_no_secret_and_keeps_its_words(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(SUITE))
    junit = tmp_path / "junit.xml"
    env = dict(os.environ, PKILAB_PORT_OFFSET=str(1900 + worker_offset()))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "test_leaky.py", "-p", "no:cacheprovider", f"--junitxml={junit}"]
        + ["--testbed", str(ROOT / "testbeds" / "sim.yaml"), "-o", "junit_logging=system-out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    xml = junit.read_text()
    for text in (done.stdout, done.stderr, xml):
        for secret in SECRETS:
            assert secret not in text
    # Masked where they stood, and the words around them kept.
    assert 'passphrase = "********"' in done.stdout
    assert "AssertionError: the import was not granted" in done.stdout
    assert "crypto isakmp key ******** address 66.66.66.9" in xml  # the device transcript
    assert "the import was not granted" in xml
