"""The lab plan: derived from roles and topology, per-lab inputs validated with one-line errors."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from pkilab.errors import TestbedError
from pkilab.plan import LabPlan, TimeZone
from pkilab.preflight import platform_matches
from pkilab.testbed import load

ROOT = Path(__file__).resolve().parents[2]


def _plan(name: str) -> LabPlan:
    return LabPlan.from_testbed(load(ROOT / "testbeds" / name))


def test_seed_lab_plan_is_the_seeds() -> None:
    plan = _plan("sim.yaml")
    assert (plan.ca.device, plan.ca.address, plan.ca.interface) == ("ese-ios-ca", "10.59.138.12", "FastEthernet0/0")
    assert plan.ca.host_line == "ip host ese-ios-ca 10.59.138.12"
    assert plan.ca.enrollment_url == "http://ese-ios-ca:80"
    assert (plan.headend.outside_if, plan.headend.address) == ("FastEthernet0/0", "66.66.66.1")
    assert [(b.name, b.address, b.inside_if, str(b.lan)) for b in plan.branches] == [
        ("ese-branch", "66.66.66.2", "Ethernet0/0", "10.113.0.0/24"),
        ("ese-branch2", "66.66.66.3", "Ethernet0/0", "10.114.0.0/24"),
    ]
    assert plan.target == "10.59.138.13"
    assert plan.protected == (ipaddress.IPv4Network("10.0.0.0/8"),)
    assert (plan.crypto.name, plan.crypto.modulus, plan.crypto.dh_group) == ("legacy", 1024, 2)
    assert plan.fqdn("ese-cryagg") == "ese-cryagg.ese.cisco.com"
    assert plan.timezone.lines() == ["clock timezone EST -5", "clock summer-time EDT recurring"]
    assert plan.psk == "bigsecret" and "bigsecret" in plan.secrets()


def test_modern_lab_plan_derived_from_its_topology() -> None:
    plan = _plan("sim-modern.yaml")
    assert (plan.ca.device, plan.ca.server, plan.ca.trustpoint) == ("pki-root", "corp-ca", "corp-tp")
    assert plan.ca.host_line == "ip host pki-root 172.20.10.5"
    assert (plan.headend.outside_if, plan.headend.inside_if) == ("GigabitEthernet0/0", "GigabitEthernet0/1")
    assert [b.name for b in plan.branches] == ["site-a", "site-b", "site-c"]
    assert all(b.outside_if == "GigabitEthernet0/0" and b.inside_if == "GigabitEthernet0/1" for b in plan.branches)
    # Nothing given: the branches protect the networks behind the headend.
    assert plan.protected == (ipaddress.IPv4Network("172.20.10.0/24"),)
    assert plan.crypto.isakmp_policy(10) == ["crypto isakmp policy 10", "encr aes 256", "hash sha256", "group 14"]
    assert plan.crypto.shown_encr == "aes:256"
    json = plan.to_dict()
    assert json["crypto"]["profile"] == "modern" and json["ca"]["server"] == "corp-ca"
    assert plan.psk not in str(json) and plan.ca.passphrase not in str(json), "no secret in the plan's facts"


def test_epoch_in_the_plans_zone() -> None:
    import datetime as dt

    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert TimeZone("EST", -5, "EDT").local_text(epoch) == "19:00:00 EST Dec 31 1969"
    assert TimeZone("JST", 9).local_text(epoch) == "09:00:00 JST Jan 1 1970"


def _edited(tmp_path: Path, edit: dict[str, object]) -> Path:
    data = yaml.safe_load((ROOT / "testbeds" / "sim.yaml").read_text())
    data["testbed"]["custom"]["pkilab"].update(edit)
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"crypto": "strong"}, "custom.pkilab.crypto"),
        ({"colour": "blue"}, "custom.pkilab"),
        ({"ca": {"lifetime": {"crl": 500}}}, "custom.pkilab.ca.lifetime.crl"),
        ({"ca": {"issuer_name": "not a dn"}}, "custom.pkilab.ca.issuer_name"),
        ({"ca": {"name": "two words"}}, "custom.pkilab.ca.name"),
        ({"psk": "key\nshow run"}, "custom.pkilab.psk"),
        ({"outside_interface": "Serial9/9"}, "custom.pkilab.outside_interface"),
        ({"protected": ["10.0.0.0/33"]}, "custom.pkilab.protected"),
        ({"branches": {"ese-branch": {"lan_interface": "Ethernet9/9"}}}, "custom.pkilab.branches.ese-branch"),
        ({"timezone": {"name": "EST", "offset": 30}}, "custom.pkilab.timezone.offset"),
        ({"deadlines": {"tunnel": -1}}, "custom.pkilab.deadlines.tunnel"),
        ({"ping_target": "somewhere"}, "custom.pkilab.ping_target"),
    ],
)
def test_bad_plan_input_is_one_line_naming_the_field(tmp_path: Path, edit: dict[str, object], field: str) -> None:
    path = _edited(tmp_path, edit)
    with pytest.raises(TestbedError) as info:
        LabPlan.from_testbed(load(path))
    message = str(info.value)
    assert "\n" not in message and str(path) in message and field in message, message
    assert "key\nshow run" not in message, "a secret is never echoed"


def test_plan_file_overrides_the_testbed(tmp_path: Path) -> None:
    from pkilab.plan import load_plan_file

    override = tmp_path / "plan.yaml"
    override.write_text("crypto: modern\nping_target: 10.59.138.12\n")
    plan = LabPlan.from_testbed(load(ROOT / "testbeds" / "sim.yaml"), load_plan_file(override))
    assert (plan.crypto.name, plan.target, plan.psk) == ("modern", "10.59.138.12", "bigsecret")


def test_unnamed_secrets_are_fresh_per_plan() -> None:
    data = load(ROOT / "testbeds" / "sim-modern.yaml")
    one, two = LabPlan.from_testbed(data), LabPlan.from_testbed(data)
    assert one.psk != two.psk and one.ca.passphrase != two.ca.passphrase


@pytest.mark.parametrize(
    ("testbed", "shown", "same"),
    [
        ("c7200", "7206VXR", True),
        ("c8000v", "C8000V", True),
        ("isr4331", "ISR4331/K9", True),
        ("c7200", "C8000V", False),
        ("c8000v", "7206VXR", False),
    ],
)
def test_platform_match(testbed: str, shown: str, same: bool) -> None:
    assert platform_matches(testbed, shown) is same


def _variant(tmp_path: Path, edit: Any) -> LabPlan:
    data = yaml.safe_load((ROOT / "testbeds" / "sim-modern.yaml").read_text())
    edit(data)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(data))
    return LabPlan.from_testbed(load(path))


def test_defaults_without_a_plan_block(tmp_path: Path) -> None:
    plan = _variant(tmp_path, lambda d: d["testbed"]["custom"].pop("pkilab"))
    assert (plan.crypto.name, plan.ca.server, plan.ca.trustpoint) == ("legacy", "pki-root", "pki-root")
    assert plan.ca.issuer_name == "CN = pki-root" and plan.timezone.lines() == []
    assert plan.psk.startswith("pkilab-") and len(plan.branches) == 3


def test_loopback_lan_and_transit_outside(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        site = d["topology"]["site-c"]["interfaces"]
        site["Loopback0"] = site.pop("GigabitEthernet0/1")
        site["Loopback0"].pop("link")
        site["Loopback0"]["type"] = "loopback"
        site["GigabitEthernet0/0"]["link"] = "isp-c"  # reached through a provider, not the hub's link
        d["topology"]["site-c"]["interfaces"]["GigabitEthernet0/0"]["ipv4"] = "198.18.3.2/30"
        d["devices"]["isp"] = {
            "os": "ios",
            "type": "router",
            "connections": {"cli": {"protocol": "ssh", "ip": "127.0.0.1", "port": 3399}},
            "custom": {"role": "host"},
        }
        d["topology"]["isp"] = {
            "interfaces": {"GigabitEthernet0/0": {"ipv4": "198.18.3.1/30", "link": "isp-c", "type": "ethernet"}}
        }
        for dev in d["devices"].values():
            dev.get("custom", {}).pop("sim", None)

    plan = _variant(tmp_path, edit)
    site_c = plan.branches[-1]
    assert (site_c.outside_if, site_c.inside_if) == ("GigabitEthernet0/0", "Loopback0")


def test_domain_is_required(tmp_path: Path) -> None:
    with pytest.raises(TestbedError, match=r"custom\.domain: missing"):
        _variant(tmp_path, lambda d: d["testbed"]["custom"].pop("domain"))
