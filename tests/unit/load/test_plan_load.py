"""custom.pkilab.load: where virtual branches live, derived for a simulated lab, checked with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pkilab.errors import TestbedError, UserError
from pkilab.load.lab import headend_lines, routes
from pkilab.load.run import LoadOptions, addresses, claims
from pkilab.plan import AddressPool, LabPlan
from pkilab.testbed import load

ROOT = Path(__file__).resolve().parents[3]


def _plan(name: str = "sim.yaml", **load_block: object) -> LabPlan:
    return LabPlan.from_testbed(load(ROOT / "testbeds" / name), {"load": load_block} if load_block else None)


def test_simulated_lab_gets_the_benchmarking_range_behind_a_free_outside_address() -> None:
    plan = _plan()
    assert plan.load is not None and plan.load.pool is not None
    assert (str(plan.load.pool), str(plan.load.lan_pool)) == ("198.18.0.1-198.18.255.254", "198.19.0.1-198.19.255.254")
    assert plan.load.gateway == "66.66.66.254" and plan.load.branches == 20
    assert addresses(plan.load, 2) == [("198.18.0.1", "198.19.0.1"), ("198.18.0.2", "198.19.0.2")]
    assert claims(plan.load, 300) == ["198.18.0.1-198.18.1.44", "66.66.66.254"]
    assert routes(plan.load.pool, "66.66.66.254") == ["ip route 198.18.0.0 255.255.0.0 66.66.66.254"]
    assert plan.to_dict()["load"]["gateway"] == "66.66.66.254"


def test_a_pool_on_the_outside_link_needs_no_gateway_and_ranges_are_routed_exactly() -> None:
    plan = _plan(pool="66.66.66.100-66.66.66.199", branches=50)
    assert plan.load is not None and plan.load.gateway is None and plan.load.branches == 50
    assert all(not line.startswith("ip route") for line in headend_lines(plan, psk=False))
    pool = AddressPool.parse("10.9.0.10-10.9.0.17")
    assert routes(pool, "66.66.66.9") == [
        "ip route 10.9.0.10 255.255.255.254 66.66.66.9",
        "ip route 10.9.0.12 255.255.255.252 66.66.66.9",
        "ip route 10.9.0.16 255.255.255.254 66.66.66.9",
    ]


def test_headend_lines_carry_the_wildcard_key_only_for_psk_runs() -> None:
    plan = _plan()
    psk = headend_lines(plan, psk=True)
    assert psk[0] == "crypto isakmp key bigsecret address 0.0.0.0 0.0.0.0"
    assert not any("isakmp key" in line for line in headend_lines(plan, psk=False))
    assert "crypto map pkilab-load 10 ipsec-isakmp dynamic pkilab-load" in psk and "reverse-route" in psk


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ({"pool": "198.18.0.0/33"}, "custom.pkilab.load.pool"),
        ({"pool": "66.66.66.1-66.66.66.20"}, "custom.pkilab.load.pool"),  # holds the headend's address
        ({"lan_pool": "10.59.138.0/24"}, "custom.pkilab.load.lan_pool"),  # the CA's network
        ({"gateway": "10.59.138.200"}, "custom.pkilab.load.gateway"),  # not on the outside link
        ({"gateway": "not-an-address"}, "custom.pkilab.load.gateway"),
        ({"branches": 0}, "custom.pkilab.load.branches"),
        ({"interface": "eth0; reboot"}, "custom.pkilab.load.interface"),
        ({"colour": "blue"}, "custom.pkilab.load"),
    ],
)
def test_bad_load_block_is_one_line_naming_the_field(block: dict[str, Any], field: str) -> None:
    with pytest.raises(TestbedError) as info:
        _plan(**block)
    message = str(info.value)
    assert "\n" not in message and field in message and "sim.yaml" in message, message


def test_real_routers_need_a_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PKILAB_USERNAME", "PKILAB_PASSWORD", "PKILAB_ENABLE"):
        monkeypatch.setenv(var, "x")
    plan = _plan("static-example.yaml")
    assert plan.load is not None and plan.load.pool is None and plan.load.gateway is None
    with pytest.raises(UserError, match=r"custom\.pkilab\.load\.pool: required for real routers"):
        LoadOptions(5).check(plan)
    given = _plan("static-example.yaml", pool="192.0.2.100-192.0.2.109", interface="eth1")
    assert given.load is not None and given.load.interface == "eth1"
    with pytest.raises(UserError, match=r"192\.0\.2\.100-192\.0\.2\.109 has 10 addresses for 11 branches"):
        LoadOptions(11).check(given)
    assert LoadOptions(10).check(given) is given.load


def test_revoking_pre_shared_keys_is_refused() -> None:
    with pytest.raises(UserError, match="--revoke needs --auth rsig"):
        LoadOptions(5, auth="psk", revoke=10).check(_plan())
