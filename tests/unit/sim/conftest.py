import pytest

from unit.sim.simkit import Cli, OfflineLab, make_spec

__all__ = ["Cli", "OfflineLab", "make_spec"]


@pytest.fixture
def lab() -> OfflineLab:
    return OfflineLab(make_spec())


@pytest.fixture
def cli(lab: OfflineLab) -> Cli:
    return lab.cli()
