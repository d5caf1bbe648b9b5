"""Third-party tools against the simulated IOS certificate server, configured over netmiko.

The CA router of the seed's lab is set up with the seed's commands over SSH; strongSwan's
``pki --scepca`` / ``pki --scep`` then enroll over real HTTP at
``http://127.0.0.1:<http_port>/cgi-bin/pkiclient.exe`` (manual grant, one-time password, grant
auto), and ``openssl verify -crl_check`` judges an issued certificate before and after
``revoke``. Needs ``strongswan-pki`` and ``libstrongswan-extra-plugins`` (curl fetcher);
skips without ``pki``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integration.netmikokit import as_text
from pkilab.labs.sim import SimLabRunner
from pkilab.testbed import Testbed
from pkilab.wait import wait_until

if TYPE_CHECKING:
    from netmiko import BaseConnection

PKI = shutil.which("pki")
OPENSSL = shutil.which("openssl")
CA = "ese-ios-ca"
pytestmark = [
    pytest.mark.skipif(PKI is None, reason="strongSwan 'pki' not installed (Debian package strongswan-pki)"),
    pytest.mark.usefixtures("running_lab"),
]


@pytest.fixture(scope="module")
def ca_conn(running_lab: SimLabRunner, sim_testbed: Testbed) -> Iterator[BaseConnection]:
    from netmiko import ConnectHandler

    d = sim_testbed.device(CA)
    conn = ConnectHandler(
        device_type="cisco_ios",
        host=d.host,
        port=d.port,
        username=d.username,
        password=d.password,
        secret=d.enable_password,
    )
    conn.enable()
    now = dt.datetime.now(dt.UTC)
    conn.send_command(f"clock set {now:%H:%M:%S} {now.day} {now:%b} {now.year}")
    out = conn.send_config_set(
        [
            "ip http server",
            f"crypto key generate rsa general-keys label {CA} modulus 2048 exportable",
            f"crypto pki server {CA}",
            "database level names",
            "issuer-name CN = ese-ios-ca, OU = ESE, O = Cisco Systems Inc, L = Raleigh, ST = NC, C = US",
            "lifetime crl 24",
            "lifetime certificate 254",
            "no shutdown",
            "yes",
        ],
        cmd_verify=False,
    )
    assert "% Certificate Server enabled." in out, out
    try:
        yield conn
    finally:
        conn.disconnect()


@pytest.fixture(scope="module")
def url(sim_testbed: Testbed) -> str:
    spec = sim_testbed.device(CA)
    assert spec.sim is not None, f"{CA} is simulated"
    return f"http://127.0.0.1:{spec.sim.http_port}/cgi-bin/pkiclient.exe"


@pytest.fixture(scope="module")
def ca_der(ca_conn: BaseConnection, url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.der"
    run = _pki("--scepca", "--url", url, "--caout", str(path), "--force")
    assert run.returncode == 0, run.stderr
    # What strongSwan fetched is the certificate the router shows the fingerprint of.
    shown = re.search(r"CA cert fingerprint: ([0-9A-F ]+)", as_text(ca_conn.send_command("show crypto pki server")))
    assert shown is not None
    assert shown.group(1).replace(" ", "") == hashlib.md5(path.read_bytes()).hexdigest().upper()
    return path


def _pki(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    assert PKI is not None
    run = subprocess.run([PKI, *args], capture_output=True, text=True, timeout=timeout, check=False)
    if "no capable fetcher found" in run.stderr:
        pytest.skip("strongSwan has no HTTP fetcher (install libstrongswan-extra-plugins)")
    return run


def _scep_args(url: str, ca_der: Path, key: Path, cn: str, password: str) -> list[str]:
    assert PKI is not None
    return [
        PKI,
        "--scep",
        "--url",
        url,
        "--in",
        str(key),
        "--dn",
        f"CN={cn}, O=pkilab",
        "--password",
        password,
        "--cacert-enc",
        str(ca_der),
        "--cacert-sig",
        str(ca_der),
        "--cipher",
        "des3",
        "--digest",
        "sha256",
        "--interval",
        "1",
        "--maxpolltime",
        "60",
        "--outform",
        "pem",
    ]


def _key(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "key.der"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return path


def _say(conn: BaseConnection, line: str) -> str:
    """Type one line of a dialog; keep the question (netmiko would strip it as a prompt)."""
    return as_text(conn.send_command_timing(line, strip_prompt=False, strip_command=False))


def _ca(ca_der: Path) -> x509.Certificate:
    return x509.load_der_x509_certificate(ca_der.read_bytes())


def test_manual_grant(ca_conn: BaseConnection, url: str, ca_der: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        _scep_args(url, ca_der, _key(tmp_path), "manual.example.com", "revocation-pw"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        row = wait_until(
            lambda: re.search(
                r"^(\d+)\s+pending\s+[0-9A-F]{32}\s+\S*cn=manual\.example\.com",
                as_text(ca_conn.send_command(f"crypto pki server {CA} info requests")),
                re.M,
            ),
            timeout=60,
            message="strongSwan's request pending on the CA",
        )
        ca_conn.send_command(f"crypto pki server {CA} grant {row.group(1)}")
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    cert = x509.load_pem_x509_certificate(out.encode())
    cert.verify_directly_issued_by(_ca(ca_der))
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=254)
    listing = as_text(ca_conn.send_command(f"crypto pki server {CA} info requests"))
    assert re.search(rf"^{row.group(1)}\s+granted\s", listing, re.M)


def test_one_time_password_grants_at_once_and_only_once(
    ca_conn: BaseConnection, url: str, ca_der: Path, tmp_path: Path
) -> None:
    out = as_text(ca_conn.send_command(f"crypto pki server {CA} password generate 5"))
    otp = re.search(r"One-time enrollment password: (\S+)", out)
    assert otp is not None, out
    first = subprocess.run(
        _scep_args(url, ca_der, _key(tmp_path), "otp.example.com", otp.group(1)),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    x509.load_pem_x509_certificate(first.stdout.encode()).verify_directly_issued_by(_ca(ca_der))
    again = subprocess.run(
        _scep_args(url, ca_der, _key(tmp_path), "otp2.example.com", otp.group(1)),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert again.returncode != 0
    assert "badRequest" in again.stderr


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_grant_auto_then_crl_check_before_and_after_revoke(
    ca_conn: BaseConnection, url: str, ca_der: Path, tmp_path: Path
) -> None:
    assert OPENSSL is not None
    ca_conn.config_mode()
    ca_conn.send_command_timing(f"crypto pki server {CA}")
    ca_conn.send_command_timing("grant auto")
    ca_conn.send_command_timing("yes")
    ca_conn.exit_config_mode()
    assert "Granting mode is: auto" in ca_conn.send_command("show crypto pki server")
    run = subprocess.run(
        _scep_args(url, ca_der, _key(tmp_path), "auto.example.com", "pw"),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(run.stdout)
    serial = x509.load_pem_x509_certificate(run.stdout.encode()).serial_number
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(_ca(ca_der).public_bytes(serialization.Encoding.PEM))

    def verdict() -> str:
        with urllib.request.urlopen(f"{url}?operation=GetCRL", timeout=10) as response:
            crl = x509.load_der_x509_crl(response.read())
        (tmp_path / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        done = subprocess.run(
            [OPENSSL, "verify", "-crl_check", "-CAfile", str(ca_pem), "-CRLfile", str(tmp_path / "crl.pem"), str(leaf)],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout + done.stderr

    assert verdict().strip().endswith(": OK")
    assert "% " not in ca_conn.send_command(f"crypto pki server {CA} revoke 0x{serial:X}")
    assert f"Serial Number (hex): {serial:02X}" in ca_conn.send_command(f"crypto pki server {CA} info crl")
    assert "certificate revoked" in verdict()


def test_restore_from_exported_files_continues_serials(
    ca_conn: BaseConnection, url: str, ca_der: Path, tmp_path: Path
) -> None:
    """The seed's "Backing Up and Restoring the Cisco IOS CA Server", typed over SSH."""
    before = re.search(r"serial number \(hex\): ([0-9A-F]+)", as_text(ca_conn.send_command("show crypto pki server")))
    assert before is not None
    ca_conn.config_mode()
    out = _say(ca_conn, f"crypto key export rsa {CA} pem url nvram: 3des cisco123")
    assert f"Destination filename [{CA}.pub]?" in out
    out = _say(ca_conn, "")
    assert f"Destination filename [{CA}.prv]?" in out
    assert f"Writing file to nvram:{CA}.prv" in _say(ca_conn, "")
    ca_conn.exit_config_mode()
    ca_conn.save_config()
    ca_conn.config_mode()
    assert "Are you sure you want to do this? [yes/no]:" in _say(ca_conn, f"no crypto pki server {CA}")
    assert "key? [yes/no]:" in _say(ca_conn, "yes")
    assert "% Certificate Server Process stopped" in _say(ca_conn, "yes")
    assert f"Source filename [{CA}.pub]?" in _say(ca_conn, f"crypto key import rsa {CA} pem url nvram: cisco123")
    _say(ca_conn, "")
    assert "% Key pair import succeeded." in _say(ca_conn, "")
    out = ca_conn.send_config_set(
        [
            f"crypto ca trustpoint {CA}",
            "revocation-check crl",
            f"rsakeypair {CA}",
            f"crypto ca certificate chain {CA}",
            f"certificate ca 01 nvram:{CA}#1CA.cer",  # 15.2's name (the seed's 12.x: #6101CA.cer)
            "exit",
            f"crypto pki server {CA}",
            "database level names",
            "database url nvram:",
            "issuer-name CN = ese-ios-ca, OU = ESE, O = Cisco Systems Inc, L = Raleigh, ST = NC, C = US",
            "lifetime crl 24",
            "lifetime certificate 254",
            "no shutdown",
            "yes",
        ],
        cmd_verify=False,
        enter_config_mode=False,
    )
    assert "% Certificate Server enabled." in out, out
    ca_conn.exit_config_mode()
    show = as_text(ca_conn.send_command("show crypto pki server"))
    assert f"Last certificate issued serial number (hex): {before.group(1)}" in show
    # The restored CA is the same CA: strongSwan's copy of its certificate still encrypts to it.
    otp = re.search(
        r"One-time enrollment password: (\S+)",
        as_text(ca_conn.send_command(f"crypto pki server {CA} password generate")),
    )
    assert otp is not None
    run = subprocess.run(
        _scep_args(url, ca_der, _key(tmp_path), "restored.example.com", otp.group(1)),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert x509.load_pem_x509_certificate(run.stdout.encode()).serial_number == int(before.group(1), 16) + 1
