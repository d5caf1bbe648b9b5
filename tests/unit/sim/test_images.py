"""Image personalities: chosen by the testbed, checked against its os/platform, visible in what each prints."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from pkilab.cli import main
from pkilab.errors import SimError, TestbedError
from pkilab.parsers import parse
from pkilab.plan import Deadlines, LabPlan
from pkilab.sim.features.clock import Ntp
from pkilab.sim.features.crypto_ike import Crypto
from pkilab.sim.images import FAST, IOS, IOS_124T, IOS_152M, XE_179, Personality, personality_for
from pkilab.testbed import DeviceSpec, InterfaceSpec, load
from unit.sim.simkit import Cli, OfflineLab, make_spec

ROOT = Path(__file__).resolve().parents[3]


def spec_of(p: Personality, name: str = "r1", **changes: Any) -> DeviceSpec:
    spec = make_spec(name)
    if p.os == "iosxe":
        spec = dataclasses.replace(
            spec,
            interfaces=(
                InterfaceSpec("GigabitEthernet1", ipaddress.IPv4Interface("10.0.0.1/24"), "lan"),
                InterfaceSpec("GigabitEthernet2", None, None),
            ),
        )
    assert spec.sim is not None
    spec = dataclasses.replace(spec, os=p.os, platform=p.platform, sim=dataclasses.replace(spec.sim, image=p.image))
    return dataclasses.replace(spec, **changes)


def cli_of(p: Personality) -> Cli:
    return OfflineLab(spec_of(p)).cli()


# ---- selection -------------------------------------------------------------------------------------------
def test_sim_images_lists_every_image_with_its_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "images"]) == 0
    out = capsys.readouterr().out
    for p, line in (
        (IOS_124T, "os ios, platform c7200, IOS 12.4(24)T5"),
        (IOS_152M, "os ios, platform c7200, IOS 15.2(4)M11"),
        (XE_179, "os iosxe, platform c8000v, IOS 17.9.4a"),
    ):
        assert any(ln.startswith(p.image) and ln.endswith(line) for ln in out.splitlines()), out
    assert "custom.sim.timing: fast, ios" in out


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"os": "ios"}, "os: c8000v-universalk9.17.09.04a.SPA.bin is an IOS-XE image; set os: iosxe"),
        ({"platform": "c7200"}, "platform: c8000v-universalk9.17.09.04a.SPA.bin runs on c8000v"),
        (
            {"interfaces": (InterfaceSpec("FastEthernet0/0", None, None),)},
            "topology.interfaces: c8000v has no interface 'FastEthernet0/0'",
        ),
    ],
)
def test_a_device_unlike_its_image_is_refused_in_one_line(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(SimError) as exc:
        personality_for(spec_of(XE_179, **changes), "lab.yaml")
    message = str(exc.value)
    assert message.startswith("lab.yaml: device 'r1': ") and field in message and "\n" not in message


def test_an_image_the_simulator_does_not_play_is_refused() -> None:
    spec = make_spec()
    assert spec.sim is not None
    spec = dataclasses.replace(spec, sim=dataclasses.replace(spec.sim, image="c3745-advipservicesk9-mz.124-25d.bin"))
    with pytest.raises(SimError, match=r"custom.sim.image: no simulated image .*pkilab sim images"):
        personality_for(spec, "lab.yaml")


def test_the_testbeds_accept_xe_image_names_and_refuse_unknown_timings(tmp_path: Path) -> None:
    xe = load(ROOT / "testbeds" / "sim-xe.yaml")
    assert {d.sim.image for d in xe.devices if d.sim} == {XE_179.image}
    assert {personality_for(d) for d in xe.devices} == {XE_179}
    assert {personality_for(d) for d in load(ROOT / "testbeds" / "sim-124.yaml").devices} == {IOS_124T}
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    data["devices"]["ese-branch"]["custom"]["sim"]["timing"] = "slow"
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TestbedError, match=r"device 'ese-branch'.*custom.sim.timing.*fast, ios"):
        load(path)


# ---- what each image prints ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("p", "version", "chassis", "config"),
    [
        (IOS_124T, "12.4(24)T5", "7206VXR", "version 12.4"),
        (IOS_152M, "15.2(4)M11", "7206VXR", "version 15.2"),
        (XE_179, "17.09.04a", "C8000V", "version 17.9"),
    ],
)
def test_show_version_and_configuration_name_the_image(p: Personality, version: str, chassis: str, config: str) -> None:
    cli = cli_of(p)
    shown = parse("show version", cli("show version").rsplit("\n", 1)[0])
    assert (shown.version, shown.platform, shown.hostname) == (version, chassis, "r1")
    assert p.image in (shown.system_image or "") or p.os == "iosxe"
    assert f"\n{config}\n" in cli("show running-config")


def test_key_generation_in_each_images_words() -> None:
    old, new = cli_of(IOS_124T), cli_of(IOS_152M)
    for cli in (old, new):
        cli("configure terminal")
    assert "% Generating 1024 bit RSA keys, keys will be non-exportable...[OK]\n" in old(
        "crypto key generate rsa modulus 1024"
    )
    assert "keys will be non-exportable...\n[OK] (elapsed time was 0 seconds)" in new(
        "crypto key generate rsa modulus 1024"
    )
    # 12.4T's largest key is 2048 bits (4096 came with 15.1(1)T).
    refused = old("crypto key generate rsa label big modulus 4096")
    assert "% Invalid modulus size, must be in the range of 360 to 2048" in refused
    assert "% Generating 4096 bit" in new("crypto key generate rsa label big modulus 4096 exportable")


def test_xe_shows_key_sizes_and_short_interface_columns() -> None:
    cli = cli_of(XE_179)
    cli("configure terminal")
    cli("crypto key generate rsa label k modulus 1024")
    cli("end")
    keys = cli("show crypto key mypubkey rsa k")
    assert "Key type: RSA KEYS      1024 bits\n" in keys and " Key is not exportable. Redundancy enabled." in keys
    brief = cli("show ip interface brief").splitlines()
    assert brief[0] == "Interface              IP-Address      OK? Method Status                Protocol"
    assert brief[1].startswith("GigabitEthernet1       10.0.0.1 ")
    assert "Gigabit Ethernet interfaces" in cli("show version")


def _ca_pem() -> list[str]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode().splitlines()


def _terminal_enroll(cli: Cli) -> tuple[str, str]:
    """(the fingerprint ``authenticate`` shows, the ``enroll`` dialog) on an ``enrollment terminal`` trustpoint."""
    cli("configure terminal")
    cli("crypto key generate rsa modulus 1024")
    cli("crypto pki trustpoint tp")
    cli("enrollment terminal")
    cli("end")
    cli("crypto pki authenticate tp")
    shown = [cli(line) for line in [*_ca_pem(), ""]][-1]
    assert "accepted" in cli("yes")
    return shown, cli("crypto pki enroll tp")


def test_enroll_dialog_in_each_images_words() -> None:
    fingerprint, old = _terminal_enroll(cli_of(IOS_124T))
    assert "Certificate has the following attributes:\nFingerprint: " in fingerprint and "SHA1" not in fingerprint
    assert "% The fully-qualified domain name in the certificate will be: r1.example.com\n" in old
    assert "% The subject name in the certificate will be: r1.example.com\n" in old
    fingerprint, new = _terminal_enroll(cli_of(IOS_152M))
    assert "       Fingerprint MD5: " in fingerprint and "      Fingerprint SHA1: " in fingerprint
    assert "% The subject name in the certificate will include: r1.example.com\n" in new
    assert "fully-qualified" not in new


def test_certificate_files_and_server_in_each_images_layout() -> None:
    for p, ca_file, server_line in (
        (IOS_124T, "CA#6101CA.cer", "Certificate Server status: enabled, configured"),
        (IOS_152M, "ISSUER#1CA.cer", "Certificate Server CA:"),
    ):
        cli = cli_of(p)
        cli("clock set 12:00:00 1 Feb 2026")
        for line in ("configure terminal", "ip http server", "crypto pki server CA", "issuer-name CN=ISSUER"):
            cli(line)
        cli("no shutdown")
        cli("yes")
        cli("end")
        cli("write memory")
        assert ca_file in {f.name for f in parse("dir nvram:", cli("dir nvram:").rsplit("\n", 1)[0]).files}
        assert cli("show crypto pki server").startswith(server_line)
        certs = parse("show crypto pki certificates", cli("show crypto pki certificates").rsplit("\n", 1)[0])
        assert certs.certificates[0].storage == (None if p is IOS_124T else f"nvram:{ca_file}")


# ---- timers ---------------------------------------------------------------------------------------------
def test_ios_timing_gives_the_routers_ioss_timers() -> None:
    fast = OfflineLab(spec_of(IOS_152M)).routers["r1"]
    spec = spec_of(IOS_152M)
    assert spec.sim is not None
    ios = OfflineLab(dataclasses.replace(spec, sim=dataclasses.replace(spec.sim, timing="ios"))).routers["r1"]
    assert (fast.timing, ios.timing) == (FAST, IOS)
    assert ios.feature(Crypto).options().retransmit_interval == 10.0
    assert fast.feature(Crypto).options().retransmit_interval == 2.0
    for router, poll in ((fast, 1.0), (ios, 64.0)):
        ntp = router.feature(Ntp)
        ntp.associations.clear()
        router.apply_config("ntp server 10.0.0.9")
        ntp.next_poll = 0.0
        ntp.tick(100.0)
        assert ntp.next_poll == 100.0 + poll
    assert IOS.enroll_poll == 60.0 and IOS.keygen_seconds(2048) == 4.0 and FAST.keygen_seconds(4096) == 0.0


def test_deadlines_are_ioss_when_a_simulated_router_runs_ios_timers() -> None:
    assert LabPlan.from_testbed(load(ROOT / "testbeds" / "sim.yaml")).deadlines == Deadlines()
    assert LabPlan.from_testbed(load(ROOT / "testbeds" / "sim-ios-timing.yaml")).deadlines == Deadlines.real()
