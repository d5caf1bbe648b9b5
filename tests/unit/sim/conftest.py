import pytest
from simkit import Cli, OfflineLab, make_spec

__all__ = ["Cli", "OfflineLab", "make_spec"]


@pytest.fixture
def lab():
    return OfflineLab(make_spec())


@pytest.fixture
def cli(lab):
    return lab.cli()
