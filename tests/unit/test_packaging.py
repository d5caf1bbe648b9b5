"""pyproject.toml ships every package, the suites and the example testbeds; certify's needs are base dependencies."""

import tomllib
from pathlib import Path

from pkilab import resources

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PROJECT["tool"]["setuptools"]


def test_every_package_under_lib_is_listed() -> None:
    found = {".".join(p.parent.relative_to(ROOT / "lib").parts) for p in (ROOT / "lib").rglob("__init__.py")}
    assert set(SETUPTOOLS["packages"]) == found | {"pkilab.suites", "pkilab.testbeds"}


def test_suites_and_testbeds_ship_inside_the_package_from_their_checkout_folders() -> None:
    assert SETUPTOOLS["package-dir"] == {"": "lib", "pkilab.suites": "suites", "pkilab.testbeds": "testbeds"}
    assert "*.yaml" in SETUPTOOLS["package-data"]["pkilab.testbeds"]
    # In a checkout, pkilab finds them next to lib/ (an installed pkilab, inside the package).
    assert resources.suites_dir() == ROOT / "suites"
    assert resources.sim_testbed() == ROOT / "testbeds" / "sim.yaml"


def test_parallel_certification_needs_no_extra() -> None:
    assert any(dep.startswith("pytest-xdist") for dep in PROJECT["project"]["dependencies"])
    assert not any(dep.startswith("pytest-xdist") for dep in PROJECT["project"]["optional-dependencies"]["test"])
